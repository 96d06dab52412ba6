using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Workloads;
using YamlDotNet.RepresentationModel;

namespace Vmsplit.Lab.Sweep;

/// <summary>A sweep file that cannot be read: one line, "FILE:LINE: field: problem".</summary>
public sealed class SweepFileException(string message) : Exception(message);

/// <summary>What a sweep records per run besides its axes and its status.</summary>
[Flags]
public enum SweepRecord
{
    None = 0,

    /// <summary>ns and cycles per operation, the overhead against the baseline design, context switches per operation.</summary>
    Time = 1,

    /// <summary>ns per operation of every cause.</summary>
    Causes = 2,

    /// <summary>the measured phase's TLB counters.</summary>
    Tlb = 4,

    All = Time | Causes | Tlb,
}

/// <summary>One value of the machine axis: a shipped profile id or a profile file.</summary>
public sealed record SweepMachine(string Name, CpuProfile Profile);

/// <summary>One value of the workload axis: its name as rows show it, and the workload.</summary>
/// <param name="Bytes">the size parameter of wss (its working set) or dd (its block), else null</param>
/// <param name="Pages">the pages wss touches per system call, else null</param>
public sealed record SweepWorkload(string Name, Workload Workload, ulong? Bytes, ulong? Pages);

/// <summary>
/// A parsed sweep file: the axes whose product is the run set, the baseline design overheads are measured
/// against, and what to record. Runs are numbered in the order machine, architecture, RAM, workload, CPUs,
/// seed, operations, design (design innermost, the baseline first), so a cell (one value of every axis but the
/// design) is a contiguous block of runs.
/// </summary>
public sealed class SweepSpec
{
    public required string Name { get; init; }

    public required string Source { get; init; }

    /// <summary>SHA-256 of the sweep file and every file it names (workloads, profiles), hex: shards of one sweep agree on it.</summary>
    public required string Hash { get; init; }

    public required IReadOnlyList<SweepMachine> Machines { get; init; }

    /// <summary>The architectures; null: each machine's own (<see cref="MachineSpec.DefaultArch"/>).</summary>
    public required IReadOnlyList<KernelArch>? Architectures { get; init; }

    /// <summary>The designs, the baseline first.</summary>
    public required IReadOnlyList<string> Designs { get; init; }

    public required IReadOnlyList<ulong> Ram { get; init; }

    public required IReadOnlyList<SweepWorkload> Workloads { get; init; }

    public required IReadOnlyList<int> Cpus { get; init; }

    public required IReadOnlyList<ulong> Seeds { get; init; }

    /// <summary>Measured operations; null: the workload's default.</summary>
    public required IReadOnlyList<int?> Ops { get; init; }

    public required SweepRecord Record { get; init; }

    public string Baseline => Designs[0];

    public int ArchCount => Architectures?.Count ?? 1;

    /// <summary>Runs per cell: one per design.</summary>
    public int DesignCount => Designs.Count;

    public long Cells => (long)Machines.Count * ArchCount * Ram.Count * Workloads.Count * Cpus.Count * Seeds.Count * Ops.Count;

    public long Runs => Cells * DesignCount;
}

/// <summary>Reads sweep files through <see cref="SafeYaml"/>; see docs/sweeps.md for the format.</summary>
public static class SweepFile
{
    /// <summary>The most runs one sweep may have (an assumption: a day of a 64-core cluster at ten runs a second per core).</summary>
    public const long MaxRuns = 100_000_000;

    private static readonly string[] s_keys = ["name", "description", "machines", "architectures", "designs", "baseline", "ram", "workloads", "cpus", "seeds", "ops", "record"];

    public static SweepSpec Load(string path)
    {
        string text = SafeYaml.ReadFile(path, m => new SweepFileException(m));
        return Parse(text, path);
    }

    public static SweepSpec Parse(string text, string source)
    {
        Func<string, Exception> fail = m => new SweepFileException(m);
        YamlMappingNode root = SafeYaml.LoadMapping(text, source, "a mapping with machines, designs, ram and workloads (docs/sweeps.md)", fail);
        YamlFieldReader r = new(source, fail);
        r.CheckKeys(root, "", s_keys);
        string directory = Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".";
        StringBuilder hashed = new(text);

        string name = r.String(root, "name") ?? Path.GetFileNameWithoutExtension(source);
        if (name.Any(char.IsControl) || name.Length > 100)
        {
            throw r.Error(r.Child(root, "name")!, "name", "expected one line of at most 100 characters");
        }

        List<SweepMachine> machines = [];
        foreach ((YamlNode node, string value) in Values(r, root, "machines", required: true))
        {
            CpuProfile profile;
            try
            {
                profile = MachineSpec.IsProfileFile(value) ? MachineSpec.Resolve(Path.Combine(directory, value)) : MachineSpec.Resolve(value);
            }
            catch (LabException e)
            {
                throw r.Error(node, "machines", e.Message);
            }

            if (MachineSpec.IsProfileFile(value))
            {
                hashed.Append('\0').Append(File.ReadAllText(Path.Combine(directory, value)));
            }

            machines.Add(new SweepMachine(MachineSpec.IsProfileFile(value) ? value : profile.Id, profile));
        }

        Unique(r, root, "machines", machines.Select(m => m.Name));

        List<KernelArch>? arches = null;
        if (r.Child(root, "architectures") is not null)
        {
            arches = [];
            foreach ((YamlNode node, string value) in Values(r, root, "architectures", required: true))
            {
                arches.Add(KernelArchitectures.TryParse(value, false, false, out KernelArch a, out string error) ? a : throw r.Error(node, "architectures", error));
            }

            Unique(r, root, "architectures", arches.Select(a => a.Name()));
        }

        List<string> designs = [];
        foreach ((YamlNode node, string value) in Values(r, root, "designs", required: true))
        {
            string baseName = value.Split('+', 2)[0].Trim().ToLowerInvariant();
            if (!DesignSpec.Bases.Contains(baseName))
            {
                throw r.Error(node, "designs", $"unknown design {InputText.Quote(value)} (bases: {string.Join(", ", DesignSpec.Bases)})" + Suggestions.DidYouMean(baseName, DesignSpec.Bases));
            }

            designs.Add(value.Trim());
        }

        Unique(r, root, "designs", designs);
        string baseline = r.String(root, "baseline") ?? designs[0];
        if (!designs.Contains(baseline))
        {
            throw r.Error(r.Child(root, "baseline")!, "baseline", $"{InputText.Quote(baseline)} is not among the designs ({string.Join(", ", designs)})");
        }

        designs.Remove(baseline);
        designs.Insert(0, baseline);

        List<ulong> ram = [];
        foreach ((YamlNode node, string value) in Values(r, root, "ram", required: true))
        {
            ulong bytes = r.SizeValue(node, "ram", value, 64 * ByteSize.MiB, 1UL << 40);
            if (bytes % 4096 != 0)
            {
                throw r.Error(node, "ram", $"{value} is not a multiple of 4K");
            }

            ram.Add(bytes);
        }

        Unique(r, root, "ram", ram.Select(b => b.ToString(CultureInfo.InvariantCulture)));

        List<SweepWorkload> workloads = ParseWorkloads(r, root, directory, hashed);
        Unique(r, root, "workloads", workloads.Select(w => w.Name));

        List<int> cpus = [];
        foreach ((YamlNode node, string value) in Values(r, root, "cpus", required: false, fallback: "1"))
        {
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
            {
                throw r.Error(node, "cpus", $"{InputText.Quote(value)} is not a positive integer");
            }

            if (n != 1)
            {
                throw r.Error(node, "cpus", $"{n} CPUs: the model runs one CPU today (no SMP, no shootdown IPIs); only cpus: [1] is accepted until multi-CPU lands");
            }

            cpus.Add(n);
        }

        Unique(r, root, "cpus", cpus.Select(c => c.ToString(CultureInfo.InvariantCulture)));

        List<ulong> seeds = [];
        foreach ((YamlNode node, string value) in Values(r, root, "seeds", required: false, fallback: "1"))
        {
            seeds.Add(ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong s) ? s : throw r.Error(node, "seeds", $"{InputText.Quote(value)} is not a non-negative integer"));
        }

        Unique(r, root, "seeds", seeds.Select(s => s.ToString(CultureInfo.InvariantCulture)));

        List<int?> ops = [];
        foreach ((YamlNode node, string value) in Values(r, root, "ops", required: false, fallback: "default"))
        {
            if (value == "default")
            {
                ops.Add(null);
            }
            else if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= 10_000_000)
            {
                ops.Add(n);
            }
            else
            {
                throw r.Error(node, "ops", $"{InputText.Quote(value)} is not default or an integer in [1, 10000000]");
            }
        }

        Unique(r, root, "ops", ops.Select(o => o?.ToString(CultureInfo.InvariantCulture) ?? "default"));

        SweepRecord record = SweepRecord.None;
        foreach ((YamlNode node, string value) in Values(r, root, "record", required: false, fallback: "all"))
        {
            record |= value switch
            {
                "all" => SweepRecord.All,
                "time" => SweepRecord.Time,
                "causes" => SweepRecord.Causes,
                "tlb" => SweepRecord.Tlb,
                _ => throw r.Error(node, "record", $"{InputText.Quote(value)} is not time, causes, tlb or all" + Suggestions.DidYouMean(value, ["time", "causes", "tlb", "all"])),
            };
        }

        SweepSpec spec = new()
        {
            Name = name,
            Source = source,
            Hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hashed.ToString()))),
            Machines = machines,
            Architectures = arches,
            Designs = designs,
            Ram = ram,
            Workloads = workloads,
            Cpus = cpus,
            Seeds = seeds,
            Ops = ops,
            Record = record,
        };
        if ((double)spec.Cells * spec.DesignCount > MaxRuns)
        {
            throw r.At(1, "", $"the axes' product is {(double)spec.Cells * spec.DesignCount:0.#e+0} runs; a sweep may have at most {MaxRuns:N0}");
        }

        return spec;
    }

    private static List<SweepWorkload> ParseWorkloads(YamlFieldReader r, YamlMappingNode root, string directory, StringBuilder hashed)
    {
        YamlNode node = r.Child(root, "workloads") ?? throw r.Error(root, "workloads", "missing");
        IEnumerable<YamlNode> items = node is YamlSequenceNode seq ? seq.Children : [node];
        List<SweepWorkload> list = [];
        foreach (YamlNode item in items)
        {
            if (item is YamlScalarNode)
            {
                string name = r.Scalar(item, "workloads").Trim();
                list.Add(Builtin(r, item, name));
                continue;
            }

            YamlMappingNode m = r.Mapping(item, "workloads[]");
            if (r.Child(m, "file") is not null)
            {
                r.CheckKeys(m, "workloads[].", "file");
                string file = r.String(m, "file")!;
                string full = Path.Combine(directory, file);
                try
                {
                    Workload w = WorkloadFile.Load(full);
                    hashed.Append('\0').Append(File.ReadAllText(full));
                    list.Add(new SweepWorkload(w.Name, w, null, null));
                }
                catch (WorkloadException e)
                {
                    throw r.Error(r.Child(m, "file")!, "workloads[].file", e.Message);
                }

                continue;
            }

            // a built-in workload with swept parameters: { builtin: wss, size: [64K, 1M], pages: [1, 16] }
            r.CheckKeys(m, "workloads[].", "builtin", "size", "pages", "block");
            string builtin = r.String(m, "builtin", required: true)!.ToLowerInvariant();
            List<string> names = builtin switch
            {
                "wss" => Product(Texts(r, m, "size"), r.Child(m, "pages") is null ? [null] : Texts(r, m, "pages").Cast<string?>().ToList())
                    .Select(p => p.B is null ? $"wss:{p.A}" : $"wss:{p.A}:{p.B}").ToList(),
                "dd" => Texts(r, m, "block").Select(b => $"dd:{b}").ToList(),
                _ => throw r.Error(r.Child(m, "builtin")!, "workloads[].builtin", $"{InputText.Quote(builtin)} takes no parameters (wss takes size and pages, dd takes block); name it as a plain list item"),
            };
            if (builtin == "dd" && (r.Child(m, "size") is not null || r.Child(m, "pages") is not null))
            {
                throw r.Error(m, "workloads[]", "dd takes block, not size or pages");
            }

            if (builtin == "wss" && r.Child(m, "block") is not null)
            {
                throw r.Error(m, "workloads[]", "wss takes size and pages, not block");
            }

            foreach (string n in names)
            {
                list.Add(Builtin(r, m, n));
            }
        }

        return list.Count > 0 ? list : throw r.Error(node, "workloads", "empty list");
    }

    private static List<(string A, string? B)> Product(List<string> a, List<string?> b) => [.. a.SelectMany(x => b.Select(y => (x, y)))];

    private static List<string> Texts(YamlFieldReader r, YamlMappingNode m, string key)
    {
        YamlNode n = r.Child(m, key) ?? throw r.Error(m, "workloads[]." + key, "missing");
        IEnumerable<YamlNode> items = n is YamlSequenceNode s ? s.Children : [n];
        List<string> values = items.Select(i => r.Scalar(i, "workloads[]." + key).Trim()).ToList();
        return values.Count > 0 && values.All(v => v.Length > 0) ? values : throw r.Error(n, "workloads[]." + key, "expected values");
    }

    private static SweepWorkload Builtin(YamlFieldReader r, YamlNode node, string name)
    {
        Workload w;
        try
        {
            w = BuiltinWorkloads.Get(name);
        }
        catch (WorkloadException e)
        {
            throw r.Error(node, "workloads", e.Message);
        }

        string[] parts = name.ToLowerInvariant().Split(':');
        ulong? bytes = null;
        ulong? pages = null;
        if (parts.Length > 1)
        {
            bytes = ByteSize.Parse(parts[1]);
            if (parts[0] == "wss")
            {
                pages = parts.Length > 2 ? ulong.Parse(parts[2], CultureInfo.InvariantCulture) : bytes / 4096;
            }
        }

        return new SweepWorkload(w.Name, w, bytes, pages);
    }

    private static IEnumerable<(YamlNode Node, string Value)> Values(YamlFieldReader r, YamlMappingNode root, string key, bool required, string? fallback = null)
    {
        YamlNode? n = r.Child(root, key);
        if (n is null)
        {
            if (required)
            {
                throw r.Error(root, key, "missing");
            }

            return [(root, fallback!)];
        }

        IEnumerable<YamlNode> items = n is YamlSequenceNode s ? s.Children : [n];
        List<(YamlNode, string)> values = [];
        foreach (YamlNode i in items)
        {
            string v = r.Scalar(i, key).Trim();
            values.Add(v.Length > 0 ? (i, v) : throw r.Error(i, key, "empty value"));
        }

        return values.Count > 0 ? values : throw r.Error(n, key, "empty list");
    }

    private static void Unique(YamlFieldReader r, YamlMappingNode root, string key, IEnumerable<string> values)
    {
        HashSet<string> seen = new(StringComparer.Ordinal);
        foreach (string v in values)
        {
            if (!seen.Add(v))
            {
                throw r.Error(r.Child(root, key) ?? root, key, $"{InputText.Quote(v)} is listed twice");
            }
        }
    }
}
