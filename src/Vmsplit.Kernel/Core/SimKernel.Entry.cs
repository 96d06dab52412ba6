using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Asid;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>Loads the registers for <paramref name="p"/> running user code (boot-time, no cost).</summary>
    public void Start(Process p)
    {
        Current = p;
        AsidSwitch sw = Arch.Asids.SwitchMm(Cpu.Id, p.Context);
        UserAsid = sw.UserAsid;
        Arch.LoadUserRoots(p, sw.Asid, sw.UserAsid);
        InKernel = false;
    }

    /// <summary>
    /// Exception entry as the design takes it: a system call (SVC/SYSCALL/ecall), or with
    /// <paramref name="exception"/> an abort or interrupt (x86 then runs its entry's ASM_CLAC under SMAP).
    /// </summary>
    public void EnterKernel(bool exception = false)
    {
        if (InKernel)
        {
            throw new InvalidOperationException("entry while already in the kernel");
        }

        InKernel = true;
        Cpu.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionEntry);
        Process p = Current ?? throw new InvalidOperationException("no process is running");
        Isolation.Enter(p, exception);
    }

    /// <summary>Return to user mode in <see cref="Current"/>.</summary>
    public void ExitKernel()
    {
        if (!InKernel)
        {
            throw new InvalidOperationException("exit while not in the kernel");
        }

        Process p = Current ?? throw new InvalidOperationException("no process is running");
        Isolation.Exit(p);
        Cpu.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionExit);
        InKernel = false;
    }

    /// <summary>switch_mm: the allocator's decision turned into root writes and TLB maintenance.</summary>
    public void SwitchMm(Process next)
    {
        AsidSwitch sw = Arch.Asids.SwitchMm(Cpu.Id, next.Context);
        Current = next;
        if (!sw.WritesRoot)
        {
            return;
        }

        UserAsid = sw.UserAsid;
        Arch.SwitchMm(next, sw);
    }

    /// <summary>flush_tlb_mm_range() of the architecture (see <see cref="ArchMm.FlushTlbMmRange"/>).</summary>
    public void FlushTlbMmRange(Process p, VirtualAddress start, VirtualAddress end) => Arch.FlushTlbMmRange(p, start, end);

    /// <summary>flush_tlb_mm(): every user translation of the running mm, by address space.</summary>
    public void FlushTlbMm(Process p) => Arch.FlushTlbMm(p);

    internal void RequireRunning(Process p)
    {
        if (p != Current)
        {
            throw new InvalidOperationException($"TLB flush of {p}, which is not the running mm (one CPU is modelled)");
        }
    }
}
