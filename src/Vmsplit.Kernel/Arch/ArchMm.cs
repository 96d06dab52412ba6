using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Cpus;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
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

    // ---- speculation mitigations the release runs on this CPU (no-ops where none are modelled) ----

    /// <summary>An indirect call on a kernel path (the system-call table's, a file's f_op): x86 calls it through a retpoline.</summary>
    public virtual void IndirectCall()
    {
    }

    /// <summary>An exception from user mode enters through the vectors: arm64 runs the Spectre-BHB loop on affected cores.</summary>
    public virtual void EntryFromUser()
    {
    }

    /// <summary>The end of the C exit path before returning to user mode: x86 clears the CPU buffers (MDS).</summary>
    public virtual void ReturnToUser()
    {
    }

    /// <summary>A task switch (__switch_to_asm): x86 fills the return stack buffer.</summary>
    public virtual void TaskSwitch()
    {
    }

    /// <summary>The kernel text footprint of this architecture's own kernel (a real symbol table, one per family).</summary>
    public abstract KernelTextTable TextFootprint { get; }

    /// <summary>The architecture's part of a new program's stack (create_elf_tables, fs/binfmt_elf.c 5.4).</summary>
    public abstract Vmsplit.Kernel.Abi.ElfStack ElfStack { get; }

    /// <summary>Where exec places the stack and the mmap area: STACK_TOP, STACK_RND_MASK, mmap_rnd_bits (Linux 5.4).</summary>
    public abstract Vmsplit.Kernel.Abi.ProcessLayout ProcessLayout { get; }

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
    /// ceiling and by address space above it; then the other CPUs of the mm as the architecture reaches them
    /// (<see cref="FlushOtherCpus"/>: IPIs, an SBI remote fence, or nothing beyond the broadcast TLBIs).
    /// </summary>
    public void FlushTlbMmRange(Process p, VirtualAddress start, VirtualAddress end, bool freedTables = false)
    {
        Kernel.RequireRunning(p);
        ulong pages = (end.Value - start.Value) / Page;
        if (RangeFlushesWholeMm(pages))
        {
            FlushTlbMm(p, freedTables);
            return;
        }

        ulong gen = p.Context.IncrementTlbGen(); // inc_mm_tlb_gen (arch/x86/mm/tlb.c; the other rooms ignore it)
        Cpu.Charge(CostCause.TlbMaintenance, Kernel.Software.FlushTlbRange);
        FlushUserRange(start, end, Kernel.UserAsid);
        LocalFlushDone(p, gen);
        FlushOthers(p, new UserFlush(start, end, WholeMm: false, freedTables, gen));
    }

    /// <summary>flush_tlb_mm(): every user translation of the running mm, by address space, on every CPU of the mm.</summary>
    public void FlushTlbMm(Process p, bool freedTables = false)
    {
        Kernel.RequireRunning(p);
        ulong gen = p.Context.IncrementTlbGen();
        Cpu.Charge(CostCause.TlbMaintenance, Kernel.Software.FlushTlbRange);
        FlushUserMm(p, Kernel.UserAsid);
        LocalFlushDone(p, gen);
        FlushOthers(p, new UserFlush(default, default, WholeMm: true, freedTables, gen));
    }

    /// <summary>
    /// Fault injection for the coherence checker's tests: user flushes leave out their remote part (x86 sends no IPIs,
    /// RISC-V no SBI remote fence, arm and arm64 use the local TLBI forms instead of the inner-shareable ones).
    /// </summary>
    public bool OmitRemoteFlush { get; set; }

    private void FlushOthers(Process p, UserFlush f)
    {
        ulong others = p.CpuMask & ~(1UL << Cpu.Id);
        if (others != 0 && !OmitRemoteFlush)
        {
            FlushOtherCpus(p, others, f);
        }
    }

    /// <summary>The local flush of generation <paramref name="gen"/> is done (x86: the loaded slot's tlb_gen catches up).</summary>
    private protected virtual void LocalFlushDone(Process p, ulong gen)
    {
    }

    /// <summary>
    /// The other CPUs of the mm (<paramref name="targets"/>, a mask) must drop the translations <paramref name="f"/>
    /// names. Default: nothing, because the architecture's inner-shareable TLBIs already reached every CPU (arm, arm64).
    /// </summary>
    private protected virtual void FlushOtherCpus(Process p, ulong targets, UserFlush f)
    {
    }

    /// <summary>
    /// x86 switch_mm_irqs_off clears the CPU from the previous mm's mm_cpumask (4.14+: a CPU that switches back
    /// catches up by tlb_gen); arm and arm64 broadcast and never look at the mask.
    /// </summary>
    public virtual bool SwitchMmClearsPrevCpu => false;

    /// <summary>The idle task switches back to the mm it kept loaded (lazy TLB mode): nothing by default.</summary>
    public virtual void LeaveLazyTlb(Process p)
    {
    }

    /// <summary>
    /// smp_call_function_many(mask, func, wait=1) (kernel/smp.c) as the initiator and the targets execute it: the
    /// initiator writes the interrupt command register per target, then spins until the last target acknowledged;
    /// each target takes the interrupt (entry through the design's scheme from user mode), runs the handler and
    /// <paramref name="func"/> on its own MMU, and returns. The targets' work is charged to
    /// <see cref="KernelCostCause.RemoteFlush"/>; the initiator's wait is the delivery, the slowest target's
    /// entry and handler up to its acknowledgement (not its return to user mode, which follows the acknowledgement)
    /// and the acknowledgement's cache line (a load that misses: the target wrote it).
    /// </summary>
    private protected void CallFunctionMany(ulong targets, Action<int> func) =>
        RemoteCall(targets, func, Kernel.Software.IpiSend, Kernel.Software.CallFunctionHandler, viaKernel: true);

    /// <summary>
    /// The shape shared by IPIs and the SBI remote fence: <paramref name="sendPerTarget"/> cycles on the initiator per
    /// target, <paramref name="handler"/> cycles of software on each target around <paramref name="func"/>; with
    /// <paramref name="viaKernel"/> the target enters its kernel (an interrupt), otherwise only the firmware runs (an
    /// M-mode trap: the profile's exception entry and exit, no kernel entry).
    /// </summary>
    private protected void RemoteCall(ulong targets, Action<int> func, double sendPerTarget, double handler, bool viaKernel)
    {
        SimKernel k = Kernel;
        Cpu initiator = Cpu;
        int here = initiator.Id;
        double slowest = 0;
        for (int t = 0; t < k.Cpus.Count; t++)
        {
            if ((targets & (1UL << t)) == 0 || t == here)
            {
                continue;
            }

            initiator.Charge(KernelCostCause.IpiSend, sendPerTarget);
            Cpu target = k.Cpus[t];
            double before = k.Ledger.TotalCycles;
            k.RunOn(t);
            target.ChargeAllTo = KernelCostCause.RemoteFlush;
            try
            {
                bool enter = viaKernel && !k.InKernel && k.Current is not null;
                if (enter)
                {
                    k.EnterKernel(exception: true);
                }
                else
                {
                    target.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionEntry);
                }

                target.Charge(KernelCostCause.RemoteFlush, handler);
                func(t);

                // The initiator's wait ends here: the target acknowledges when the function returns, before its own
                // way out (kernel/smp.c, Linux 5.4: flush_smp_call_function_queue runs func, then csd_unlock for a
                // synchronous call; OpenSBI's TLB handler sets the sender's sync flag before its mret). The exit
                // (x86: prepare_exit_to_usermode's VERW, the PTI CR3 switch, IRET) is the target's own time.
                slowest = Math.Max(slowest, k.Ledger.TotalCycles - before);
                if (enter)
                {
                    k.ExitKernel();
                }
                else
                {
                    target.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionExit);
                }
            }
            finally
            {
                target.ChargeAllTo = null;
                k.RunOn(here);
            }

            RemoteCalls++;
        }

        if (slowest > 0)
        {
            double delivery = k.Software.IpiDeliveryNs * initiator.Profile.ClockMhz / 1000.0;
            initiator.Charge(KernelCostCause.ShootdownWait, delivery + slowest + initiator.Cycles(PrimitiveCost.WalkStepCacheMiss));
        }
    }

    /// <summary>More than one CPU: TLB maintenance that must reach the others uses the inner-shareable forms (ARM's ALT_SMP).</summary>
    private protected bool Smp => Kernel.Cpus.Count > 1;

    /// <summary>Every CPU but the executing one, as a mask.</summary>
    private protected ulong OtherCpus => (Kernel.Cpus.Count >= 64 ? ulong.MaxValue : (1UL << Kernel.Cpus.Count) - 1) & ~(1UL << Cpu.Id);

    /// <summary>
    /// With more than one CPU, books the charges that follow on this CPU to <see cref="KernelCostCause.TlbiBroadcast"/>
    /// until <see cref="EndBroadcast"/> (no closure, so the single-CPU path allocates nothing); returns what to restore.
    /// </summary>
    private protected CostCause? BeginBroadcast()
    {
        CostCause? before = Cpu.ChargeAllTo;
        if (Smp)
        {
            Cpu.ChargeAllTo ??= KernelCostCause.TlbiBroadcast;
        }

        return before;
    }

    private protected void EndBroadcast(CostCause? before) => Cpu.ChargeAllTo = before;

    /// <summary>Handlers run on other CPUs (IPIs or firmware remote fences received), and flushes a lazy CPU skipped.</summary>
    public long RemoteCalls { get; private set; }

    public long LazySkips { get; private protected set; }

    /// <summary>Switches back from lazy TLB mode that had to flush because flushes were skipped meanwhile (x86).</summary>
    public long LazyCatchUps { get; private protected set; }

    /// <summary>What a user flush asks of the other CPUs: the range or the whole mm, whether page tables were freed, the mm's new tlb_gen.</summary>
    private protected readonly record struct UserFlush(VirtualAddress Start, VirtualAddress End, bool WholeMm, bool FreedTables, ulong Gen);

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

    /// <summary>
    /// The __va and __pa conversions the architecture's p?d_populate executes when a new user table is linked:
    /// <paramref name="pteTable"/> for pmd_populate (a PTE table, given as a struct page), otherwise pud_populate,
    /// p4d_populate or pgd_populate (an upper table, given by its kernel address). By default pmd_populate takes
    /// page_to_phys/page_to_pfn (arithmetic on the struct page, no conversion) and the upper levels __pa(table):
    /// arch/x86/include/asm/pgalloc.h, arch/arm64/include/asm/pgalloc.h and arch/arm/include/asm/pgalloc.h (LPAE's
    /// pud_populate), Linux 5.4 to 6.6.
    /// </summary>
    public virtual (int Va, int Pa) PopulateConversions(bool pteTable) => pteTable ? (0, 0) : (0, 1);

    /// <summary>
    /// The cache maintenance get_user_pages does for each page it returns (mm/gup.c, __get_user_pages, 6.x:
    /// flush_anon_page then flush_dcache_page): nothing unless the data cache aliases.
    /// </summary>
    public virtual void GupCacheMaintenance(PhysicalAddress frame, VirtualAddress user)
    {
    }

    /// <summary>flush_dcache_page of a user page the kernel wrote through its own alias: nothing unless the data cache aliases.</summary>
    public virtual void FlushDcachePage(PhysicalAddress frame)
    {
    }

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
