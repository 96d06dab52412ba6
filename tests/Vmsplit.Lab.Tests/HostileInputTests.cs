using Vmsplit.Hardware.Input;
using Vmsplit.Kernel.Abi;
using Vmsplit.Lab.Validation;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// The datapoint file under the fuzzer's inputs, the runner's schedule guard and the cap on simulated work.
/// On the main branch before these fixes the first two datapoint inputs overflowed the stack inside
/// YamlDotNet (killing the test host), the schedule below failed inside the kernel with
/// InvalidOperationException, and the capped runs started and ran for minutes.
/// </summary>
public class HostileInputTests
{
    private static string Refused(string yaml)
    {
        string message = Assert.Throws<LabException>(() => DatapointFile.Parse(yaml, "d.yaml")).Message;
        Assert.DoesNotContain('\n', message);
        return message;
    }

    [Fact]
    public void DatapointFilesRefuseTheStackOverflowInputs()
    {
        Assert.Equal("d.yaml:1: a mapping key must be a plain value, not a list", Refused("? &a [*a]\n: 1\n"));
        Assert.Equal("d.yaml:1: lists and mappings nested more than 32 deep", Refused("datapoints: " + new string('[', 20_000)));
        Assert.StartsWith("d.yaml:2: malformed YAML", Refused("datapoints: {\nx: {}\n"));
    }

    [Theory]
    [InlineData("published: 0.0522 us", "published: 1e400 us", "published: '1e400' is not a positive number")]
    [InlineData("published: 0.0522 us", "published: NaN us", "published: 'NaN' is not a positive number")]
    [InlineData("published: 0.0522 us", "published: -1 us", "published: '-1' is not a positive number")]
    [InlineData("ram: 8G", "ram: 99999999999999999999G", "ram: '99999999999999999999G' does not fit in 64 bits")]
    [InlineData("design: classic }", "design: classic, ops: 1.5 }", "ops: '1.5' is not an integer")]
    public void HostileNumbersAreOneLocatedLine(string what, string with, string expected)
    {
        string shipped = ShippedText();
        Assert.Contains(what, shipped);
        string message = Refused(ReplaceFirst(shipped, what, with));
        Assert.Matches(@"^d\.yaml:\d+: ", message);
        Assert.EndsWith(expected, message);
    }

    [Fact]
    public void TheRunnerRefusesAnEventFromAProcessThatIsNotRunning()
    {
        // a schedule the file parser cannot foresee (here built in code): process 1 calls while process 0 runs
        Workload w = new("bad", "bad", "none", 2, [new UserRegion("buffer", 4096)], 0, 4, (op, s) => s.Add(WorkloadEvent.Sys(op == 3 ? 1 : 0, SyscallKind.Getppid)));
        LabException e = Assert.Throws<LabException>(() => Runner.Run(MachineSpec.DefaultArm(), "classic", w, ops: 4, warmup: 0));
        Assert.Equal("workload bad: operation 3: process 1 has an event (Syscall) while process 0 is running", e.Message);
    }

    [Fact]
    public void OneLineOfYamlCannotAskForHoursOfSimulation()
    {
        Workload w = WorkloadFile.Parse("name: heavy\nregions: [ { name: big, size: 1G, prefault: false } ]\nops: 10000000\noperation:\n  - { touch: big, repeat: 1000 }\n", "heavy.yaml");
        LabException e = Assert.Throws<LabException>(() => Runner.Run(MachineSpec.DefaultArm(), "classic", w));
        Assert.StartsWith("workload heavy with 10000000 operations would simulate about 2.6e+15 steps", e.Message);
        Assert.Contains("; the cap is 1,000,000,000, 3 to 30 minutes of simulation on one core: lower --ops, the workload's repeat or sizes, or the number of designs", e.Message);

        // and a comparison counts every design and workload before booting any
        // (wss:64M: 16386 steps for the touch of 16384 pages, 10 for the call and the program's footprint)
        CompareOptions o = CompareOptions.Default() with { Workloads = [BuiltinWorkloads.Get("wss:64M")] };
        LabException c = Assert.Throws<LabException>(() => Comparison.Run(o with { Ops = 100_000 }));
        Assert.StartsWith("this comparison (6 designs x 1 workloads) would simulate about 9.9e+9 steps", c.Message);
        Assert.Equal(16_396, o.Workloads[0].StepsPerOperation);
    }

    private static string ShippedText()
    {
        using Stream s = typeof(DatapointFile).Assembly.GetManifestResourceStream(DatapointFile.ShippedName)!;
        using StreamReader r = new(s);
        return r.ReadToEnd();
    }

    private static string ReplaceFirst(string text, string what, string with)
    {
        int at = text.IndexOf(what, StringComparison.Ordinal);
        return text[..at] + with + text[(at + what.Length)..];
    }
}
