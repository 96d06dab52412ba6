using Vmsplit.Hardware;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vmsplit.Workloads;

/// <summary>
/// User-defined workloads from YAML: regions, an optional page-cache file, and the events of one
/// operation, each with a <c>repeat</c> count (rate per operation) and an <c>every</c> period. Errors
/// name the file, the line and the field.
/// </summary>
/// <example>
/// name: mix
/// processes: 2
/// file: 1M
/// regions: [ { name: buffer, size: 64K }, { name: heap, size: 8M, prefault: false } ]
/// ops: 1000
/// operation:
///   - { syscall: read, file: pagecache, bytes: 4K, region: buffer, repeat: 3 }
///   - { touch: heap, bytes: 1M, write: true }
///   - { switch: 1 }
///   - { syscall: getppid, process: 1, every: 10 }
///   - { switch: 0, process: 1 }
/// </example>
public static class WorkloadFile
{
    private const ulong Page = 4096;

    public static Workload Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WorkloadException($"{path}: cannot read: {e.Message}");
        }

        return Parse(text, path);
    }

    public static Workload Parse(string text, string source)
    {
        YamlStream yaml = new();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new WorkloadException($"{source}:{e.Start.Line}: malformed YAML: {FirstLine(e.Message)}");
        }

        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new WorkloadException($"{source}: expected a mapping with name, regions and operation");
        }

        YamlFieldReader r = new(source, message => new WorkloadException(message));
        r.CheckKeys(root, "", "name", "description", "processes", "file", "regions", "ops", "operation");
        string name = r.String(root, "name", required: true)!;
        string description = r.String(root, "description") ?? $"user workload from {Path.GetFileName(source)}";
        int processes = (int)r.Integer(root, "processes", 1, 64, 1);
        ulong fileBytes = r.Size(root, "file", 0, 1UL << 32, 0);
        int ops = (int)r.Integer(root, "ops", 1, 10_000_000, 1000);

        List<UserRegion> regions = new();
        if (r.Child(root, "regions") is YamlNode regionsNode)
        {
            if (regionsNode is not YamlSequenceNode seq)
            {
                throw r.Error(regionsNode, "regions", "expected a list");
            }

            foreach (YamlNode n in seq)
            {
                YamlMappingNode m = r.Mapping(n, "regions[]");
                r.CheckKeys(m, "regions[].", "name", "size", "prefault", "kind");
                string rn = r.String(m, "name", required: true)!;
                if (regions.Any(x => x.Name == rn))
                {
                    throw r.Error(n, "regions[].name", $"'{rn}' defined twice");
                }

                ulong size = r.Size(m, "size", Page, 1UL << 34, 0, required: true);
                if (size % Page != 0)
                {
                    throw r.Error(m, "regions[].size", $"{ByteSize.Format(size)} is not a multiple of 4K");
                }

                string kind = r.String(m, "kind") ?? "anonymous";
                if (kind is not ("anonymous" or "file"))
                {
                    throw r.Error(m, "regions[].kind", $"'{kind}' is not anonymous or file");
                }

                regions.Add(new UserRegion(rn, size, kind == "file" ? RegionKind.File : RegionKind.Anonymous, r.Bool(m, "prefault", true)));
            }
        }

        if (regions.Count == 0)
        {
            regions.Add(new UserRegion("buffer", Page));
        }

        if (r.Child(root, "operation") is not YamlSequenceNode opNode || opNode.Children.Count == 0)
        {
            throw new WorkloadException($"{source}: operation: missing or empty (a list of events)");
        }

        List<(WorkloadEvent Event, int Repeat, int Every)> steps = new();
        foreach (YamlNode n in opNode)
        {
            steps.Add(ParseEvent(r, r.Mapping(n, "operation[]"), regions, processes, fileBytes));
        }

        return new Workload(
            name,
            description,
            "user-defined",
            processes,
            regions,
            fileBytes,
            ops,
            (op, sink) =>
            {
                foreach ((WorkloadEvent e, int repeat, int every) in steps)
                {
                    if (op % every != 0)
                    {
                        continue;
                    }

                    for (int i = 0; i < repeat; i++)
                    {
                        sink.Add(e.File == FileKind.PageCache
                            ? e with { FileOffset = (e.FileOffset + ((ulong)(op * repeat + i) * e.Bytes)) % Math.Max(fileBytes, 1) }
                            : e);
                    }
                }
            });
    }

    private static (WorkloadEvent, int, int) ParseEvent(YamlFieldReader r, YamlMappingNode m, List<UserRegion> regions, int processes, ulong fileBytes)
    {
        r.CheckKeys(m, "operation[].", "syscall", "touch", "switch", "process", "file", "bytes", "region", "offset", "write", "repeat", "every", "path");
        int process = (int)r.Integer(m, "process", 0, processes - 1, 0);
        int repeat = (int)r.Integer(m, "repeat", 1, 1_000_000, 1);
        int every = (int)r.Integer(m, "every", 1, 1_000_000, 1);
        int kinds = (r.Child(m, "syscall") is null ? 0 : 1) + (r.Child(m, "touch") is null ? 0 : 1) + (r.Child(m, "switch") is null ? 0 : 1);
        if (kinds != 1)
        {
            throw r.Error(m, "operation[]", "each event needs exactly one of syscall, touch or switch");
        }

        int RegionIndex(string field, string? regionName)
        {
            if (regionName is null)
            {
                return 0;
            }

            int i = regions.FindIndex(x => x.Name == regionName);
            return i >= 0 ? i : throw r.Error(m, field, $"no region named '{regionName}'");
        }

        if (r.Child(m, "switch") is not null)
        {
            int to = (int)r.Integer(m, "switch", 0, processes - 1, 0, required: true);
            if (to == process)
            {
                throw r.Error(m, "operation[].switch", $"switch from process {process} to itself");
            }

            return (WorkloadEvent.Switch(process, to), repeat, every);
        }

        if (r.Child(m, "touch") is not null)
        {
            int region = RegionIndex("operation[].touch", r.String(m, "touch"));
            ulong size = regions[region].Size;
            ulong offset = r.Size(m, "offset", 0, size - 1, 0);
            ulong bytes = r.Size(m, "bytes", 1, size - offset, size - offset);
            return (WorkloadEvent.Touch(process, region, offset, bytes, r.Bool(m, "write", false)), repeat, every);
        }

        string callName = r.String(m, "syscall")!;
        if (!Enum.TryParse(callName, ignoreCase: true, out SyscallKind call) || callName.Any(char.IsDigit))
        {
            throw r.Error(m, "operation[].syscall", $"unknown system call '{callName}' (use {string.Join(", ", Enum.GetNames<SyscallKind>().Select(x => x.ToLowerInvariant()))})");
        }

        if (call is SyscallKind.Fork or SyscallKind.Exit or SyscallKind.Wait4)
        {
            throw r.Error(m, "operation[].syscall", $"{callName} is only available through the built-in fork-exit workload");
        }

        int reg = RegionIndex("operation[].region", r.String(m, "region"));
        if (call is SyscallKind.Read or SyscallKind.Write)
        {
            string fileName = r.String(m, "file") ?? "pagecache";
            FileKind file = fileName switch
            {
                "zero" => FileKind.DevZero,
                "null" => FileKind.DevNull,
                "pagecache" => FileKind.PageCache,
                "pipe" => FileKind.Pipe,
                _ => throw r.Error(m, "operation[].file", $"'{fileName}' is not zero, null, pagecache or pipe"),
            };
            if (file == FileKind.PageCache && fileBytes == 0)
            {
                throw r.Error(m, "operation[].file", "pagecache I/O needs a top-level 'file: SIZE'");
            }

            ulong limit = regions[reg].Size;
            ulong offset = r.Size(m, "offset", 0, limit - 1, 0);
            ulong bytes = r.Size(m, "bytes", 1, limit - offset, 1, required: true);
            if (file == FileKind.Pipe && bytes > Page)
            {
                throw r.Error(m, "operation[].bytes", "pipe transfers are limited to one page (PIPE_BUF semantics are not modelled beyond it)");
            }

            return (WorkloadEvent.Io(process, call, file, reg, offset, bytes), repeat, every);
        }

        if (call is SyscallKind.Stat or SyscallKind.Open)
        {
            ulong path = r.Size(m, "path", 2, 4096, 21);
            return (WorkloadEvent.Path(process, call, reg, path), repeat, every);
        }

        if (call is SyscallKind.Mmap or SyscallKind.Munmap)
        {
            if (r.Child(m, "region") is null)
            {
                throw r.Error(m, "operation[].region", $"{callName} needs the region it maps or unmaps");
            }

            return (new WorkloadEvent(EventKind.Syscall, process, call, Region: reg, Bytes: regions[reg].Size), repeat, every);
        }

        return (WorkloadEvent.Sys(process, call), repeat, every);
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
