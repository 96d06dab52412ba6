using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>
/// nanosleep and poll sleep on the idle task (SimKernel.Sleep.cs): schedule() away and back with the mm kept loaded, the
/// timer's wake-up only when the timer ends the sleep.
/// </summary>
public class SleepTests
{
    // Two kernels booted alike run the same call; the one whose timer ends the sleep runs the timer-wakeup path on top:
    // path-base differs by exactly TimerWakeup's instructions at the kernel's rate. A poll of two pipes that times out runs,
    // beyond one that found them ready, PollSleep, schedule() twice, the wake-up and a second pass over both descriptors.
    [Theory]
    [InlineData(KernelArch.X86_64, "classic", "skylake")]
    [InlineData(KernelArch.X86_64, "kpti", "skylake")]
    [InlineData(KernelArch.ArmLpae, "4g4g", "cortex-a15")]
    [InlineData(KernelArch.Aarch64, "kpti", "cortex-a72")]
    public void OnlyASleepThatItsTimerEndsRunsTheTimersWakeUp(KernelArch arch, string design, string cpu)
    {
        double PathBase(SyscallKind kind, ulong bytes, SleepEnd end)
        {
            (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(arch, design, cpu, touch: true);
            double before = k.Ledger.Cycles(KernelCostCause.PathBase);
            k.Syscall(p, new SyscallRequest(kind, buf, bytes, Sleep: end));
            return k.Ledger.Cycles(KernelCostCause.PathBase) - before;
        }

        (SimKernel k0, _) = KernelBoot.BootRunning(arch, design, cpu);
        KernelSoftwareCosts sw = k0.Software;
        double Kernel(double instructions) => k0.Profile.Kernel.Cycles(instructions);
        Assert.Equal(Kernel(sw.TimerWakeup), PathBase(SyscallKind.Nanosleep, 16, SleepEnd.Timer) - PathBase(SyscallKind.Nanosleep, 16, SleepEnd.Signal), 6);
        Assert.Equal(Kernel(sw.PollSleep + (2 * sw.Schedule) + sw.TimerWakeup + (2 * sw.PollPerFd)),
            PathBase(SyscallKind.Poll, 16, SleepEnd.Timer) - PathBase(SyscallKind.Poll, 16, SleepEnd.None), 6);
    }

    // Only a poll that waits fetches its sleep's text (poll_schedule_timeout, schedule_hrtimeout_range and the sleeper: the
    // poll-sleep path): a poll a signal ends fetches, beyond a ready one, the poll-sleep lines and schedule()'s three times
    // (to the idle task; from it, before switch_mm and again in the woken task), each counted as the lines one fetch of
    // that path accesses in the L1 instruction cache (fetched alone from user mode, so on designs that map the kernel there)
    [Theory]
    [InlineData(KernelArch.X86_64, "classic", "skylake")]
    [InlineData(KernelArch.Aarch64, "classic", "cortex-a72")]
    [InlineData(KernelArch.ArmLpae, "classic", "cortex-a15")]
    public void OnlyAPollThatWaitsFetchesTheTextOfItsSleep(KernelArch arch, string design, string cpu)
    {
        long Lines(Action<SimKernel, Process, VirtualAddress> run)
        {
            (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(arch, design, cpu, touch: true);
            Vmsplit.Hardware.Caches.LineCache l1i = k.Cpu.Caches!.L1I;
            long before = l1i.Hits + l1i.Misses;
            run(k, p, buf);
            return l1i.Hits + l1i.Misses - before;
        }

        long ready = Lines((k, p, buf) => k.Syscall(p, new SyscallRequest(SyscallKind.Poll, buf, 16, Sleep: SleepEnd.None)));
        long waited = Lines((k, p, buf) => k.Syscall(p, new SyscallRequest(SyscallKind.Poll, buf, 16, Sleep: SleepEnd.Signal)));
        long sleep = Lines((k, _, _) => k.FetchText(KernelPath.PollSleep));
        long schedule = Lines((k, _, _) => k.FetchText(KernelPath.Schedule));
        Assert.True(sleep > 0);
        Assert.Equal(sleep + (3 * schedule), waited - ready);
    }

    // The idle task keeps the sleeper's mm loaded (lazy TLB): the sleep writes no root register and flushes nothing beyond
    // what the call's entry and exit do (a getppid's), and the CPU is no longer idle, its task back in user mode, after it
    [Theory]
    [InlineData(KernelArch.X86_64, "classic", "skylake")]
    [InlineData(KernelArch.X86_64, "kpti", "skylake")]
    [InlineData(KernelArch.ArmLpae, "4g4g", "cortex-a15")]
    [InlineData(KernelArch.RiscvSv39, "classic", "sifive-u74")]
    public void TheSleepKeepsTheMmLoadedAndEndsAwake(KernelArch arch, string design, string cpu)
    {
        (long Roots, long Flushes) Run(SyscallRequest rq)
        {
            (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(arch, design, cpu, touch: true);
            long roots = k.Ledger.Events(CostCause.RootRegisterWrite);
            long flushes = k.Ledger.Events(CostCause.TlbMaintenance);
            k.Syscall(p, rq with { User = buf });
            Assert.Same(p, k.Current);
            Assert.False(k.IsLazy(0));
            Assert.False(k.InKernel);
            Assert.NotEqual(0UL, p.CpuMask & 1);
            return (k.Ledger.Events(CostCause.RootRegisterWrite) - roots, k.Ledger.Events(CostCause.TlbMaintenance) - flushes);
        }

        (long, long) getppid = Run(new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(getppid, Run(new SyscallRequest(SyscallKind.Nanosleep, default, 16, Sleep: SleepEnd.Timer)));
        Assert.Equal(getppid, Run(new SyscallRequest(SyscallKind.Poll, default, 8, Sleep: SleepEnd.Signal)));
    }
}
