using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;

namespace Vmsplit.Kernel.Arch;

/// <summary>
/// One architecture's memory-management code, as Linux keeps it under <c>arch/*/mm</c>: the ASID (PCID)
/// allocator, <c>switch_mm</c> and the root registers it loads, the TLB flush family with its ceilings,
/// and the fixed places of the kernel image and the entry code. One subclass per architecture
/// (<see cref="Arm.ArmMm"/>, <see cref="Arm64.Arm64Mm"/>, <see cref="X86.X86Mm"/>, <see cref="Riscv.RiscvMm"/>);
/// the kernel core calls it without asking which one it has.
/// </summary>
public abstract class ArchMm
{
    protected const ulong Page = 4096;

    /// <summary>flush_tlb_kernel_range: above this many pages everything is flushed instead (arch/x86/mm/tlb.c tlb_single_page_flush_ceiling; arm64 has its own).</summary>
    public const int KernelRangeFlushCeiling = 33;

    private protected ArchMm(SimKernel kernel)
    {
        Kernel = kernel;
    }

    private protected SimKernel Kernel { get; }

    private protected Cpu Cpu => Kernel.Cpu;

    private protected MemoryManagementUnit Mmu => Kernel.Cpu.Mmu;

    private protected PageTableFormat Format => Kernel.Format;

    /// <summary>The isolation scheme the kernel runs: it says which trees the roots hold.</summary>
    private protected IsolationPolicy Isolation => Kernel.Isolation;

    /// <summary>The ASID (PCID) allocator this architecture runs (Linux's, with its own policy).</summary>
    public abstract IAsidAllocator Asids { get; }

    // ---- the kernel's fixed places -------------------------------------------------------------

    /// <summary>How far into RAM the kernel image is loaded (TEXT_OFFSET, CONFIG_PHYSICAL_START, the 2 MiB load alignment).</summary>
    public abstract ulong ImageOffsetInRam { get; }

    /// <summary>FIXADDR_TOP: kmap_local's slots count down from here (0 where no highmem fixmap is modelled).</summary>
    public virtual ulong FixaddrTop => 0;

    /// <summary>kmap_local flushes the slot's stale translation right after setting its PTE (arch/arm/mm/highmem.c).</summary>
    public virtual bool KmapFlushesAfterMap => false;

    /// <summary>Places (<see cref="SimKernel.EntryVa"/>, <see cref="SimKernel.EntryAreaVa"/>) and maps the exception vectors or the entry area at boot.</summary>
    public abstract void MapEntry(VirtualAddress imageVa);

    /// <summary>Whether every kernel entry touches the entry area (x86: the entry stack in cpu_entry_area).</summary>
    public virtual bool EntryTouchesEntryArea => false;

    /// <summary>How the entry path touches the entry area: written (x86 entry stack) or executed (ARM vector stubs).</summary>
    public virtual AccessType EntryAreaAccess => AccessType.Execute;

    // ---- pgd_alloc: how the kernel half reaches a process's tables ------------------------------

    /// <summary>The kernel has a root register of its own (TTBR1) instead of sharing entries into every process.</summary>
    public virtual bool KernelHasOwnRoot => false;

    /// <summary>First kernel address whose top-level entries pgd_alloc copies into a process.</summary>
    public virtual ulong KernelSpaceStart
    {
        get
        {
            Vmsplit.Kernel.Layout.KernelLayout l = Kernel.Layout;
            return l.ModulesVaddr != 0 ? Math.Min(l.ModulesVaddr, l.PageOffset) : l.PageOffset;
        }
    }

    /// <summary>Last kernel address (inclusive) whose entries are shared.</summary>
    public virtual ulong KernelSpaceEnd => (1UL << 32) - 1;

    /// <summary>The table level at which the kernel part is shared (0: the top level).</summary>
    public virtual int KernelShareLevel => 0;

    /// <summary>Creates swapper_pg_dir (or the TTBR1 tree) of a design that maps the kernel in every process.</summary>
    public virtual PageTable CreateSharedKernelTree() => KeepEmpty(Kernel.NewTree());

    /// <summary>Which kernel tree holds <paramref name="va"/> in such a design.</summary>
    public virtual PageTable SharedKernelTreeFor(VirtualAddress va, PageTable kernelTree) => kernelTree;

    /// <summary>pgd_alloc: clone_pgd_range of the kernel part of swapper_pg_dir into a new process's tables.</summary>
    public virtual void PgdAlloc(PageTable user, PageTable kernelTree)
    {
        if (!KernelHasOwnRoot)
        {
            SimKernel.ShareRange(user, kernelTree, KernelSpaceStart, KernelSpaceEnd, KernelShareLevel);
        }
    }

    /// <summary>A kernel entry created after <paramref name="p"/> was born reaches its tables (vmalloc_sync, check_vmalloc_seq).</summary>
    public virtual void SyncKernelEntry(Process p, VirtualAddress va, PageTable kernelTree)
    {
        if (!KernelHasOwnRoot && va.Value >= KernelSpaceStart)
        {
            p.Tables.ShareEntry(kernelTree, va, KernelShareLevel);
        }
    }

    /// <summary>The trees reachable from the root registers while user code runs, given the two halves' trees.</summary>
    public virtual IReadOnlyList<LiveRoot> LiveRoots(PageTable userTree, PageTable kernelTree) => [new LiveRoot(userTree, Format.RootRegisterName, 0)];

    /// <summary>Marks a kernel tree whose tables other trees point at, so that emptied tables stay.</summary>
    private protected static PageTable KeepEmpty(PageTable t)
    {
        t.KeepEmptyTables = true; // other trees share entries that point at kernel tables
        return t;
    }

    // ---- switch_mm --------------------------------------------------------------------------------

    /// <summary>
    /// Loads the registers for <paramref name="p"/> (boot-time <c>Start</c> and <c>switch_mm</c>), without cost:
    /// the architecture's roots, then the PAN state the design keeps in them.
    /// </summary>
    public void LoadUserRoots(Process p, ushort asid, ushort userAsid)
    {
        SetUserRoots(p, asid, userAsid);
        Kernel.Pan.ApplyToRoots(ref Mmu.Registers, Kernel.InKernel);
    }

    /// <summary>The architecture's part of <see cref="LoadUserRoots"/>: root registers, ASID, translation controls.</summary>
    private protected abstract void SetUserRoots(Process p, ushort asid, ushort userAsid);

    /// <summary>Whether the kernel's user accesses are unprivileged loads and stores, which PAN does not restrict (arm64 LDTR/STTR).</summary>
    public virtual bool UaccessUnprivileged => false;

    /// <summary>switch_mm: the allocator's decision turned into root writes and TLB maintenance.</summary>
    public abstract void SwitchMm(Process next, AsidSwitch sw);

    // ---- the TLB flush family ---------------------------------------------------------------------

    /// <summary>
    /// flush_tlb_mm_range(): TLB maintenance after user PTEs of the running mm changed in
    /// [<paramref name="start"/>, <paramref name="end"/>), one page at a time below the architecture's
    /// ceiling and by address space above it. Single CPU: no shootdown IPIs.
    /// </summary>
    public void FlushTlbMmRange(Process p, VirtualAddress start, VirtualAddress end)
    {
        Kernel.RequireRunning(p);
        ulong pages = (end.Value - start.Value) / Page;
        if (RangeFlushesWholeMm(pages))
        {
            FlushTlbMm(p);
            return;
        }

        Cpu.Charge(CostCause.TlbMaintenance, Kernel.Software.FlushTlbRange);
        FlushUserRange(start, end, Kernel.UserAsid);
    }

    /// <summary>flush_tlb_mm(): every user translation of the running mm, by address space.</summary>
    public void FlushTlbMm(Process p)
    {
        Kernel.RequireRunning(p);
        Cpu.Charge(CostCause.TlbMaintenance, Kernel.Software.FlushTlbRange);
        FlushUserMm(p, Kernel.UserAsid);
    }

    /// <summary>Whether a range of <paramref name="pages"/> pages is flushed as the whole mm (the architecture's ceiling).</summary>
    public abstract bool RangeFlushesWholeMm(ulong pages);

    /// <summary>The per-page part of flush_tlb_mm_range for the user ASID.</summary>
    private protected abstract void FlushUserRange(VirtualAddress start, VirtualAddress end, ushort asid);

    /// <summary>The by-address-space part of flush_tlb_mm for the user ASID.</summary>
    private protected abstract void FlushUserMm(Process p, ushort asid);

    /// <summary>flush_tlb_kernel_range: per page up to <see cref="KernelRangeFlushCeiling"/> pages, else everything (arch/arm/kernel/smp_tlb.c, arch/x86/mm/tlb.c).</summary>
    public virtual void FlushTlbKernelRange(VirtualAddress start, VirtualAddress end)
    {
        ulong pages = (end - start) / Page;
        if (pages > KernelRangeFlushCeiling)
        {
            FlushTlbAll();
            return;
        }

        for (VirtualAddress va = start; va < end; va += Page)
        {
            FlushTlbKernelPage(va);
        }
    }

    /// <summary>local_flush_tlb_kernel_page: this CPU, one kernel page.</summary>
    public abstract void FlushTlbKernelPage(VirtualAddress va);

    /// <summary>Every translation on this CPU, global ones included.</summary>
    public abstract void FlushTlbAll();

    // ---- mmu_gather ---------------------------------------------------------------------------------

    /// <summary>munmap flushes once for all VMAs (x86 MMU_GATHER_MERGE_VMAS) instead of at the end of each (tlb_end_vma).</summary>
    public virtual bool GatherMergesVmas => false;

    /// <summary>tlb_finish_mmu's flush after free_pgtables freed tables of <paramref name="p"/> (nothing beyond the range flushes by default).</summary>
    public virtual void FlushFreedTables(Process p)
    {
    }
}
