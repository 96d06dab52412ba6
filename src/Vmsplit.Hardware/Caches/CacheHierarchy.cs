using System.Numerics;

namespace Vmsplit.Hardware.Caches;

/// <summary>
/// One level of a CPU's cache hierarchy as a profile states it: capacity and associativity (the line size is the
/// profile's one <c>cache.lineBytes</c>).
/// </summary>
public sealed record CacheLevelConfig(string Name, ulong CapacityBytes, int Ways);

/// <summary>
/// The instruction and data caches a profile states: split L1 (instruction, data) in front of a unified L2, one
/// line size for every level, and the cycles an access pays beyond an L1 hit: <see cref="L2HitCycles"/> when the
/// L1 misses and the L2 hits, <see cref="L2MissCycles"/> when both miss. A run of consecutive data lines missed to the
/// same level streams at <see cref="L2BytesPerCycle"/> or <see cref="MemoryBytesPerCycle"/>; with
/// <see cref="WriteStreaming"/> a store that writes a whole line pays no fill.
/// </summary>
public sealed record CacheHierarchyConfig(CacheLevelConfig L1I, CacheLevelConfig L1D, CacheLevelConfig L2, int LineBytes, double L2HitCycles, double L2MissCycles)
{
    /// <summary>Sustained bytes per core cycle of consecutive lines streamed from the L2 into the L1D.</summary>
    public double L2BytesPerCycle { get; init; }

    /// <summary>Sustained bytes per core cycle of consecutive lines streamed from memory (both caches missed).</summary>
    public double MemoryBytesPerCycle { get; init; }

    /// <summary>Stores that write whole lines go out without a line fill (write streaming / read-allocate mode, no RFO).</summary>
    public bool WriteStreaming { get; init; }

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
/// (an assumption: the write buffers of these cores drain evictions in the background).
/// <para>
/// Data lines are priced per run: consecutive lines of one access that miss the L1D to the same level overlap (the
/// cores' preload engines and prefetchers, Linux's arch/arm/lib/copy_template.S and clear_page's PLD, x86's L2
/// streamers): a run of n lines costs max(latency, min(n x latency, n x line / bandwidth)) -- never less than one miss,
/// never more than the misses taken one at a time. A store covering a whole line pays no fill when the profile states
/// write streaming; the line still enters the caches (LRU state) and still counts as a miss. Instruction fetches stay
/// serial (an upper bound).
/// </para>
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

    /// <summary>Fetches the instruction lines covering [<paramref name="physicalAddress"/>, +<paramref name="bytes"/>); the cycles beyond L1 hits (each miss serial).</summary>
    public double Fetch(ulong physicalAddress, ulong bytes)
    {
        if (bytes == 0)
        {
            return 0;
        }

        // a line at a time: a path's runs on a text page are a few lines each, too short for the batch to pay; the lines
        // the L1I's hints hold (nearly all of them: kernel text stays in the L1I) in one tight loop
        double cycles = 0;
        ulong first = physicalAddress >> _lineShift;
        ulong last = (physicalAddress + bytes - 1) >> _lineShift;
        LineCache l1i = L1I;
        for (ulong line = first; line <= last; line++)
        {
            // the L1I first, the L2 only when it misses
            line += (ulong)l1i.HintedHits(line, last);
            if (line > last || l1i.AccessLineWithoutHint(line))
            {
                continue;
            }

            if (L2.AccessLine(line))
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

    /// <summary>
    /// Loads (or, with <paramref name="store"/>, stores) the data lines covering [<paramref name="physicalAddress"/>,
    /// +<paramref name="bytes"/>) in address order, as a copy or clear streams them; the cycles beyond L1 hits, each run of
    /// consecutive misses to one level priced by <see cref="StreamCycles"/>.
    /// </summary>
    public double Data(ulong physicalAddress, ulong bytes, bool store = false)
    {
        if (bytes == 0)
        {
            return 0;
        }

        double cycles = 0;
        ulong end = physicalAddress + bytes;
        ulong first = physicalAddress >> _lineShift;
        ulong last = (end - 1) >> _lineShift;
        bool streaming = store && Config.WriteStreaming;
        Source runSource = Source.None;
        long run = 0;
        for (ulong chunk = first; chunk <= last; chunk += 64)
        {
            (ulong all, ulong l1, ulong l2) = Lines(L1D, chunk, last);

            // a store that writes the whole line: no fill where the core streams writes (the line still enters the caches),
            // priced as a hit: every line but a partial first or last one
            ulong whole = 0;
            if (streaming)
            {
                whole = all;
                if (chunk == first && (physicalAddress & (ulong)(Config.LineBytes - 1)) != 0)
                {
                    whole &= ~1UL;
                }

                if (chunk + 63 >= last && (end & (ulong)(Config.LineBytes - 1)) != 0)
                {
                    whole &= ~(1UL << (int)(last - chunk));
                }
            }

            // runs of consecutive lines from one level, each priced when it ends (a hit ends a run and starts none)
            ulong fromL2 = l2 & ~whole;
            ulong fromMemory = all & ~l1 & ~l2 & ~whole;
            int n = BitOperations.PopCount(all);
            for (int i = 0; i < n;)
            {
                Source s = ((fromL2 >> i) & 1) != 0 ? Source.L2 : ((fromMemory >> i) & 1) != 0 ? Source.Memory : Source.None;
                ulong same = s == Source.L2 ? fromL2 : s == Source.Memory ? fromMemory : ~(fromL2 | fromMemory);
                int length = Math.Min(BitOperations.TrailingZeroCount(~(same >> i)), n - i);
                if (s != runSource)
                {
                    cycles += Price(runSource, run);
                    runSource = s;
                    run = 0;
                }

                run += s == Source.None ? 0 : length;
                i += length;
            }
        }

        return cycles + Price(runSource, run);
    }

    /// <summary>
    /// Lines <paramref name="chunk"/> to min(<paramref name="last"/>, <paramref name="chunk"/> + 63) through <paramref name="l1"/>
    /// in order, then those it missed through the L2 in order (counting the L2's hits and misses): the same state and counts
    /// as taking each line through the L1 and, on a miss, the L2 in turn, as the levels keep no state in common. Bit i of
    /// each mask is line <paramref name="chunk"/> + i: the lines, those the L1 hit, those the L2 hit.
    /// </summary>
    private (ulong All, ulong L1, ulong L2) Lines(LineCache l1, ulong chunk, ulong last)
    {
        ulong n = last - chunk;
        ulong all = n >= 63 ? ulong.MaxValue : (1UL << (int)(n + 1)) - 1;
        ulong l1Hits = l1.AccessLines(chunk, all);
        ulong missed = all & ~l1Hits;
        ulong l2Hits = missed == 0 ? 0 : L2.AccessLines(chunk, missed);
        int l2 = BitOperations.PopCount(l2Hits);
        L2Hits += l2;
        L2Misses += BitOperations.PopCount(missed) - l2;
        return (all, l1Hits, l2Hits);
    }

    /// <summary>
    /// The cycles of <paramref name="lines"/> consecutive lines missed to a level of <paramref name="latency"/> cycles that
    /// streams <paramref name="bytesPerCycle"/>: max(latency, min(lines x latency, lines x line / bandwidth)). A bandwidth of 0
    /// (not stated) leaves the misses serial.
    /// </summary>
    public static double StreamCycles(long lines, int lineBytes, double latency, double bytesPerCycle)
    {
        if (lines <= 0)
        {
            return 0;
        }

        double serial = lines * latency;
        if (bytesPerCycle <= 0)
        {
            return serial;
        }

        return Math.Max(latency, Math.Min(serial, lines * (double)lineBytes / bytesPerCycle));
    }

    private double Price(Source source, long lines) => source switch
    {
        Source.L2 => StreamCycles(lines, Config.LineBytes, _l2Hit, Config.L2BytesPerCycle),
        Source.Memory => StreamCycles(lines, Config.LineBytes, _l2Miss, Config.MemoryBytesPerCycle),
        _ => 0,
    };

    private enum Source
    {
        None,
        L2,
        Memory,
    }

    /// <summary>
    /// Cleans and invalidates the data lines covering [<paramref name="physicalAddress"/>, +<paramref name="bytes"/>) to the
    /// point of coherency (ARM DCCIMVAC by address): each leaves the L1D and the L2, so that the next access to it goes to
    /// memory. Returns how many of them either level held. The operations' own cycles are the caller's to charge.
    /// </summary>
    public int CleanInvalidateData(ulong physicalAddress, ulong bytes)
    {
        if (bytes == 0)
        {
            return 0;
        }

        int held = 0;
        ulong last = (physicalAddress + bytes - 1) >> _lineShift;
        for (ulong line = physicalAddress >> _lineShift; line <= last; line++)
        {
            bool l1 = L1D.InvalidateLine(line);
            bool l2 = L2.InvalidateLine(line);
            held += l1 || l2 ? 1 : 0;
        }

        return held;
    }

    public void Clear()
    {
        L1I.Clear();
        L1D.Clear();
        L2.Clear();
    }
}
