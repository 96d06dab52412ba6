using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Vmsplit.Lab;
using Vmsplit.Lab.Sweep;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit sweep FILE --out DIR [--shard K/N] [--resume]</c> runs the product of a sweep file's axes on
/// every core and writes runs.csv, runs.parquet and sweep.json; <c>vmsplit merge DIR... --out DIR</c> joins
/// the shards of one sweep into what one process writes (docs/sweeps.md).
/// </summary>
public static class SweepCommand
{
    public static Command Create(TextWriter stdout)
    {
        Argument<string> file = new("FILE") { Description = "the sweep file (YAML: machines, architectures, designs, ram, workloads, cpus, seeds, ops, record; docs/sweeps.md)" };
        Option<string?> output = new("--out") { Description = "the results directory (created if missing): runs.csv, runs.parquet, sweep.json", HelpName = "DIR" };
        Option<string?> shard = new("--shard") { Description = "run only slice K of N (0 <= K < N), a contiguous block of the runs; vmsplit merge joins the N directories", HelpName = "K/N" };
        Option<bool> resume = new("--resume") { Description = "continue the unfinished sweep in DIR without redoing the runs it finished (a finished one is left as it is)" };
        Option<string?> jobs = new("--jobs") { Description = "runs at once (default: every core); the results are the same whatever the number", HelpName = "N" };
        Command command = new("sweep", "Run the product of a sweep file's axes (machines x architectures x designs x RAM x workloads x seeds x ops) and write one row per run as CSV and Parquet.")
        {
            file, output, shard, resume, jobs,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            string dir = OutDirectory(parse.GetValue(output));
            (int k, int n) = Shard(parse.GetValue(shard));
            int j = Jobs(parse.GetValue(jobs));
            SweepSpec spec;
            try
            {
                spec = SweepFile.Load(path);
            }
            catch (SweepFileException e)
            {
                throw new UsageException(e.Message);
            }

            SweepSummary summary = RunWithProgress(spec, dir, k, n, parse.GetValue(resume), j);
            SweepManifest m = summary.Manifest;
            long runs = m.EndRun - m.FirstRun;
            string slice = n == 1 ? "" : $" (shard {k}/{n}: runs {m.FirstRun}-{m.EndRun - 1} of {m.Runs})";
            stdout.WriteLine(summary.AlreadyComplete
                ? $"sweep {spec.Name}: {dir} already holds its {runs} runs{slice}; nothing to do"
                : $"sweep {spec.Name}: {runs} runs{slice}, {runs - m.Refused} measured, {m.Refused} refused (status=refused, with the reason){(summary.Resumed > 0 ? $", {summary.Resumed} taken from the journal" : "")}; wrote {Path.Combine(dir, SweepOutput.CsvName)}, {SweepOutput.ParquetName} and {SweepOutput.ManifestName}");
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    public static Command CreateMerge(TextWriter stdout)
    {
        Argument<string[]> dirs = new("DIR") { Description = "the directories of every shard of one sweep", Arity = ArgumentArity.OneOrMore };
        Option<string?> output = new("--out") { Description = "the merged results directory (created if missing)", HelpName = "DIR" };
        Command command = new("merge", "Join the directories of a sharded sweep (vmsplit sweep --shard K/N) into exactly what one process running the whole sweep writes.")
        {
            dirs, output,
        };
        command.SetAction(parse =>
        {
            string dir = OutDirectory(parse.GetValue(output));
            SweepManifest m;
            try
            {
                m = SweepOutput.Merge(parse.GetValue(dirs)!, dir);
            }
            catch (IOException e)
            {
                throw new UsageException($"merge: {e.Message}");
            }

            stdout.WriteLine($"sweep {m.Name}: merged {parse.GetValue(dirs)!.Length} shards, {m.Runs} runs ({m.Refused} refused) into {dir}");
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    private static string OutDirectory(string? value)
    {
        if (value is null)
        {
            throw new UsageException("--out: required: the results directory");
        }

        if (value == "-" || value.Length == 0)
        {
            throw new UsageException($"--out: give a directory ('{value}' is not one): a sweep writes several files");
        }

        if (File.Exists(value))
        {
            throw new UsageException($"--out: {value} is a file, not a directory");
        }

        return value;
    }

    /// <summary>"K/N" with 0 &lt;= K &lt; N &lt;= 100000.</summary>
    public static (int K, int N) Shard(string? value)
    {
        if (value is null)
        {
            return (0, 1);
        }

        string[] parts = value.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            && n >= 1 && n <= 100_000 && k < n)
        {
            return (k, n);
        }

        throw new UsageException($"--shard: '{value}' is not K/N with 0 <= K < N <= 100000 (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)");
    }

    private static int Jobs(string? value)
    {
        if (value is null)
        {
            return Environment.ProcessorCount;
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int j) && j >= 1 && j <= 1024
            ? j
            : throw new UsageException($"--jobs: '{value}' is not an integer in [1, 1024]");
    }

    private static SweepSummary RunWithProgress(SweepSpec spec, string dir, int k, int n, bool resume, int jobs)
    {
        // a bar with the time left, on standard error, only on a terminal (files and pipes get the same bytes)
        bool interactive = !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null or "" or "false";
        if (!interactive)
        {
            return SweepOutput.Run(spec, dir, k, n, resume, jobs);
        }

        IAnsiConsole err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        SweepSummary? summary = null;
        err.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask($"sweep {spec.Name}", maxValue: 1);
                summary = SweepOutput.Run(spec, dir, k, n, resume, jobs, new Progress<(long Done, long Total)>(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                }));
                task.Value = task.MaxValue;
            });
        return summary!;
    }
}
