namespace Vmsplit.Hardware.Caches;

/// <summary>
/// One level of a CPU's cache hierarchy as a profile states it: capacity and associativity (the line size is the
/// profile's one <c>cache.lineBytes</c>).
/// </summary>
public sealed record CacheLevelConfig(string Name, ulong CapacityBytes, int Ways);

/// <summary>
/// The instruction and data caches a profile states: split L1 (instruction, data) in front of a unified L2, one
/// line size for every level, and the cycles an access pays beyond an L1 hit: <see cref="L2HitCycles"/> when the
/// L1 misses and the L2 hits, <see cref="L2MissCycles"/> when both miss.
/// </summary>
public sealed record CacheHierarchyConfig(CacheLevelConfig L1I, CacheLevelConfig L1D, CacheLevelConfig L2, int LineBytes, double L2HitCycles, double L2MissCycles)
{
    /// <summary>A problem with the geometry (a level whose sets are not a power of two, too few lines), or "".</summary>
    public string Validate()
    {
        foreach (CacheLevelConfig c in new[] { L1I, L1D, L2 })
        {
            ulong lines = c.CapacityBytes / (ulong)LineBytes;
            if (c.Ways <= 0 || lines < (ulong)c.Ways || lines % (ulong)c.Ways != 0 || !ulong.IsPow2(lines / (ulong)c.Ways))
            {
                return $"{c.Name}: {c.CapacityBytes} bytes in {c.Ways} ways of {LineBytes}-byte lines do not make a power-of-two number of sets";
            }
        }

        return "";
    }
}

/// <summary>
/// Split L1 instruction and data caches in front of a unified L2, each a <see cref="LineCache"/> (set-associative,
/// LRU, physical lines). Non-inclusive: an L1 miss looks the line up in the L2 and fills both; an eviction from one
/// level leaves the other alone. Write-allocate for stores; the write-back of a dirty line is not priced
/// (an assumption: the write buffers of these cores drain evictions in the background). No prefetcher: every line a
/// copy misses adds its level's latency, with nothing overlapped, an upper bound on cores whose memcpy issues
/// preloads (Linux's arch/arm/lib/copy_template.S PLD, x86's hardware streamers).
/// </summary>
public sealed class CacheHierarchy
{
    private readonly int _lineShift;
    private readonly double _l2Hit;
    private readonly double _l2Miss;

    public CacheHierarchy(CacheHierarchyConfig config)
    {
        Config = config;
        L1I = new LineCache(config.L1I.CapacityBytes, config.L1I.Ways, config.LineBytes);
        L1D = new LineCache(config.L1D.CapacityBytes, config.L1D.Ways, config.LineBytes);
        L2 = new LineCache(config.L2.CapacityBytes, config.L2.Ways, config.LineBytes);
        _lineShift = System.Numerics.BitOperations.Log2((uint)config.LineBytes);
        _l2Hit = config.L2HitCycles;
        _l2Miss = config.L2MissCycles;
    }

    public CacheHierarchyConfig Config { get; }

    public LineCache L1I { get; }

    public LineCache L1D { get; }

    public LineCache L2 { get; }

    /// <summary>Lines that missed an L1 (instruction or data) and hit the L2, and those that missed both.</summary>
    public long L2Hits { get; private set; }

    public long L2Misses { get; private set; }

    /// <summary>Fetches the instruction lines covering [<paramref name="physicalAddress"/>, +<paramref name="bytes"/>); the cycles beyond L1 hits.</summary>
    public double Fetch(ulong physicalAddress, ulong bytes) => Lines(L1I, physicalAddress, bytes);

    /// <summary>Loads or stores the data lines covering [<paramref name="physicalAddress"/>, +<paramref name="bytes"/>); the cycles beyond L1 hits.</summary>
    public double Data(ulong physicalAddress, ulong bytes) => Lines(L1D, physicalAddress, bytes);

    private double Lines(LineCache l1, ulong physicalAddress, ulong bytes)
    {
        if (bytes == 0)
        {
            return 0;
        }

        double cycles = 0;
        ulong first = physicalAddress >> _lineShift;
        ulong last = (physicalAddress + bytes - 1) >> _lineShift;
        for (ulong line = first; line <= last; line++)
        {
            ulong pa = line << _lineShift;
            if (l1.Access(pa))
            {
                continue;
            }

            if (L2.Access(pa))
            {
                L2Hits++;
                cycles += _l2Hit;
            }
            else
            {
                L2Misses++;
                cycles += _l2Miss;
            }
        }

        return cycles;
    }

    public void Clear()
    {
        L1I.Clear();
        L1D.Clear();
        L2.Clear();
    }
}
