using Vmsplit.Kernel.Abi;
using Vmsplit.Workloads;

namespace Vmsplit.Workloads.Tests;

public class BuiltinWorkloadTests
{
    /// <summary>The benchmark's own events, without the program footprint <see cref="UserProgram"/> adds before each call.</summary>
    private static List<WorkloadEvent> Core(Workload w, long ops)
    {
        int stack = w.Regions.Count - 1;
        return w.Events(ops).Where(e => e.Kind != EventKind.UserFetch && !(e.Kind == EventKind.UserTouch && e.Region == stack)).ToList();
    }

    [Fact]
    public void EveryCallIsPrecededByTheProgramsLoopItsLibcWrapperAndItsStack()
    {
        Workload w = BuiltinWorkloads.Get("null");
        Assert.Equal(["buffer", "text", "stack"], w.Regions.Select(r => r.Name));
        Assert.True(w.Regions[1].Executable);
        Assert.Equal((ulong)(1 + 11) * 4096, w.Regions[1].Size); // the loop page and one wrapper page per SyscallKind
        Assert.Equal(
            ["UserFetch 1 0+128", "UserFetch 1 4096+128", "UserTouch 2 4032+64 w", "Syscall Getppid"],
            w.Events(1).Select(Show));

        // pipe: each process runs its loop and the wrapper before its write and before its blocking read
        Workload pipe = BuiltinWorkloads.Get("pipe");
        List<WorkloadEvent> e = pipe.Events(1);
        Assert.Equal(16, e.Count);
        Assert.Equal(["UserFetch 1 0+128", "UserFetch 1 12288+128", "UserTouch 2 4032+64 w"], e.Take(3).Select(Show)); // write() is page 1 + 2
        Assert.Equal(["UserFetch 1 0+128", "UserFetch 1 8192+128", "UserTouch 2 4032+64 w"], e.Skip(4).Take(3).Select(Show)); // read() is page 1 + 1
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], e.Select(x => x.Process));
    }

    // lmbench's do_stat keeps its struct stat on the stack: the kernel copies it below the 64-byte frame, room left for
    // x86-64's 144 bytes (4096 - 64 - 144 = 3888); open copies nothing out
    [Fact]
    public void StatCopiesItsStructureToTheProgramsStack()
    {
        WorkloadEvent stat = BuiltinWorkloads.Get("stat").Events(1).Single(e => e.Kind == EventKind.Syscall);
        Assert.Equal((SyscallKind.Stat, 2, 3888UL), (stat.Call, stat.OutRegion, stat.OutOffset));
        WorkloadEvent open = BuiltinWorkloads.Get("open-close").Events(1).First(e => e.Kind == EventKind.Syscall);
        Assert.Equal((SyscallKind.Open, -1), (open.Call, open.OutRegion));
    }

    // a file's stat puts the structure at `buffer` in the path's region, by default its last 144 bytes
    [Theory]
    [InlineData("{ syscall: stat, path: 21 }", 3952UL)]
    [InlineData("{ syscall: stat, path: 21, buffer: 64 }", 64UL)]
    [InlineData("{ syscall: stat, path: 21, buffer: 3952 }", 3952UL)]
    public void AFilesStatCopiesToItsBuffer(string step, ulong offset)
    {
        WorkloadEvent e = WorkloadFile.Parse($"name: x\noperation: [ {step} ]", "x.yaml").Events(1).Single();
        Assert.Equal((SyscallKind.Stat, 0, offset, 21UL), (e.Call, e.OutRegion, e.OutOffset, e.Bytes));
    }

    private static string Show(WorkloadEvent x) => x.Kind switch
    {
        EventKind.UserFetch => $"UserFetch {x.Region} {x.Offset}+{x.Bytes}",
        EventKind.UserTouch => $"UserTouch {x.Region} {x.Offset}+{x.Bytes}{(x.Write ? " w" : "")}",
        _ => $"{x.Kind} {x.Call}",
    };
    [Fact]
    public void EverySuiteNameResolvesAndEmitsEvents()
    {
        foreach (string name in BuiltinWorkloads.Suite)
        {
            Workload w = BuiltinWorkloads.Get(name);
            Assert.Equal(name, w.Name);
            Assert.NotEmpty(w.Events(1));
            Assert.True(w.DefaultOps > 0);
        }
    }

    [Fact]
    public void PipeIsAPingPongWithTwoSwitches()
    {
        List<WorkloadEvent> e = Core(BuiltinWorkloads.Get("pipe"), 1);
        Assert.Equal(
            ["Syscall 0 Write Pipe", "ContextSwitch 0->1 Read Pipe", "Syscall 1 Write Pipe", "ContextSwitch 1->0 Read Pipe"],
            e.Select(x => x.Kind == EventKind.ContextSwitch ? $"ContextSwitch {x.Process}->{x.Target} {x.Call} {x.File}" : $"{x.Kind} {x.Process} {x.Call} {x.File}"));
    }

    [Fact]
    public void FileReadsWalkThroughTheFileAndRewind()
    {
        Workload w = BuiltinWorkloads.Get("read64k");
        List<WorkloadEvent> e = Core(w, 17);
        Assert.Equal(0UL, e[0].FileOffset);
        Assert.Equal(65536UL, e[1].FileOffset);
        Assert.Equal(0UL, e[16].FileOffset); // 16 × 64 KiB = the 1 MiB file
        Assert.All(e, x => Assert.Equal(65536UL, x.Bytes));
    }

    [Fact]
    public void DdTakesABlockSizeInRange()
    {
        Workload w = BuiltinWorkloads.Get("dd:512");
        List<WorkloadEvent> e = Core(w, 2);
        Assert.Equal([SyscallKind.Read, SyscallKind.Write, SyscallKind.Read, SyscallKind.Write], e.Select(x => x.Call));
        Assert.Equal(512UL, e[2].FileOffset);
        Assert.Contains("out of range", Assert.Throws<WorkloadException>(() => BuiltinWorkloads.Get("dd:2M")).Message);
        Assert.Contains("out of range", Assert.Throws<WorkloadException>(() => BuiltinWorkloads.Get("dd:256")).Message);
        Assert.Contains("not a size", Assert.Throws<WorkloadException>(() => BuiltinWorkloads.Get("dd:big")).Message);
    }

    [Fact]
    public void WssTouchesTheWorkingSetBetweenCallsAndWraps()
    {
        Workload w = BuiltinWorkloads.Get("wss:16K:3"); // 4 pages, 3 per call
        List<WorkloadEvent> e = Core(w, 2);
        // op 0: pages 0..2, getppid; op 1: page 3, then pages 0..1 (wrap), getppid
        Assert.Equal(
            ["touch 0 12288", "getppid", "touch 12288 4096", "touch 0 8192", "getppid"],
            e.Select(x => x.Kind == EventKind.UserTouch ? $"touch {x.Offset} {x.Bytes}" : "getppid"));
    }

    [Fact]
    public void FaultTouchesAFreshPageEachOperationAndRemapsWhenExhausted()
    {
        Workload w = BuiltinWorkloads.Get("fault");
        List<WorkloadEvent> first = Core(w, 2);
        Assert.Equal([0UL, 4096UL], first.Select(x => x.Offset));
        List<WorkloadEvent> wrap = new();
        w.EmitOperation(16384, wrap);
        wrap.RemoveAll(x => x.Kind == EventKind.UserFetch || (x.Kind == EventKind.UserTouch && x.Region == w.Regions.Count - 1));
        Assert.Equal([SyscallKind.Munmap, SyscallKind.Mmap], wrap.Take(2).Select(x => x.Call));
        Assert.Equal(EventKind.UserTouch, wrap[2].Kind);
    }

    [Theory]
    [InlineData("mprotect-mt:0", "the page count must be a whole number from 1 to 1024")]
    [InlineData("madvise-mt:1025", "the page count must be a whole number from 1 to 1024")]
    [InlineData("mprotect-mt:4:4", "mprotect-mt takes one page count (mprotect-mt:PAGES)")]
    [InlineData("pipe-smp:2", "only dd, wss, munmap-mt, mprotect-mt and madvise-mt take parameters")]
    public void BadMultiCpuNamesAreOneLineErrors(string name, string fragment)
    {
        WorkloadException e = Assert.Throws<WorkloadException>(() => BuiltinWorkloads.Get(name));
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void MprotectMtProtectsReadOnlyThenReadWriteInAlternateOperations()
    {
        Workload w = BuiltinWorkloads.Get("mprotect-mt:40");
        Assert.Equal("mprotect-mt:40", w.Name);
        Assert.True(w.ThreadPerCpu);
        List<WorkloadEvent> calls = w.Events(2).Where(e => e.Kind == EventKind.Syscall).ToList();
        Assert.Equal([(SyscallKind.Mprotect, false), (SyscallKind.Mprotect, true)], calls.Select(e => (e.Call, e.Write)));
        Assert.All(calls, e => Assert.Equal(40 * 4096UL, e.Bytes));
        Assert.Equal("mprotect-mt", BuiltinWorkloads.Get("mprotect-mt:1").Name);
    }

    [Fact]
    public void MadviseMtDropsTheSharedRangeOncePerOperation()
    {
        Workload w = BuiltinWorkloads.Get("madvise-mt:3");
        Assert.Equal([SyscallKind.MadviseDontneed], w.Events(1).Where(e => e.Kind == EventKind.Syscall).Select(e => e.Call));
        Assert.False(w.Regions[1].Prefault);
    }

    [Fact]
    public void PipeSmpRunsItsProcessesOnTwoCpusAndIsPipeOnOne()
    {
        Workload w = BuiltinWorkloads.Get("pipe-smp");
        Assert.True(w.ProcessPerCpu);
        Assert.Equal(
            [(EventKind.Block, 1, 1), (EventKind.Syscall, 0, 0), (EventKind.Wake, 1, 1), (EventKind.Block, 0, 0), (EventKind.Syscall, 1, 1), (EventKind.Wake, 0, 0)],
            w.Events(1).Where(e => e.Kind is not (EventKind.UserTouch or EventKind.UserFetch)).Select(e => (e.Kind, e.Process, e.Cpu)));
        Assert.Equal("pipe-smp", w.OnOneCpu!.Name);
        Assert.Equal(BuiltinWorkloads.Get("pipe").Events(2), w.OnOneCpu.Events(2));
    }

    [Theory]
    [InlineData("nothing", "unknown")]
    [InlineData("null:4", "only dd, wss, munmap-mt, mprotect-mt and madvise-mt take parameters")]
    public void BadNamesAreOneLineErrors(string name, string fragment)
    {
        WorkloadException e = Assert.Throws<WorkloadException>(() => BuiltinWorkloads.Get(name));
        Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}

public class WorkloadFileTests
{
    private const string Mix = """
        name: mix
        processes: 2
        file: 64K
        regions:
          - { name: buffer, size: 8K }
          - { name: heap, size: 1M, prefault: false }
        ops: 50
        operation:
          - { syscall: read, file: pagecache, bytes: 4K, region: buffer, repeat: 2 }
          - { touch: heap, bytes: 8K, write: true }
          - { switch: 1 }
          - { syscall: getppid, process: 1, every: 2 }
          - { switch: 0, process: 1 }
        """;

    [Fact]
    public void ParsesAMixWithRatesAndPeriods()
    {
        Workload w = WorkloadFile.Parse(Mix, "mix.yaml");
        Assert.Equal("mix", w.Name);
        Assert.Equal(2, w.Processes);
        Assert.Equal(50, w.DefaultOps);
        Assert.Equal(65536UL, w.FileBytes);
        Assert.False(w.Regions[1].Prefault);
        List<WorkloadEvent> op0 = new();
        w.EmitOperation(0, op0);
        List<WorkloadEvent> op1 = new();
        w.EmitOperation(1, op1);
        Assert.Equal(6, op0.Count); // 2 reads, touch, switch, getppid (every 2: op 0), switch
        Assert.Equal(5, op1.Count); // no getppid on op 1
        Assert.Equal([0UL, 4096UL], op0.Take(2).Select(e => e.FileOffset));
        Assert.Equal([8192UL, 12288UL], op1.Take(2).Select(e => e.FileOffset));
    }

    [Theory]
    [InlineData("name: x\noperation: [ { syscall: frobnicate } ]", "x.yaml:2: operation[].syscall: unknown system call 'frobnicate'")]
    [InlineData("name: x\nops: 0\noperation: [ { syscall: getppid } ]", "x.yaml:2: ops: 0 is out of range")]
    [InlineData("name: x\noperation: [ { syscall: read, file: pagecache, bytes: 1 } ]", "needs a top-level 'file: SIZE'")]
    [InlineData("name: x\noperation: [ { touch: nowhere } ]", "no region named 'nowhere'")]
    [InlineData("name: x\ncolour: blue\noperation: [ { syscall: getppid } ]", "x.yaml:2: colour: unknown field")]
    [InlineData("operation: [ { syscall: getppid } ]", "x.yaml:1: name: missing")]
    [InlineData("name: x\noperation: [ { switch: 0 } ]", "switch from process 0 to itself")]
    [InlineData("name: x\noperation: [ { syscall: getppid, touch: buffer } ]", "exactly one of syscall, touch or switch")]
    [InlineData("name: x\noperation: [ {", "x.yaml:3: malformed YAML")]
    [InlineData("name: x\nregions: [ { name: b, size: 6000 } ]\noperation: [ { syscall: getppid } ]", "not a multiple of 4K")]
    [InlineData("name: x", "operation: missing or empty")]
    [InlineData("name: x\noperation: [ { syscall: stat, buffer: 3953 } ]", "x.yaml:2: buffer: 3953 is out of range [0, 3952]")]
    [InlineData("name: x\noperation: [ { syscall: open, buffer: 0 } ]", "x.yaml:2: operation[].buffer: only stat copies a structure out")]
    public void BadFilesGetOneLineErrorsWithTheLine(string yaml, string expected)
    {
        WorkloadException e = Assert.Throws<WorkloadException>(() => WorkloadFile.Parse(yaml, "x.yaml"));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
