using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>
/// VMSPLIT_4G_4G on the ARM short-descriptor format (docs/designs.md). TTBCR.N cannot give TTBR1 the top 256 MiB
/// alone (ARM ARM B3.5.4: TTBR0 translates VA[31:32-N] = 0, TTBR1 the rest, so with N &gt; 0 TTBR1 covers at least the
/// top 2 GiB), so TTBCR.N = 0 and TTBR0 is switched over the whole 4 GiB, as x86-32's 4G/4G switched CR3: the kernel
/// runs on a full table of its own (ASID 0, every entry non-global) and each process on a full table of its own
/// (user space below <see cref="UserTop"/>). Both share only the trampoline at the top: the vectors page, the stubs
/// page holding the entry/exit code, and a per-CPU save area (the registers the switch needs and the pt_regs the exit
/// restores), plus, for the uaccess strategies that switch TTBR0, a bounce page; those PTEs are global and the same in
/// every table. TTBR1 holds a table with only the trampoline, the reserved TTBR0 loaded while the ASID changes.
/// </summary>
public sealed class ArmShortFourGFourG : ArmFourGFourG
{
    /// <summary>The vectors page (arch/arm/kernel/traps.c early_trap_init, CONFIG_VECTORS_BASE 0xffff0000).</summary>
    public const ulong TrampolineBase = 0xffff0000;

    /// <summary>The per-CPU entry save area: in the range Documentation/arch/arm/memory.rst reserves (0xffff1000-0xffff7fff) after the stubs page.</summary>
    public const ulong SaveAreaVa = TrampolineBase + (2 * Page);

    /// <summary>The uaccess bounce page, after the save area (below the VIPT alias window at 0xffff4000, arch/arm/mm/mm.h FLUSH_ALIAS_START).</summary>
    public const ulong BounceVa = TrampolineBase + (3 * Page);

    /// <summary>TASK_SIZE: user space ends 16 MiB below the top (as x86-32's 4G/4G left its top 16 MB to the trampoline; our choice).</summary>
    public const ulong UserTop = 0xff000000;

    private bool _bounceWanted;

    public ArmShortFourGFourG(SimKernel kernel, ArmMm arm)
        : base(kernel, arm)
    {
    }

    /// <summary>TTBR1: a table holding only the trampoline's global entries, the reserved TTBR0 of cpu_set_reserved_ttbr0.</summary>
    public PageTable ReservedTree { get; private set; } = null!;

    /// <summary>Where the trampoline ends: the save area, and the bounce page when a strategy asked for it.</summary>
    public ulong TrampolineEnd => _bounceWanted ? BounceVa + Page : SaveAreaVa + Page;

    /// <summary>
    /// ARMv6 runs cpu_v6_switch_mm (arch/arm/mm/proc-v6.S), ARMv7 cpu_v7_switch_mm (proc-v7-2level.S). An ARMv7 data
    /// cache never aliases (cacheid_init, arch/arm/kernel/setup.c, makes every ARMv7 D-cache VIPT non-aliasing), so a
    /// profile with an aliasing data cache is an ARMv6 core; a non-aliasing ARMv6 runs the ARMv7 sequence here.
    /// </summary>
    public bool Armv6 => ArmArch.ViptAliasing is not null;

    /// <summary>TTBCR.N = 0: the kernel's full table (ASID 0) and the trampoline-only table for TTBR1.</summary>
    public override void CreateKernelTrees()
    {
        ArmArch.Ttbr1Size = 0;
        KernelTree = Kernel.NewTree();
        KernelTree.KeepEmptyTables = true; // every process copies the trampoline's PTEs from its table
        LowTree = KernelTree;
        ReservedTree = Kernel.NewTree();
        ReservedTree.KeepEmptyTables = true;
    }

    public override PageTable KernelTreeFor(VirtualAddress va) => KernelTree;

    /// <summary>Only the trampoline is global; everything else of the kernel is tagged with ASID 0.</summary>
    public override bool IsGlobal(VirtualAddress va) => va.Value >= TrampolineBase && va.Value < TrampolineEnd;

    public override bool MappedUnderUserTables(VirtualAddress va) => va.Value >= TrampolineBase && va.Value < TrampolineEnd;

    public override void RequestBouncePage() => _bounceWanted = true;

    private protected override VirtualAddress MapBouncePage() =>
        _bounceWanted ? new VirtualAddress(BounceVa) : throw new InvalidOperationException("no strategy asked for the trampoline bounce page");

    /// <summary>
    /// pgd_alloc: the trampoline's PTEs copied into a second-level table of the process's own, as arch/arm/mm/pgd.c
    /// copies the low vectors PTE (set_pte_ext(new_pte + 0, init_pte[0], 0)) into a new process's table.
    /// </summary>
    public override void PgdAlloc(PageTable user) => SimKernel.ShareRange(user, KernelTree, TrampolineBase, TrampolineEnd, 1);

    /// <summary>The save area (and the bounce page) beside the vectors and stubs ArmMm mapped, copied into the TTBR1 table.</summary>
    public override void MapEntryTrampoline()
    {
        PagePermissions rw = PagePermissions.Read | PagePermissions.Write;
        Kernel.MapKernelRange(new VirtualAddress(SaveAreaVa), Kernel.AllocLowmem(), Page, rw);
        if (_bounceWanted)
        {
            Kernel.MapKernelRange(new VirtualAddress(BounceVa), Kernel.AllocLowmem(), Page, rw);
        }

        SimKernel.ShareRange(ReservedTree, KernelTree, TrampolineBase, TrampolineEnd, 1);
    }

    /// <summary>
    /// The entry trampoline (vectors → stubs page): the scratch registers stored on the per-CPU save area through
    /// the user's table, the switch to the kernel's table and ASID 0, and the registers reloaded before pt_regs are
    /// built on the kernel stack.
    /// </summary>
    public override void Enter(Process p, bool exception)
    {
        Kernel.KernelAccess(new VirtualAddress(SaveAreaVa), AccessType.Write);
        SwitchTo(KernelTree.Root, KernelAsid);
        Kernel.KernelAccess(new VirtualAddress(SaveAreaVa), AccessType.Read);
    }

    /// <summary>The exit trampoline: pt_regs copied to the save area, the switch to the user's table and ASID, the registers loaded from there.</summary>
    public override void Exit(Process p)
    {
        Kernel.KernelAccess(new VirtualAddress(SaveAreaVa), AccessType.Write);
        SwitchTo(p.Tables.Root, Kernel.UserAsid);
        Kernel.KernelAccess(new VirtualAddress(SaveAreaVa), AccessType.Read);
    }

    public override PhysicalAddress UserHalfRoot(Process p, bool inKernel) => inKernel ? KernelTree.Root : p.Tables.Root;

    public override PhysicalAddress KernelHalfRoot(bool inKernel) => ReservedTree.Root;

    /// <summary>TTBCR.N = 0: only TTBR0 is walked, and in user mode it holds the process's table.</summary>
    public override IReadOnlyList<LiveRoot> LiveRootsInUserMode(Process p) => [new LiveRoot(p.Tables, "TTBR0", 0)];

    public override void SwitchUserTtbr0(bool toUser)
    {
        if (toUser)
        {
            SwitchTo(Kernel.Current!.Tables.Root, Kernel.UserAsid);
        }
        else
        {
            SwitchTo(KernelTree.Root, KernelAsid);
        }
    }

    /// <summary>
    /// TTBR0 and the ASID changed together. The short-descriptor ASID lives in CONTEXTIDR, apart from TTBR0, so the two
    /// writes are not atomic and a walk between them could tag one table's non-global entries with the other's ASID
    /// (ARM ARM B3.10.4, "Synchronization of changes of ASID and TTBR"). ASID 0 cannot be the reserved ASID here (it
    /// tags the kernel's table), so the change goes through a table with global entries only, as check_and_switch_context
    /// does (arch/arm/mm/context.c: cpu_set_reserved_ttbr0, TTBR0 := TTBR1), then cpu_v7_switch_mm or cpu_v6_switch_mm.
    /// </summary>
    private void SwitchTo(PhysicalAddress root, ushort asid)
    {
        var cpu = Kernel.Cpu;
        MemoryManagementUnit mmu = cpu.Mmu;
        mmu.WriteTtbr0(ReservedTree.Root.Value); // cpu_set_reserved_ttbr0: mrc TTBR1, mcr TTBR0, isb
        cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
        cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        if (Armv6)
        {
            // cpu_v6_switch_mm (arch/arm/mm/proc-v6.S): flush BTAC/BTB (not priced: no profile gives its cost), drain write buffer, TTBR0, CONTEXTIDR
            cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
            mmu.WriteTtbr0(root.Value);
            cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
            mmu.WriteContextIdr(ArmShortFormat.ContextIdr(asid));
            cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.ContextidrWrite);
            return;
        }

        // cpu_v7_switch_mm (arch/arm/mm/proc-v7-2level.S): CONTEXTIDR, isb, TTBR0, isb
        mmu.WriteContextIdr(ArmShortFormat.ContextIdr(asid));
        cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.ContextidrWrite);
        cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        mmu.WriteTtbr0(root.Value);
        cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
        cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }
}
