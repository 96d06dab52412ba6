using Vmsplit.Hardware;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>A tree the MMU can reach from a root register loaded while user code runs.</summary>
/// <param name="Tree">The tree behind the register.</param>
/// <param name="Register">The register's name as reports print it (TTBR0, TTBR1, CR3, satp).</param>
/// <param name="VaBase">The virtual address of the tree's first entry (a TTBR1 tree covers the top of the space).</param>
public readonly record struct LiveRoot(PageTable Tree, string Register, ulong VaBase);

/// <summary>
/// How the kernel's address space relates to the user's: the kernel's trees and what a process's tables
/// share of them, which kernel entries are global, what exception entry and exit do to the root
/// registers, which roots are live while user code runs, and the tables a process costs beyond its own.
/// One class per scheme (<see cref="SharedKernel"/>, <see cref="X86Pti"/>, <see cref="Arm64Kpti"/>,
/// <see cref="ArmFourGFourG"/>, <see cref="ArmShortFourGFourG"/>, <see cref="X86FourGFourG"/>), chosen once by <see cref="Designs.DesignCompiler"/>;
/// the kernel core calls it without asking which one it has.
/// </summary>
public abstract class IsolationPolicy
{
    private protected const ulong Page = 4096;

    private protected IsolationPolicy(SimKernel kernel, ArchMm arch)
    {
        Kernel = kernel;
        Arch = arch;
    }

    private protected SimKernel Kernel { get; }

    private protected ArchMm Arch { get; }

    private protected MemoryManagementUnit Mmu => Kernel.Cpu.Mmu;

    /// <summary>The tree holding the global kernel mappings: TTBR1's, or swapper_pg_dir for single-root formats.</summary>
    public PageTable KernelTree { get; private protected set; } = null!;

    // ---- the kernel's trees -----------------------------------------------------------------------

    /// <summary>Creates the kernel's trees at boot, before anything is mapped (by default the architecture's pgd layout).</summary>
    public virtual void CreateKernelTrees() => KernelTree = Arch.CreateSharedKernelTree();

    /// <summary>Which kernel tree holds a kernel virtual address.</summary>
    public virtual PageTable KernelTreeFor(VirtualAddress va) => Arch.SharedKernelTreeFor(va, KernelTree);

    /// <summary>The global-bit rule: whether the kernel entry for <paramref name="va"/> is global (shared by every address space).</summary>
    public abstract bool IsGlobal(VirtualAddress va);

    /// <summary>pgd_alloc: what a new process's tables share of the kernel's.</summary>
    public virtual void PgdAlloc(PageTable user) => Arch.PgdAlloc(user, KernelTree);

    /// <summary>A kernel entry created after <paramref name="p"/> was born reaches its tables (vmalloc_sync, check_vmalloc_seq).</summary>
    public virtual void SyncKernelEntry(Process p, VirtualAddress va) => Arch.SyncKernelEntry(p, va, KernelTree);

    /// <summary>Whether the kernel image may stay in the linear map (4G/4G moves it out of the switched half).</summary>
    public virtual bool ImageMayBeInLinearMap => true;

    /// <summary>Maps an entry trampoline of the scheme's own at boot, after the architecture's entry (none by default).</summary>
    public virtual void MapEntryTrampoline()
    {
    }

    /// <summary>Whether every exception entry runs trampoline code from the entry area page.</summary>
    public virtual bool EntryRunsFromEntryArea => false;

    // ---- processes ----------------------------------------------------------------------------------

    /// <summary>A process was created (x86 PTI gives it its user PGD).</summary>
    public virtual void OnProcessCreated(Process p)
    {
    }

    /// <summary>A user PTE was installed at <paramref name="va"/> (x86 PTI shares new top-level entries into the user PGD).</summary>
    public virtual void OnUserEntryInstalled(Process p, VirtualAddress va)
    {
    }

    /// <summary>User tables in [<paramref name="start"/>, <paramref name="end"/>) were freed.</summary>
    public virtual void OnUserTablesFreed(Process p, VirtualAddress start, VirtualAddress end)
    {
    }

    /// <summary>A process is being destroyed: the scheme releases what it added to it.</summary>
    public virtual void OnProcessDestroyed(Process p)
    {
    }

    /// <summary>execve gave the task of <paramref name="p"/> this new mm: the scheme adds what a new mm gets (by default as for a new process).</summary>
    public virtual void OnExecMmCreated(Process p) => OnProcessCreated(p);

    /// <summary>execve's old mm is torn down, its task going on in the new one (by default as for a destroyed process).</summary>
    public virtual void OnExecMmReleased(Process p) => OnProcessDestroyed(p);

    /// <summary>Page-table bytes a process costs, the scheme's extra trees included.</summary>
    public virtual long ProcessTableBytes(Process p) => p.Tables.TableBytes;

    // ---- entry and exit -----------------------------------------------------------------------------

    /// <summary>What exception entry does to the address space (after the CPU took the exception; <paramref name="exception"/>: an abort or interrupt, not a system call).</summary>
    public abstract void Enter(Process p, bool exception);

    /// <summary>What the return to user mode does to the address space (before the CPU returns).</summary>
    public abstract void Exit(Process p);

    // ---- the roots ----------------------------------------------------------------------------------

    /// <summary>The tree in the user-half root register (TTBR0, CR3, satp) while <paramref name="p"/> runs in user mode or in the kernel.</summary>
    public virtual PhysicalAddress UserHalfRoot(Process p, bool inKernel) => p.Tables.Root;

    /// <summary>The tree in TTBR1 (arm64, LPAE with a TTBR1 region).</summary>
    public virtual PhysicalAddress KernelHalfRoot(bool inKernel) => KernelTree.Root;

    /// <summary>The ASID or PCID loaded with the user-half root.</summary>
    public virtual ushort RootAsid(ushort asid, ushort userAsid, bool inKernel) => asid;

    /// <summary>Whether switch_mm loads the next process's tables (4G/4G leaves them to the exit trampoline).</summary>
    public virtual bool SwitchMmLoadsUserRoots => true;

    /// <summary>Whether the user's tables are loaded while the kernel runs (so that a user TLB flush there reaches them).</summary>
    public virtual bool UserTablesLoadedInKernel => true;

    /// <summary>Whether the kernel has an address space of its own, so that every address in its trees is a kernel address.</summary>
    public virtual bool SeparatesKernelAddressSpace => false;

    /// <summary>The roots live while user code runs: what the isolation audit walks.</summary>
    public virtual IReadOnlyList<LiveRoot> LiveRootsInUserMode(Process p) => Arch.LiveRoots(p.Tables, KernelTree);
}
