using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Kernel.Abi;

namespace Vmsplit.Workloads;

/// <summary>
/// A workload: its processes and user regions, and the events of one operation (one lmbench
/// iteration). The Lab runs warm-up operations, then measured ones, and divides by the count.
/// </summary>
public sealed class Workload
{
    private readonly Action<long, List<WorkloadEvent>> _operation;
    private long? _stepsPerOperation;

    public Workload(
        string name,
        string description,
        string mirrors,
        int processes,
        IReadOnlyList<UserRegion> regions,
        ulong fileBytes,
        int defaultOps,
        Action<long, List<WorkloadEvent>> operation,
        long? stepsPerOperation = null)
    {
        Name = name;
        Description = description;
        Mirrors = mirrors;
        Processes = processes;
        Regions = regions;
        FileBytes = fileBytes;
        DefaultOps = defaultOps;
        _operation = operation;
        _stepsPerOperation = stepsPerOperation;
    }

    public string Name { get; }

    public string Description { get; }

    /// <summary>The published benchmark it stands for ("lmbench lat_syscall null").</summary>
    public string Mirrors { get; }

    /// <summary>Processes alive at the start (fork-exit creates and reaps more).</summary>
    public int Processes { get; }

    /// <summary>Regions mapped in every process at the start (index = <see cref="WorkloadEvent.Region"/>).</summary>
    public IReadOnlyList<UserRegion> Regions { get; }

    /// <summary>Size of the page-cache file reads and writes use (0: none).</summary>
    public ulong FileBytes { get; }

    public int DefaultOps { get; }

    /// <summary>Process 0 has one thread on every CPU of the machine (clone(CLONE_VM) at setup; thread i on CPU i).</summary>
    public bool ThreadPerCpu { get; init; }

    /// <summary>Process i starts on CPU i where the machine has that CPU (the others on CPU 0, as without this).</summary>
    public bool ProcessPerCpu { get; init; }

    /// <summary>
    /// The operation runs once on each CPU that runs a thread of process 0, in CPU order, every event on that CPU
    /// (events name CPU 0 for "the thread's own CPU").
    /// </summary>
    public bool EveryThreadInTurn { get; init; }

    /// <summary>What runs instead on a machine with one CPU (a workload whose events need a second CPU); null: this one.</summary>
    public Workload? OnOneCpu { get; init; }

    /// <summary>
    /// An upper bound of the work of one operation in simulated steps (<see cref="StepsOf"/> summed over its
    /// events); the Lab refuses runs whose total exceeds its cap. Unless the constructor was given it, it is
    /// measured on operations 0 and 1 (operation 0 runs every step of a YAML workload).
    /// </summary>
    public long StepsPerOperation => _stepsPerOperation ??= Math.Max(MeasureSteps(0), MeasureSteps(1));

    /// <summary>The steps of building the processes: one per page of the page-cache file, and every process maps every region and touches each page of those it prefaults.</summary>
    public long SetupSteps => (long)(FileBytes / 4096) + (Processes * Regions.Sum(r => 1 + (r.Prefault || r.Executable ? (long)(r.Size / 4096) : 1)));

    /// <summary>One step per event, plus one per 4 KiB page it touches or copies (rounded up, and one more for an unaligned start).</summary>
    public static long StepsOf(in WorkloadEvent e) => 1 + (long)(e.Bytes / 4096) + (e.Bytes % 4096 == 0 ? 0 : 1) + (e.Bytes == 0 ? 0 : 1);

    /// <summary>Appends the events of operation number <paramref name="op"/> (0-based) to <paramref name="sink"/>.</summary>
    public void EmitOperation(long op, List<WorkloadEvent> sink) => _operation(op, sink);

    /// <summary>All events of operations [0, count), for tests and trace export.</summary>
    public List<WorkloadEvent> Events(long count)
    {
        List<WorkloadEvent> all = new();
        for (long i = 0; i < count; i++)
        {
            EmitOperation(i, all);
        }

        return all;
    }

    public override string ToString() => Name;

    private long MeasureSteps(long op)
    {
        List<WorkloadEvent> events = new();
        EmitOperation(op, events);
        long steps = 0;
        foreach (WorkloadEvent e in events)
        {
            steps += StepsOf(e);
        }

        return steps;
    }
}

/// <summary>Thrown for a workload name or file that cannot be used; the message is one line naming the place.</summary>
public sealed class WorkloadException(string message) : Exception(message);

/// <summary>
/// The built-in suite, mirroring lmbench and UnixBench so that published numbers can be compared.
/// Parameterised names: <c>dd:BLOCK</c> (512 B to 1 MiB), <c>wss:SIZE</c> or <c>wss:SIZE:PAGES</c>.
/// </summary>
public static class BuiltinWorkloads
{
    private const ulong Page = 4096;

    /// <summary>Names in suite order (what <c>vmsplit compare</c> runs by default).</summary>
    public static readonly string[] Suite =
    [
        "null", "read1", "write1", "read4k", "read64k", "pipe", "stat", "open-close",
        "fault", "mmap-munmap", "fork-exit", "dd", "wss",
    ];

    /// <summary>The built-in workloads made for several CPUs (not in the default suite; they run on one CPU too, with no other threads).</summary>
    public static readonly string[] MultiCpu = ["munmap-mt", "mprotect-mt", "madvise-mt", "pipe-smp", "fork-exit-mt"];

    /// <summary>The multi-CPU workloads that take a page count (NAME:PAGES, 1 to 1024).</summary>
    public static readonly string[] PagedMultiCpu = ["munmap-mt", "mprotect-mt", "madvise-mt"];

    /// <summary>Region 0 of every built-in workload: the user's I/O buffer (prefaulted, as lmbench touches its buffer first).</summary>
    public const int BufferRegion = 0;

    public static Workload Get(string name)
    {
        string[] parts = name.Trim().ToLowerInvariant().Split(':');
        string baseName = parts[0];
        if (parts.Length > 1 && baseName is not ("dd" or "wss") && !PagedMultiCpu.Contains(baseName))
        {
            throw new WorkloadException($"workload {InputText.Quote(name)}: only dd, wss, {string.Join(", ", PagedMultiCpu[..^1])} and {PagedMultiCpu[^1]} take parameters");
        }

        if (PagedMultiCpu.Contains(baseName) && parts.Length > 2)
        {
            throw new WorkloadException($"workload {InputText.Quote(name)}: {baseName} takes one page count ({baseName}:PAGES)");
        }

        if (baseName == "dd" && parts.Length > 2)
        {
            throw new WorkloadException($"workload {InputText.Quote(name)}: dd takes one block size (dd:BLOCK)");
        }

        return UserProgram.With(allCalls: baseName is "mprotect-mt" or "madvise-mt", w: baseName switch
        {
            "null" => Null(),
            "read1" => Io("read1", SyscallKind.Read, FileKind.DevZero, 1, "lmbench lat_syscall read (1 byte from /dev/zero)"),
            "write1" => Io("write1", SyscallKind.Write, FileKind.DevNull, 1, "lmbench lat_syscall write (1 byte to /dev/null)"),
            "read4k" => FileRead("read4k", 4096),
            "read64k" => FileRead("read64k", 65536),
            "pipe" => Pipe(),
            "stat" => PathCall("stat", [SyscallKind.Stat], "lmbench lat_syscall stat"),
            "open-close" => PathCall("open-close", [SyscallKind.Open, SyscallKind.Close], "lmbench lat_syscall open"),
            "fault" => Fault(),
            "mmap-munmap" => MmapMunmap(),
            "fork-exit" => ForkExit(),
            "dd" => Dd(parts.Length > 1 ? ParseSize(name, parts[1], 512, 1UL << 20) : 65536, name),
            "wss" => Wss(name, parts),
            "munmap-mt" => MunmapMt(name, parts.Length > 1 ? ParsePages(name, parts[1]) : 1),
            "mprotect-mt" => MprotectMt(name, parts.Length > 1 ? ParsePages(name, parts[1]) : 1),
            "madvise-mt" => MadviseMt(name, parts.Length > 1 ? ParsePages(name, parts[1]) : 1),
            "pipe-smp" => PipeSmp(),
            "fork-exit-mt" => ForkExitMt(),
            _ => throw new WorkloadException($"workload {InputText.Quote(name)}: unknown (built-in: {string.Join(", ", Suite)}, {string.Join(", ", MultiCpu)}; dd:BLOCK, wss:SIZE[:PAGES], {string.Join(", ", PagedMultiCpu.Select(n => n + ":PAGES"))})" + Suggestions.DidYouMean(baseName, [.. Suite, .. MultiCpu, "dd", "wss"])),
        });
    }

    private static ulong ParseSize(string name, string text, ulong min, ulong max)
    {
        if (!ByteSize.TryParse(text, $"workload {InputText.Quote(name)}", min, max, out ulong v, out string error))
        {
            throw new WorkloadException(error);
        }

        return v;
    }

    private static UserRegion Buffer(ulong size) => new("buffer", Math.Max(Page, (size + Page - 1) & ~(Page - 1)));

    private static Workload Null() => new(
        "null",
        "getppid(): entry, a trivial handler, exit",
        "lmbench lat_syscall null",
        1,
        [Buffer(Page)],
        0,
        4000,
        (_, s) => s.Add(WorkloadEvent.Sys(0, SyscallKind.Getppid)));

    private static Workload Io(string name, SyscallKind call, FileKind file, ulong bytes, string mirrors) => new(
        name,
        $"{call.ToString().ToLowerInvariant()}() of {bytes} byte(s) {(call == SyscallKind.Read ? "from" : "to")} {(file == FileKind.DevZero ? "/dev/zero" : "/dev/null")}",
        mirrors,
        1,
        [Buffer(Page)],
        0,
        4000,
        (_, s) => s.Add(WorkloadEvent.Io(0, call, file, BufferRegion, 0, bytes)));

    private static Workload FileRead(string name, ulong bytes)
    {
        const ulong fileBytes = 1UL << 20; // 256 page-cache pages, cycled through so highmem pages come up
        return new Workload(
            name,
            $"read() of {ByteSize.Format(bytes)} from a 1 MiB page-cache file, sequentially, rewinding at the end",
            "lmbench bw_file_rd / UnixBench file read (per call)",
            1,
            [Buffer(bytes)],
            fileBytes,
            bytes >= 65536 ? 400 : 2000,
            (op, s) => s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Read, FileKind.PageCache, BufferRegion, 0, bytes, FileOffset: (ulong)op * bytes % fileBytes)));
    }

    private static Workload Pipe(string name = "pipe") => new(
        name,
        "one-byte ping-pong through two pipes between two processes: per round trip two writes, two reads that block and switch (4 syscalls, 2 context switches)",
        "lmbench lat_pipe",
        2,
        [Buffer(Page)],
        0,
        1500,
        (_, s) =>
        {
            s.Add(WorkloadEvent.Io(0, SyscallKind.Write, FileKind.Pipe, BufferRegion, 0, 1));
            s.Add(WorkloadEvent.Switch(0, 1, SyscallKind.Read, FileKind.Pipe, 1)); // 0 blocks reading; 1's read completes
            s.Add(WorkloadEvent.Io(1, SyscallKind.Write, FileKind.Pipe, BufferRegion, 0, 1));
            s.Add(WorkloadEvent.Switch(1, 0, SyscallKind.Read, FileKind.Pipe, 1));
        });

    private static Workload PathCall(string name, SyscallKind[] calls, string mirrors)
    {
        const string path = "/usr/include/stdio.h"; // 20 characters and a NUL: a typical header path
        return new Workload(
            name,
            $"{string.Join(" + ", calls.Select(c => c.ToString().ToLowerInvariant()))} of \"{path}\" (the path is copied with strncpy_from_user)",
            mirrors,
            1,
            [new UserRegion("path", Page, Contents: path)],
            0,
            3000,
            (_, s) =>
            {
                foreach (SyscallKind c in calls)
                {
                    s.Add(c == SyscallKind.Close ? WorkloadEvent.Sys(0, c) : WorkloadEvent.Path(0, c, 0, (ulong)path.Length + 1));
                }
            });
    }

    private static Workload Fault()
    {
        const ulong region = 64UL << 20;
        return new Workload(
            "fault",
            "a store to a new anonymous page: page fault, zeroed page, PTE install (64 MiB region, remapped when exhausted)",
            "lmbench lat_pagefault (anonymous variant)",
            1,
            [Buffer(Page), new UserRegion("fresh", region, Prefault: false)],
            0,
            2000,
            (op, s) =>
            {
                ulong page = (ulong)op % (region / Page);
                if (page == 0 && op > 0)
                {
                    s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Munmap, Region: 1));
                    s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Mmap, Region: 1, Bytes: region));
                }

                s.Add(WorkloadEvent.Touch(0, 1, page * Page, 1, write: true));
            });
    }

    private static Workload MmapMunmap() => new(
        "mmap-munmap",
        "mmap of 1 MiB anonymous memory, a store to its first page, munmap",
        "lmbench lat_mmap (anonymous, one touch)",
        1,
        [Buffer(Page), new UserRegion("scratch", 1UL << 20, Prefault: false)],
        0,
        1000,
        (_, s) =>
        {
            s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Mmap, Region: 1, Bytes: 1UL << 20));
            s.Add(WorkloadEvent.Touch(0, 1, 0, 1, write: true));
            s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Munmap, Region: 1));
        });

    private static int ParsePages(string name, string text)
    {
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pages) || pages < 1 || pages > 1024)
        {
            throw new WorkloadException($"workload {InputText.Quote(name)}: the page count must be a whole number from 1 to 1024, not {InputText.Quote(text)}");
        }

        return pages;
    }

    /// <summary>
    /// munmap-mt[:PAGES]: one thread per CPU. Each operation: thread 0 (CPU 0) maps PAGES pages and stores to each;
    /// every other thread loads each page (its TLB now holds them); the threads on even-numbered CPUs then block
    /// (their CPUs go idle with the mm loaded: lazy TLB mode); thread 0 unmaps (flush_tlb_mm_range of PAGES pages on
    /// every CPU of the mm, as the architecture reaches them); the blocked threads are woken.
    /// </summary>
    private static Workload MunmapMt(string name, int pages)
    {
        ulong bytes = (ulong)pages * Page;
        return new Workload(
            name == "munmap-mt:1" ? "munmap-mt" : name,
            $"threads on every CPU touch {pages} freshly mapped page(s), those on even CPUs block, thread 0 unmaps them (a TLB shootdown), the blocked wake",
            "a threaded munmap (TLB shootdown of a shared mm)",
            1,
            [Buffer(Page), new UserRegion("shared", bytes, Prefault: false)],
            0,
            300,
            (_, s) =>
            {
                s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Mmap, Region: 1, Bytes: bytes));
                s.Add(WorkloadEvent.Touch(0, 1, 0, bytes, write: true));
                s.Add(WorkloadEvent.Touch(0, 1, 0, bytes, write: false) with { Cpu = WorkloadEvent.OtherThreads });
                s.Add(new WorkloadEvent(EventKind.Block, 0, Cpu: WorkloadEvent.EvenOtherThreads));
                s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Munmap, Region: 1));
                s.Add(new WorkloadEvent(EventKind.Wake, 0, Cpu: WorkloadEvent.EvenOtherThreads));
            })
        {
            ThreadPerCpu = true,
        };
    }

    /// <summary>
    /// mprotect-mt[:PAGES]: one thread per CPU over PAGES prefaulted pages. Each operation: every thread but thread 0 loads
    /// each page; the threads on even-numbered CPUs block (lazy TLB); thread 0 mprotects the range, to PROT_READ in even
    /// operations and back to PROT_READ|PROT_WRITE in odd ones (one flush_tlb_mm_range of PAGES pages, reaching the other
    /// CPUs as the architecture does); the blocked threads wake; after the odd one thread 0 stores to each page. One
    /// mprotect per operation, so the coherence checker's sweep after each operation sees the read-only state.
    /// </summary>
    private static Workload MprotectMt(string name, int pages)
    {
        ulong bytes = (ulong)pages * Page;
        return new Workload(
            name == "mprotect-mt:1" ? "mprotect-mt" : name,
            $"threads on every CPU load {pages} shared page(s), those on even CPUs block, thread 0 mprotects them read-only (even operations) or back to read-write and stores to each (odd ones): a TLB shootdown per operation",
            "a threaded mprotect (TLB shootdown of a shared mm)",
            1,
            [Buffer(Page), new UserRegion("shared", bytes)],
            0,
            300,
            (op, s) =>
            {
                bool restore = op % 2 == 1;
                s.Add(WorkloadEvent.Touch(0, 1, 0, bytes, write: false) with { Cpu = WorkloadEvent.OtherThreads });
                s.Add(new WorkloadEvent(EventKind.Block, 0, Cpu: WorkloadEvent.EvenOtherThreads));
                s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Mprotect, Region: 1, Bytes: bytes, Write: restore));
                s.Add(new WorkloadEvent(EventKind.Wake, 0, Cpu: WorkloadEvent.EvenOtherThreads));
                if (restore)
                {
                    s.Add(WorkloadEvent.Touch(0, 1, 0, bytes, write: true));
                }
            })
        {
            ThreadPerCpu = true,
        };
    }

    /// <summary>
    /// madvise-mt[:PAGES]: one thread per CPU. Each operation: thread 0 stores to each of PAGES pages (faulting in zeroed
    /// pages); every other thread loads each page; the threads on even-numbered CPUs block; thread 0 madvises the range
    /// MADV_DONTNEED (one flush_tlb_mm_range of PAGES pages, then the pages are freed); the blocked threads wake.
    /// </summary>
    private static Workload MadviseMt(string name, int pages)
    {
        ulong bytes = (ulong)pages * Page;
        return new Workload(
            name == "madvise-mt:1" ? "madvise-mt" : name,
            $"threads on every CPU touch {pages} shared page(s), those on even CPUs block, thread 0 drops them with madvise(MADV_DONTNEED) (a TLB shootdown, pages freed), the blocked wake",
            "a threaded madvise(MADV_DONTNEED) (a malloc arena returning memory)",
            1,
            [Buffer(Page), new UserRegion("shared", bytes, Prefault: false)],
            0,
            300,
            (_, s) =>
            {
                s.Add(WorkloadEvent.Touch(0, 1, 0, bytes, write: true));
                s.Add(WorkloadEvent.Touch(0, 1, 0, bytes, write: false) with { Cpu = WorkloadEvent.OtherThreads });
                s.Add(new WorkloadEvent(EventKind.Block, 0, Cpu: WorkloadEvent.EvenOtherThreads));
                s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.MadviseDontneed, Region: 1, Bytes: bytes));
                s.Add(new WorkloadEvent(EventKind.Wake, 0, Cpu: WorkloadEvent.EvenOtherThreads));
            })
        {
            ThreadPerCpu = true,
        };
    }

    /// <summary>
    /// pipe-smp: lmbench lat_pipe with its two processes on CPUs 0 and 1. Per round trip, in this order: process 1 blocks
    /// reading (CPU 1 idles, lazy TLB); process 0 writes a byte; CPU 1 wakes process 1, whose read completes; process 0
    /// blocks reading; process 1 writes; CPU 0 wakes process 0, whose read completes. No context switch between the two
    /// mms: each CPU switches between its process and its idle task. On one CPU it is <c>pipe</c>.
    /// </summary>
    private static Workload PipeSmp() => new(
        "pipe-smp",
        "one-byte ping-pong through two pipes between two processes on CPUs 0 and 1: per round trip two writes, two reads that block (the CPU idles) and complete on wake-up",
        "lmbench lat_pipe with the processes on two CPUs",
        2,
        [Buffer(Page)],
        0,
        1500,
        (_, s) =>
        {
            s.Add(new WorkloadEvent(EventKind.Block, 1, SyscallKind.Read, FileKind.Pipe, Cpu: 1));
            s.Add(WorkloadEvent.Io(0, SyscallKind.Write, FileKind.Pipe, BufferRegion, 0, 1));
            s.Add(new WorkloadEvent(EventKind.Wake, 1, SyscallKind.Read, FileKind.Pipe, Bytes: 1, Cpu: 1));
            s.Add(new WorkloadEvent(EventKind.Block, 0, SyscallKind.Read, FileKind.Pipe));
            s.Add(WorkloadEvent.Io(1, SyscallKind.Write, FileKind.Pipe, BufferRegion, 0, 1) with { Cpu = 1 });
            s.Add(new WorkloadEvent(EventKind.Wake, 0, SyscallKind.Read, FileKind.Pipe, Bytes: 1));
        })
    {
        ProcessPerCpu = true,
        OnOneCpu = Pipe("pipe-smp"),
    };

    /// <summary>
    /// fork-exit-mt: process 0 has a thread on every CPU; each operation, every thread in turn (CPU order) forks, blocks in
    /// wait4 while the child runs on its CPU and exits. dup_mmap's flush_tlb_mm of the parent reaches the other CPUs
    /// running its threads.
    /// </summary>
    private static Workload ForkExitMt() => new(
        "fork-exit-mt",
        "a thread on every CPU forks in turn; the forking thread blocks in wait4 while the child runs on its CPU and exits (dup_mmap's flush of the parent's mm reaches the other threads' CPUs)",
        "lmbench lat_proc fork from a threaded process",
        1,
        [Buffer(64 * 1024)],
        0,
        100,
        ForkExitEvents)
    {
        ThreadPerCpu = true,
        EveryThreadInTurn = true,
    };

    private static Workload ForkExit() => new(
        "fork-exit",
        "fork(); the parent blocks in wait4 and the child runs, exits at once, and the parent's wait4 completes",
        "lmbench lat_proc fork",
        1,
        [Buffer(64 * 1024)],
        0,
        200,
        ForkExitEvents);

    private static void ForkExitEvents(long op, List<WorkloadEvent> s)
    {
        s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Fork, Target: 1));
        s.Add(WorkloadEvent.Switch(0, 1, SyscallKind.Wait4));
        s.Add(new WorkloadEvent(EventKind.Syscall, 1, SyscallKind.Exit, Target: 0));
    }

    private static Workload Dd(ulong block, string name)
    {
        const ulong fileBytes = 4UL << 20;
        return new Workload(
            name == "dd" ? "dd" : name,
            $"dd bs={ByteSize.Format(block)}: read a block from a 4 MiB tmpfs file and write it back in place, sequentially",
            "dd if=tmpfs of=tmpfs (UnixBench file copy)",
            1,
            [Buffer(block)],
            fileBytes,
            (int)Math.Clamp(400 * 4096 / (long)block, 20, 2000),
            (op, s) =>
            {
                ulong at = (ulong)op * block % fileBytes;
                s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Read, FileKind.PageCache, BufferRegion, 0, block, FileOffset: at));
                s.Add(new WorkloadEvent(EventKind.Syscall, 0, SyscallKind.Write, FileKind.PageCache, BufferRegion, 0, block, FileOffset: at));
            });
    }

    private static Workload Wss(string name, string[] parts)
    {
        if (parts.Length > 3)
        {
            throw new WorkloadException($"workload {InputText.Quote(name)}: wss takes SIZE and PAGES (wss:SIZE[:PAGES]), not {parts.Length - 1} values");
        }

        ulong size = parts.Length > 1 ? ParseSize(name, parts[1], Page, 1UL << 32) : 8UL << 20;
        if (size % Page != 0)
        {
            throw new WorkloadException($"workload {InputText.Quote(name)}: the working set {InputText.Show(parts[1])} is not a multiple of 4K");
        }

        ulong pagesBetweenCalls = parts.Length > 2 ? ParseSize(name, parts[2], 1, 1UL << 20) : 0;
        if (pagesBetweenCalls > size / Page)
        {
            throw new WorkloadException($"workload {InputText.Quote(name)}: {pagesBetweenCalls} pages between calls, but the {ByteSize.Format(size)} working set holds {size / Page}");
        }

        return Wss(size, pagesBetweenCalls, name);
    }

    private static Workload Wss(ulong size, ulong pagesBetweenCalls, string name)
    {
        ulong pages = size / Page;
        ulong touches = pagesBetweenCalls == 0 ? pages : pagesBetweenCalls;
        return new Workload(
            name == "wss" ? "wss" : name,
            $"a user loop touching {touches} page(s) of a {ByteSize.Format(size)} working set between getppid() calls (Gregg's KPTI working-set experiment)",
            "Brendan Gregg, KPTI/KAISER Meltdown initial performance regressions (2018)",
            1,
            [Buffer(Page), new UserRegion("working-set", size)],
            0,
            (int)Math.Clamp(100_000 / (long)touches, 10, 2000),
            (op, s) =>
            {
                ulong first = ((ulong)op * touches) % pages;
                ulong run = Math.Min(touches, pages - first);
                s.Add(WorkloadEvent.Touch(0, 1, first * Page, run * Page, write: false));
                if (run < touches)
                {
                    s.Add(WorkloadEvent.Touch(0, 1, 0, (touches - run) * Page, write: false));
                }

                s.Add(WorkloadEvent.Sys(0, SyscallKind.Getppid));
            });
    }
}
