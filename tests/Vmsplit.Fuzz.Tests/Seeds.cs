using System.Globalization;
using System.Text;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Lab.Validation;

namespace Vmsplit.Fuzz.Tests;

/// <summary>The shipped files the mutator starts from, and a generator of workload files from their schema.</summary>
internal static class Seeds
{
    public static readonly IReadOnlyList<string> Profiles = CpuProfiles.Shipped.Select(p => CpuProfiles.ShippedText(p.Id)!).ToList();

    public static readonly string Datapoints = ReadDatapoints();

    /// <summary>The datapoint file cut into single-datapoint files (cheap enough to run through vmsplit validate).</summary>
    public static readonly IReadOnlyList<string> SingleDatapoints = Datapoints
        .Split("\n  - id: ")
        .Skip(1)
        .Select(d => "datapoints:\n  - id: " + d.TrimEnd() + "\n")
        .ToList();

    public static readonly IReadOnlyList<string> WorkloadExamples = Directory
        .GetFiles(Path.Combine(AppContext.BaseDirectory, "seeds", "workloads"), "*.yaml")
        .Order(StringComparer.Ordinal)
        .Select(File.ReadAllText)
        .ToList();

    /// <summary>
    /// A workload file from the schema: each field valid but for a few percent of them, and a schedule that
    /// mostly follows the running process and returns to process 0 — so that about half of them parse and
    /// run, and the rest break one rule at a time.
    /// </summary>
    public static string Workload(FuzzRandom r)
    {
        string V(string[] valid, string[] invalid) => r.Chance(4) ? r.Pick(invalid) : r.Pick(valid);
        int processes = r.Between(1, 3);
        StringBuilder b = new();
        b.Append("name: gen").Append(r.Below(1000)).Append('\n');
        b.Append("processes: ").Append(V([processes.ToString(CultureInfo.InvariantCulture)], ["0", "65", "-1", "1.5", "x"])).Append('\n');
        bool file = r.Chance(40);
        if (file)
        {
            b.Append("file: ").Append(V(["64K", "1M", "4K"], ["0", "5G", "-1", "4097"])).Append('\n');
        }

        if (r.Chance(60))
        {
            b.Append("ops: ").Append(V(["1", "2", "10"], ["0", "10000001", "1e3"])).Append('\n');
        }

        List<string> regions = [];
        b.Append("regions:\n");
        for (int i = r.Between(1, 3); i > 0; i--)
        {
            string name = V([$"r{i}"], ["r1", "", "\"two\\nlines\""]);
            regions.Add(name);
            b.Append("  - { name: ").Append(name).Append(", size: ").Append(V(["4K", "8K", "64K", "1M"], ["6000", "0", "17G", "1E", "-4K", "4Q"]));
            if (r.Chance(30))
            {
                b.Append(", prefault: ").Append(V(["true", "false"], ["maybe", "1"]));
            }

            if (r.Chance(15))
            {
                b.Append(", kind: ").Append(V(["file", "anonymous"], ["device"]));
            }

            b.Append(" }\n");
        }

        b.Append("operation:\n");
        int running = 0;
        HashSet<string> unmapped = [];
        int steps = r.Between(1, 7);
        for (int i = 0; i < steps; i++)
        {
            List<string> fields = [];
            List<string> mapped = regions.Where(x => !unmapped.Contains(x)).ToList();
            string region = mapped.Count > 0 && r.Chance(95) ? r.Pick(mapped) : r.Pick(regions);
            int process = r.Chance(92) ? running : r.Below(processes + 1);
            bool last = i == steps - 1;
            int kind = last && running != 0 ? 0 : r.Below(5);
            switch (kind)
            {
                case 0 when processes > 1 || r.Chance(5):
                    int to = last || r.Chance(50) ? 0 : r.Below(processes);
                    if (to == running && r.Chance(95))
                    {
                        to = (running + 1) % Math.Max(processes, 1);
                    }

                    fields.Add("switch: " + to);
                    running = to;
                    break;
                case 1:
                    fields.Add("touch: " + region);
                    if (r.Chance(50))
                    {
                        fields.Add("bytes: " + V(["1", "4K"], ["0", "5G", "8K"]));
                    }

                    if (r.Chance(30))
                    {
                        fields.Add("offset: " + V(["0", "2K"], ["4K", "1M", "-1"]));
                    }

                    if (r.Chance(30))
                    {
                        fields.Add("write: " + V(["true", "false"], ["sometimes"]));
                    }

                    break;
                case 2 when !unmapped.Contains(region) || r.Chance(5):
                    fields.Add("syscall: munmap");
                    fields.Add("region: " + region);
                    unmapped.Add(region);
                    break;
                case 3 when unmapped.Count > 0:
                    string back = unmapped.First();
                    fields.Add("syscall: mmap");
                    fields.Add("region: " + back);
                    unmapped.Remove(back);
                    break;
                default:
                    string call = V(["getppid", "read", "write", "stat", "open", "close"], ["fork", "wait4", "nope", "GETPPID1"]);
                    fields.Add("syscall: " + call);
                    if (call is "read" or "write")
                    {
                        fields.Add("file: " + (file ? V(["zero", "null", "pagecache", "pipe"], ["disk"]) : V(["zero", "null", "pipe"], ["pagecache"])));
                        fields.Add("bytes: " + V(["1", "64", "4K"], ["0", "8K", "1M"]));
                    }

                    if (call is "read" or "write" or "stat" || r.Chance(10))
                    {
                        fields.Add("region: " + region);
                    }

                    break;
            }

            if (process != 0 || r.Chance(20))
            {
                fields.Add("process: " + process);
            }

            if (r.Chance(20))
            {
                fields.Add("repeat: " + V(["1", "2", "3"], ["1000000", "0", "-1"]));
            }

            if (r.Chance(15))
            {
                fields.Add("every: " + V(["1", "2"], ["0", "3"]));
            }

            b.Append("  - { ").AppendJoin(", ", fields).Append(" }\n");
        }

        foreach (string region in unmapped)
        {
            if (r.Chance(95))
            {
                b.Append("  - { syscall: mmap, region: ").Append(region).Append(running == 0 ? "" : $", process: {running}").Append(" }\n");
            }
        }

        return b.ToString();
    }

    private static string ReadDatapoints()
    {
        using Stream s = typeof(DatapointFile).Assembly.GetManifestResourceStream(DatapointFile.ShippedName)!;
        using StreamReader reader = new(s);
        return reader.ReadToEnd();
    }
}
