using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>
/// VMSPLIT_4G_4G on 32-bit ARM with LPAE (docs/designs.md): TTBR1 covers the top 256 MiB (image, modules,
/// vmalloc, kmap, fixmap, vectors; global), TTBR0 holds either the user's tables (user ASID) or the kernel's
/// own low tree with the linear map of lowmem (ASID 0, non-global). The vector trampoline switches TTBR0 on
/// every entry and exit, so user memory is not mapped while the kernel runs.
/// </summary>
public class ArmFourGFourG : IsolationPolicy
{
    /// <summary>ASID 0 is never handed out by Linux's ARM allocator (init_mm's reserved index); 4g4g gives it to the kernel's low tree.</summary>
    public const ushort KernelAsid = 0;

    private readonly ArmMm _arm;
    private VirtualAddress? _bounce;

    public ArmFourGFourG(SimKernel kernel, ArmMm arm)
        : base(kernel, arm)
    {
        _arm = arm;
    }

    /// <summary>The kernel's own TTBR0 tree: the linear map of lowmem, tagged with <see cref="KernelAsid"/>.</summary>
    public PageTable LowTree { get; private protected set; } = null!;

    private protected ArmMm ArmArch => _arm;

    /// <summary>Whether a kernel address stays translatable while TTBR0 holds the user's tables (LPAE: the TTBR1 region).</summary>
    public virtual bool MappedUnderUserTables(VirtualAddress va) => va.Value >= Kernel.Layout.KernelRootStart;

    /// <summary>
    /// The per-CPU page a copy bounces through when its kernel side is not mapped under the user's tables
    /// (LPAE: one lowmem frame mapped in the vmalloc area, TTBR1), mapped at first use.
    /// </summary>
    public VirtualAddress BouncePage => _bounce ??= MapBouncePage();

    private protected virtual VirtualAddress MapBouncePage() =>
        Kernel.Vmalloc.Map([Kernel.AllocLowmem()])?.Start ?? throw new KernelOutOfMemoryException("no vmalloc space for the uaccess bounce page");

    /// <summary>A uaccess strategy that bounces asks for the page at construction, before boot maps the trampoline.</summary>
    public virtual void RequestBouncePage()
    {
    }

    /// <summary>TTBCR T0SZ=0, T1SZ = log2 of the TTBR1 region (256 MiB: 4); the low tree then the TTBR1 tree.</summary>
    public override void CreateKernelTrees()
    {
        _arm.Ttbr1Size = 32 - System.Numerics.BitOperations.Log2(0x1_0000_0000UL - Kernel.Layout.KernelRootStart);
        KernelTree = Kernel.NewTree(ArmLpaeFormat.GeometryFor(_arm.Ttbr1Size));
        KernelTree.KeepEmptyTables = true; // other trees share entries that point at kernel tables
        LowTree = Kernel.NewTree();
        LowTree.KeepEmptyTables = true;
    }

    public override PageTable KernelTreeFor(VirtualAddress va) => va.Value < Kernel.Layout.KernelRootStart ? LowTree : KernelTree;

    /// <summary>The TTBR1 region is global; the low tree's linear map is tagged with the kernel ASID.</summary>
    public override bool IsGlobal(VirtualAddress va) => va.Value >= Kernel.Layout.KernelRootStart;

    /// <summary>A process's TTBR0 tree holds user space only.</summary>
    public override void PgdAlloc(PageTable user)
    {
    }

    /// <summary>Kernel mappings live in trees no process shares.</summary>
    public override void SyncKernelEntry(Process p, VirtualAddress va)
    {
    }

    public override bool ImageMayBeInLinearMap => false;

    public override bool EntryRunsFromEntryArea => true; // the vector stubs page holds the trampoline

    /// <summary>vector_swi trampoline in TTBR1: TTBR0 := the kernel's low tree with the kernel ASID, ISB.</summary>
    public override void Enter(Process p, bool exception) => WriteTtbr0(LowTree.Root, KernelAsid);

    /// <summary>The exit trampoline: TTBR0 := the user's tables with the user ASID, ISB.</summary>
    public override void Exit(Process p) => WriteTtbr0(p.Tables.Root, Kernel.UserAsid);

    public override PhysicalAddress UserHalfRoot(Process p, bool inKernel) => inKernel ? LowTree.Root : p.Tables.Root;

    public override ushort RootAsid(ushort asid, ushort userAsid, bool inKernel) => inKernel ? KernelAsid : userAsid;

    public override bool SwitchMmLoadsUserRoots => false; // the exit trampoline installs the user tables

    public override bool UserTablesLoadedInKernel => false;

    public override bool SeparatesKernelAddressSpace => true;

    /// <summary>A uaccess-time TTBR0 switch: the user tables (user ASID) or back to the kernel's low tree, ISB.</summary>
    public virtual void SwitchUserTtbr0(bool toUser)
    {
        if (toUser)
        {
            WriteTtbr0(Kernel.Current!.Tables.Root, Kernel.UserAsid);
        }
        else
        {
            WriteTtbr0(LowTree.Root, KernelAsid);
        }
    }

    private void WriteTtbr0(PhysicalAddress root, ushort asid)
    {
        Mmu.WriteTtbr0(ArmLpaeFormat.Ttbr(root, asid));
        Kernel.Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }
}
