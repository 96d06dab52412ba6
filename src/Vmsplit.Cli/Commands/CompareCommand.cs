using System.CommandLine;
using Spectre.Console;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;
using Vmsplit.Lab.Validation;
using Vmsplit.Workloads;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit compare</c>: the main job. With no arguments it answers the seeds' question on a 32-bit
/// Cortex-A15 with 2 GiB and LPAE: classic 3G/1G with highmem against 4g4g's uaccess strategies.
/// </summary>
public static class CompareCommand
{
    public static Command Create(TextWriter stdout)
    {
        Option<string?> machine = new("--machine") { Description = MachineOptions.MachineHelp + "; default cortex-a15, or skylake with --preset kpti" };
        Option<string?> arch = new("--arch") { Description = MachineOptions.ArchHelp("the machine's; without --machine, another architecture than the preset's brings its own CPU and designs") };
        Option<string?> ram = new("--ram") { Description = "RAM size (default 2G; 8G for the kpti preset)" };
        Option<string?> designs = new("--designs") { Description = "comma list of designs, e.g. classic,4g4g+pin-kmap,kpti+nopcid (default: the preset's, or the ones worth comparing on the architecture)" };
        Option<string?> baseline = new("--baseline") { Description = "the design overheads are measured against (default: the first design)" };
        Option<string?> workloads = new("--workloads") { Description = "comma list of workloads (built-in: " + string.Join(", ", BuiltinWorkloads.Suite) + "; dd:BLOCK, wss:SIZE[:PAGES]; or a YAML file)" };
        Option<string?> preset = new("--preset") { Description = "a built-in scenario: seeds (default) or kpti (x86-64 Skylake, classic vs kpti, kpti+nopcid, kpti+global)" };
        OutputConvention io = new(["text", "json", "csv"]);
        Option<string?> json = new("--json") { Description = "also write the report as JSON to PATH (- for standard output instead of the text report)", HelpName = "PATH" };
        Option<string?> csv = new("--csv") { Description = "also write one row per design and workload as CSV to PATH (- for standard output instead of the text report)", HelpName = "PATH" };
        Option<string?> htmlReport = new("--report") { Description = "also write the HTML report (charts, offline; vmsplit report) to FILE (- for standard output instead of the text report)", HelpName = "FILE" };
        Option<string?> seed = new("--seed") { Description = "seed for everything random (default 1)" };
        Option<string?> randomize = new("--randomize-va-space") { Description = MachineOptions.RandomizeVaSpaceHelp, HelpName = "0|1|2" };
        Option<string?> ops = new("--ops") { Description = "measured operations per workload (default: each workload's own)" };
        Option<bool> serial = new("--serial") { Description = "run on one core (the results are identical)" };
        Option<string?> config = new("--config") { Description = MachineOptions.ConfigHelp + "; its design joins the compared ones", HelpName = "FILE" };
        Option<string?> cpus = new("--cpus") { Description = "simulated CPUs, 1 to 64 (default 1) or board (the cores the CPU profile states for its board): each its own TLBs, ASIDs and current task over one memory; remote TLB flushes as the architecture does them (x86 IPIs, arm/arm64 broadcast TLBI, RISC-V SBI remote fence)", HelpName = "N" };
        Option<bool> check = new("--check") { Description = "run the coherence checker on every CPU: each TLB hit is compared with a fresh walk and stale translations are counted (must be 0)" };

        Command command = new("compare", "Run designs on the built-in workloads and compare time per operation, causes, address budgets and isolation, with a verdict per design.")
        {
            machine, arch, config, ram, designs, baseline, workloads, preset,
        };
        io.AddTo(command);
        command.Options.Add(json);
        command.Options.Add(csv);
        command.Options.Add(htmlReport);
        command.Options.Add(seed);
        command.Options.Add(randomize);
        command.Options.Add(ops);
        command.Options.Add(serial);
        command.Options.Add(cpus);
        command.Options.Add(check);

        command.SetAction(parse =>
        {
            string format = io.Resolve(parse);
            CommandOutputs outputs = new(stdout);
            OutputTarget? main = io.Claim(outputs, parse);
            OutputTarget? jsonOutput = outputs.Claim("--json", parse.GetValue(json));
            OutputTarget? csvOutput = outputs.Claim("--csv", parse.GetValue(csv));
            OutputTarget? reportOutput = outputs.Claim("--report", parse.GetValue(htmlReport));
            foreach (string w in (parse.GetValue(workloads) ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                if (IsWorkloadFile(w))
                {
                    outputs.Reads("--workloads", w);
                }
            }

            if (parse.GetValue(machine) is string m && MachineSpec.IsProfileFile(m))
            {
                outputs.Reads("--machine", m);
            }

            if (parse.GetValue(config) is string configFile)
            {
                outputs.Reads("--config", configFile);
            }

            CompareOptions o = Build(
                parse.GetValue(preset),
                parse.GetValue(machine),
                parse.GetValue(arch),
                parse.GetValue(ram),
                parse.GetValue(designs),
                parse.GetValue(baseline),
                parse.GetValue(workloads),
                parse.GetValue(seed),
                parse.GetValue(ops),
                parse.GetValue(serial),
                MachineOptions.Config(parse.GetValue(config)));
            int n = ParseCpus(parse.GetValue(cpus));
            o = o with { Machine = o.Machine with { Cpus = n == Validator.BoardCpus ? o.Machine.Profile.BoardCores : n }, Check = parse.GetValue(check), RandomizeVaSpace = MachineOptions.RandomizeVaSpace(parse.GetValue(randomize)) };
            CompareReport report;
            TrustSummary trust;
            try
            {
                report = RunWithProgress(o, stdout);
                trust = TrustSummary.Of(report);
            }
            catch (LabException e)
            {
                throw new UsageException(e.Message);
            }

            int width = TextTable.Width(stdout);
            string Render(string f) => f switch
            {
                "json" => CompareRenderer.Json(report, trust),
                "csv" => CompareRenderer.Csv(report),
                _ => CompareRenderer.Text(report, trust, width),
            };
            outputs.WriteAll(
                main is null ? Render(format) : null,
                (main, () => Render(format)),
                (jsonOutput, () => Render("json")),
                (csvOutput, () => Render("csv")),
                (reportOutput, () => HtmlReport.FromCompareJson(Render("json"), "compare")));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    /// <summary>
    /// --cpus: a whole number from 1 to <see cref="SimKernel.MaxCpus"/> (absent: 1), or <c>board</c>: the cores the CPU
    /// profile states for its board, returned as <see cref="Validator.BoardCpus"/> for the caller to resolve per profile.
    /// </summary>
    public static int ParseCpus(string? text)
    {
        if (text is null)
        {
            return 1;
        }

        if (text == "board")
        {
            return Validator.BoardCpus;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) || n < 1 || n > SimKernel.MaxCpus)
        {
            throw new UsageException($"--cpus: '{VmsplitCli.Printable(text)}' is not a CPU count from 1 to {SimKernel.MaxCpus} nor 'board' (the profile's board)");
        }

        return n;
    }

    public static CompareOptions Build(string? preset, string? machine, string? arch, string? ram, string? designs, string? baseline, string? workloads, string? seed, string? ops, bool serial, KernelDotConfig? config = null)
    {
        CompareOptions o = (preset ?? "seeds").Trim().ToLowerInvariant() switch
        {
            "seeds" or "default" => CompareOptions.Default(),
            "kpti" => CompareOptions.Kpti(),
            _ => throw new UsageException($"--preset: unknown preset '{preset}' (use seeds or kpti)" + Suggestions.DidYouMean(preset!, ["seeds", "kpti"])),
        };
        MachineSpec m = MachineOptions.Resolve(machine, arch, o.Machine, config);
        List<string> notes = [];
        if (m.Arch != o.Machine.Arch)
        {
            // Another architecture than the preset's: the designs worth comparing there, those the CPU runs.
            (List<string> defaults, notes) = MachineOptions.DefaultDesigns(m);
            if (defaults.Count == 0)
            {
                throw new UsageException($"--machine: the {m.Profile.Id} CPU runs none of the designs worth comparing on {m.Arch.Name()}; name them with --designs");
            }

            o = o with { Designs = defaults, Baseline = defaults[0] };
        }

        (string? configDesign, string configNote) = MachineOptions.ConfigDesign(m, config);
        if (configDesign is not null && designs is null)
        {
            // the configured kernel's design joins the ones worth comparing
            notes.Add(configNote);
            if (!o.Designs.Contains(configDesign))
            {
                o = o with { Designs = [.. o.Designs, configDesign] };
            }
        }

        if (ram is not null)
        {
            if (!ByteSize.TryParse(ram, "--ram", 64 * ByteSize.MiB, 1UL << 40, out ulong bytes, out string error) || bytes % 4096 != 0)
            {
                throw new UsageException(error.Length > 0 ? error : $"--ram: {ram} is not a multiple of 4K");
            }

            m = m with { RamBytes = bytes };
        }

        List<string> designList = designs is null ? o.Designs.ToList() : Split(designs, "--designs");
        string baseName = baseline ?? (designs is null ? o.Baseline : designList[0]);
        List<Workload> workloadList = o.Workloads.ToList();
        if (workloads is not null)
        {
            workloadList = new();
            foreach (string w in Split(workloads, "--workloads"))
            {
                try
                {
                    workloadList.Add(IsWorkloadFile(w)
                        ? WorkloadFile.Load(w)
                        : BuiltinWorkloads.Get(w));
                }
                catch (WorkloadException e)
                {
                    throw new UsageException("--workloads: " + e.Message);
                }
            }
        }

        ulong seedValue = 1;
        if (seed is not null && !ulong.TryParse(seed, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seedValue))
        {
            throw new UsageException($"--seed: '{seed}' is not a non-negative integer");
        }

        int? opsValue = null;
        if (ops is not null)
        {
            if (!int.TryParse(ops, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) || n < 1 || n > 10_000_000)
            {
                throw new UsageException($"--ops: '{ops}' is not an integer in [1, 10000000]");
            }

            opsValue = n;
        }

        return new CompareOptions(m, designList, baseName, workloadList) { Seed = seedValue, Ops = opsValue, Parallel = !serial, Notes = designs is null ? notes : [] };
    }

    private static bool IsWorkloadFile(string name) => name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    private static List<string> Split(string text, string option)
    {
        List<string> items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        return items.Count > 0 ? items : throw new UsageException($"{option}: empty list");
    }

    private static CompareReport RunWithProgress(CompareOptions o, TextWriter stdout)
    {
        int total = o.Designs.Count * o.Workloads.Count;
        bool interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected && !Console.IsErrorRedirected;
        if (!interactive)
        {
            return Comparison.Run(o);
        }

        CompareReport? report = null;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask($"{total} runs", maxValue: total);
                report = Comparison.Run(o, new Progress<int>(_ => task.Increment(1)));
                task.Value = total;
            });
        return report!;
    }
}
