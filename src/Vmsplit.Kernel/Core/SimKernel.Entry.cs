using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Asid;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>Loads the registers for <paramref name="p"/> running user code (boot-time, no cost).</summary>
    public void Start(Process p)
    {
        Current = p;
        p.CpuMask |= 1UL << Cpu.Id;
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
        Arch.EntryFromUser();
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
        Arch.ReturnToUser();
        Isolation.Exit(p);
        Cpu.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionExit);
        InKernel = false;
    }

    /// <summary>switch_mm: the allocator's decision turned into root writes and TLB maintenance.</summary>
    public void SwitchMm(Process next)
    {
        Process? prev = Current;
        if (_lazy[Cpu.Id])
        {
            // leaving the idle task: the mm it kept loaded may have missed flushes (x86 tlb_gen catch-up)
            _lazy[Cpu.Id] = false;
            if (prev == next)
            {
                Arch.LeaveLazyTlb(next);
                return;
            }
        }

        AsidSwitch sw = Arch.Asids.SwitchMm(Cpu.Id, next.Context);
        Current = next;
        if (prev is not null && prev != next && Arch.SwitchMmClearsPrevCpu)
        {
            prev.CpuMask &= ~(1UL << Cpu.Id);
        }

        next.CpuMask |= 1UL << Cpu.Id;
        if (!sw.WritesRoot)
        {
            return;
        }

        UserAsid = sw.UserAsid;
        // the root register takes __pa(next->pgd), Linux 6.6: build_cr3 (arch/x86/mm/tlb.c), cpu_switch_mm (arch/arm/include/asm/proc-fns.h, arch/arm64/include/asm/mmu_context.h), virt_to_pfn(mm->pgd) (arch/riscv/mm/context.c)
        VirtToPhys(LinearAddress(next.Tables.Root));
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
            throw new InvalidOperationException($"TLB flush of {p}, which is not the running mm on CPU {Cpu.Id}");
        }
    }

    /// <summary>
    /// With the coherence checker on: every CPU that runs a task and is not idle has each TLB entry of its current
    /// address space compared with the tables (<see cref="CoherenceChecker.Sweep"/>), so a missed shootdown is found
    /// even before an access hits the stale entry. Returns the stale translations found (0 without a checker).
    /// </summary>
    public int SweepStaleTranslations()
    {
        int found = 0;
        if (Checker is null)
        {
            return 0;
        }

        for (int cpu = 0; cpu < _cpus.Length; cpu++)
        {
            if (_current[cpu] is not null && !_lazy[cpu])
            {
                found += Checker.Sweep(_cpus[cpu].Mmu);
            }
        }

        return found;
    }

    /// <summary>
    /// clone(CLONE_VM | CLONE_THREAD) of <paramref name="p"/> with the new thread placed on <paramref name="cpu"/>, where it
    /// starts in user mode: the thread shares the mm (tables, VMAs, ASID context), so <paramref name="cpu"/> joins its
    /// mm_cpumask. Setup work, uncharged; the thread's own kernel stack is not modelled apart from the process's.
    /// </summary>
    public void CloneThread(Process p, int cpu)
    {
        int here = Cpu.Id;
        if (cpu == here || _current[cpu] is not null)
        {
            throw new InvalidOperationException($"CPU {cpu} already runs a task");
        }

        RunOn(cpu);
        Start(p);
        p.ExtraThreads++;
        RunOn(here);
    }

    // A system call's way in, shared by every call, the idle entry and a switch: the entry through the isolation scheme,
    // the entry path's footprint and counted instructions, and the system-call table's indirect call.
    private void EnterSyscall(Process p)
    {
        EnterKernel();
        TouchFootprint(KernelPath.Entry, p);
        ChargeInstructions(EntryPath.EntryExitInstructions);
        Arch.IndirectCall();
    }

    /// <summary>
    /// The running task blocks (in <paramref name="blocking"/>, whose handler runs first) and the executing CPU schedules
    /// its idle task (from user mode: entry, schedule, enter_lazy_tlb). The mm stays loaded and the CPU stays in its mm_cpumask (lazy TLB mode); x86 flushes
    /// skip such a CPU, which catches up when it switches back (<see cref="Wake"/>).
    /// </summary>
    public void Idle(SyscallRequest? blocking = null)
    {
        Process p = Current ?? throw new InvalidOperationException("no process is running");
        EnterSyscall(p);
        if (blocking is SyscallRequest b)
        {
            RunHandler(p, b); // the call it blocks in (a pipe read with nothing to read)
        }

        ScheduleIdle(p);
    }

    // schedule() from p, which blocks, to the idle task: enter_lazy_tlb keeps p's mm loaded (kernel/sched/core.c context_switch)
    private void ScheduleIdle(Process p)
    {
        TouchFootprint(KernelPath.Schedule, p);
        ChargeInstructions(Software.Schedule);
        Arch.TaskSwitch(); // __switch_to_asm to the idle task
        Pan.EnterLazyTlb();
        _lazy[Cpu.Id] = true;
    }

    // the idle task's schedule() back to next, which a wake-up made runnable
    private void ScheduleFromIdle(Process next)
    {
        TouchFootprint(KernelPath.Schedule, null);
        ChargeInstructions(Software.Schedule);
        Arch.TaskSwitch(); // __switch_to_asm from the idle task
        SwitchMm(next);
        TouchFootprint(KernelPath.Schedule, next);
    }

    /// <summary>The idle CPU schedules <paramref name="next"/> again, completes its <paramref name="pending"/> call and returns to user mode in it.</summary>
    public void Wake(Process next, SyscallRequest? pending = null)
    {
        if (!_lazy[Cpu.Id])
        {
            throw new InvalidOperationException($"CPU {Cpu.Id} is not idle");
        }

        ScheduleFromIdle(next);
        if (pending is SyscallRequest q)
        {
            RunHandler(next, q);
        }

        ExitKernel();
    }
}
