using System.Text;
using Vmsplit.Hardware.Input;
using Vmsplit.Kernel.Abi;

namespace Vmsplit.Workloads.Tests;

/// <summary>
/// The findings of the mutation fuzzer against workload files and names. On the main branch before these
/// fixes the first two inputs overflowed the stack inside YamlDotNet (which kills the test host: no catch
/// can stop it), the unclosed flow mapping threw InvalidOperationException, and the schedules and wss
/// names below parsed and then failed inside the kernel as internal errors.
/// </summary>
public class HostileWorkloadTests
{
    private const string Head = "name: x\nprocesses: 2\noperation:\n";

    private static string Refused(string yaml)
    {
        WorkloadException e = Assert.Throws<WorkloadException>(() => WorkloadFile.Parse(yaml, "x.yaml"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
        return e.Message;
    }

    [Fact]
    public void ACyclicAliasUsedAsAKeyIsRefusedBeforeYamlDotNetHashesIt()
    {
        Assert.Equal("x.yaml:2: a mapping key must be a plain value, not a list", Refused("name: x\n? &a [*a]\n: 1\n"));

        // the cycle itself, where it is not a key
        Assert.Equal("x.yaml:2: alias *a lies inside the node it names (a cycle)", Refused("name: x\nregions: &a [*a]\n"));
    }

    [Fact]
    public void TwentyThousandNestedFlowMappingsAreRefusedAtTheDepthLimit()
    {
        string yaml = "name: x\nx: " + string.Concat(Enumerable.Repeat("{a: ", 20_000)) + "1" + new string('}', 20_000) + "\n";
        Assert.Equal($"x.yaml:2: lists and mappings nested more than {SafeYaml.MaxDepth} deep", Refused(yaml));

        // the same by indentation, and as lists
        StringBuilder block = new("name: x\n");
        for (int i = 0; i < 40; i++)
        {
            block.Append(' ', i).Append("a:\n");
        }

        Assert.Equal("x.yaml:34: lists and mappings nested more than 32 deep", Refused(block.ToString()));
        Assert.Equal("x.yaml:1: lists and mappings nested more than 32 deep", Refused("x: " + new string('[', 5000)));
    }

    [Fact]
    public void AnUnclosedFlowMappingBeforeAnotherKeyIsMalformedYamlNotALibraryCrash()
    {
        string message = Refused("name: x\na: {\nb: {}\n");
        Assert.StartsWith("x.yaml:3: malformed YAML", message);
    }

    [Fact]
    public void AliasBombsAreRefusedByTheirExpandedSize()
    {
        StringBuilder yaml = new("name: x\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 9; i++)
        {
            yaml.Append($"a{i}: &a{i} [").AppendJoin(", ", Enumerable.Repeat($"*a{i - 1}", 10)).Append("]\n");
        }

        // a5 stands for 1 + 10 + ... + 10^6 nodes, past the budget of 10^6 (a8 would stand for 10^9)
        Assert.Equal($"x.yaml:7: more than {SafeYaml.MaxNodes} YAML nodes, counting each alias as the nodes it repeats (an alias bomb?)", Refused(yaml.ToString()));
    }

    [Theory]
    [InlineData("name: x\nname: y\n", "x.yaml:2: duplicate key 'name'")]
    [InlineData("name: x\n---\nname: y\n", "x.yaml:2: a second YAML document ('---'); a file holds one")]
    [InlineData("name: x\nops: *nowhere\n", "x.yaml:2: alias *nowhere names no earlier anchor")]
    [InlineData("", "x.yaml:1: empty; expected a mapping with name, regions and operation")]
    [InlineData("- 1\n", "x.yaml:1: expected a mapping with name, regions and operation")]
    [InlineData("name: x\nops: 1e400\noperation: [ { syscall: getppid } ]", "x.yaml:2: ops: '1e400' is not an integer")]
    [InlineData("name: x\nops: .nan\noperation: [ { syscall: getppid } ]", "x.yaml:2: ops: '.nan' is not an integer")]
    [InlineData("name: x\nops: -5\noperation: [ { syscall: getppid } ]", "x.yaml:2: ops: -5 is out of range [1, 10000000]")]
    [InlineData("name: x\nops: 99999999999999999999\noperation: [ { syscall: getppid } ]", "x.yaml:2: ops: '99999999999999999999' is not an integer")]
    [InlineData("name: x\nfile: 1E\noperation: [ { syscall: getppid } ]", "x.yaml:2: file: 1E is out of range [0, 4G]")]
    [InlineData("name: x\nops: [1]\noperation: [ { syscall: getppid } ]", "x.yaml:2: ops: expected a value")]
    [InlineData("name: \"a\\nb\"\noperation: [ { syscall: getppid } ]", "x.yaml:1: name: 'a\\nb' must be one line of text without control characters")]
    [InlineData("name: x\noperation: [ { syscall: \"frob\\nnicate\" } ]", "x.yaml:2: operation[].syscall: unknown system call 'frob\\nnicate' (use getppid, read, write, stat, open, close, mmap, munmap, fork, exit, wait4)")]
    [InlineData("name: x\noperation: [ { syscall: genericout } ]", "x.yaml:2: operation[].syscall: unknown system call 'genericout' (use getppid, read, write, stat, open, close, mmap, munmap, fork, exit, wait4)")]
    public void HostileValuesGetOneLocatedLine(string yaml, string expected) => Assert.Equal(expected, Refused(yaml));

    [Fact]
    public void ControlCharactersAndLoneSurrogatesAreNotYaml()
    {
        Assert.Equal("x.yaml:1: character U+0000 is not allowed in YAML (binary data?)", Refused("name: x\u0000\n"));
        Assert.Equal("x.yaml:2: character U+0007 is not allowed in YAML (binary data?)", Refused("name: x\nops: 1\u0007\n"));
        Assert.Equal("x.yaml:1: character U+D800 is not allowed in YAML (binary data?)", Refused("name: \ud800x\n"));
        Assert.Equal("x.yaml:1: character U+DC00 is not allowed in YAML (binary data?)", Refused("name: \udc00\ud800x\n"));

        // a pair is one character beyond the basic plane, which YAML allows
        Assert.Equal("x\U0001F600", WorkloadFile.Parse("name: x\U0001F600\noperation: [ { syscall: getppid } ]", "x.yaml").Name);
    }

    [Theory]
    [InlineData("  - { syscall: getppid, process: 1 }\n", "x.yaml:4: operation[].process: process 1 cannot make a system call: process 0 is running")]
    [InlineData("  - { switch: 0, process: 1 }\n", "x.yaml:4: operation[].process: process 1 cannot switch away: process 0 is running")]
    [InlineData("  - { touch: buffer, process: 1 }\n", "x.yaml:4: operation[].process: process 1 cannot touch memory: process 0 is running")]
    [InlineData("  - { switch: 1 }\n", "x.yaml:4: operation[]: the operation ends with process 1 running; switch back to process 0 so that the next operation starts as this one did")]
    [InlineData("  - { switch: 1, repeat: 2 }\n  - { switch: 0, process: 1 }\n", "x.yaml:4: operation[].repeat: a switch cannot repeat: after the first, process 1 is running, not 0")]
    [InlineData(
        "  - { switch: 1, every: 2 }\n  - { syscall: getppid, process: 1 }\n  - { switch: 0, process: 1, every: 2 }\n",
        "x.yaml:5: operation[].process: process 1 cannot make a system call: process 0 is running (in operation 1, which runs only the steps whose 'every' divides 1)")]
    [InlineData(
        "  - { switch: 1, every: 2 }\n  - { switch: 0, process: 1, every: 3 }\n",
        "x.yaml:4: operation[]: the operation ends with process 1 running; switch back to process 0 so that the next operation starts as this one did (in operation 2, which runs only the steps whose 'every' divides 2)")]
    public void ImpossibleSchedulesAreRefusedWithTheStepsLine(string steps, string expected) => Assert.Equal(expected, Refused(Head + steps));

    [Theory]
    [InlineData("  - { syscall: munmap, region: buffer }\n  - { touch: buffer }\n", "x.yaml:5: operation[].region: region 'buffer' is not mapped in process 0 here (an earlier step unmapped it)")]
    [InlineData("  - { syscall: mmap, region: buffer }\n", "x.yaml:4: operation[].region: mmap of region 'buffer', which process 0 has mapped (every region is mapped when the workload starts; munmap it first)")]
    [InlineData("  - { syscall: munmap, region: buffer }\n", "x.yaml:4: operation[]: the operation ends with region 'buffer' unmapped in process 0; mmap it again so that the next operation starts as this one did")]
    [InlineData("  - { syscall: munmap, region: buffer, repeat: 2 }\n  - { syscall: mmap, region: buffer }\n", "x.yaml:4: operation[].repeat: munmap of region 'buffer' cannot repeat: after the first, the region is not mapped")]
    public void RegionsMustBeMappedToBeUsedAndUnmappedToBeMapped(string steps, string expected) => Assert.Equal(expected, Refused(Head + steps));

    [Fact]
    public void MunmapThenMmapThenTouchIsAValidSchedule()
    {
        Workload w = WorkloadFile.Parse(Head + "  - { syscall: munmap, region: buffer }\n  - { syscall: mmap, region: buffer }\n  - { touch: buffer, write: true }\n", "x.yaml");
        Assert.Equal([SyscallKind.Munmap, SyscallKind.Mmap], w.Events(1).Where(e => e.Kind == EventKind.Syscall).Select(e => e.Call));
    }

    [Fact]
    public void OneOperationEmitsAtMostAMillionEvents()
    {
        Assert.Equal(
            "x.yaml:5: operation[].repeat: one operation would emit more than 1000000 events (the sum of the repeats); the events of an operation are held in memory at once",
            Refused(Head + "  - { syscall: getppid, repeat: 600000 }\n  - { syscall: getppid, repeat: 600000 }\n"));

        // at the limit it parses, and its work is known without emitting it
        Workload w = WorkloadFile.Parse(Head + "  - { touch: buffer, repeat: 1000000 }\n", "x.yaml");
        Assert.Equal(1_000_000L * (1 + 1 + 1), w.StepsPerOperation); // one event and one page, plus one for an unaligned start

        // setup: the 256 pages of a 1 MiB page-cache file, then the default 4 KiB buffer mapped and prefaulted
        Assert.Equal(256 + 1 + 1, WorkloadFile.Parse("name: f\nfile: 1M\noperation: [ { syscall: getppid } ]", "f.yaml").SetupSteps);
    }

    [Theory]
    [InlineData("wss:4097", "workload 'wss:4097': the working set 4097 is not a multiple of 4K")]
    [InlineData("wss:4K:4096", "workload 'wss:4K:4096': 4096 pages between calls, but the 4K working set holds 1")]
    [InlineData("wss:8M:2049", "workload 'wss:8M:2049': 2049 pages between calls, but the 8M working set holds 2048")]
    [InlineData("wss:4K:1:1", "workload 'wss:4K:1:1': wss takes SIZE and PAGES (wss:SIZE[:PAGES]), not 3 values")]
    [InlineData("dd:4K:1", "workload 'dd:4K:1': dd takes one block size (dd:BLOCK)")]
    [InlineData("wss:4\nK", "workload 'wss:4\\nK': '4\\nk' has an unknown unit '\\nk' (use K, M, G, T, P or E)")]
    public void BuiltinNamesAreCheckedBeforeTheKernelSeesThem(string name, string expected)
    {
        WorkloadException e = Assert.Throws<WorkloadException>(() => BuiltinWorkloads.Get(name));
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void TheLargestWorkingSetStillParses()
    {
        Workload w = BuiltinWorkloads.Get("wss:8M:2048");
        Assert.Equal(8UL << 20, w.Regions[1].Size);
    }

    [Fact]
    public void FilesAreReadBoundedAndDecodedStrictly()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vmsplit-hostile-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            string good = "name: enc\noperation: [ { syscall: getppid } ]\n";
            string path = Path.Combine(dir, "w.yaml");

            // a UTF-8 byte order mark, and UTF-16 and UTF-32 with theirs, read as the same workload
            foreach (Encoding enc in new Encoding[] { new UTF8Encoding(true), new UnicodeEncoding(false, true), new UnicodeEncoding(true, true), new UTF32Encoding(false, true) })
            {
                File.WriteAllText(path, good, enc);
                Assert.Equal("enc", WorkloadFile.Load(path).Name);
            }

            File.WriteAllBytes(path, [.. Encoding.ASCII.GetBytes("name: x\nops: 1\nb: "), 0xC3, 0x28, (byte)'\n']);
            Assert.Equal($"{path}:3: invalid UTF-8 (byte 0xc3); is this a YAML text file?", Assert.Throws<WorkloadException>(() => WorkloadFile.Load(path)).Message);

            using (FileStream big = File.Create(path))
            {
                big.SetLength(10 << 20);
            }

            Assert.Equal($"{path}: larger than 4 MiB, the most Vmsplit reads from a YAML file", Assert.Throws<WorkloadException>(() => WorkloadFile.Load(path)).Message);
            if (File.Exists("/dev/zero"))
            {
                Assert.Equal("/dev/zero: larger than 4 MiB, the most Vmsplit reads from a YAML file", Assert.Throws<WorkloadException>(() => WorkloadFile.Load("/dev/zero")).Message);
            }

            Assert.StartsWith($"{dir}: cannot read: ", Assert.Throws<WorkloadException>(() => WorkloadFile.Load(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
