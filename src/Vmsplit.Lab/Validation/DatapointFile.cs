using System.Globalization;
using System.Text.RegularExpressions;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Kernel.Layout;
using Vmsplit.Workloads;
using YamlDotNet.RepresentationModel;

namespace Vmsplit.Lab.Validation;

/// <summary>
/// Reads the datapoint file (<c>validation/datapoints.yaml</c>, embedded in this assembly, or a user's
/// file with the same schema; docs/validation.md describes it). Every error names the file, the line
/// and the field.
/// </summary>
public static partial class DatapointFile
{
    /// <summary>The name the shipped file is reported under.</summary>
    public const string ShippedName = "validation/datapoints.yaml";

    private static readonly string[] s_pointKeys = ["id", "what", "published", "setup", "source", "model", "assumption", "calibrates", "miss"];
    private static readonly string[] s_modelKeys = ["machine", "arch", "ram", "measure", "design", "baseline", "workload", "per", "operation", "pages", "ops"];

    /// <summary>The datapoints shipped with Vmsplit.</summary>
    public static IReadOnlyList<Datapoint> Shipped()
    {
        using Stream s = typeof(DatapointFile).Assembly.GetManifestResourceStream(ShippedName)
            ?? throw new InvalidOperationException($"{ShippedName} is not embedded in the Lab assembly");
        using StreamReader reader = new(s);
        return Parse(reader.ReadToEnd(), ShippedName);
    }

    public static IReadOnlyList<Datapoint> Load(string path) => Parse(SafeYaml.ReadFile(path, message => new LabException(message)), path);

    public static IReadOnlyList<Datapoint> Parse(string text, string source)
    {
        YamlMappingNode root = SafeYaml.LoadMapping(text, source, "a mapping with a 'datapoints' list", message => new LabException(message));
        YamlFieldReader r = new(source, message => new LabException(message));
        r.CheckKeys(root, "", "datapoints");
        if (r.Child(root, "datapoints") is not YamlSequenceNode list || list.Children.Count == 0)
        {
            throw r.Error(r.Child(root, "datapoints") ?? root, "datapoints", "missing or empty (a list of datapoints)");
        }

        List<Datapoint> points = new();
        HashSet<string> ids = new(StringComparer.Ordinal);
        foreach (YamlNode node in list)
        {
            Datapoint d = ParsePoint(r, r.Mapping(node, "datapoints[]"), source);
            if (!ids.Add(d.Id))
            {
                throw r.Error(r.Child((YamlMappingNode)node, "id")!, "datapoints[].id", $"'{d.Id}' is used twice");
            }

            points.Add(d);
        }

        return points;
    }

    private static Datapoint ParsePoint(YamlFieldReader r, YamlMappingNode m, string source)
    {
        r.CheckKeys(m, "", s_pointKeys);
        string id = r.String(m, "id", required: true)!;
        if (!IdPattern().IsMatch(id))
        {
            throw r.Error(r.Child(m, "id")!, "id", $"{InputText.Quote(id)} is not a lower-case name of letters, digits and dashes");
        }

        (double value, PublishedUnit unit) = ParsePublished(r, m);
        YamlNode modelNode = r.Child(m, "model") ?? throw r.Error(m, "model", "missing");
        DatapointScenario scenario = ParseScenario(r, r.Mapping(modelNode, "model"), unit);
        return new Datapoint(
            id,
            r.String(m, "what", required: true)!,
            value,
            unit,
            r.String(m, "setup", required: true)!,
            r.String(m, "source", required: true)!,
            scenario,
            r.String(m, "assumption"),
            r.String(m, "calibrates"),
            r.String(m, "miss"),
            $"{InputText.ShowPath(source)}:{m.Start.Line}");
    }

    private static (double, PublishedUnit) ParsePublished(YamlFieldReader r, YamlMappingNode m)
    {
        string text = r.String(m, "published", required: true)!;
        YamlNode at = r.Child(m, "published")!;
        string[] parts = text.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2)
        {
            throw r.Error(at, "published", $"{InputText.Quote(text)} is not a number and a unit (us, ns, cycles, bytes), e.g. '0.1737 us'");
        }

        PublishedUnit unit = parts[1] switch
        {
            "us" or "µs" => PublishedUnit.Microseconds,
            "ns" => PublishedUnit.Nanoseconds,
            "cycles" => PublishedUnit.Cycles,
            "bytes" or "B" => PublishedUnit.Bytes,
            _ => throw r.Error(at, "published", $"unknown unit {InputText.Quote(parts[1])} (us, ns, cycles, bytes)"),
        };
        if (!double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || value <= 0)
        {
            throw r.Error(at, "published", $"{InputText.Quote(parts[0])} is not a positive number");
        }

        return (value, unit);
    }

    private static DatapointScenario ParseScenario(YamlFieldReader r, YamlMappingNode m, PublishedUnit unit)
    {
        r.CheckKeys(m, "model.", s_modelKeys);
        string profile = r.String(m, "machine", required: true)!;
        string arch = r.String(m, "arch", required: true)!;
        if (!KernelArchitectures.TryParse(arch, false, false, out _, out string archError))
        {
            throw r.Error(r.Child(m, "arch")!, "model.arch", archError);
        }

        ulong ram = r.Size(m, "ram", 64 * ByteSize.MiB, 1UL << 42, 0, required: true);
        string measureText = r.String(m, "measure", required: true)!;
        ValidationMeasure measure = measureText switch
        {
            "time-per-op" => ValidationMeasure.TimePerOp,
            "time-difference" => ValidationMeasure.TimeDifference,
            "flush-cycles" => ValidationMeasure.FlushCycles,
            "page-table-bytes-difference" => ValidationMeasure.PageTableBytesDifference,
            _ => throw r.Error(r.Child(m, "measure")!, "model.measure", $"{InputText.Quote(measureText)} is not time-per-op, time-difference, flush-cycles or page-table-bytes-difference"),
        };

        bool timeMeasure = measure is ValidationMeasure.TimePerOp or ValidationMeasure.TimeDifference or ValidationMeasure.FlushCycles;
        if (timeMeasure == (unit == PublishedUnit.Bytes))
        {
            throw r.Error(m, "published", $"a {measureText} datapoint cannot be published in {unit.ToString().ToLowerInvariant()}");
        }

        string design = r.String(m, "design", required: true)!;
        string? baseline = r.String(m, "baseline");
        bool needsBaseline = measure is ValidationMeasure.TimeDifference or ValidationMeasure.PageTableBytesDifference;
        if (needsBaseline != (baseline is not null))
        {
            throw r.Error(m, "model.baseline", needsBaseline ? $"missing (a {measureText} needs the design it is measured against)" : $"only a difference has a baseline");
        }

        string? workload = r.String(m, "workload");
        bool needsWorkload = measure is ValidationMeasure.TimePerOp or ValidationMeasure.TimeDifference;
        if (needsWorkload != (workload is not null))
        {
            throw r.Error(m, "model.workload", needsWorkload ? "missing (the workload whose time is measured)" : $"a {measureText} datapoint runs no workload");
        }

        string per = r.String(m, "per") ?? "operation";
        if (per is not ("operation" or "context-switch"))
        {
            throw r.Error(r.Child(m, "per")!, "model.per", $"{InputText.Quote(per)} is not operation or context-switch");
        }

        if (per != "operation" && !needsWorkload)
        {
            throw r.Error(r.Child(m, "per")!, "model.per", "only a workload's time can be divided per context switch");
        }

        FlushOperation operation = FlushOperation.FlushTlbMmRange;
        int pages = 0;
        string? opText = r.String(m, "operation");
        if ((measure == ValidationMeasure.FlushCycles) != (opText is not null))
        {
            throw r.Error(m, "model.operation", opText is null ? "missing (flush_tlb_mm_range, flush_tlb_local or flush_tlb_one_user)" : "only a flush-cycles datapoint has an operation");
        }

        if (opText is not null)
        {
            operation = opText switch
            {
                "flush_tlb_mm_range" => FlushOperation.FlushTlbMmRange,
                "flush_tlb_local" => FlushOperation.FlushTlbLocal,
                "flush_tlb_one_user" => FlushOperation.FlushTlbOneUser,
                _ => throw r.Error(r.Child(m, "operation")!, "model.operation", $"{InputText.Quote(opText)} is not flush_tlb_mm_range, flush_tlb_local or flush_tlb_one_user"),
            };
            string? pagesText = r.String(m, "pages");
            if (operation == FlushOperation.FlushTlbMmRange)
            {
                pages = pagesText == "all" ? DatapointScenario.AllPages : (int)r.Integer(m, "pages", 1, 65536, 0, required: true); // up to a 256 MiB buffer, mapped and touched
                if (pages > 0 && (ulong)pages * 4096 > ram / 2)
                {
                    throw r.Error(r.Child(m, "pages")!, "model.pages", $"a buffer of {pages} pages does not fit in half of the {ByteSize.Human(ram)} of RAM");
                }
            }
            else if (pagesText is not null)
            {
                throw r.Error(r.Child(m, "pages")!, "model.pages", $"{opText} takes no page count");
            }
        }
        else if (r.Child(m, "pages") is YamlNode p)
        {
            throw r.Error(p, "model.pages", "only a flush_tlb_mm_range datapoint has a page count");
        }

        int? ops = r.Child(m, "ops") is null ? null : (int)r.Integer(m, "ops", 1, 10_000_000, 0);
        return new DatapointScenario(profile, arch, ram, measure, design, baseline, workload, per == "context-switch", operation, pages, ops);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$")]
    private static partial Regex IdPattern();
}
