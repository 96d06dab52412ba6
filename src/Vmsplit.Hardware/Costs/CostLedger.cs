using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Costs;

/// <summary>
/// The named causes every simulated cycle is charged to. A design's overhead must be explainable by
/// the causes in its breakdown (DESIGN.md: "costs are emergent").
/// </summary>
public enum CostCause : byte
{
    /// <summary>The design-independent work of a kernel path (its instructions); identical across designs.</summary>
    PathBase,

    /// <summary>Exception entry and return (SVC/ERET, SYSCALL/SYSRET, ecall/sret).</summary>
    ExceptionEntryExit,

    /// <summary>Writes of TTBR0/TTBR1/TTBCR/CONTEXTIDR, CR3, satp.</summary>
    RootRegisterWrite,

    /// <summary>ISB, DSB and the like.</summary>
    Barrier,

    /// <summary>TLB lookups that hit a level below the first (latency of the main TLB).</summary>
    TlbLookup,

    /// <summary>Walk steps whose descriptor read hit the data cache.</summary>
    TlbRefillCacheHit,

    /// <summary>Walk steps whose descriptor read missed the data cache.</summary>
    TlbRefillCacheMiss,

    /// <summary>TLBI, INVLPG, INVPCID, SFENCE.VMA and CR3-write flushes.</summary>
    TlbMaintenance,

    /// <summary>ASID generation rollover (bitmap reset plus the full flush it forces).</summary>
    AsidRollover,

    /// <summary>get_user_pages / pin_user_pages and unpin.</summary>
    Pinning,

    /// <summary>kmap, kmap_atomic/kmap_local and their unmaps.</summary>
    Kmap,

    /// <summary>Cache maintenance by line (flush_dcache_page on VIPT-aliasing caches).</summary>
    CacheFlush,

    /// <summary>Bytes copied (copy_{to,from}_user, memcpy through kmap).</summary>
    Memcpy,

    /// <summary>Clearing pages (anonymous faults, clear_user).</summary>
    PageZeroing,

    /// <summary>Page-fault handling beyond entry/exit (VMA lookup, page allocation, PTE install).</summary>
    FaultHandling,

    /// <summary>__pa / __va / virt_to_phys conversions beyond one subtraction.</summary>
    AddressConversion,

    /// <summary>User-mode work between system calls (the workload's own loop).</summary>
    UserWork,

    /// <summary>Opening and closing the kernel's access to user memory: STAC/CLAC, MSR PAN, csrs/csrc sstatus.SUM.</summary>
    UserAccessControl,
}

/// <summary>
/// Cycles and event counts per <see cref="CostCause"/>. A plain accumulator with fixed arrays so that
/// charging is allocation-free on the hot path.
/// </summary>
public sealed class CostLedger
{
    public static readonly int CauseCount = Enum.GetValues<CostCause>().Length;

    private readonly double[] _cycles = new double[CauseCount];
    private readonly long[] _events = new long[CauseCount];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Charge(CostCause cause, double cycles, long events = 1)
    {
        _cycles[(int)cause] += cycles;
        _events[(int)cause] += events;
    }

    public double Cycles(CostCause cause) => _cycles[(int)cause];

    public long Events(CostCause cause) => _events[(int)cause];

    public double TotalCycles
    {
        get
        {
            double sum = 0;
            foreach (double c in _cycles)
            {
                sum += c;
            }

            return sum;
        }
    }

    public void Add(CostLedger other)
    {
        for (int i = 0; i < CauseCount; i++)
        {
            _cycles[i] += other._cycles[i];
            _events[i] += other._events[i];
        }
    }

    public void Reset()
    {
        Array.Clear(_cycles);
        Array.Clear(_events);
    }

    /// <summary>A copy, for taking a snapshot before a measured phase.</summary>
    public CostLedger Clone()
    {
        CostLedger c = new();
        c.Add(this);
        return c;
    }

    /// <summary>This ledger minus <paramref name="before"/>: what a phase cost.</summary>
    public CostLedger Since(CostLedger before)
    {
        CostLedger d = new();
        for (int i = 0; i < CauseCount; i++)
        {
            d._cycles[i] = _cycles[i] - before._cycles[i];
            d._events[i] = _events[i] - before._events[i];
        }

        return d;
    }
}
