using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Mmu;

/// <summary>What one MMU has done: lookups by where they hit, walks, walk reads, faults, flushes.</summary>
public sealed class MmuCounters
{
    private static readonly int s_opCount = Enum.GetValues<TlbMaintenanceOp>().Length;
    private static readonly int s_faultCount = Enum.GetValues<FaultKind>().Length;

    private readonly long[] _flushes = new long[s_opCount];
    private readonly long[] _flushRemoved = new long[s_opCount];
    private readonly long[] _faults = new long[s_faultCount];

    public long Translations { get; internal set; }

    public long MicroIHits { get; internal set; }

    public long MicroDHits { get; internal set; }

    public long MainHits { get; internal set; }

    /// <summary>Lookups no TLB array held (each is followed by a walk).</summary>
    public long Misses { get; internal set; }

    public long Walks { get; internal set; }

    /// <summary>Descriptor reads the walks needed after walk-cache hits skipped the upper levels.</summary>
    public long WalkReads { get; internal set; }

    /// <summary>Descriptor reads walk-cache hits made unnecessary.</summary>
    public long WalkReadsSaved { get; internal set; }

    public long WalkCacheHits { get; internal set; }

    public long Faults { get; internal set; }

    /// <summary>TLB entries removed by maintenance operations this CPU received (its own and broadcasts).</summary>
    public long EntriesInvalidated { get; internal set; }

    /// <summary>Hits the coherence checker found stale.</summary>
    public long StaleTranslations { get; internal set; }

    public long Hits => MicroIHits + MicroDHits + MainHits;

    public long FaultsOf(FaultKind kind) => _faults[(int)kind];

    /// <summary>Times this CPU issued <paramref name="op"/>.</summary>
    public long Flushes(TlbMaintenanceOp op) => _flushes[(int)op];

    /// <summary>Entries (TLB and walk cache, on every CPU reached) removed by the <paramref name="op"/> this CPU issued.</summary>
    public long FlushRemoved(TlbMaintenanceOp op) => _flushRemoved[(int)op];

    public long TotalFlushes
    {
        get
        {
            long n = 0;
            foreach (long f in _flushes)
            {
                n += f;
            }

            return n;
        }
    }

    internal void CountFault(FaultKind kind)
    {
        Faults++;
        _faults[(int)kind]++;
    }

    internal void CountFlush(in TlbFlushResult result)
    {
        _flushes[(int)result.Op]++;
        _flushRemoved[(int)result.Op] += result.TotalRemoved;
    }

    public void Reset()
    {
        Translations = MicroIHits = MicroDHits = MainHits = Misses = Walks = WalkReads = WalkReadsSaved = WalkCacheHits = Faults = 0;
        EntriesInvalidated = StaleTranslations = 0;
        Array.Clear(_flushes);
        Array.Clear(_flushRemoved);
        Array.Clear(_faults);
    }
}
