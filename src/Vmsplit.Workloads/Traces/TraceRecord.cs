namespace Vmsplit.Workloads.Traces;

/// <summary>The trace formats <c>vmsplit replay</c> reads.</summary>
public enum TraceFormat : byte
{
    /// <summary>valgrind --tool=lackey --trace-mem=yes [--trace-syscalls=yes]: I/L/S/M lines and SYSCALL lines.</summary>
    Lackey,

    /// <summary>strace [-f] [-tt] [-T] [-y] [-yy] [-s N] [-X ...] -o FILE: one system call per line.</summary>
    Strace,

    /// <summary>ChampSim's binary trace: 64-byte input_instr records (ChampSim inc/trace_instruction.h).</summary>
    ChampSim,
}

/// <summary>What one record of a trace is.</summary>
public enum TraceRecordKind : byte
{
    /// <summary>An instruction fetch (lackey I, ChampSim ip).</summary>
    Fetch,

    /// <summary>A data load (lackey L, a ChampSim source operand).</summary>
    Load,

    /// <summary>A data store (lackey S, a ChampSim destination operand).</summary>
    Store,

    /// <summary>A load and a store of the same bytes (lackey M).</summary>
    Modify,

    /// <summary>A completed system call (its arguments and, when the trace has it, its result).</summary>
    Syscall,

    /// <summary>A process ended (strace's <c>+++ exited with N +++</c> or <c>+++ killed by SIG +++</c>).</summary>
    ProcessExit,

    /// <summary>A line that carries no event; <see cref="TraceRecord.Skip"/> says why.</summary>
    Skipped,

    /// <summary>A signal delivered to the process (strace's <c>--- SIGNAME {...} ---</c>); <see cref="TraceRecord.Arg0"/> is its number (0: a name the reader does not know).</summary>
    Signal,
}

/// <summary>
/// The restart code a system call interrupted by a signal returned, as strace prints it (<c>= ? ERESTARTSYS (To be
/// restarted if SA_RESTART is set)</c>): the kernel-internal errnos of include/linux/errno.h (Linux 5.4), which the
/// signal code on the way back to user mode turns into a restart of the call or -EINTR and the program never sees.
/// </summary>
public enum SyscallRestart : byte
{
    None,

    /// <summary>ERESTARTSYS (512): restarted when the handler has SA_RESTART or no handler runs, else -EINTR.</summary>
    Sys,

    /// <summary>ERESTARTNOINTR (513): always restarted.</summary>
    NoIntr,

    /// <summary>ERESTARTNOHAND (514): restarted when no handler runs, else -EINTR.</summary>
    NoHand,

    /// <summary>ERESTART_RESTARTBLOCK (516): continued through restart_syscall(2) when no handler runs, else -EINTR.</summary>
    RestartBlock,
}

/// <summary>Why a line carried no event. Every line of a trace is an event or one of these, so the counts account for every line.</summary>
public enum SkipReason : byte
{
    None,

    /// <summary>An empty line.</summary>
    Blank,

    /// <summary>valgrind's own messages (<c>==PID== ...</c>) or strace's (<c>strace: Process N attached</c>).</summary>
    ToolMessage,

    /// <summary>The first half of a call split by another process's or thread's line (strace <c>&lt;unfinished ...&gt;</c>, lackey <c>[async] ...</c>); the call is counted when it resumes.</summary>
    CallStarted,

    /// <summary>A signal line the process has no handler for (its default action or ignored: no frame), or strace's <c>--- stopped by SIG ---</c>.</summary>
    Signal,

    /// <summary>A call whose result the tracer never saw (strace <c>= ?</c>, a call still unfinished at the end).</summary>
    NoResult,

    /// <summary>A result line of a lackey call that has no start line before it.</summary>
    Orphan,
}

/// <summary>What a file descriptor refers to, from <c>-y</c>/<c>-yy</c> annotations or from the calls that made it.</summary>
public enum FdKind : byte
{
    Unknown,
    File,
    DevNull,
    DevZero,
    Pipe,
    Socket,
    Tty,
    Other,
}

/// <summary>
/// One record of a trace, filled in place by a reader (no allocation per record). Fields a kind does not
/// use are left as they were; the reader sets every field its kind uses.
/// </summary>
public struct TraceRecord
{
    public TraceRecordKind Kind;

    /// <summary>The process (strace -f's PID, lackey's SYSCALL[pid,..]; 0 when the trace names none).</summary>
    public int Pid;

    /// <summary>Access: the virtual address and size in bytes.</summary>
    public ulong Address;

    public uint Size;

    /// <summary>Syscall: its name's id in the reader's <see cref="SyscallNames"/>.</summary>
    public int Call;

    /// <summary>Syscall: up to six integer arguments (a string or structure argument reads as 0; lackey gives its address).</summary>
    public ulong Arg0;

    public ulong Arg1;

    public ulong Arg2;

    public ulong Arg3;

    /// <summary>Syscall strace: bit n set when argument n (0-7) is a structure strace printed (<c>{...}</c>): for an output argument, one the kernel wrote (nanosleep's rmtp when interrupted).</summary>
    public byte StructArgs;

    /// <summary>Syscall: its return value when <see cref="HasResult"/> (for a failure, the negated errno).</summary>
    public long Result;

    public bool HasResult;

    /// <summary>Syscall: bytes of its first path argument with the NUL (0: none), and the path's user address when the trace gives it.</summary>
    public int PathBytes;

    public ulong PathAddress;

    /// <summary>Syscall: what its first argument (a descriptor) is, when strace's -y annotation says.</summary>
    public FdKind FdKind;

    /// <summary>Syscall: what its first path names, when it is a device or pipe the model has a path for (/dev/null, /dev/zero).</summary>
    public FdKind PathKind;

    /// <summary>Syscall rt_sigaction/sigaction: its second argument is a new action; <see cref="Arg1"/> is then its handler (0 SIG_DFL, 1 SIG_IGN, else the function's address).</summary>
    public bool NewAction;

    /// <summary>Syscall rt_sigaction/sigaction with <see cref="NewAction"/>: the new action's sa_flags have SA_RESTART.</summary>
    public bool SaRestart;

    /// <summary>Syscall: it was interrupted by a signal and returned this restart code (strace's <c>= ? ERESTART...</c>); none otherwise.</summary>
    public SyscallRestart Restart;

    /// <summary>Syscall execve/execveat: argv's strings (-1: no argv array shown), envp's pointers (strace's <c>/* N vars */</c> or its array with -v).</summary>
    public int Argc;

    public int Envc;

    /// <summary>Syscall execve/execveat: the bytes of argv's strings then of envp's when shown, each with its NUL (null when none).</summary>
    public int[]? ExecStrings;

    /// <summary>Syscall: a *_CLOEXEC flag is among its arguments (O_CLOEXEC, SOCK_CLOEXEC, FD_CLOEXEC, F_DUPFD_CLOEXEC, ...); <see cref="CloExecOnArg0"/> when it marks the descriptor of its first argument (fcntl F_SETFD) rather than the one it returns.</summary>
    public bool CloExec;

    public bool CloExecOnArg0;

    /// <summary>Syscall clone/clone3: CLONE_VM is among its flags (a thread, or a vfork child, sharing the mm).</summary>
    public bool SharesMm;

    /// <summary>Syscall pipe/pipe2/socketpair: the two descriptors it returned (-1 when not shown).</summary>
    public int Fd0;

    public int Fd1;

    /// <summary>Syscall: a call whose line was counted as started (<see cref="SkipReason.CallStarted"/>) and that the end of the trace finished (lackey's execve that replaced the program: valgrind prints no result).</summary>
    public bool FinishedAtEnd;

    /// <summary>ProcessExit: the process was killed by a signal (strace's <c>+++ killed by SIG +++</c>), not exited.</summary>
    public bool Killed;

    /// <summary>Skipped: why.</summary>
    public SkipReason Skip;

    /// <summary>The line (1-based) or, for ChampSim, the record index (0-based) it came from.</summary>
    public long Line;
}

/// <summary>A streaming reader of one trace: fills a record per line or binary record, in constant memory.</summary>
public interface ITraceReader : IDisposable
{
    TraceFormat Format { get; }

    /// <summary>The trace's system call names (ids in <see cref="TraceRecord.Call"/>).</summary>
    SyscallNames Names { get; }

    /// <summary>Bytes of the file read so far (compressed bytes for a compressed trace), for progress.</summary>
    long BytesRead { get; }

    /// <summary>Calls started and never finished by the end of the trace (the text formats; ChampSim records none).</summary>
    int UnfinishedAtEnd => 0;

    /// <summary>
    /// A process whose clone, clone3, fork or vfork is unfinished after the last record (its child may show up before the
    /// call returns), and whether the call shares the mm; false where the format splits no calls (strace's does).
    /// </summary>
    bool PendingClone(out int parentPid, out bool sharesMm)
    {
        parentPid = 0;
        sharesMm = false;
        return false;
    }

    /// <summary>Reads the next record into <paramref name="r"/>; false at the end. Throws <see cref="WorkloadException"/> for a malformed or truncated trace, naming the file and line.</summary>
    bool Next(ref TraceRecord r);
}
