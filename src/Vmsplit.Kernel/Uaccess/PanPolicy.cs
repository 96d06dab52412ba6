using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Cpus;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// How the kernel keeps itself from touching user memory outside the user-copy routines (Privileged Access
/// Never and its relatives), at the points Linux changes it: exception entry and return, each uaccess
/// window (uaccess_enable/disable, stac/clac, csrs/csrc sstatus.SUM), a fault taken inside the window, and
/// the registers loaded with a process's roots. One class per mechanism; <see cref="NoPan"/> when none.
/// </summary>
public abstract class PanPolicy
{
    private bool _open;

    private protected PanPolicy(SimKernel kernel)
    {
        Kernel = kernel;
    }

    private protected SimKernel Kernel { get; }

    private protected Cpu Cpu => Kernel.Cpu;

    private protected MemoryManagementUnit Mmu => Kernel.Cpu.Mmu;

    /// <summary>The release that brought the mechanism and its configuration option (null: nothing to require).</summary>
    private protected virtual (int Major, int Minor, string What)? Introduced => null;

    /// <summary>Whether switch_mm leaves TTBR0 to uaccess_enable and the exception return (arm64 SW PAN).</summary>
    public virtual bool DefersUserTablesToUaccess => false;

    /// <summary>Refuses a kernel older than the mechanism in one line.</summary>
    public void RequireRelease()
    {
        if (Introduced is not { } r)
        {
            return;
        }

        LinuxVersion linux = Kernel.Layout.Config.Linux;
        if (linux < new LinuxVersion(r.Major, r.Minor))
        {
            throw new KernelSetupException($"{Kernel.Design.Name}: Linux {linux} has no {r.What}; it arrived in {r.Major}.{r.Minor}");
        }
    }

    /// <summary>Exception entry from user mode (<paramref name="exception"/>: an abort or interrupt, not a system call).</summary>
    public virtual void OnEntry(bool exception)
    {
    }

    /// <summary>The return to user mode.</summary>
    public virtual void OnExit()
    {
    }

    /// <summary>enter_lazy_tlb: the CPU switches to its idle task and keeps the mm loaded.</summary>
    public virtual void EnterLazyTlb()
    {
    }

    /// <summary>
    /// uaccess_enable/disable around direct user accesses: the call's own work in every design, then the
    /// mechanism's instructions (<see cref="SetUserAccess"/>).
    /// </summary>
    public void Window(bool open)
    {
        if (_open == open)
        {
            return;
        }

        _open = open;
        Cpu.Charge(KernelCostCause.PathBase, Kernel.Software.UaccessToggle);
        SetUserAccess(open);
    }

    /// <summary>
    /// A page fault taken by a direct user access inside the window: the exception entry closes user
    /// access as it does from user mode and the return reopens it.
    /// </summary>
    public void OnUaccessFault(bool entering)
    {
        if (_open)
        {
            FaultInWindow(entering);
        }
    }

    /// <summary>The PAN state in the registers loaded with a process's roots (boot-time and switch_mm, no cost).</summary>
    public virtual void ApplyToRoots(ref MmuRegisters registers, bool inKernel)
    {
    }

    /// <summary>The state change itself, with its instructions.</summary>
    private protected virtual void SetUserAccess(bool open)
    {
    }

    private protected virtual void FaultInWindow(bool entering)
    {
    }
}

/// <summary>No protection: the kernel reaches user memory whenever the user's tables are loaded.</summary>
public sealed class NoPan(SimKernel kernel) : PanPolicy(kernel);
