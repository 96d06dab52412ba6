using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Arch.X86;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>
/// Ingo Molnar's 2003 x86-32 4G/4G (docs/designs.md): the kernel runs on page tables of its own, a 16 MB
/// trampoline at the top of the 4 GB space (entry code, GDT/IDT/TSS) is mapped in both, and every entry and
/// exit writes CR3 (no PCID then: each write drops the non-global entries).
/// </summary>
public sealed class X86FourGFourG : IsolationPolicy
{
    /// <summary>The 16 MB trampoline at the top of the 4 GB space, present in the kernel's and every user tree.</summary>
    public const ulong TrampolineBase = 0xff000000;

    private readonly X86Mm _x86;

    public X86FourGFourG(SimKernel kernel, X86Mm x86)
        : base(kernel, x86)
    {
        _x86 = x86;
    }

    /// <summary>Only the trampoline is global; the rest of the kernel is reached through the kernel's CR3.</summary>
    public override bool IsGlobal(VirtualAddress va) => va.Value >= TrampolineBase;

    /// <summary>A process's tables hold user space and the trampoline.</summary>
    public override void PgdAlloc(PageTable user) =>
        SimKernel.ShareRange(user, KernelTree, TrampolineBase, 1UL << 32, Arch.KernelShareLevel);

    /// <summary>The trampoline's entry code and its data page (GDT/IDT/TSS), shared by the kernel and every user tree.</summary>
    public override void MapEntryTrampoline()
    {
        Kernel.EntryVa = new VirtualAddress(TrampolineBase);
        Kernel.EntryAreaVa = Kernel.EntryVa + Page;
        Kernel.MapKernelRange(Kernel.EntryVa, Kernel.AllocLowmem(), Page, PagePermissions.Read | PagePermissions.Execute);
        Kernel.MapKernelRange(Kernel.EntryAreaVa, Kernel.AllocLowmem(), Page, PagePermissions.Read | PagePermissions.Write);
    }

    public override bool EntryRunsFromEntryArea => true;

    public override bool ImageMayBeInLinearMap => true;

    /// <summary>Entry: CR3 := the kernel's tables (no PCID, so the write flushes).</summary>
    public override void Enter(Process p, bool exception) => _x86.WriteCr3(KernelTree.Root, 0, false);

    /// <summary>Exit: CR3 := the user's tables.</summary>
    public override void Exit(Process p) => _x86.WriteCr3(p.Tables.Root, 0, false);

    public override PhysicalAddress UserHalfRoot(Process p, bool inKernel) => inKernel ? KernelTree.Root : p.Tables.Root;

    public override bool SwitchMmLoadsUserRoots => false; // the kernel CR3 stays; the user's is loaded at exit

    public override bool UserTablesLoadedInKernel => false; // a user flush in the kernel is left to the exit's CR3 write

    public override bool SeparatesKernelAddressSpace => true;
}
