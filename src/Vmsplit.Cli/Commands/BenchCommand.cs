using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using Vmsplit.Cli.Reports;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit bench</c>: the built-in speed check. TLB lookups, walks and simulated null system calls per
/// second on this host, one thread, wall clock (<see cref="SpeedCheck"/>); text, and JSON with <c>--json FILE</c>.
/// </summary>
public static class BenchCommand
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static Command Create(TextWriter stdout)
    {
        Option<string?> seconds = new("--seconds")
        {
            Description = $"time budget in seconds, 30 % warm-up and the rest split evenly over the measurements (default {SpeedCheck.DefaultSeconds}; "
                + $"{SpeedCheck.MinSeconds} to {SpeedCheck.MaxSeconds}; below about 2 s the warm-up can end before the JIT's optimised code is in place and the figures come out low)",
        };
        Option<string?> machine = new("--machine") { Description = MachineOptions.MachineHelp + "; the simulated system calls run on it instead of Skylake and Cortex-A15" };
        Option<string?> arch = new("--arch") { Description = MachineOptions.ArchHelp("the machine's") };
        Option<string?> designs = new("--designs") { Description = "with --machine or --arch: comma list of designs whose null system call is timed (default: the ones worth comparing on the architecture)" };
        OutputConvention io = new(["text", "json"]);
        Option<string?> json = new("--json") { Description = "also write the host and the figures as JSON to PATH (- for standard output instead of the text report)", HelpName = "PATH" };
        Command command = new(
            "bench",
            "Speed check of the model on this host: TLB lookups, page-table walks and simulated null system calls (classic, kpti, 4g4g) per second, "
            + "one thread. Figures are wall-clock timings and differ from run to run; use a Release build.")
        {
            seconds, machine, arch, designs,
        };
        io.AddTo(command);
        command.Options.Add(json);
        command.SetAction(parse =>
        {
            double budget = ParseSeconds(parse.GetValue(seconds));
            string format = io.Resolve(parse);
            CommandOutputs outputs = new(stdout); // checked before the measurements run, so a typo does not cost the whole budget
            OutputTarget? main = io.Claim(outputs, parse);
            OutputTarget? jsonOutput = outputs.Claim("--json", parse.GetValue(json));
            if (parse.GetValue(machine) is string file && MachineSpec.IsProfileFile(file))
            {
                outputs.Reads("--machine", file);
            }

            IReadOnlyList<Func<SpeedLoop>> loops = SpeedCheck.Standard;
            if (parse.GetValue(machine) is not null || parse.GetValue(arch) is not null)
            {
                MachineSpec m = MachineOptions.Resolve(parse.GetValue(machine), parse.GetValue(arch), MachineSpec.DefaultArm());
                List<string> names = parse.GetValue(designs) is string d
                    ? [.. d.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)]
                    : MachineOptions.DefaultDesigns(m).Designs;
                if (names.Count == 0)
                {
                    throw new UsageException("--designs: empty list");
                }

                try
                {
                    names.ForEach(n => Scenario.ParseDesign(m, n)); // refused before the clock starts
                }
                catch (LabException e)
                {
                    throw new UsageException(e.Message);
                }

                loops = SpeedCheck.ForMachine(m, names);
            }
            else if (parse.GetValue(designs) is not null)
            {
                throw new UsageException("--designs: give --machine or --arch too (the standard check times classic, kpti and 4g4g+pin-kmap)");
            }

            SpeedCheckResult result;
            try
            {
                result = RunWithProgress(budget, loops, stdout);
            }
            catch (LabException e)
            {
                throw new UsageException(e.Message);
            }

            string Render(string f) => f == "json" ? Json(result) : Text(result);
            outputs.WriteAll(main is null ? Render(format) : null, (main, () => Render(format)), (jsonOutput, () => Render("json")));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    public static double ParseSeconds(string? text)
    {
        if (text is null)
        {
            return SpeedCheck.DefaultSeconds;
        }

        if (!double.TryParse(text, NumberStyles.Float, s_inv, out double s) || !double.IsFinite(s))
        {
            throw new UsageException($"--seconds: '{text}' is not a number");
        }

        if (s <= 0)
        {
            throw new UsageException($"--seconds: {text} is not positive");
        }

        if (s < SpeedCheck.MinSeconds || s > SpeedCheck.MaxSeconds)
        {
            throw new UsageException($"--seconds: {text} is outside {SpeedCheck.MinSeconds.ToString(s_inv)} to {SpeedCheck.MaxSeconds.ToString(s_inv)}");
        }

        return s;
    }

    private static SpeedCheckResult RunWithProgress(double budget, IReadOnlyList<Func<SpeedLoop>> loops, TextWriter stdout)
    {
        bool interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected && !Console.IsErrorRedirected;
        if (!interactive)
        {
            return SpeedCheck.Run(budget, loops);
        }

        SpeedCheckResult? result = null;
        int total = loops.Count;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask($"{total} measurements", maxValue: total);
                result = SpeedCheck.Run(budget, loops, _ => task.Increment(1));
                task.Value = total;
            });
        return result!;
    }

    public static string Text(SpeedCheckResult r)
    {
        StringBuilder sb = new();
        sb.AppendLine($"vmsplit bench: {r.Rows.Count} measurements in a {r.Seconds.ToString("0.###", s_inv)} s budget, one thread");
        sb.AppendLine($"Host: {r.Host.CpuModel ?? "unknown processor"}, {r.Host.ProcessorCount} logical processors, {r.Host.OsDescription}, {r.Host.DotnetVersion}, {r.Host.Architecture}");
        sb.AppendLine();
        List<string[]> rows = [["measurement", "unit", "operations", "seconds", "per second", "ns per op"]];
        foreach (SpeedRow x in r.Rows)
        {
            rows.Add([x.Name, x.Unit, x.Operations.ToString("N0", s_inv), x.ElapsedSeconds.ToString("F3", s_inv), PerSecond(x.OpsPerSecond), x.NsPerOp.ToString("F1", s_inv)]);
        }

        sb.Append(TextTable.Render(rows, column => column >= 2)); // names and units left, figures right
        sb.AppendLine();
        foreach (SpeedRow x in r.Rows)
        {
            sb.AppendLine($"  {x.Name}: {x.Description}");
        }

        sb.AppendLine();
        if (!r.Host.OptimizedBuild)
        {
            sb.AppendLine("This is a Debug build: the figures are several times lower than a Release build's (dotnet run -c Release --project src/Vmsplit.Cli -- bench).");
        }

        sb.AppendLine("These are wall-clock figures of this host, single thread, including whatever else it was running;");
        sb.AppendLine("how they compare with the figures in docs/performance.md is up to the reader.");
        return sb.ToString();
    }

    private static string PerSecond(double v) =>
        v >= 1e9 ? (v / 1e9).ToString("F2", s_inv) + " G"
        : v >= 1e6 ? (v / 1e6).ToString("F2", s_inv) + " M"
        : v >= 1e3 ? (v / 1e3).ToString("F2", s_inv) + " k"
        : v.ToString("F0", s_inv) + "  ";

    public static string Json(SpeedCheckResult r)
    {
        return JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("host");
            w.WriteNumber("processorCount", r.Host.ProcessorCount);
            w.WriteString("osDescription", r.Host.OsDescription);
            w.WriteString("dotnetVersion", r.Host.DotnetVersion);
            w.WriteString("architecture", r.Host.Architecture);
            if (r.Host.CpuModel is null)
            {
                w.WriteNull("cpuModel");
            }
            else
            {
                w.WriteString("cpuModel", r.Host.CpuModel);
            }

            w.WriteBoolean("optimizedBuild", r.Host.OptimizedBuild);
            w.WriteEndObject();
            w.WriteNumber("seconds", r.Seconds);
            w.WriteStartArray("results");
            foreach (SpeedRow x in r.Rows)
            {
                w.WriteStartObject();
                w.WriteString("name", x.Name);
                w.WriteString("unit", x.Unit);
                w.WriteNumber("operations", x.Operations);
                w.WriteNumber("elapsedSeconds", x.ElapsedSeconds);
                w.WriteNumber("opsPerSecond", x.OpsPerSecond);
                w.WriteNumber("nsPerOp", x.NsPerOp);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }
}
