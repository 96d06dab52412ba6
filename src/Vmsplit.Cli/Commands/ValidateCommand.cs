using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;
using Vmsplit.Lab.Validation;
using Vmsplit.Workloads;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit validate</c>: runs the scenario behind each published datapoint and prints the published
/// value, the model's value and the error; beyond the tolerance the datapoint's own note says why.
/// </summary>
public static class ValidateCommand
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static Command Create(TextWriter stdout)
    {
        Option<string?> data = new("--data") { Description = $"datapoint file (default: the shipped {DatapointFile.ShippedName}; same schema, see docs/validation.md)" };
        Option<string?> only = new("--only") { Description = "comma list of datapoint ids to run (default: all)" };
        Option<string?> machine = new("--machine") { Description = "run the datapoints of this CPU only, with this profile: a shipped id or your own profile file (a path; keep the id of the profile it copies)" };
        Option<string?> arch = new("--arch") { Description = "run the datapoints of this architecture only: " + string.Join(", ", KernelArchitectures.Names) };
        Option<string?> tolerance = new("--tolerance") { Description = "error in percent beyond which a datapoint counts as a miss (default 25)" };
        OutputConvention io = new(["text", "json"]);
        Option<string?> json = new("--json") { Description = "also write the results as JSON to PATH (- for standard output instead of the text report)", HelpName = "PATH" };
        Option<string?> cpus = new("--cpus") { Description = "simulated CPUs, 1 to 64 (default 1), or board: each datapoint's profile's board cores; a flush datapoint then has a thread of its process on every CPU, and its value is the caller's time (IPIs and the wait included)", HelpName = "N" };
        Option<bool> detail = new("--detail") { Description = "print each datapoint's setup, source, assumptions and the model's causes" };
        Command command = new("validate", "Run the scenario behind each published measurement and print published value, model value and error.")
        {
            data, only, machine, arch, tolerance,
        };
        io.AddTo(command);
        command.Options.Add(json);
        command.Options.Add(detail);
        command.Options.Add(cpus);
        command.SetAction(parse =>
        {
            double tol = 25;
            if (parse.GetValue(tolerance) is string t
                && (!double.TryParse(t, NumberStyles.Float, s_inv, out tol) || !double.IsFinite(tol) || tol <= 0 || tol > 1000))
            {
                throw new UsageException($"--tolerance: '{t}' is not a percentage in (0, 1000]");
            }

            string format = io.Resolve(parse);
            CommandOutputs outputs = new(stdout);
            OutputTarget? main = io.Claim(outputs, parse);
            OutputTarget? jsonOutput = outputs.Claim("--json", parse.GetValue(json));
            if (parse.GetValue(data) is string dataPath)
            {
                outputs.Reads("--data", dataPath);
            }

            if (parse.GetValue(machine) is string file && MachineSpec.IsProfileFile(file))
            {
                outputs.Reads("--machine", file);
            }

            CpuProfile? profile = MachineOptions.Profile(parse.GetValue(machine));
            KernelArch? onlyArch = MachineOptions.Arch(parse.GetValue(arch));
            string source = parse.GetValue(data) ?? DatapointFile.ShippedName;
            IReadOnlyList<Datapoint> points;
            IReadOnlyList<ValidationResult> results;
            try
            {
                points = parse.GetValue(data) is string path ? DatapointFile.Load(path) : DatapointFile.Shipped();
                points = Select(points, parse.GetValue(only));
                points = Filter(points, profile, onlyArch);
                results = new Validator(1, profile, CompareCommand.ParseCpus(parse.GetValue(cpus))).Run(points);
            }
            catch (Exception e) when (e is LabException or WorkloadException)
            {
                throw new UsageException(e.Message);
            }

            if (profile is not null && MachineSpec.IsProfileFile(parse.GetValue(machine)!))
            {
                source += $" with {profile.Id} from {parse.GetValue(machine)}";
            }

            bool shipped = parse.GetValue(machine) is not string given || !MachineSpec.IsProfileFile(given);
            string Render(string f) => f == "json" ? Json(source, tol, results) : Text(source, tol, results, parse.GetValue(detail), shipped);
            outputs.WriteAll(main is null ? Render(format) : null, (main, () => Render(format)), (jsonOutput, () => Render("json")));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    // --machine keeps the datapoints of that CPU (by profile id), --arch those of that architecture.
    private static IReadOnlyList<Datapoint> Filter(IReadOnlyList<Datapoint> points, CpuProfile? profile, KernelArch? arch)
    {
        List<Datapoint> kept = [.. points.Where(d =>
            (profile is null || d.Scenario.Profile == profile.Id)
            && (arch is null || (KernelArchitectures.TryParse(d.Scenario.Arch, false, false, out KernelArch a, out _) && a == arch)))];
        if (kept.Count > 0)
        {
            return kept;
        }

        string what = string.Join(" on ", new[] { profile is null ? null : $"the {profile.Id} CPU", arch is null ? null : arch.Value.Name() }.Where(s => s is not null));
        string cpus = string.Join(", ", points.Select(d => d.Scenario.Profile).Distinct());
        string arches = string.Join(", ", points.Select(d => d.Scenario.Arch).Distinct());
        throw new UsageException($"{(profile is not null ? "--machine" : "--arch")}: no datapoint runs {what} (the datapoints use the CPUs {cpus} and the architectures {arches})"
            + (profile is not null ? Suggestions.DidYouMean(profile.Id, points.Select(d => d.Scenario.Profile)) : ""));
    }

    private static IReadOnlyList<Datapoint> Select(IReadOnlyList<Datapoint> points, string? only)
    {
        if (only is null)
        {
            return points;
        }

        List<Datapoint> chosen = new();
        foreach (string id in only.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            Datapoint? d = points.FirstOrDefault(p => p.Id == id);
            if (d is null)
            {
                throw new UsageException($"--only: no datapoint '{id}' (known: {string.Join(", ", points.Select(p => p.Id))})" + Suggestions.DidYouMean(id, points.Select(p => p.Id)));
            }

            if (!chosen.Contains(d))
            {
                chosen.Add(d);
            }
        }

        return chosen.Count > 0 ? chosen : throw new UsageException("--only: no datapoint ids given");
    }

    public static string Text(string source, double tolerance, IReadOnlyList<ValidationResult> results, bool detail, bool shippedProfiles = true)
    {
        StringBuilder sb = new();
        string tol = tolerance.ToString("0.##", s_inv);
        sb.AppendLine($"Validation: the model against published measurements ({source}, {results.Count} datapoint{(results.Count == 1 ? "" : "s")})");
        sb.AppendLine($"error = (model - published) / published; beyond +-{tol}% the datapoint's note says why. " + (shippedProfiles ? "Profiles as shipped, nothing fitted." : "Your profile in place of the shipped one with its id; nothing fitted."));
        sb.AppendLine();
        List<string[]> rows = [["datapoint", "published", "model", "error", "", "scenario"]];
        foreach (ValidationResult r in results)
        {
            rows.Add([
                r.Point.Id,
                Value(r.Point.Published, r.Point.Unit),
                Value(r.Model, r.Point.Unit),
                Percent(r.ErrorPercent),
                r.Within(tolerance) ? "ok" : "MISS",
                r.Scenario + (r.Point.Calibrates is null ? "" : " [calibration]"),
            ]);
        }

        sb.Append(TextTable.Render(rows, column => column is 1 or 2 or 3)); // numbers right-aligned, names left
        if (detail)
        {
            foreach (ValidationResult r in results)
            {
                Datapoint d = r.Point;
                sb.AppendLine();
                sb.AppendLine($"{d.Id}: {d.What}");
                sb.AppendLine($"  setup:      {d.Setup}");
                sb.AppendLine($"  source:     {d.Source}");
                if (d.Assumption is not null)
                {
                    sb.AppendLine($"  assumption: {d.Assumption}");
                }

                if (d.Calibrates is not null)
                {
                    sb.AppendLine($"  calibrates: {d.Calibrates} (agreement is by construction)");
                }

                if (r.Causes.Count > 0)
                {
                    sb.AppendLine("  model by cause: " + string.Join(", ", r.Causes.Select(c => $"{c.Cause} {Value(c.Value, d.Unit)}")));
                }
            }
        }

        List<ValidationResult> misses = results.Where(r => !r.Within(tolerance)).ToList();
        if (misses.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"Beyond +-{tol}% ({misses.Count}):");
            // datapoints that share one explanation (the same mechanism missing) are listed together
            foreach (IGrouping<string, ValidationResult> g in misses.GroupBy(r => r.Point.Miss ?? ""))
            {
                string ids = string.Join(", ", g.Select(r => $"{r.Point.Id} ({Percent(r.ErrorPercent)})"));
                sb.AppendLine($"  {ids}:");
                sb.AppendLine($"    {(g.Key.Length > 0 ? g.Key : "no explanation recorded in the datapoint file")}");
            }
        }

        List<ValidationResult> calibration = results.Where(r => r.Point.Calibrates is not null).ToList();
        if (calibration.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Calibration rows (a profile value cites the datapoint, so agreement is by construction): "
                + string.Join("; ", calibration.Select(r => $"{r.Point.Id}: {r.Point.Calibrates}")));
        }

        int unexplained = misses.Count(r => r.Point.Miss is null);
        sb.AppendLine();
        sb.AppendLine($"{results.Count - misses.Count} of {results.Count} within +-{tol}%, {misses.Count} beyond"
            + (misses.Count == 0 ? "." : unexplained == 0 ? " (each explained above)." : $" ({unexplained} without an explanation)."));
        return sb.ToString();
    }

    public static string Json(string source, double tolerance, IReadOnlyList<ValidationResult> results)
    {
        return JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("data", source);
            w.WriteNumber("tolerancePercent", tolerance);
            w.WriteStartArray("results");
            foreach (ValidationResult r in results)
            {
                Datapoint d = r.Point;
                w.WriteStartObject();
                w.WriteString("id", d.Id);
                w.WriteString("what", d.What);
                w.WriteString("unit", Validator.UnitName(d.Unit));
                w.WriteNumber("published", d.Published);
                w.WriteNumber("model", Math.Round(r.Model, 6));
                w.WriteNumber("errorPercent", Math.Round(r.ErrorPercent, 3));
                w.WriteBoolean("within", r.Within(tolerance));
                w.WriteString("scenario", r.Scenario);
                w.WriteString("setup", d.Setup);
                w.WriteString("source", d.Source);
                WriteOptional(w, "assumption", d.Assumption);
                WriteOptional(w, "calibrates", d.Calibrates);
                WriteOptional(w, "miss", d.Miss);
                w.WriteStartObject("causes");
                foreach (CauseShare c in r.Causes)
                {
                    w.WriteNumber(c.Cause, Math.Round(c.Value, 6));
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static string Value(double v, PublishedUnit unit) => unit switch
    {
        PublishedUnit.Microseconds => v.ToString("0.0000", s_inv) + " us",
        PublishedUnit.Nanoseconds => v.ToString("0.0", s_inv) + " ns",
        PublishedUnit.Cycles => v.ToString("0", s_inv) + " cycles",
        _ => v.ToString("0", s_inv) + " bytes",
    };

    private static string Percent(double p) => (p >= 0 ? "+" : "") + p.ToString("F1", s_inv) + "%";
}
