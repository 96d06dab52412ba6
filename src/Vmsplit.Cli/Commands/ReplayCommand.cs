using System.CommandLine;
using Spectre.Console;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;
using Vmsplit.Lab;
using Vmsplit.Lab.Replay;
using Vmsplit.Workloads;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit replay TRACE</c>: a real program's strace, valgrind-lackey or ChampSim trace as the workload, on
/// the designs <c>compare</c> would run; compare's report plus the trace's events and its costliest calls.
/// </summary>
public static class ReplayCommand
{
    private static readonly string[] s_traceFormats = ["strace", "lackey", "champsim"];

    public static Command Create(TextWriter stdout)
    {
        Argument<string> trace = new("TRACE") { Description = "the trace file (plain, .gz, .xz or .zst: detected by its first bytes)" };
        Option<string?> traceFormat = new("--trace-format") { Description = "strace, lackey or champsim (default: detected from the name, then the first 4 KiB; --format also takes these names)", HelpName = "FORMAT" };
        Option<string?> machine = new("--machine") { Description = MachineOptions.MachineHelp + "; default cortex-a15, or skylake with --preset kpti" };
        Option<string?> arch = new("--arch") { Description = MachineOptions.ArchHelp("the machine's; without --machine, another architecture than the preset's brings its own CPU and designs") };
        Option<string?> ram = new("--ram") { Description = "RAM size (default 2G; 8G for the kpti preset)" };
        Option<string?> designs = new("--designs") { Description = "comma list of designs (default: the preset's, or the ones worth comparing on the architecture)" };
        Option<string?> baseline = new("--baseline") { Description = "the design overheads are measured against (default: the first design)" };
        Option<string?> preset = new("--preset") { Description = "a built-in scenario: seeds (default) or kpti" };
        Option<string?> userWss = new("--user-wss") { Description = $"strace: the working set each process touches between two calls, one access per page (default {ByteSize.Format(ReplayOptions.DefaultUserWss)}; 0 for none)", HelpName = "SIZE" };
        Option<string?> every = new("--syscall-every") { Description = $"ChampSim: inject a system call every N instructions (default {ReplayOptions.DefaultSyscallEvery}; 0 for none)", HelpName = "N" };
        Option<string?> call = new("--syscall") { Description = "ChampSim: the call injected: " + string.Join(", ", Replayer.InjectableCalls) + " (default null: getppid)", HelpName = "WORKLOAD" };
        OutputConvention io = new(["text", "json", "csv"]);
        Option<string?> json = new("--json") { Description = "also write the report as JSON to PATH (- for standard output instead of the text report)", HelpName = "PATH" };
        Option<string?> csv = new("--csv") { Description = "also write one row per design as CSV to PATH (- for standard output instead of the text report)", HelpName = "PATH" };
        Option<string?> seed = new("--seed") { Description = "seed for everything random (default 1)" };
        Option<string?> randomize = new("--randomize-va-space") { Description = MachineOptions.RandomizeVaSpaceHelp, HelpName = "0|1|2" };
        Option<bool> serial = new("--serial") { Description = "run on one core (the results are identical)" };
        Option<string?> config = new("--config") { Description = MachineOptions.ConfigHelp + "; its design joins the replayed ones", HelpName = "FILE" };

        Command command = new("replay", "Replay a real program's trace (strace, valgrind lackey, ChampSim) on designs: time per design, causes, TLB counters, the costliest system calls and every line's event.")
        {
            trace, traceFormat, machine, arch, config, ram, designs, baseline, preset, userWss, every, call,
        };
        io.AddTo(command);
        command.Options.Add(json);
        command.Options.Add(csv);
        command.Options.Add(seed);
        command.Options.Add(randomize);
        command.Options.Add(serial);

        command.SetAction(parse =>
        {
            string? given = parse.GetValue(io.Format);
            string? traceFormatName = parse.GetValue(traceFormat);
            string format;
            if (given is not null && s_traceFormats.Contains(given.Trim().ToLowerInvariant()))
            {
                // --format lackey: the issue's spelling of the trace format; the report is then text
                if (traceFormatName is not null && !string.Equals(traceFormatName.Trim(), given.Trim(), StringComparison.OrdinalIgnoreCase))
                {
                    throw new UsageException($"--format {given} and --trace-format {traceFormatName} name different trace formats; give one of them");
                }

                traceFormatName = given;
                format = io.Default;
            }
            else
            {
                format = io.Resolve(parse);
            }

            CommandOutputs outputs = new(stdout);
            OutputTarget? main = io.Claim(outputs, parse);
            OutputTarget? jsonOutput = outputs.Claim("--json", parse.GetValue(json));
            OutputTarget? csvOutput = outputs.Claim("--csv", parse.GetValue(csv));
            string path = parse.GetValue(trace)!;
            outputs.Reads("TRACE", path);
            if (parse.GetValue(machine) is string m && MachineSpec.IsProfileFile(m))
            {
                outputs.Reads("--machine", m);
            }

            if (parse.GetValue(config) is string configFile)
            {
                outputs.Reads("--config", configFile);
            }

            ReplayOptions o = Build(path, traceFormatName, parse.GetValue(preset), parse.GetValue(machine), parse.GetValue(arch), parse.GetValue(ram), parse.GetValue(designs),
                parse.GetValue(baseline), parse.GetValue(userWss), parse.GetValue(every), parse.GetValue(call), parse.GetValue(seed), parse.GetValue(serial),
                MachineOptions.Config(parse.GetValue(config)));
            o = o with { RandomizeVaSpace = MachineOptions.RandomizeVaSpace(parse.GetValue(randomize)) };
            ReplayReport report;
            TrustSummary trust;
            try
            {
                report = RunWithProgress(o);
                trust = TrustSummary.Of(report.Compare);
            }
            catch (LabException e)
            {
                throw new UsageException(e.Message);
            }
            catch (WorkloadException e)
            {
                throw new UsageException(e.Message);
            }

            int width = TextTable.Width(stdout);
            string Render(string f) => f switch
            {
                "json" => ReplayRenderer.Json(report, trust),
                "csv" => ReplayRenderer.Csv(report),
                _ => ReplayRenderer.Text(report, trust, width),
            };
            outputs.WriteAll(
                main is null ? Render(format) : null,
                (main, () => Render(format)),
                (jsonOutput, () => Render("json")),
                (csvOutput, () => Render("csv")));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    public static ReplayOptions Build(string path, string? traceFormat, string? preset, string? machine, string? arch, string? ram, string? designs, string? baseline,
        string? userWss, string? every, string? call, string? seed, bool serial, KernelDotConfig? config = null)
    {
        // the machine, designs, baseline and seed exactly as compare reads them (a .config as compare reads it)
        CompareOptions c = CompareCommand.Build(preset, machine, arch, ram, designs, baseline, "null", seed, null, serial, config);
        TraceFormat format;
        string how;
        if (traceFormat is not null)
        {
            format = traceFormat.Trim().ToLowerInvariant() switch
            {
                "strace" => TraceFormat.Strace,
                "lackey" or "valgrind" => TraceFormat.Lackey,
                "champsim" => TraceFormat.ChampSim,
                _ => throw new UsageException($"--trace-format: unknown trace format '{traceFormat}' (use strace, lackey or champsim)" + Hardware.Input.Suggestions.DidYouMean(traceFormat, s_traceFormats)),
            };
            how = "given";
        }
        else
        {
            (format, how) = TraceFile.Detect(path);
            how = "detected: " + how;
        }

        ulong wss = ReplayOptions.DefaultUserWss;
        if (userWss is not null)
        {
            if (userWss.Trim() == "0")
            {
                wss = 0;
            }
            else if (!ByteSize.TryParse(userWss, "--user-wss", 4096, 1UL << 32, out wss, out string error) || wss % 4096 != 0)
            {
                throw new UsageException(error.Length > 0 ? error : $"--user-wss: {userWss} is not a multiple of 4K");
            }
        }

        long everyValue = ReplayOptions.DefaultSyscallEvery;
        if (every is not null && (!long.TryParse(every, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out everyValue) || everyValue > 1_000_000_000_000))
        {
            throw new UsageException($"--syscall-every: '{every}' is not an integer in [0, 10^12]");
        }

        string injected = (call ?? "null").Trim().ToLowerInvariant();
        if (!Replayer.InjectableCalls.Contains(injected))
        {
            throw new UsageException($"--syscall: unknown call '{call}' (use {string.Join(", ", Replayer.InjectableCalls)})" + Hardware.Input.Suggestions.DidYouMean(call!, Replayer.InjectableCalls));
        }

        if (format != TraceFormat.ChampSim && (every is not null || call is not null))
        {
            throw new UsageException($"--syscall-every and --syscall inject calls into ChampSim traces; a {format.ToString().ToLowerInvariant()} trace has its own");
        }

        if (format != TraceFormat.Strace && userWss is not null)
        {
            throw new UsageException($"--user-wss is the user work of a strace trace; a {format.ToString().ToLowerInvariant()} trace records its own");
        }

        return new ReplayOptions(c.Machine, c.Designs, c.Baseline, path, format)
        {
            FormatHow = how,
            UserWss = format == TraceFormat.Strace ? wss : 0,
            SyscallEvery = everyValue,
            InjectedCall = injected,
            Seed = c.Seed,
            Parallel = c.Parallel,
            Notes = c.Notes,
        };
    }

    // a progress bar on standard error, when it is a terminal and the trace is long (more than 16 MiB on disk)
    private static ReplayReport RunWithProgress(ReplayOptions o)
    {
        long size = File.Exists(o.TracePath) ? new FileInfo(o.TracePath).Length : 0;
        if (Console.IsErrorRedirected || size < (16 << 20))
        {
            return TraceReplay.Run(o);
        }

        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        ReplayReport? report = null;
        long total = size * o.Designs.Count;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask($"{o.Name} on {o.Designs.Count} designs", maxValue: total);
                report = TraceReplay.Run(o, new Progress<long>(n => task.Increment(n)));
                task.Value = total;
            });
        return report!;
    }
}
