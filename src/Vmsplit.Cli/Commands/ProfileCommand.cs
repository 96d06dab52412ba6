using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit profile list</c> and <c>vmsplit profile show NAME [--json] [--file PATH]</c>: the CPU
/// profiles and every number in them with its source or assumption.
/// </summary>
public static class ProfileCommand
{
    public static Command Create(TextWriter stdout)
    {
        OutputConvention listIo = new(["text", "json"]);
        Option<bool> listJson = new("--json") { Description = "same as --format json" };
        Command list = new("list", "List the shipped CPU profiles.");
        listIo.AddTo(list);
        list.Options.Add(listJson);
        list.SetAction(parse =>
        {
            string format = listIo.Resolve(parse, parse.GetValue(listJson) ? "json" : null, "--json");
            CommandOutputs outputs = new(stdout);
            OutputTarget? target = listIo.Claim(outputs, parse);
            string Render() => format == "json" ? ListJson() : ListText();
            outputs.WriteAll(target is null ? Render() : null, (target, Render));
            return VmsplitCli.ExitOk;
        });

        Argument<string?> name = new("name") { Description = "a shipped profile id (see 'vmsplit profile list') or a profile file (a path)", Arity = ArgumentArity.ZeroOrOne };
        Option<string?> file = new("--file") { Description = "load a profile from this YAML file instead of a shipped one" };
        OutputConvention showIo = new(["text", "json", "yaml"]);
        Option<bool> json = new("--json") { Description = "same as --format json" };
        Command show = new("show", "Show one CPU profile: geometry, costs, and the source or assumption behind every number (--format yaml prints the file, to copy and edit).") { name, file };
        showIo.AddTo(show);
        show.Options.Add(json);
        show.SetAction(parse =>
        {
            string format = showIo.Resolve(parse, parse.GetValue(json) ? "json" : null, "--json");
            CommandOutputs outputs = new(stdout);
            OutputTarget? target = showIo.Claim(outputs, parse);
            CpuProfile profile = Resolve(parse.GetValue(name), parse.GetValue(file));
            if (target is not null)
            {
                outputs.Reads(parse.GetValue(file) is not null ? "--file" : "name", profile.File);
            }

            string Render() => format switch
            {
                "json" => ShowJson(profile),
                "yaml" => Yaml(profile),
                _ => ShowText(profile),
            };
            outputs.WriteAll(target is null ? Render() : null, (target, Render));
            return VmsplitCli.ExitOk;
        });

        Command group = new("profile", "CPU profiles: TLB geometry, ASID width and primitive costs, each with its source.") { list, show };
        return group;
    }

    private static CpuProfile Resolve(string? name, string? file)
    {
        if (name is not null && file is not null)
        {
            throw new UsageException($"profile show: give a profile name or --file, not both ('{name}' and --file {file})");
        }

        if (name is not null && Lab.MachineSpec.IsProfileFile(name))
        {
            file = name;
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

        return CpuProfiles.Find(name.Trim())
            ?? throw new UsageException($"profile show: unknown profile '{name}' (known: {string.Join(", ", CpuProfiles.Shipped.Select(p => p.Id))})"
                + Suggestions.DidYouMean(name, CpuProfiles.Shipped.Select(p => p.Id)));
    }

    // The YAML a profile was read from: the shipped text, or the user's file as it is on disk.
    private static string Yaml(CpuProfile p)
    {
        if (CpuProfiles.Find(p.Id) is CpuProfile shipped && ReferenceEquals(shipped, p))
        {
            return CpuProfiles.ShippedText(p.Id)!;
        }

        try
        {
            return File.ReadAllText(p.File);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{p.File}: cannot read: {e.Message}");
        }
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

    private static string ListText()
    {
        StringWriter o = new();
        List<string[]> rows = [["id", "arch", "clock", "ASID", "features", "micro I", "micro D", "main TLB", "walk cache", "assumed", "name"]];
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            rows.Add(
            [
                p.Id,
                Lab.MachineSpec.DefaultArch(p).Name(),
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
        o.WriteLine("'arch' is the architecture --machine ID runs unless --arch names another it has (vmsplit profile show ID).");
        o.WriteLine("'assumed' counts the values marked as assumptions; 'vmsplit profile show ID' prints each with its source or reasoning.");
        o.WriteLine("Every command's --machine takes an id, or a copy of a profile: vmsplit profile show ID --format yaml > my-board.yaml.");
        return o.ToString();
    }

    private static string ShowText(CpuProfile p)
    {
        StringWriter o = new();
        o.WriteLine($"{p.Id}: {p.Name}");
        o.WriteLine($"file: {p.File}");
        o.WriteLine($"runs: {string.Join(", ", Lab.MachineSpec.ArchesOf(p).Select(a => a.Name()))} (default {Lab.MachineSpec.DefaultArch(p).Name()})   MMU formats: {string.Join(", ", p.MmuFormats.Select(f => Hardware.Paging.PageTableFormat.Get(f).Name))}");
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
        return o.ToString();
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

    private static string ListJson() => JsonText.Write(w =>
    {
        w.WriteStartArray();
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            w.WriteStartObject();
            w.WriteString("id", p.Id);
            w.WriteString("name", p.Name);
            w.WriteString("defaultArch", Lab.MachineSpec.DefaultArch(p).Name());
            w.WriteStartArray("arches");
            foreach (KernelArch a in Lab.MachineSpec.ArchesOf(p))
            {
                w.WriteStringValue(a.Name());
            }

            w.WriteEndArray();
            w.WriteNumber("clockMhz", p.ClockMhz);
            w.WriteNumber("asidBits", p.Tlb.AsidBits);
            w.WriteStartObject("features");
            foreach (CpuFeature f in CpuFeatureExtensions.For(p.Architecture))
            {
                w.WriteBoolean(f.Key(), p.Has(f));
            }

            w.WriteEndObject();
            w.WriteNumber("values", p.Entries.Count);
            w.WriteNumber("assumptions", p.Assumptions.Count());
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private static string ShowJson(CpuProfile p)
    {
        return JsonText.Write(w =>
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
        });
    }
}
