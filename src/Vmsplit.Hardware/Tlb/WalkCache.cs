namespace Vmsplit.Hardware.Tlb;

/// <summary>
/// A cache of table (non-leaf) descriptors, tagged with the ASID/PCID, keyed by the VA bits above the
/// range one descriptor maps. A hit on the descriptor of step k lets a walk skip the reads of steps
/// 0..k. Vmsplit counts the skipped reads rather than resuming the walk part-way: the walker always
/// reads the current tables, so a walk cache here saves cost but never returns a stale table pointer.
/// </summary>
public sealed class WalkCache
{
    private readonly TlbLevel _array;
    private readonly int[] _shifts;

    /// <param name="config">The cache's geometry and which descriptor levels it holds.</param>
    /// <param name="formatTableShifts">log2 of the VA span of each non-leaf level of the format in use.</param>
    public WalkCache(WalkCacheConfig config, ReadOnlySpan<int> formatTableShifts)
    {
        List<int> held = new();
        foreach (int s in formatTableShifts)
        {
            bool wanted = config.CoverageShifts.Count == 0;
            foreach (int c in config.CoverageShifts)
            {
                wanted |= c == s;
            }

            if (wanted && !held.Contains(s))
            {
                held.Add(s);
            }
        }

        _shifts = [.. held];
        Config = config;
        ulong[] sizes = new ulong[Math.Max(1, held.Count)];
        for (int i = 0; i < held.Count; i++)
        {
            sizes[i] = 1UL << held[i];
        }

        if (held.Count == 0)
        {
            sizes[0] = 1UL << 12;
        }

        _array = new TlbLevel(config.AsArray() with { PageSizes = sizes });
    }

    public WalkCacheConfig Config { get; }

    public string Name => Config.Name;

    /// <summary>The descriptor spans (log2) this cache holds for the current format.</summary>
    public ReadOnlySpan<int> Shifts => _shifts;

    public TlbLevel Array => _array;

    public bool Holds(int shift)
    {
        foreach (int s in _shifts)
        {
            if (s == shift)
            {
                return true;
            }
        }

        return false;
    }

    public bool Lookup(ulong va, int shift, ushort asid) => _array.LookupAt(va, shift, asid) >= 0;

    public void Fill(ulong va, int shift, ushort asid, ulong nextTable)
    {
        TlbEntry e = default;
        e.Key = TlbEntry.MakeKey(va, shift);
        e.Frame = nextTable;
        e.AsidTag = asid;
        e.Shift = (byte)shift;
        e.SourceShift = (byte)shift;
        e.Flags = TlbEntry.ValidFlag;
        _array.Fill(e);
    }

    public int Invalidate(TlbMatch match, ulong va, ushort asid) => _array.Invalidate(match, va, asid);

    public int Occupancy => _array.Occupancy;

    public void Reset() => _array.Reset();
}
