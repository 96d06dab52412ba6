using System.CommandLine;
using Vmsplit.Cli.Reports;

namespace Vmsplit.Cli.Commands;

/// <summary><c>vmsplit causes</c>: every cause name and report label, one line each (the glossary of docs/causes.md).</summary>
public static class CausesCommand
{
    public static Command Create(TextWriter stdout)
    {
        OutputConvention io = new(["text", "json", "markdown"], new Dictionary<string, string> { ["md"] = "markdown" });
        Command command = new("causes", "The cost causes and the row labels the reports print, one line each (docs/causes.md is the same list).");
        io.AddTo(command);
        command.SetAction(parse =>
        {
            string format = io.Resolve(parse);
            CommandOutputs outputs = new(stdout);
            OutputTarget? target = io.Claim(outputs, parse);
            Func<string> render = () => format switch
            {
                "json" => Glossary.Json(),
                "markdown" => Glossary.Markdown(),
                _ => Glossary.Text(),
            };
            outputs.WriteAll(target is null ? render() : null, (target, render));
            return VmsplitCli.ExitOk;
        });
        return command;
    }
}
