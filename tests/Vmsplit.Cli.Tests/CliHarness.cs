using Vmsplit.Cli;

namespace Vmsplit.Cli.Tests;

/// <summary>Runs the <c>vmsplit</c> command in-process and captures its exit code and both streams.</summary>
internal static class CliHarness
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        StringWriter o = new();
        StringWriter e = new();
        int code = VmsplitCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
