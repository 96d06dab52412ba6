namespace Vmsplit.Workloads.Traces;

/// <summary>What a traced system call is, for the replay: the model's path it becomes, or a generic call.</summary>
public enum TraceCallKind : byte
{
    /// <summary>No path of its own: entry, a trivial handler, exit, and the uaccess its arguments or result imply.</summary>
    Generic,

    /// <summary>getpid, getppid, getuid...: the trivial handlers of kernel/sys.c, run as getppid.</summary>
    Trivial,

    /// <summary>read, pread64, readv...: bytes = the result, copied to the user by the descriptor's kind of file.</summary>
    Read,

    /// <summary>write, pwrite64, writev...: bytes = the result, copied from the user.</summary>
    Write,

    /// <summary>stat, newfstatat, access, statx, readlink...: a path walk with the path copied from the user.</summary>
    Stat,

    /// <summary>open, openat, creat: a path walk, a file and a descriptor.</summary>
    Open,

    Close,

    Mmap,

    Munmap,

    /// <summary>fork, vfork, clone, clone3: a new process (a thread, sharing the mm, runs as generic).</summary>
    Fork,

    /// <summary>exit, exit_group: the process ends.</summary>
    Exit,

    /// <summary>wait4, waitid: the parent reaps a child.</summary>
    Wait,

    /// <summary>execve, execveat: a new program (generic, with its path copied; counted as a process event).</summary>
    Exec,
}

/// <summary>How a generic call's uaccess is sized: bytes from the user, to the user, and where its buffer argument is.</summary>
public readonly record struct TraceCallInfo(TraceCallKind Kind, int BufferArg = -1, int FixedOutBytes = 0, bool ResultIn = false, bool ResultOut = false, bool PathIn = false);

/// <summary>
/// Linux system call names (as strace and valgrind print them) mapped to what the replay runs. Structure sizes are
/// x86-64's (the traces are recorded there): struct stat 144 (arch/x86/include/uapi/asm/stat.h), struct timespec and
/// timeval 16, struct utsname 390 (include/uapi/linux/utsname.h: 6 × 65), struct sysinfo 112, struct rusage 144,
/// struct rlimit64 16, struct tms 32, int[2] 8.
/// </summary>
public static class SyscallMap
{
    private static readonly Dictionary<string, TraceCallInfo> s_calls = Build();

    public static TraceCallInfo Of(string name) => s_calls.TryGetValue(name, out TraceCallInfo i) ? i : new TraceCallInfo(TraceCallKind.Generic);

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

        Add(new(TraceCallKind.Trivial), "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getpgrp", "getpgid", "getsid", "umask");
        Add(new(TraceCallKind.Read, BufferArg: 1), "read", "pread64", "readv", "preadv", "preadv2");
        Add(new(TraceCallKind.Write, BufferArg: 1), "write", "pwrite64", "writev", "pwritev", "pwritev2");
        Add(new(TraceCallKind.Stat), "stat", "lstat", "stat64", "lstat64", "newfstatat", "fstatat64", "statx", "access", "faccessat", "faccessat2", "readlink", "readlinkat");
        Add(new(TraceCallKind.Open), "open", "openat", "openat2", "creat");
        Add(new(TraceCallKind.Close), "close");
        Add(new(TraceCallKind.Mmap), "mmap", "mmap2");
        Add(new(TraceCallKind.Munmap), "munmap");
        Add(new(TraceCallKind.Fork), "fork", "vfork", "clone", "clone3");
        Add(new(TraceCallKind.Exit), "exit", "exit_group");
        Add(new(TraceCallKind.Wait), "wait4", "waitid", "waitpid");
        Add(new(TraceCallKind.Exec, PathIn: true), "execve", "execveat");

        // generic calls with a result copied to the user (recv*, getdents*, getrandom, getcwd) or from it (send*)
        Add(new(TraceCallKind.Generic, BufferArg: 1, ResultOut: true), "recvfrom", "recvmsg", "recv", "getdents", "getdents64");
        Add(new(TraceCallKind.Generic, BufferArg: 0, ResultOut: true), "getrandom", "getcwd");
        Add(new(TraceCallKind.Generic, BufferArg: 1, ResultIn: true), "sendto", "sendmsg", "send");
        Add(new(TraceCallKind.Generic, BufferArg: 1, FixedOutBytes: 144), "fstat", "fstat64");
        Add(new(TraceCallKind.Generic, BufferArg: 1, FixedOutBytes: 16), "clock_gettime", "gettimeofday", "clock_getres");
        Add(new(TraceCallKind.Generic, BufferArg: 0, FixedOutBytes: 390), "uname");
        Add(new(TraceCallKind.Generic, BufferArg: 0, FixedOutBytes: 112), "sysinfo");
        Add(new(TraceCallKind.Generic, BufferArg: 1, FixedOutBytes: 144), "getrusage");
        Add(new(TraceCallKind.Generic, BufferArg: 3, FixedOutBytes: 16), "prlimit64");
        Add(new(TraceCallKind.Generic, BufferArg: 1, FixedOutBytes: 16), "getrlimit");
        Add(new(TraceCallKind.Generic, BufferArg: 0, FixedOutBytes: 32), "times");
        Add(new(TraceCallKind.Generic, BufferArg: 0, FixedOutBytes: 8), "pipe", "pipe2");
        Add(new(TraceCallKind.Generic, BufferArg: 3, FixedOutBytes: 8), "socketpair");

        // generic calls that copy a path from the user
        Add(new(TraceCallKind.Generic, PathIn: true), "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2",
            "chdir", "chmod", "fchmodat", "chown", "lchown", "fchownat", "utimensat", "utime", "utimes", "symlink", "symlinkat", "link", "linkat",
            "truncate", "statfs", "mknod", "mknodat", "chroot", "getxattr", "lgetxattr", "setxattr", "lsetxattr", "listxattr", "llistxattr");
        return d;
    }
}
