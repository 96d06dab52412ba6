namespace Vmsplit.Cli.Tests;

/// <summary>
/// The fuzzer's findings at the command line: each exited 1 with "internal error" on the main branch
/// before these fixes (or, for the nested and cyclic files, killed the process with a stack overflow).
/// </summary>
public sealed class HostileInputCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vmsplit-hostile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static string UsageError(params string[] args)
    {
        (int code, string output, string err) = CliHarness.Run(args);
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Equal("", output);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        return err.TrimEnd('\n');
    }

    [Theory]
    [InlineData("wss:4097", "vmsplit: --workloads: workload 'wss:4097': the working set 4097 is not a multiple of 4K")]
    [InlineData("wss:4K:4096", "vmsplit: --workloads: workload 'wss:4K:4096': 4096 pages between calls, but the 4K working set holds 1")]
    public void WssNamesTheKernelCannotRunAreRefused(string workload, string expected) =>
        Assert.Equal(expected, UsageError("compare", "--designs", "classic", "--workloads", workload, "--ops", "2"));

    [Fact]
    public void BrokenAndHostileWorkloadFilesAreUsageErrors()
    {
        string unclosed = File("unclosed.yaml", "name: x\na: {\nb: {}\n");
        Assert.StartsWith($"vmsplit: --workloads: {unclosed}:3: malformed YAML", UsageError("compare", "--designs", "classic", "--workloads", unclosed));

        string cyclic = File("cyclic.yaml", "name: x\n? &a [*a]\n: 1\n");
        Assert.Equal($"vmsplit: --workloads: {cyclic}:2: a mapping key must be a plain value, not a list", UsageError("compare", "--designs", "classic", "--workloads", cyclic));

        string deep = File("deep.yaml", "name: x\nx: " + string.Concat(Enumerable.Repeat("{a: ", 20_000)) + "1" + new string('}', 20_000) + "\n");
        Assert.Equal($"vmsplit: --workloads: {deep}:2: lists and mappings nested more than 32 deep", UsageError("compare", "--designs", "classic", "--workloads", deep));

        string schedule = File("schedule.yaml", "name: x\nprocesses: 2\noperation:\n  - { syscall: getppid, process: 1 }\n");
        Assert.Equal(
            $"vmsplit: --workloads: {schedule}:4: operation[].process: process 1 cannot make a system call: process 0 is running",
            UsageError("compare", "--designs", "classic", "--workloads", schedule));
    }

    [Fact]
    public void UnboundedWorkIsRefusedBeforeTheRunStarts()
    {
        string heavy = File("heavy.yaml", "name: heavy\nops: 10000000\noperation: [ { syscall: getppid, repeat: 1000000 } ]\n");
        string json = Path.Combine(_dir, "r.json");
        string err = UsageError("compare", "--designs", "classic,kpti", "--machine", "skylake", "--arch", "x86-64", "--workloads", heavy, "--json", json);
        Assert.StartsWith("vmsplit: this comparison (2 designs x 1 workloads) would simulate about 2e+13 steps", err);
        Assert.False(System.IO.File.Exists(json));
    }

    [Fact]
    public void HostileProfileAndDatapointFilesAreUsageErrors()
    {
        string profile = File("p.yaml", "id: x\nname: " + new string('[', 10_000));
        Assert.Equal($"vmsplit: {profile}:2: lists and mappings nested more than 32 deep", UsageError("profile", "show", "--file", profile));

        string data = File("d.yaml", "datapoints:\n  - ? &a [*a]\n    : 1\n");
        Assert.Equal($"vmsplit: {data}:2: a mapping key must be a plain value, not a list", UsageError("validate", "--data", data));

        string binary = Path.Combine(_dir, "b.yaml");
        System.IO.File.WriteAllBytes(binary, [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0xFF, 0xFE]);
        Assert.Equal($"vmsplit: {binary}:1: invalid UTF-8 (byte 0xff); is this a YAML text file?", UsageError("profile", "show", "--file", binary));
    }

    [Fact]
    public void OptionValuesWithLineBreaksAreEchoedOnOneLine()
    {
        Assert.Equal(
            "vmsplit: --workloads: workload 'nu\\nll': unknown (built-in: null, read1, write1, read4k, read64k, pipe, stat, open-close, fault, mmap-munmap, fork-exit, dd, wss, munmap-mt, mprotect-mt, madvise-mt, pipe-smp, fork-exit-mt; dd:BLOCK, wss:SIZE[:PAGES], munmap-mt:PAGES, mprotect-mt:PAGES, madvise-mt:PAGES); did you mean 'null'?",
            UsageError("compare", "--designs", "classic", "--workloads", "nu\nll"));
        Assert.StartsWith("vmsplit: --mem size: '2\\nG' has an unknown unit", UsageError("layout", "--arch", "arm", "--mem", "0x80000000:2\nG"));

        // the option parsers themselves escape what they echo (the fuzz harness found 77 two-line errors in 9,000 values)
        Assert.Equal("vmsplit: --map '0x400\\n000=0x5000000:4K:r,w,user': VA: '0x400\\n000' is not a hexadecimal number", UsageError("walk", "--mmu", "x86-64", "--va", "0", "--map", "0x400\n000=0x5000000:4K:r,w,user"));
        Assert.Equal("--image: 't\\next=8M' is not text=, init=, data= or bss=", Assert.Throws<UsageException>(() => Commands.LayoutCommand.ParseImage("t\next=8M,init=0,data=0,bss=0")).Message);
        Assert.Equal("--mem: '|\\n  block' is not BASE:SIZE (e.g. 0x10000000:2G)", Assert.Throws<UsageException>(() => Commands.LayoutCommand.BuildMachine(Kernel.Layout.KernelArch.Arm, null, ["|\n  block"])).Message);
    }
}
