namespace Vmsplit.Hardware.Costs;

/// <summary>
/// A named cause simulated cycles are charged to: a slot of the <see cref="CostLedger"/> and the name reports
/// print (kebab case, stable: JSON and CSV keys). The hardware defines what the CPU itself does (below); the
/// kernel layer defines its software's causes (kmap, pinning, __pa, a path's instructions) in its own slots
/// from <see cref="FirstSoftwareSlot"/> on, so the ledger never needs to know them.
/// </summary>
public sealed class CostCause
{
    /// <summary>The ledger's capacity: hardware causes plus every software layer's.</summary>
    public const int Slots = 32;

    /// <summary>The first slot not taken by a hardware cause.</summary>
    public const int FirstSoftwareSlot = 14;

    public CostCause(int slot, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, Slots);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Slot = slot;
        Name = name;
    }

    /// <summary>Exception entry and return (SVC/ERET, SYSCALL/SYSRET, ecall/sret).</summary>
    public static CostCause ExceptionEntryExit { get; } = new(0, "exception-entry-exit");

    /// <summary>Writes of TTBR0/TTBR1/TTBCR/CONTEXTIDR, CR3, satp.</summary>
    public static CostCause RootRegisterWrite { get; } = new(1, "root-register-write");

    /// <summary>ISB, DSB and the like.</summary>
    public static CostCause Barrier { get; } = new(2, "barrier");

    /// <summary>TLB lookups that hit a level below the first (latency of the main TLB).</summary>
    public static CostCause TlbLookup { get; } = new(3, "tlb-lookup");

    /// <summary>Walk steps whose descriptor read hit the data cache.</summary>
    public static CostCause TlbRefillCacheHit { get; } = new(4, "tlb-refill-cache-hit");

    /// <summary>Walk steps whose descriptor read missed the data cache.</summary>
    public static CostCause TlbRefillCacheMiss { get; } = new(5, "tlb-refill-cache-miss");

    /// <summary>TLBI, INVLPG, INVPCID, SFENCE.VMA and CR3-write flushes.</summary>
    public static CostCause TlbMaintenance { get; } = new(6, "tlb-maintenance");

    /// <summary>Cache maintenance by line (flush_dcache_page on VIPT-aliasing caches).</summary>
    public static CostCause CacheFlush { get; } = new(7, "cache-flush");

    /// <summary>Bytes copied (copy_{to,from}_user, memcpy through kmap).</summary>
    public static CostCause Memcpy { get; } = new(8, "memcpy");

    /// <summary>Clearing pages (anonymous faults, clear_user).</summary>
    public static CostCause PageZeroing { get; } = new(9, "page-zeroing");

    /// <summary>User-mode work between system calls (the workload's own loop).</summary>
    public static CostCause UserWork { get; } = new(10, "user-work");

    /// <summary>Opening and closing the kernel's access to user memory: STAC/CLAC, MSR PAN, csrs/csrc sstatus.SUM.</summary>
    public static CostCause UserAccessControl { get; } = new(11, "uaccess-control");

    /// <summary>Kernel text lines that missed the L1 instruction cache: the L2's latency, or memory's when the L2 misses too.</summary>
    public static CostCause InstructionCacheMiss { get; } = new(12, "icache-miss");

    /// <summary>Lines a copy or a page clear reached that missed the L1 data cache: the L2's latency, or memory's.</summary>
    public static CostCause DataCacheMiss { get; } = new(13, "dcache-miss");

    /// <summary>The hardware's causes, in slot order.</summary>
    public static IReadOnlyList<CostCause> Hardware { get; } =
    [
        ExceptionEntryExit, RootRegisterWrite, Barrier, TlbLookup, TlbRefillCacheHit, TlbRefillCacheMiss,
        TlbMaintenance, CacheFlush, Memcpy, PageZeroing, UserWork, UserAccessControl, InstructionCacheMiss, DataCacheMiss,
    ];

    public int Slot { get; }

    public string Name { get; }

    public override string ToString() => Name;
}
