using Vmsplit.Hardware;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Abi;

/// <summary>
/// The system calls the kernel executes, named as in Linux. This is the one vocabulary: workloads emit it, the trace
/// replay maps traced names onto it, and the kernel dispatches on it (with <see cref="FileKind"/> for read and write,
/// whose handlers differ by what the descriptor refers to, as the file_operations do).
/// </summary>
public enum SyscallKind : byte
{
    Getppid,
    Read,
    Write,

    /// <summary>
    /// stat(2) and its relatives: the path at <see cref="SyscallRequest.User"/> copied in, a path walk, and the result
    /// copied to <see cref="SyscallRequest.Out"/> (cp_new_stat, cp_new_stat64 or cp_statx, fs/stat.c; readlink_copy).
    /// </summary>
    Stat,
    Open,
    Close,
    Mmap,
    Munmap,
    Fork,
    Exit,
    Wait4,

    /// <summary>mprotect(2) to <see cref="SyscallRequest.Prot"/> (mm/mprotect.c).</summary>
    Mprotect,

    /// <summary>madvise(2) with MADV_DONTNEED (mm/madvise.c).</summary>
    MadviseDontneed,

    /// <summary>execve(2): the path at <see cref="SyscallRequest.User"/> copied in, a new mm switched to, the old one torn down (fs/exec.c). Not in the workload vocabulary.</summary>
    Execve,
    /// <summary>A call the model has no handler for, which copies <see cref="SyscallRequest.Bytes"/> from the user (its arguments: a path, a structure, a buffer sent). Not in the workload vocabulary.</summary>
    GenericIn,

    /// <summary>A call the model has no handler for, which copies <see cref="SyscallRequest.Bytes"/> to the user (its result: a structure, a buffer received). Not in the workload vocabulary.</summary>
    GenericOut,

    /// <summary>
    /// Not a system call: a signal with a handler delivered on a return to user mode (handle_signal → setup_rt_frame,
    /// arch/*/kernel/signal.c): the frame of <see cref="SyscallRequest.Bytes"/> written to the user stack at
    /// <see cref="SyscallRequest.User"/> through copy_to_user. Run as an entry and exit of its own. Not in the workload vocabulary.
    /// </summary>
    SignalDelivery,

    /// <summary>rt_sigreturn(2): the frame at <see cref="SyscallRequest.User"/> read back (copy_from_user). Not in the workload vocabulary.</summary>
    RtSigreturn,

    /// <summary>
    /// nanosleep(2) and clock_nanosleep(2) (kernel/time/hrtimer.c, posix-timers.c): the request of
    /// <see cref="SyscallRequest.Bytes"/> at <see cref="SyscallRequest.User"/> read (none for restart_syscall's
    /// hrtimer_nanosleep_restart), then the sleep <see cref="SyscallRequest.Sleep"/> says how it ends. Not in the workload vocabulary.
    /// </summary>
    Nanosleep,

    /// <summary>
    /// poll(2) on pipes (fs/select.c): the pollfd array of <see cref="SyscallRequest.Bytes"/> (8 bytes each) at
    /// <see cref="SyscallRequest.User"/> read, each descriptor's poll method, a sleep if <see cref="SyscallRequest.Sleep"/>
    /// says it waited, each revents written back. Not in the workload vocabulary.
    /// </summary>
    Poll,
}

/// <summary>How a call that blocks (<see cref="SyscallKind.Nanosleep"/>, <see cref="SyscallKind.Poll"/>) ends its sleep.</summary>
public enum SleepEnd : byte
{
    /// <summary>It does not sleep (a poll that found a descriptor ready or had a zero timeout).</summary>
    None,

    /// <summary>It sleeps until its hrtimer expires on the CPU, whose hrtimer_wakeup wakes it.</summary>
    Timer,

    /// <summary>It sleeps until a signal wakes it (the sender's signal_wake_up is not run here).</summary>
    Signal,
}

/// <summary>What a read or write talks to: the file_operations its descriptor has.</summary>
public enum FileKind : byte
{
    None,

    /// <summary>/dev/zero: reads clear the user buffer (clear_user; drivers/char/mem.c read_zero).</summary>
    DevZero,

    /// <summary>/dev/null: writes copy nothing (drivers/char/mem.c write_null).</summary>
    DevNull,

    /// <summary>A tmpfs / page-cache file: data is copied between its pages and the user buffer.</summary>
    PageCache,

    /// <summary>A pipe between two processes: a 4 KiB kernel buffer page per pipe (one of 16 slots).</summary>
    Pipe,
}

/// <summary>
/// What execve reads from the user besides its path (fs/exec.c, Linux 5.4): the argv and envp pointer arrays (one after
/// the other at <see cref="Pointers"/>, each ending in NULL), the strings they point at with their bytes and NUL (an
/// envp whose strings are not known has <see cref="Envc"/> pointers and no strings), and how many open descriptors are
/// close-on-exec. Where the new program's stack ends is the kernel's choice (<c>Process.StackTop</c>, drawn at the exec):
/// the arguments and the tables create_elf_tables writes lie below it, in the <c>SimKernel.ExecStackBytes</c> stack VMA
/// execve gives the new mm.
/// </summary>
public sealed record ExecArgs(VirtualAddress Pointers, int Argc, int Envc, IReadOnlyList<(VirtualAddress At, ulong Bytes)> Strings, int CloseOnExec);

/// <summary>
/// One system call's arguments: the user buffer or range, its length, the file position, for read/write the kind of file,
/// for mprotect the new protection, for execve its arguments; for a stat the buffer its result is copied to
/// (<see cref="Out"/>, <see cref="OutBytes"/> bytes: the ABI's struct stat or statx, a readlink's target, or none for
/// access); for a call that blocks how its sleep ends (<see cref="Sleep"/>).
/// </summary>
public readonly record struct SyscallRequest(SyscallKind Kind, VirtualAddress User = default, ulong Bytes = 0, ulong FileOffset = 0, FileKind File = FileKind.None, VmFlags Prot = VmFlags.None, ExecArgs? Exec = null, VirtualAddress Out = default, ulong OutBytes = 0, SleepEnd Sleep = SleepEnd.None)
{
    /// <summary>
    /// The calls a workload file may name, each with a libc wrapper page in the benchmark program's text: not the two
    /// generic kinds, which only the trace replay emits, nor mprotect and madvise, which only the built-in mprotect-mt and
    /// madvise-mt make (a file could not say which protection, nor keep a store off a read-only region), nor execve, which
    /// only the trace replay runs (a workload's loop cannot go on in a new program), nor a signal's delivery and
    /// rt_sigreturn, which the replay runs for a traced signal that has a handler, nor nanosleep and poll, which only the
    /// replay runs (a workload's operation does not sleep).
    /// </summary>
    public static bool IsWorkloadCall(SyscallKind kind) =>
        kind is not (SyscallKind.GenericIn or SyscallKind.GenericOut or SyscallKind.Mprotect or SyscallKind.MadviseDontneed or SyscallKind.Execve
            or SyscallKind.SignalDelivery or SyscallKind.RtSigreturn or SyscallKind.Nanosleep or SyscallKind.Poll);
}
