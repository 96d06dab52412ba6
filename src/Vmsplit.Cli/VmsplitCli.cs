using System.CommandLine;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Cli;

/// <summary>
/// The <c>vmsplit</c> command. Every subcommand registers itself in <see cref="Build"/>; bad input is a
/// <see cref="UsageException"/>, printed as one line with exit code 2.
/// </summary>
public static class VmsplitCli
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    public static RootCommand Build(TextWriter stdout)
    {
        RootCommand root = new("Vmsplit: an executable laboratory for kernel address-space designs (page tables, TLBs, layouts, costs).");
        root.Subcommands.Add(Commands.WalkCommand.Create(stdout));
        root.Subcommands.Add(Commands.LayoutCommand.Create(stdout));
        root.Subcommands.Add(Commands.TlbCommand.Create(stdout));
        root.Subcommands.Add(Commands.ProfileCommand.Create(stdout));
        root.Subcommands.Add(Commands.CompareCommand.Create(stdout));
        root.Subcommands.Add(Commands.ReplayCommand.Create(stdout));
        root.Subcommands.Add(Commands.AuditCommand.Create(stdout));
        root.Subcommands.Add(Commands.ValidateCommand.Create(stdout));
        root.Subcommands.Add(Commands.BenchCommand.Create(stdout));
        root.Subcommands.Add(Commands.CausesCommand.Create(stdout));
        root.Subcommands.Add(Commands.PtdumpCommand.Create(stdout));
        root.Subcommands.Add(Commands.SweepCommand.Create(stdout));
        root.Subcommands.Add(Commands.SweepCommand.CreateMerge(stdout));
        root.Subcommands.Add(Commands.ReportCommand.Create(stdout));
        HelpExamples.Install(root);
        return root;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        RootCommand root = Build(stdout);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Command command = parse.CommandResult.Command;
            string path = HelpExamples.PathOf(parse.CommandResult);
            if (parse.UnmatchedTokens.Count == 0 && command.Subcommands.Count > 0 && command.Action is null)
            {
                // a command group named without a subcommand: what it has
                stdout.Write(HelpExamples.Listing(command, path));
                return ExitOk;
            }

            stderr.WriteLine("vmsplit: " + Printable(ParseError(parse, command, path)));
            return ExitUsage;
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Unwrap(e) is UsageException or Lab.LabException or Workloads.WorkloadException or Lab.Sweep.SweepFileException)
        {
            // bad input, also when a command let the lab's own one-line error through
            stderr.WriteLine("vmsplit: " + Printable(Unwrap(e).Message));
            return ExitUsage;
        }
        catch (Exception e) when (Unwrap(e) is InvalidOperationException or ArgumentException or NotSupportedException or IOException)
        {
            // a defect of the model, not of the input: one line, no stack trace, a distinct exit code
            stderr.WriteLine("vmsplit: internal error: " + Printable(Unwrap(e).Message.Split('\n')[0]));
            return ExitFailure;
        }
    }

    // The parser's first error, or for a word it did not recognise, what it is and the nearest names.
    private static string ParseError(ParseResult parse, Command command, string path)
    {
        if (parse.UnmatchedTokens.Count == 0)
        {
            return parse.Errors[0].Message;
        }

        string token = parse.UnmatchedTokens[0];
        string where = path.Length == 0 ? "vmsplit" : "vmsplit " + path;
        if (token.StartsWith('-'))
        {
            IEnumerable<string> names = command.Options.Concat(command.Parents.OfType<Command>().SelectMany(p => p.Options.Where(o => o.Recursive)))
                .SelectMany(o => o.Aliases.Prepend(o.Name));
            string name = token.Split('=', 2)[0];
            return $"unknown option '{name}' for '{where}'" + Hardware.Input.Suggestions.DidYouMean(name, names) + $" ('{where} --help' lists its options)";
        }

        if (command.Subcommands.Count > 0)
        {
            return $"unknown command '{token}' for '{where}'" + Hardware.Input.Suggestions.DidYouMean(token, command.Subcommands.Select(c => c.Name)) + $" ('{where} --help' lists them)";
        }

        return $"unexpected argument '{token}' for '{where}' ('{where} --help' lists its options)";
    }

    /// <summary>
    /// An error message as one printable line: control characters (a newline or an escape sequence in an
    /// option value or a file name the message echoes) are shown as C escapes, \n, \t, \x1b, \u0085
    /// (<see cref="InputText.OneLine"/>, which the input readers use for what they echo).
    /// </summary>
    public static string Printable(string message) => InputText.OneLine(message);

    // runs on all cores (Parallel.For) wrap what a design threw; report the first cause itself
    private static Exception Unwrap(Exception e) => e is AggregateException { InnerExceptions.Count: > 0 } a ? Unwrap(a.InnerExceptions[0]) : e;
}

/// <summary>Bad input: a one-line message that names the problem and where it is.</summary>
public sealed class UsageException(string message) : Exception(message);
