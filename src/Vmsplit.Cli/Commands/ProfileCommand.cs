using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit profile list</c> and <c>vmsplit profile show NAME [--json] [--file PATH]</c>: the CPU
/// profiles and every number in them with its source or assumption.
/// </summary>
public static class ProfileCommand
{
    public static Command Create(TextWriter stdout)
    {
        Command list = new("list", "List the shipped CPU profiles.");
        list.SetAction(_ =>
        {
            WriteList(stdout);
            return VmsplitCli.ExitOk;
        });

        Argument<string?> name = new("name") { Description = "a shipped profile id (see 'vmsplit profile list')", Arity = ArgumentArity.ZeroOrOne };
        Option<string?> file = new("--file") { Description = "load a profile from this YAML file instead of a shipped one" };
        Option<bool> json = new("--json") { Description = "print one JSON object" };
        Command show = new("show", "Show one CPU profile: geometry, costs, and the source or assumption behind every number.") { name, file, json };
        show.SetAction(parse =>
        {
            CpuProfile profile = Resolve(parse.GetValue(name), parse.GetValue(file));
            if (parse.GetValue(json))
            {
                WriteJson(stdout, profile);
            }
            else
            {
                WriteShow(stdout, profile);
            }

            return VmsplitCli.ExitOk;
        });

        return new Command("profile", "CPU profiles: TLB geometry, ASID width and primitive costs, each with its source.") { list, show };
    }

    private static CpuProfile Resolve(string? name, string? file)
    {
        if (name is not null && file is not null)
        {
            throw new UsageException($"profile show: give a profile name or --file, not both ('{name}' and --file {file})");
        }

        if (file is not null)
        {
            try
            {
                return CpuProfileLoader.LoadFile(file);
            }
            catch (ProfileFormatException e)
            {
                throw new UsageException(e.Message);
            }
        }

        if (name is null)
        {
            throw new UsageException("profile show: name a profile (" + string.Join(", ", CpuProfiles.Shipped.Select(p => p.Id)) + ") or give --file PATH");
        }

        return CpuProfiles.Find(name)
            ?? throw new UsageException($"profile show: unknown profile '{name}' (known: {string.Join(", ", CpuProfiles.Shipped.Select(p => p.Id))})");
    }

    private static string Geometry(IReadOnlyList<TlbLevelConfig> levels)
    {
        if (levels.Count == 0)
        {
            return "-";
        }

        return string.Join(" + ", levels.Select(l => l.Ways == l.Entries
            ? $"{l.Entries} full"
            : $"{l.Entries}x{l.Ways}w"));
    }

    // The features the CPU has, by their short names (global pages go without saying unless missing).
    private static string Features(CpuProfile p)
    {
        List<string> names = [.. CpuFeatureExtensions.For(p.Architecture).Where(f => f != CpuFeature.Global && p.Has(f)).Select(f => f.Display())];
        if (!p.Has(CpuFeature.Global))
        {
            names.Insert(0, "no-global");
        }

        return names.Count == 0 ? "-" : string.Join(",", names);
    }

    private static void WriteList(TextWriter o)
    {
        List<string[]> rows = [["id", "arch", "clock", "ASID", "features", "micro I", "micro D", "main TLB", "walk cache", "assumed", "name"]];
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            rows.Add(
            [
                p.Id,
                p.Architecture.ToString().ToLowerInvariant(),
                p.ClockMhz.ToString(CultureInfo.InvariantCulture) + " MHz",
                p.Tlb.AsidBits == 0 ? "none" : p.Tlb.AsidBits + " bits",
                Features(p),
                Geometry(p.Tlb.MicroI),
                Geometry(p.Tlb.MicroD),
                Geometry(p.Tlb.Main),
                p.Tlb.WalkCaches.Count == 0 ? "-" : string.Join(" + ", p.Tlb.WalkCaches.Select(w => $"{w.Entries}x{w.Ways}w")),
                $"{p.Assumptions.Count()}/{p.Entries.Count}",
                p.Name,
            ]);
        }

        WriteTable(o, rows);
        o.WriteLine();
        o.WriteLine("'assumed' counts the values marked as assumptions; 'vmsplit profile show ID' prints each with its source or reasoning.");
    }

    private static void WriteShow(TextWriter o, CpuProfile p)
    {
        o.WriteLine($"{p.Id}: {p.Name}");
        o.WriteLine($"file: {p.File}");
        o.WriteLine($"architecture: {p.Architecture.ToString().ToLowerInvariant()}   MMU formats: {string.Join(", ", p.MmuFormats)}");
        o.WriteLine();
        List<string[]> rows = [["field", "value", "kind", "source or assumption"]];
        foreach (ProfileEntry e in p.Entries)
        {
            rows.Add([e.Path, e.Value, e.Kind, e.Provenance]);
        }

        WriteTable(o, rows);
        int assumed = p.Assumptions.Count();
        o.WriteLine();
        o.WriteLine($"{p.Entries.Count} values: {p.Entries.Count - assumed} from sources, {assumed} assumptions (docs/profiles.md lists the gaps they fill)");
    }

    private static void WriteTable(TextWriter o, List<string[]> rows)
    {
        int columns = rows[0].Length;
        int[] width = new int[columns];
        foreach (string[] row in rows)
        {
            for (int i = 0; i < columns - 1; i++)
            {
                width[i] = Math.Max(width[i], row[i].Length);
            }
        }

        StringBuilder sb = new();
        foreach (string[] row in rows)
        {
            sb.Clear();
            for (int i = 0; i < columns; i++)
            {
                sb.Append(i < columns - 1 ? row[i].PadRight(width[i] + 2) : row[i]);
            }

            o.WriteLine(sb.ToString().TrimEnd());
        }
    }

    private static void WriteJson(TextWriter o, CpuProfile p)
    {
        o.Write(JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", p.Id);
            w.WriteString("name", p.Name);
            w.WriteString("file", p.File);
            w.WriteString("architecture", p.Architecture.ToString().ToLowerInvariant());
            w.WriteStartArray("mmuFormats");
            foreach (Hardware.Paging.MmuFormat f in p.MmuFormats)
            {
                w.WriteStringValue(f.ToString());
            }

            w.WriteEndArray();
            w.WriteNumber("clockMhz", p.ClockMhz);
            w.WriteNumber("asidBits", p.Tlb.AsidBits);
            w.WriteBoolean("pcid", p.Tlb.HasPcid);
            w.WriteBoolean("invpcid", p.Tlb.HasInvpcid);
            w.WriteStartObject("features");
            foreach (CpuFeature f in CpuFeatureExtensions.For(p.Architecture))
            {
                w.WriteBoolean(f.Key(), p.Has(f));
            }

            w.WriteEndObject();
            w.WriteStartArray("values");
            foreach (ProfileEntry e in p.Entries)
            {
                w.WriteStartObject();
                w.WriteString("field", e.Path);
                w.WriteString("value", e.Value);
                w.WriteString(e.Kind, e.Provenance);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("assumptions", p.Assumptions.Count());
            w.WriteEndObject();
        }));
    }
}
