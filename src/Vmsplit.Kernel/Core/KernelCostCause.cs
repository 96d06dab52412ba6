using Vmsplit.Hardware.Costs;

namespace Vmsplit.Kernel.Core;

/// <summary>
/// The causes kernel software is charged to (the hardware's own are <see cref="CostCause"/>'s): the work of a
/// path's instructions and of the kernel mechanisms a design adds (kmap, pinning, __pa), each in its ledger
/// slot from <see cref="CostCause.FirstSoftwareSlot"/> on.
/// </summary>
public static class KernelCostCause
{
    /// <summary>The design-independent work of a kernel path (its instructions); identical across designs.</summary>
    public static CostCause PathBase { get; } = new(CostCause.FirstSoftwareSlot, "path-base");

    /// <summary>ASID generation rollover (bitmap reset plus the full flush it forces).</summary>
    public static CostCause AsidRollover { get; } = new(CostCause.FirstSoftwareSlot + 1, "asid-rollover");

    /// <summary>get_user_pages / pin_user_pages and unpin.</summary>
    public static CostCause Pinning { get; } = new(CostCause.FirstSoftwareSlot + 2, "pinning");

    /// <summary>kmap, kmap_atomic/kmap_local and their unmaps.</summary>
    public static CostCause Kmap { get; } = new(CostCause.FirstSoftwareSlot + 3, "kmap");

    /// <summary>Page-fault handling beyond entry/exit (VMA lookup, page allocation, PTE install).</summary>
    public static CostCause FaultHandling { get; } = new(CostCause.FirstSoftwareSlot + 4, "fault-handling");

    /// <summary>__pa / __va / virt_to_phys conversions beyond one subtraction.</summary>
    public static CostCause AddressConversion { get; } = new(CostCause.FirstSoftwareSlot + 5, "pa-va");

    /// <summary>The initiator of a shootdown writing the interrupt command register once per target CPU (x86 flush_tlb_others, the RISC-V firmware's remote fence).</summary>
    public static CostCause IpiSend { get; } = new(CostCause.FirstSoftwareSlot + 6, "ipi-send");

    /// <summary>The initiator spinning until the last target acknowledged: the IPI's delivery, the target's handler, the acknowledgement's cache line.</summary>
    public static CostCause ShootdownWait { get; } = new(CostCause.FirstSoftwareSlot + 7, "shootdown-wait");

    /// <summary>The target CPUs' side of a shootdown: interrupt entry and exit, the handler, the TLB maintenance it executes.</summary>
    public static CostCause RemoteFlush { get; } = new(CostCause.FirstSoftwareSlot + 8, "remote-flush");

    /// <summary>arm/arm64 with more than one CPU: the inner-shareable TLBIs that reach every CPU and the DSB that waits for them (no IPI).</summary>
    public static CostCause TlbiBroadcast { get; } = new(CostCause.FirstSoftwareSlot + 9, "tlbi-broadcast");

    /// <summary>
    /// x86 speculation mitigations the kernel executes on a CPU with the bugs (Linux v5.2): the retpoline of each
    /// indirect call on a path, VERW on every return to user mode (MDS), the return-stack fill on context switch.
    /// </summary>
    public static CostCause SpeculationMitigation { get; } = new(CostCause.FirstSoftwareSlot + 10, "spec-mitigation");

    /// <summary>
    /// Every cause a simulated machine charges, the CPU's and the kernel's, in the order reports print them
    /// (JSON and CSV columns keep it).
    /// </summary>
    public static IReadOnlyList<CostCause> All { get; } =
    [
        PathBase,
        CostCause.InstructionCacheMiss,
        CostCause.ExceptionEntryExit,
        SpeculationMitigation,
        CostCause.RootRegisterWrite,
        CostCause.Barrier,
        CostCause.TlbLookup,
        CostCause.TlbRefillCacheHit,
        CostCause.TlbRefillCacheMiss,
        CostCause.TlbMaintenance,
        TlbiBroadcast,
        IpiSend,
        ShootdownWait,
        RemoteFlush,
        AsidRollover,
        Pinning,
        Kmap,
        CostCause.CacheFlush,
        CostCause.Memcpy,
        CostCause.DataCacheMiss,
        CostCause.PageZeroing,
        FaultHandling,
        AddressConversion,
        CostCause.UserWork,
        CostCause.UserAccessControl,
    ];
}
