using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Arch.Arm64;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>
/// arm64 KPTI (arch/arm64/kernel/entry.S tramp_vectors, arch/arm64/mm/mmu.c): while user code runs TTBR1
/// holds tramp_pg_dir, which maps only the trampoline vectors; entry switches TTBR1 to swapper_pg_dir with
/// the kernel ASID of the pair, exit back with the user ASID. Every kernel mapping is non-global (PTE_NG).
/// </summary>
public sealed class Arm64Kpti : IsolationPolicy
{
    private readonly Arm64Mm _arm64;
    private PageTable? _trampolineTree;

    public Arm64Kpti(SimKernel kernel, Arm64Mm arm64)
        : base(kernel, arm64)
    {
        _arm64 = arm64;
    }

    /// <summary>tramp_pg_dir: a TTBR1 tree holding only the trampoline vectors (created at first use).</summary>
    public PageTable TrampolineTree => _trampolineTree ??= CreateTrampolineTree();

    public override bool IsGlobal(VirtualAddress va) => false; // PTE_NG on every kernel mapping (arm64_kernel_unmapped_at_el0)

    /// <summary>tramp_vectors: TTBR1 := swapper_pg_dir with the kernel ASID (user ASID &amp; ~1), ISB.</summary>
    public override void Enter(Process p, bool exception) => _arm64.WriteTtbr1(KernelTree.Root, (ushort)(Kernel.UserAsid & ~1));

    /// <summary>tramp_exit: TTBR1 := tramp_pg_dir with the user ASID, ISB.</summary>
    public override void Exit(Process p) => _arm64.WriteTtbr1(TrampolineTree.Root, Kernel.UserAsid);

    public override PhysicalAddress KernelHalfRoot(bool inKernel) => inKernel ? KernelTree.Root : TrampolineTree.Root;

    public override IReadOnlyList<LiveRoot> LiveRootsInUserMode(Process p) => Arch.LiveRoots(p.Tables, TrampolineTree);

    private PageTable CreateTrampolineTree()
    {
        PageTable t = Kernel.NewTree();
        t.ShareEntry(KernelTree, Kernel.EntryVa, 3);
        return t;
    }
}
