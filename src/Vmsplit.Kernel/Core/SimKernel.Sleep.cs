using Vmsplit.Hardware;
using Vmsplit.Kernel.Abi;

namespace Vmsplit.Kernel.Core;

/// <summary>The calls that sleep: nanosleep and poll, and the timer that wakes them.</summary>
public sealed partial class SimKernel
{
    private const ulong PollfdBytes = 8; // struct pollfd: int fd, short events, short revents (include/uapi/asm-generic/poll.h)

    // clock_nanosleep (kernel/time/posix-timers.c → common_nsleep → hrtimer_nanosleep, kernel/time/hrtimer.c, Linux 5.4): the
    // request read (get_timespec64 or get_old_timespec32; restart_syscall's hrtimer_nanosleep_restart reads none), the
    // on-stack sleeper started, do_nanosleep's schedule(), and after the wake-up the sleeper cancelled; the time left to rmtp
    // after a signal is the caller's UserCopy (nanosleep_copyout)
    private SyscallResult Nanosleep(Process p, SyscallRequest rq)
    {
        TouchFootprint(KernelPath.Nanosleep, p);
        ChargeInstructions(Software.Nanosleep);
        long copied = GenericCopy(rq.User, rq.Bytes, toUser: false);
        Sleep(p, rq.Sleep);
        return new(copied);
    }

    // poll (fs/select.c, Linux 5.4): do_sys_poll copies the pollfd array in, do_poll calls each descriptor's poll method
    // (pipe_poll, whose poll_wait registers the task on the pipe's wait queue through __pollwait); a poll that waits sleeps in
    // poll_schedule_timeout (schedule_hrtimeout_range's sleeper) until its timeout or a signal and passes over the
    // descriptors once more before it leaves; poll_freewait, then each revents written back with __put_user
    private SyscallResult Poll(Process p, SyscallRequest rq)
    {
        TouchFootprint(KernelPath.Poll, p);
        ChargeInstructions(Software.Poll);
        ulong fds = rq.Bytes / PollfdBytes;
        GenericCopy(rq.User, rq.Bytes, toUser: false);
        if (fds > 0)
        {
            ChargeInstructions(fds * Software.PollPerFd);
        }

        if (rq.Sleep != SleepEnd.None)
        {
            // only a poll that waits runs poll_schedule_timeout's sleeper (fs/select.c 5.4 do_poll)
            TouchFootprint(KernelPath.PollSleep, p);
            ChargeInstructions(Software.PollSleep);
            Sleep(p, rq.Sleep);
            if (fds > 0)
            {
                ChargeInstructions(fds * Software.PollPerFd);
            }
        }

        for (ulong i = 0; i < fds; i++)
        {
            GenericCopy(rq.User + (i * PollfdBytes) + 6, 2, toUser: true);
        }

        return new((long)fds);
    }

    // The task blocks in schedule() and the CPU runs its idle task in lazy TLB mode (the mm stays loaded, as Idle does); a
    // timer's expiry runs on this CPU: hrtimer_interrupt → __hrtimer_run_queues → hrtimer_wakeup → wake_up_process →
    // try_to_wake_up (kernel/time/hrtimer.c, kernel/sched/core.c, 5.4), its interrupt's entry and exit not modelled; a signal's
    // wake-up is the sender's (signal_wake_up, not run here). The idle task then schedules the task back.
    private void Sleep(Process p, SleepEnd end)
    {
        if (end == SleepEnd.None)
        {
            return;
        }

        ScheduleIdle(p);
        if (end == SleepEnd.Timer)
        {
            TouchFootprint(KernelPath.TimerWakeup, null);
            ChargeInstructions(Software.TimerWakeup);
        }

        ScheduleFromIdle(p);
    }
}
