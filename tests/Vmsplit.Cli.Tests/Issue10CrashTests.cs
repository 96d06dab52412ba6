namespace Vmsplit.Cli.Tests;

/// <summary>Command lines that ended in "internal error" before: each runs, or is refused in one line with exit code 2.</summary>
public class Issue10CrashTests
{
    [Theory]
    [InlineData("compare", "--machine", "pentium4-xeon", "--arch", "x86-pae", "--designs", "classic,kpti", "--workloads", "null,pipe", "--ops", "5")]
    [InlineData("compare", "--machine", "atom-n270", "--arch", "x86-pae", "--designs", "classic,kpti+global,kpti+kaiser-v1", "--workloads", "null", "--ops", "5")]
    [InlineData("audit", "--arch", "x86-pae")]
    [InlineData("audit", "--arch", "x86-pae", "--design", "classic,kpti,kpti+global,kpti+kaiser-v1")]
    public void X86PaeKptiRuns(params string[] args)
    {
        (int code, string output, string err) = CliHarness.Run(args);
        Assert.True(code == 0, err);
        Assert.Contains("kpti", output);
    }
}
