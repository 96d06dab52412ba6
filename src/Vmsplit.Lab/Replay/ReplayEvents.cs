using Vmsplit.Workloads.Traces;

namespace Vmsplit.Lab.Replay;

/// <summary>One system call name's count, what the replay ran it as, and the cycles it took (entry to exit).</summary>
public sealed class CallTally(string name, string path, bool modelled)
{
    public string Name { get; } = name;

    /// <summary>The model's path it ran as (read-file, stat, generic-out, ...).</summary>
    public string Path { get; internal set; } = path;

    public bool Modelled { get; internal set; } = modelled;

    public long Count { get; internal set; }

    public double Cycles { get; internal set; }
}

/// <summary>
/// What a replay did with every line (or record) of the trace: accesses by kind, calls modelled and generic by
/// name, process events, and lines that carried no event by reason. The counts are the trace's, so they are the
/// same for every design.
/// </summary>
public sealed class ReplayEvents
{
    private readonly long[] _skipped = new long[Enum.GetValues<SkipReason>().Length];
    private readonly long[] _interrupted = new long[Enum.GetValues<SyscallRestart>().Length];

    /// <summary>Lines read (text formats) or records read (ChampSim).</summary>
    public long Lines { get; internal set; }

    public long Fetches { get; internal set; }

    public long Loads { get; internal set; }

    public long Stores { get; internal set; }

    public long Modifies { get; internal set; }

    /// <summary>System call records of the trace (modelled + generic).</summary>
    public long Syscalls => SyscallsModelled + SyscallsGeneric;

    public long SyscallsModelled { get; internal set; }

    public long SyscallsGeneric { get; internal set; }

    /// <summary>ChampSim: calls injected by --syscall-every (not trace lines).</summary>
    public long SyscallsInjected { get; internal set; }

    /// <summary>strace's '+++ exited' lines.</summary>
    public long ExitLines { get; internal set; }

    public long Forks { get; internal set; }

    /// <summary>Clones sharing the mm (threads, CLONE_VM): the new task runs in its parent's process.</summary>
    public long Threads { get; internal set; }

    public long Exits { get; internal set; }

    public long Execs { get; internal set; }

    /// <summary>strace: processes ended by a signal (<c>+++ killed by SIG +++</c>), among <see cref="ExitLines"/>.</summary>
    public long Killed { get; internal set; }

    /// <summary>strace: processes killed while in the kernel (a call a signal interrupted, or a return to user mode under way): the exit ran from there (get_signal's do_group_exit), with no return to user mode and no entry, among <see cref="Killed"/>.</summary>
    public long KilledInKernel { get; internal set; }

    /// <summary>strace: signal lines (<c>--- SIGNAME {...} ---</c>): those delivered to a handler and those skipped (no handler).</summary>
    public long Signals => SignalsDelivered + Skipped(SkipReason.Signal);

    /// <summary>strace: signals delivered to a handler the process installed (rt_sigaction): the frame written on its stack.</summary>
    public long SignalsDelivered { get; internal set; }

    /// <summary>strace: signals delivered on a return to user mode that had delivered another already (consecutive signal lines of a process: exit_to_usermode_loop's do_signal once per pending signal), among <see cref="SignalsDelivered"/>: a frame written, no entry of their own.</summary>
    public long SignalsOnOneReturn { get; internal set; }

    /// <summary>strace: calls a signal interrupted (<c>= ? ERESTART...</c>), by restart code (<see cref="SyscallRestart"/>; index 0 unused); each is among <see cref="Syscalls"/> once, its entry and the exit the signal code runs on.</summary>
    public IReadOnlyList<long> InterruptedByCode => _interrupted;

    public long Interrupted => _interrupted.Sum();

    /// <summary>strace: interrupted calls the kernel restarts (the PC rewound: the trace's next call of the process is the restart, one more entry), those continued through restart_syscall among them.</summary>
    public long InterruptedRestarted { get; internal set; }

    public long InterruptedRestartSyscall { get; internal set; }

    /// <summary>strace: restart_syscall calls that ran the restart their interrupted call left (hrtimer_nanosleep_restart on the nanosleep path, do_restart_poll on the poll path), and those run as generic (a call the model has no restart for, or one before the trace began).</summary>
    public long RestartSyscallAsCall { get; internal set; }

    public long RestartSyscallGeneric { get; internal set; }

    /// <summary>strace: interrupted calls that return -EINTR to the program (a handler without SA_RESTART, or ERESTARTNOHAND and ERESTART_RESTARTBLOCK under a handler).</summary>
    public long InterruptedEintr { get; internal set; }

    /// <summary>strace: interrupted calls whose process ended, or whose trace ended, before the call was restarted or returned.</summary>
    public long InterruptedEnded { get; internal set; }

    /// <summary>strace: signals delivered on the return of the call they interrupted (no entry of their own), among <see cref="SignalsDelivered"/>.</summary>
    public long SignalsOnCallReturn { get; internal set; }

    internal void Interrupt(SyscallRestart code) => _interrupted[(int)code]++;

    /// <summary>strace: environment strings of successful execve calls that strace printed as a count only (no -v), copied as <see cref="Replayer.AssumedEnvStringBytes"/> bytes each.</summary>
    public long EnvStringsAssumed { get; internal set; }

    /// <summary>lackey: execve calls whose argv and envp the line does not show, run with argv holding the path alone and an empty envp.</summary>
    public long ExecsArgvAssumed { get; internal set; }

    /// <summary>strace: descriptors closed by a successful execve because they were close-on-exec (do_close_on_exec).</summary>
    public long ClosedOnExec { get; internal set; }

    /// <summary>Context switches the trace's order implies (another process's line follows).</summary>
    public long Switches { get; internal set; }

    /// <summary>Lines of another thread of the running process: no switch of mm, none modelled.</summary>
    public long ThreadSwitches { get; internal set; }

    /// <summary>lackey: forked children whose lines are not in the trace, run to exit at once.</summary>
    public long ChildrenExitedAtOnce { get; internal set; }

    /// <summary>Bytes a copy asked for beyond what the model's buffer holds (the 1 MiB I/O buffer a strace replay's calls copy through).</summary>
    public long BytesClamped { get; internal set; }

    /// <summary>Calls that could not run their own path (an mmap with no room left in the simulated address space) and ran as generic.</summary>
    public long Fallbacks { get; internal set; }

    /// <summary>Records of a process after it exited, or of a call whose result lackey printed without its start.</summary>
    public long AfterExit { get; internal set; }

    /// <summary>2 MiB areas of the trace's address space given a place in the simulated process's arena.</summary>
    public long ArenaAreas { get; internal set; }

    /// <summary>Calls started but never finished in the trace.</summary>
    public long UnfinishedAtEnd { get; internal set; }

    public IReadOnlyList<CallTally> Calls => CallList;

    internal List<CallTally> CallList { get; } = new();

    public long Skipped(SkipReason why) => _skipped[(int)why];

    internal void Skip(SkipReason why) => _skipped[(int)why]++;

    internal void Unskip(SkipReason why) => _skipped[(int)why]--;

    public long SkippedTotal
    {
        get
        {
            long n = 0;
            foreach (long s in _skipped)
            {
                n += s;
            }

            return n;
        }
    }

    /// <summary>Lines accounted for: every access, call, exit line, skipped line and record after exit; equals <see cref="Lines"/> for text traces.</summary>
    public long Accounted => Fetches + Loads + Stores + Modifies + SyscallsModelled + SyscallsGeneric + SignalsDelivered + ExitLines + SkippedTotal + AfterExit;
}
