namespace Vmsplit.Cli.Tests;

/// <summary>Command lines that ended in "internal error" before: each runs, or is refused in one line with exit code 2.</summary>
public class Issue10CrashTests
{
    [Theory]
    [InlineData("compare", "--machine", "pentium4-xeon", "--arch", "x86-pae", "--designs", "classic,kpti", "--workloads", "null,pipe", "--ops", "5")]
    [InlineData("compare", "--machine", "atom-n270", "--arch", "x86-pae", "--designs", "classic,kpti+global", "--workloads", "null", "--ops", "5")]
    [InlineData("audit", "--arch", "x86-pae")]
    [InlineData("audit", "--arch", "x86-pae", "--design", "classic,kpti,kpti+global")]
    public void X86PaeKptiRuns(params string[] args)
    {
        (int code, string output, string err) = CliHarness.Run(args);
        Assert.True(code == 0, err);
        Assert.Contains("kpti", output);
    }

    [Fact]
    public void KaiserV1IsRefusedOnX86PaeInOneLine()
    {
        // the 2017 KAISER patches were x86-64 only (kaiser.c walks the 4- and 5-level tables)
        (int code, _, string err) = CliHarness.Run("audit", "--arch", "x86-pae", "--design", "kpti+kaiser-v1");
        Assert.Equal(2, code);
        Assert.Contains("applies only to kpti on x86-64 (the 2017 KAISER patches were x86-64 only)", err);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void AWorkloadThatDoesNotFitTheMachineIsOneLineAndExitCodeTwo()
    {
        (int code, string output, string err) = CliHarness.Run("compare", "--machine", "cortex-a15", "--arch", "arm-lpae", "--ram", "64M", "--designs", "classic,4g4g", "--workloads", "wss:100M", "--ops", "5");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("vmsplit: workload wss:100M does not fit classic on arm-lpae with 64 MiB of RAM: out of lowmem", err);
        Assert.Single(err.TrimEnd().Split('\n'));
    }
}
