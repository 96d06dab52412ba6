using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// What a traced system call runs as: the model's call of that kind (<see cref="SyscallKind.GenericIn"/> for one the
/// model has no path for: entry, a trivial handler, exit, and the uaccess its arguments or result imply), whether it
/// starts a new program (execve, counted as a process event), and how a generic call's uaccess is sized: bytes from
/// the user, to the user, and where its buffer argument is; a time call's timespec or timeval (<see cref="Time"/>) is
/// sized per ABI by <see cref="TimeTypes.Bytes"/>.
/// </summary>
public readonly record struct TraceCallInfo(SyscallKind Call, bool Exec = false, int BufferArg = -1, int FixedOutBytes = 0, bool ResultIn = false, bool ResultOut = false, bool PathIn = false, RestartFn Restart = RestartFn.None, int RemainArg = -1, TimeStruct Time = TimeStruct.None, UserStruct Struct = UserStruct.None)
{
    /// <summary>A call the model has no path of its own for.</summary>
    public bool IsGeneric => Call is SyscallKind.GenericIn or SyscallKind.GenericOut;

    /// <summary>
    /// The bytes of the fixed structure the call copies out on <paramref name="arch"/>'s ABI: its timespec or timeval
    /// (<see cref="TimeTypes"/>), its struct stat, rusage, sysinfo, tms or rlimit (<see cref="UserStructs"/>), or the
    /// size that is the same on every ABI (<see cref="FixedOutBytes"/>); 0 for a call that copies none.
    /// </summary>
    public ulong OutBytes(KernelArch arch) =>
        Time != TimeStruct.None ? TimeTypes.Bytes(Time, arch)
        : Struct != UserStruct.None ? UserStructs.Bytes(Struct, arch)
        : (ulong)FixedOutBytes;
}

/// <summary>
/// The restart_block.fn a call leaves when a signal interrupts it with ERESTART_RESTARTBLOCK, which restart_syscall(2)
/// runs (kernel/signal.c 5.4: sys_restart_syscall calls current->restart_block.fn); <see cref="RestartSyscall"/> marks
/// restart_syscall itself.
/// </summary>
public enum RestartFn : byte
{
    None,

    /// <summary>nanosleep, clock_nanosleep: hrtimer_nanosleep_restart (kernel/time/hrtimer.c).</summary>
    Nanosleep,

    /// <summary>poll: do_restart_poll (fs/select.c).</summary>
    Poll,

    /// <summary>restart_syscall(2): runs the interrupted call's restart_block.fn.</summary>
    RestartSyscall,
}

/// <summary>
/// Linux system call names (as strace and valgrind print them) mapped to what the replay runs. Fixed structures are
/// sized for the replay's ABI: struct stat, rusage, sysinfo, tms and rlimit by <see cref="UserStructs"/> (x86-64's stat
/// 144, the asm-generic 128 of arm64 and riscv64, the stat64 of 32-bit ABIs; longs of 4 bytes on 32-bit), a struct
/// timespec or timeval by <see cref="TimeStruct"/> (8 bytes for the time32 calls of x86-32 and 32-bit ARM, 16 elsewhere
/// and for the _time64 calls); struct utsname 390 (include/uapi/linux/utsname.h: 6 × 65), struct rlimit64 16 and int[2]
/// 8 on every ABI.
/// </summary>
public static class SyscallMap
{
    private static readonly Dictionary<string, TraceCallInfo> s_calls = Build();

    public static TraceCallInfo Of(string name) => s_calls.TryGetValue(name, out TraceCallInfo i) ? i : new TraceCallInfo(SyscallKind.GenericIn);

    private static Dictionary<string, TraceCallInfo> Build()
    {
        Dictionary<string, TraceCallInfo> d = new(StringComparer.Ordinal);
        void Add(TraceCallInfo info, params string[] names)
        {
            foreach (string n in names)
            {
                d[n] = info;
            }
        }

        // the trivial handlers of kernel/sys.c run as getppid
        Add(new(SyscallKind.Getppid), "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getpgrp", "getpgid", "getsid", "umask");
        Add(new(SyscallKind.Read, BufferArg: 1), "read", "pread64", "readv", "preadv", "preadv2");
        Add(new(SyscallKind.Write, BufferArg: 1), "write", "pwrite64", "writev", "pwritev", "pwritev2");
        // (valgrind names the handlers as the kernel does, sys_newstat, sys_newlstat, sys_newfstat and sys_newuname on
        // x86-64, and lackey prints those names)
        // the stat family copies its structure out after the walk (fs/stat.c: cp_new_stat, cp_new_stat64, cp_statx; statx's
        // buffer is its fifth argument, which the traces do not keep, so it lands in the process's buffer), readlink the
        // target it returns (readlink_copy), access nothing
        Add(new(SyscallKind.Stat, BufferArg: 1, Struct: UserStruct.Stat), "stat", "lstat", "stat64", "lstat64", "newstat", "newlstat");
        Add(new(SyscallKind.Stat, BufferArg: 2, Struct: UserStruct.Stat), "newfstatat", "fstatat64");
        Add(new(SyscallKind.Stat, Struct: UserStruct.Statx), "statx");
        Add(new(SyscallKind.Stat), "access", "faccessat", "faccessat2");
        Add(new(SyscallKind.Stat, BufferArg: 1, ResultOut: true), "readlink");
        Add(new(SyscallKind.Stat, BufferArg: 2, ResultOut: true), "readlinkat");
        Add(new(SyscallKind.Open), "open", "openat", "openat2", "creat");
        Add(new(SyscallKind.Close), "close");
        Add(new(SyscallKind.Mmap), "mmap", "mmap2");
        Add(new(SyscallKind.Munmap), "munmap");
        // mprotect with PROT_READ (and PROT_WRITE, PROT_EXEC), madvise with MADV_DONTNEED; the replay runs other
        // protections and advice as generic (Replayer)
        Add(new(SyscallKind.Mprotect), "mprotect");
        Add(new(SyscallKind.MadviseDontneed), "madvise");
        // a thread (clone with CLONE_VM, sharing the mm) runs as generic
        Add(new(SyscallKind.Fork), "fork", "vfork", "clone", "clone3");
        Add(new(SyscallKind.Exit), "exit", "exit_group");
        Add(new(SyscallKind.Wait4), "wait4", "waitid", "waitpid");
        // a new program: the kernel's exec (a new mm), counted as a process event; a failed one is generic, its path copied in
        Add(new(SyscallKind.Execve, Exec: true, PathIn: true), "execve", "execveat");
        // the return from a signal handler: the frame the delivery wrote read back (generic when no frame is outstanding)
        Add(new(SyscallKind.RtSigreturn), "rt_sigreturn", "sigreturn");

        // generic calls with a result copied to the user (recv*, getdents*, getrandom, getcwd) or from it (send*)
        Add(new(SyscallKind.GenericIn, BufferArg: 1, ResultOut: true), "recvfrom", "recvmsg", "recv", "getdents", "getdents64");
        Add(new(SyscallKind.GenericIn, BufferArg: 0, ResultOut: true), "getrandom", "getcwd");
        Add(new(SyscallKind.GenericIn, BufferArg: 1, ResultIn: true), "sendto", "sendmsg", "send");
        Add(new(SyscallKind.GenericIn, BufferArg: 1, Struct: UserStruct.Stat), "fstat", "fstat64", "newfstat");
        // put_old_timespec32 (sys_clock_gettime32, sys_clock_getres_time32) or put_timespec64, and gettimeofday's struct
        // timeval of two longs (kernel/time/posix-timers.c, kernel/time/time.c 5.4); the _time64 calls of 32-bit ABIs: 16
        Add(new(SyscallKind.GenericIn, BufferArg: 1, Time: TimeStruct.Native), "clock_gettime", "gettimeofday", "clock_getres");
        Add(new(SyscallKind.GenericIn, BufferArg: 1, Time: TimeStruct.Time64), "clock_gettime64", "clock_getres_time64");
        Add(new(SyscallKind.GenericIn, BufferArg: 0, FixedOutBytes: 390), "uname", "newuname");
        Add(new(SyscallKind.GenericIn, BufferArg: 0, Struct: UserStruct.Sysinfo), "sysinfo");
        Add(new(SyscallKind.GenericIn, BufferArg: 1, Struct: UserStruct.Rusage), "getrusage");
        Add(new(SyscallKind.GenericIn, BufferArg: 3, FixedOutBytes: 16), "prlimit64");
        Add(new(SyscallKind.GenericIn, BufferArg: 1, Struct: UserStruct.Rlimit), "getrlimit", "ugetrlimit");
        Add(new(SyscallKind.GenericIn, BufferArg: 0, Struct: UserStruct.Tms), "times");
        Add(new(SyscallKind.GenericIn, BufferArg: 0, FixedOutBytes: 8), "pipe", "pipe2");
        Add(new(SyscallKind.GenericIn, BufferArg: 3, FixedOutBytes: 8), "socketpair");

        // the calls the replay runs on the kernel's nanosleep and poll paths (SyscallKind.Nanosleep, Poll: their text,
        // instructions, sleep and uaccess; GenericIn when they failed), and the restart_block an interruption leaves:
        // nanosleep's and clock_nanosleep's request read and, interrupted, the time left written to rmtp: on x86-32 and
        // 32-bit ARM the time32 calls with get_old_timespec32/put_old_timespec32 (8 bytes), elsewhere and for
        // clock_nanosleep_time64 get_timespec64/put_timespec64 (16; kernel/time/hrtimer.c, kernel/time/posix-timers.c
        // 5.4); poll's pollfd array read (8 bytes each) and each revents written back with __put_user (fs/select.c
        // do_sys_poll); restart_syscall runs the restart of the call it continues (Replayer)
        Add(new(SyscallKind.GenericIn, BufferArg: 0, Restart: RestartFn.Nanosleep, RemainArg: 1, Time: TimeStruct.Native), "nanosleep");
        Add(new(SyscallKind.GenericIn, BufferArg: 2, Restart: RestartFn.Nanosleep, RemainArg: 3, Time: TimeStruct.Native), "clock_nanosleep");
        Add(new(SyscallKind.GenericIn, BufferArg: 2, Restart: RestartFn.Nanosleep, RemainArg: 3, Time: TimeStruct.Time64), "clock_nanosleep_time64");
        Add(new(SyscallKind.GenericIn, BufferArg: 0, Restart: RestartFn.Poll), "poll");
        Add(new(SyscallKind.GenericIn, Restart: RestartFn.RestartSyscall), "restart_syscall");

        // generic calls that copy a path from the user
        Add(new(SyscallKind.GenericIn, PathIn: true), "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2",
            "chdir", "chmod", "fchmodat", "chown", "lchown", "fchownat", "utimensat", "utime", "utimes", "symlink", "symlinkat", "link", "linkat",
            "truncate", "statfs", "mknod", "mknodat", "chroot", "getxattr", "lgetxattr", "setxattr", "lsetxattr", "listxattr", "llistxattr");
        return d;
    }
}
