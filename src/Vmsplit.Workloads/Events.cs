using Vmsplit.Kernel.Abi;

namespace Vmsplit.Workloads;

/// <summary>What happens next in a workload's event stream.</summary>
public enum EventKind : byte
{
    /// <summary>A system call made by <see cref="WorkloadEvent.Process"/>.</summary>
    Syscall,

    /// <summary>User-mode loads or stores over pages of a user region (no kernel entry unless they fault).</summary>
    UserTouch,

    /// <summary>User-mode instruction fetches over pages of an executable region (the program's and libc's text).</summary>
    UserFetch,

    /// <summary>The process blocks in the kernel and the scheduler switches the CPU to <see cref="WorkloadEvent.Target"/> (see <see cref="WorkloadEvent.Switch"/>).</summary>
    ContextSwitch,

    /// <summary>
    /// The thread blocks (a futex wait, or with <see cref="WorkloadEvent.Call"/> a read of a pipe whose handler runs first)
    /// and its CPU runs the idle task, the mm still loaded (lazy TLB mode).
    /// </summary>
    Block,

    /// <summary>The blocked thread is woken and its idle CPU switches back to it, completes its pending call (a pipe read copies <see cref="WorkloadEvent.Bytes"/>) and returns to user mode.</summary>
    Wake,
}

/// <summary>
/// One event. A flat value type so that streams are arrays and dispatch allocates nothing. Fields a kind
/// does not use are zero. <see cref="Offset"/> is an offset in the user region; <see cref="FileOffset"/>
/// the position in the page-cache file; <see cref="Target"/> the other process (switch, fork, wait);
/// <see cref="OutRegion"/> and <see cref="OutOffset"/> where a stat's structure is copied (-1: nowhere yet).
/// </summary>
public readonly record struct WorkloadEvent(
    EventKind Kind,
    int Process,
    SyscallKind Call = SyscallKind.Getppid,
    FileKind File = FileKind.None,
    int Region = 0,
    ulong Offset = 0,
    ulong Bytes = 0,
    int Target = 0,
    bool Write = false,
    ulong FileOffset = 0,
    int Cpu = 0,
    int OutRegion = -1,
    ulong OutOffset = 0)
{
    /// <summary><see cref="Cpu"/>: the event runs once on each CPU other than 0 that runs a thread of the process, in CPU order.</summary>
    public const int OtherThreads = -1;

    /// <summary><see cref="Cpu"/>: as <see cref="OtherThreads"/>, on the even-numbered CPUs only (2, 4, ...).</summary>
    public const int EvenOtherThreads = -2;

    public static WorkloadEvent Sys(int process, SyscallKind call) => new(EventKind.Syscall, process, call);

    /// <summary>read/write of <paramref name="bytes"/> between <paramref name="file"/> and user region <paramref name="region"/> at <paramref name="offset"/>.</summary>
    public static WorkloadEvent Io(int process, SyscallKind call, FileKind file, int region, ulong offset, ulong bytes) =>
        new(EventKind.Syscall, process, call, file, region, offset, bytes);

    /// <summary>
    /// stat/open: the kernel copies a path of <paramref name="pathBytes"/> bytes (with its NUL) from the region; a stat
    /// copies its struct stat to <paramref name="outRegion"/> at <paramref name="outOffset"/> (-1: decided by the program,
    /// <see cref="UserProgram.With"/> puts it on the stack).
    /// </summary>
    public static WorkloadEvent Path(int process, SyscallKind call, int region, ulong pathBytes, int outRegion = -1, ulong outOffset = 0) =>
        new(EventKind.Syscall, process, call, FileKind.None, region, 0, pathBytes, OutRegion: outRegion, OutOffset: outOffset);

    /// <summary>User code touches <paramref name="bytes"/> of region <paramref name="region"/> from <paramref name="offset"/>, one access per page.</summary>
    public static WorkloadEvent Touch(int process, int region, ulong offset, ulong bytes, bool write) =>
        new(EventKind.UserTouch, process, Region: region, Offset: offset, Bytes: bytes, Write: write);

    /// <summary>User code executes <paramref name="bytes"/> of text in executable region <paramref name="region"/> from <paramref name="offset"/>, one fetch per page.</summary>
    public static WorkloadEvent Fetch(int process, int region, ulong offset, ulong bytes) =>
        new(EventKind.UserFetch, process, Region: region, Offset: offset, Bytes: bytes);

    /// <summary>
    /// <paramref name="from"/> enters the kernel in a call that blocks (<paramref name="call"/>: a read of a
    /// pipe, wait4, or getppid for a plain yield) and the CPU switches to <paramref name="to"/>, whose own
    /// pending call completes (a pipe read copies <paramref name="bytes"/>) before it returns to user mode.
    /// </summary>
    public static WorkloadEvent Switch(int from, int to, SyscallKind call = SyscallKind.Getppid, FileKind file = FileKind.None, ulong bytes = 0) =>
        new(EventKind.ContextSwitch, from, call, file, Bytes: bytes, Target: to);
}

/// <summary>How a user region is backed.</summary>
public enum RegionKind : byte
{
    /// <summary>Anonymous memory, zero-filled on first touch.</summary>
    Anonymous,

    /// <summary>A mapping of a page-cache file.</summary>
    File,
}

/// <summary>
/// A user memory region a workload's processes use (buffers, working sets, path strings); <see cref="Stack"/>: the top
/// <see cref="Size"/> bytes of the program's stack, which lies where exec put it (below the process's stack top, in the
/// stack VMA setup_arg_pages leaves), not in the mmap area.
/// </summary>
public sealed record UserRegion(string Name, ulong Size, RegionKind Kind = RegionKind.Anonymous, bool Prefault = true, string? Contents = null, bool Executable = false, bool Stack = false);
