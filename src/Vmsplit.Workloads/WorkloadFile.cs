using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Kernel.Abi;
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

    /// <summary>The most events one operation may emit (the sum of its steps' repeats): an operation's events are held in memory at once.</summary>
    public const long MaxEventsPerOperation = 1_000_000;

    public static Workload Load(string path) => Parse(SafeYaml.ReadFile(path, message => new WorkloadException(message)), path);

    public static Workload Parse(string text, string source)
    {
        YamlMappingNode root = SafeYaml.LoadMapping(text, source, "a mapping with name, regions and operation", message => new WorkloadException(message));
        YamlFieldReader r = new(source, message => new WorkloadException(message));
        r.CheckKeys(root, "", "name", "description", "processes", "file", "regions", "ops", "operation");
        string name = OneLineText(r, root, "name", required: true)!;
        string description = OneLineText(r, root, "description") ?? $"user workload from {Path.GetFileName(source)}";
        int processes = (int)r.Integer(root, "processes", 1, 64, 1);
        ulong fileBytes = r.Size(root, "file", 0, 1UL << 32, 0);
        int ops = (int)r.Integer(root, "ops", 1, 10_000_000, 1000);

        List<UserRegion> regions = new();
        if (r.Child(root, "regions") is YamlNode regionsNode)
        {
            foreach (YamlNode n in r.Sequence(regionsNode, "regions"))
            {
                YamlMappingNode m = r.Mapping(n, "regions[]");
                r.CheckKeys(m, "regions[].", "name", "size", "prefault", "kind");
                string rn = OneLineText(r, m, "name", required: true, field: "regions[].name")!;
                if (regions.Any(x => x.Name == rn))
                {
                    throw r.Error(n, "regions[].name", $"{InputText.Quote(rn)} defined twice");
                }

                ulong size = r.Size(m, "size", Page, 1UL << 34, 0, required: true);
                if (size % Page != 0)
                {
                    throw r.Error(r.Child(m, "size")!, "regions[].size", $"{ByteSize.Format(size)} is not a multiple of 4K");
                }

                string kind = r.String(m, "kind") ?? "anonymous";
                if (kind is not ("anonymous" or "file"))
                {
                    throw r.Error(r.Child(m, "kind")!, "regions[].kind", $"{InputText.Quote(kind)} is not anonymous or file");
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
            throw r.Error(r.Child(root, "operation") ?? root, "operation", "missing or empty (a list of events)");
        }

        List<Step> steps = new();
        long eventsPerOp = 0;
        long stepsPerOp = 0;
        foreach (YamlNode n in opNode)
        {
            Step step = ParseEvent(r, r.Mapping(n, "operation[]"), regions, processes, fileBytes);
            steps.Add(step);
            eventsPerOp += step.Repeat;
            stepsPerOp += step.Repeat * Workload.StepsOf(step.Event);
            if (eventsPerOp > MaxEventsPerOperation)
            {
                throw r.Error(n, "operation[].repeat", $"one operation would emit more than {MaxEventsPerOperation} events (the sum of the repeats); the events of an operation are held in memory at once");
            }
        }

        CheckSchedule(r, steps, regions, processes);
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
                foreach (Step step in steps)
                {
                    if (op % step.Every != 0)
                    {
                        continue;
                    }

                    WorkloadEvent e = step.Event;
                    for (int i = 0; i < step.Repeat; i++)
                    {
                        sink.Add(e.File == FileKind.PageCache
                            ? e with { FileOffset = (e.FileOffset + ((ulong)(op * step.Repeat + i) * e.Bytes)) % Math.Max(fileBytes, 1) }
                            : e);
                    }
                }
            },
            stepsPerOp);
    }

    /// <summary>
    /// Refuses a schedule the kernel cannot run. Every event must come from the process that is running
    /// (process 0 when an operation starts); a region must be mapped to be touched, read into, written from
    /// or unmapped, and unmapped to be mapped again (every region is mapped when the workload starts); and an
    /// operation must end as it began, process 0 running and every region mapped, so that the next one can
    /// start. Operation N runs the steps whose <c>every</c> divides N: all of them in operation 0, only the
    /// every-1 steps in operation 1; the schedule is checked for N = 0, 1 and each <c>every</c> value given
    /// (the Lab's runner checks the process of every event as it runs).
    /// </summary>
    private static void CheckSchedule(YamlFieldReader r, List<Step> steps, List<UserRegion> regions, int processes)
    {
        IEnumerable<long> ops = new long[] { 0, 1 }.Concat(steps.Select(s => (long)s.Every)).Distinct();
        foreach (long op in ops)
        {
            string when = op == 0 ? "" : $" (in operation {op}, which runs only the steps whose 'every' divides {op})";
            int running = 0;
            bool[,] unmapped = new bool[processes, regions.Count];
            Step? last = null;
            foreach (Step step in steps.Where(s => op % s.Every == 0))
            {
                last = step;
                WorkloadEvent e = step.Event;
                if (e.Process != running)
                {
                    string what = e.Kind switch
                    {
                        EventKind.ContextSwitch => "cannot switch away",
                        EventKind.UserTouch => "cannot touch memory",
                        _ => "cannot make a system call",
                    };
                    throw r.Error(step.Node, "operation[].process", $"process {e.Process} {what}: process {running} is running{when}");
                }

                if (e.Kind == EventKind.ContextSwitch)
                {
                    if (step.Repeat > 1)
                    {
                        throw r.Error(step.Node, "operation[].repeat", $"a switch cannot repeat: after the first, process {e.Target} is running, not {e.Process}");
                    }

                    running = e.Target;
                    continue;
                }

                bool usesRegion = e.Kind == EventKind.UserTouch || e.Call is SyscallKind.Mmap or SyscallKind.Munmap || e.Bytes > 0;
                if (!usesRegion)
                {
                    continue;
                }

                string region = InputText.Quote(regions[e.Region].Name);
                if (e.Call == SyscallKind.Mmap && e.Kind == EventKind.Syscall)
                {
                    if (!unmapped[e.Process, e.Region])
                    {
                        throw r.Error(step.Node, "operation[].region", $"mmap of region {region}, which process {e.Process} has mapped (every region is mapped when the workload starts; munmap it first){when}");
                    }

                    if (step.Repeat > 1)
                    {
                        throw r.Error(step.Node, "operation[].repeat", $"mmap of region {region} cannot repeat: after the first, the region is mapped");
                    }

                    unmapped[e.Process, e.Region] = false;
                }
                else if (unmapped[e.Process, e.Region])
                {
                    throw r.Error(step.Node, "operation[].region", $"region {region} is not mapped in process {e.Process} here (an earlier step unmapped it){when}");
                }
                else if (e.Call == SyscallKind.Munmap && e.Kind == EventKind.Syscall)
                {
                    if (step.Repeat > 1)
                    {
                        throw r.Error(step.Node, "operation[].repeat", $"munmap of region {region} cannot repeat: after the first, the region is not mapped");
                    }

                    unmapped[e.Process, e.Region] = true;
                }
            }

            if (running != 0)
            {
                throw r.Error(last!.Node, "operation[]", $"the operation ends with process {running} running; switch back to process 0 so that the next operation starts as this one did{when}");
            }

            for (int p = 0; p < processes; p++)
            {
                for (int i = 0; i < regions.Count; i++)
                {
                    if (unmapped[p, i])
                    {
                        throw r.Error(last!.Node, "operation[]", $"the operation ends with region {InputText.Quote(regions[i].Name)} unmapped in process {p}; mmap it again so that the next operation starts as this one did{when}");
                    }
                }
            }
        }
    }

    /// <summary>A text field printed in reports: one line, no control characters.</summary>
    private static string? OneLineText(YamlFieldReader r, YamlMappingNode m, string key, bool required = false, string? field = null)
    {
        string? s = r.String(m, key, required);
        if (s is not null && s.Any(char.IsControl))
        {
            throw r.Error(r.Child(m, key)!, field ?? key, $"{InputText.Quote(s)} must be one line of text without control characters");
        }

        return s;
    }

    private sealed record Step(WorkloadEvent Event, int Repeat, int Every, YamlNode Node);

    private static Step ParseEvent(YamlFieldReader r, YamlMappingNode m, List<UserRegion> regions, int processes, ulong fileBytes)
    {
        r.CheckKeys(m, "operation[].", "syscall", "touch", "switch", "process", "file", "bytes", "region", "offset", "write", "repeat", "every", "path", "buffer");
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
            return i >= 0 ? i : throw r.Error(m, field, $"no region named {InputText.Quote(regionName)}");
        }

        if (r.Child(m, "switch") is not null)
        {
            int to = (int)r.Integer(m, "switch", 0, processes - 1, 0, required: true);
            if (to == process)
            {
                throw r.Error(m, "operation[].switch", $"switch from process {process} to itself");
            }

            return new Step(WorkloadEvent.Switch(process, to), repeat, every, m);
        }

        if (r.Child(m, "touch") is not null)
        {
            int region = RegionIndex("operation[].touch", r.String(m, "touch"));
            ulong size = regions[region].Size;
            ulong offset = r.Size(m, "offset", 0, size - 1, 0);
            ulong bytes = r.Size(m, "bytes", 1, size - offset, size - offset);
            return new Step(WorkloadEvent.Touch(process, region, offset, bytes, r.Bool(m, "write", false)), repeat, every, m);
        }

        string callName = r.String(m, "syscall")!;
        if (!Enum.TryParse(callName, ignoreCase: true, out SyscallKind call) || callName.Any(char.IsDigit) || !SyscallRequest.IsWorkloadCall(call))
        {
            throw r.Error(m, "operation[].syscall", $"unknown system call {InputText.Quote(callName)} (use {string.Join(", ", Enum.GetValues<SyscallKind>().Where(SyscallRequest.IsWorkloadCall).Select(x => x.ToString().ToLowerInvariant()))})");
        }

        if (call is SyscallKind.Fork or SyscallKind.Exit or SyscallKind.Wait4)
        {
            throw r.Error(m, "operation[].syscall", $"{InputText.Show(callName)} is only available through the built-in fork-exit workload");
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
                _ => throw r.Error(m, "operation[].file", $"{InputText.Quote(fileName)} is not zero, null, pagecache or pipe"),
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

            return new Step(WorkloadEvent.Io(process, call, file, reg, offset, bytes), repeat, every, m);
        }

        if (call is SyscallKind.Stat or SyscallKind.Open)
        {
            ulong path = r.Size(m, "path", 2, 4096, 21);
            if (call == SyscallKind.Open)
            {
                if (r.Child(m, "buffer") is not null)
                {
                    throw r.Error(m, "operation[].buffer", "only stat copies a structure out (its struct stat)");
                }

                return new Step(WorkloadEvent.Path(process, call, reg, path), repeat, every, m);
            }

            // the struct stat the kernel copies out: at `buffer` in the same region, by default in its last bytes
            ulong room = regions[reg].Size - UserStructs.MaxStatBytes;
            ulong buffer = r.Size(m, "buffer", 0, room, room);
            return new Step(WorkloadEvent.Path(process, call, reg, path, reg, buffer), repeat, every, m);
        }

        if (call is SyscallKind.Mmap or SyscallKind.Munmap)
        {
            if (r.Child(m, "region") is null)
            {
                throw r.Error(m, "operation[].region", $"{InputText.Show(callName)} needs the region it maps or unmaps");
            }

            return new Step(new WorkloadEvent(EventKind.Syscall, process, call, Region: reg, Bytes: regions[reg].Size), repeat, every, m);
        }

        return new Step(WorkloadEvent.Sys(process, call), repeat, every, m);
    }
}
