using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Lab.Replay;

/// <summary>What <c>vmsplit replay</c> runs.</summary>
public sealed record ReplayOptions(MachineSpec Machine, IReadOnlyList<string> Designs, string Baseline, string TracePath, TraceFormat Format)
{
    /// <summary>How the format was chosen (given, or what auto-detection saw).</summary>
    public string FormatHow { get; init; } = "given with --format";

    /// <summary>The name results carry (<see cref="TraceFile.NameOf"/>).</summary>
    public string Name => TraceFile.NameOf(TracePath);

    /// <summary>strace: the working set each process's user code touches between two calls (strace records no user work).</summary>
    public ulong UserWss { get; init; } = DefaultUserWss;

    /// <summary>ChampSim: a system call every this many instructions (0: none).</summary>
    public long SyscallEvery { get; init; } = DefaultSyscallEvery;

    /// <summary>ChampSim: the call injected (<see cref="Replayer.InjectableCalls"/>).</summary>
    public string InjectedCall { get; init; } = "null";

    public ulong Seed { get; init; } = 1;

    /// <summary>The kernel.randomize_va_space sysctl the kernels boot with (<see cref="KernelSetup.RandomizeVaSpace"/>; --randomize-va-space).</summary>
    public int RandomizeVaSpace { get; init; } = 2;

    public bool Parallel { get; init; } = true;

    public IReadOnlyList<string> Notes { get; init; } = [];

    public const ulong DefaultUserWss = 64 * 1024;

    public const long DefaultSyscallEvery = 10_000;
}

/// <summary>One design's replay: its result (one operation: the whole program), what the trace held, the calls by cost.</summary>
public sealed record ReplayRun(RunResult Result, ReplayEvents Events);

/// <summary>Everything <c>vmsplit replay</c> prints: the comparison (compare's report, one workload: the trace) and the replay's own.</summary>
public sealed record ReplayReport(CompareReport Compare, ReplayOptions Options, IReadOnlyList<ReplayRun> Runs)
{
    /// <summary>The baseline's events (the trace's counts; a design's own differ only in <see cref="ReplayEvents.Fallbacks"/>).</summary>
    public ReplayEvents Events => Runs[Compare.Designs.ToList().IndexOf(Compare.Baseline)].Events;

    public ReplayRun Run(string design) => Runs[Compare.Designs.ToList().IndexOf(design)];

    /// <summary>
    /// The system calls that add most time to <paramref name="design"/> against the baseline (cycles summed over
    /// the trace, by name); for the baseline itself, the calls that cost most.
    /// </summary>
    public IReadOnlyList<(string Name, string Path, long Count, double Cycles, double Added)> TopCalls(string design, int count = 10)
    {
        ReplayEvents mine = Run(design).Events;
        ReplayEvents base_ = Events;
        Dictionary<string, double> baseCycles = new(StringComparer.Ordinal);
        foreach (CallTally t in base_.Calls)
        {
            baseCycles[t.Name] = t.Cycles;
        }

        bool isBaseline = design == Compare.Baseline;
        List<(string Name, string Path, long Count, double Cycles, double Added)> rows = new();
        foreach (CallTally t in mine.Calls)
        {
            double added = isBaseline ? t.Cycles : t.Cycles - baseCycles.GetValueOrDefault(t.Name);
            rows.Add((t.Name, t.Path, t.Count, t.Cycles, added));
        }

        // stable: ties keep the order the calls first appeared in
        return rows.OrderByDescending(x => x.Added).ThenBy(x => x.Name, StringComparer.Ordinal).Take(count).ToList();
    }
}

/// <summary>Runs a trace on every design (each reads the trace itself, streaming) and gathers compare's report around it.</summary>
public static class TraceReplay
{
    public static ReplayReport Run(ReplayOptions o, IProgress<long>? bytesRead = null)
    {
        (List<DesignSpec> specs, string baseline) = Comparison.ParseDesigns(o.Machine, o.Designs, o.Baseline);

        (List<DesignBudget> budget, List<AuditResult> audits) = Comparison.BudgetsAndAudits(o.Machine, specs, o.Seed, o.RandomizeVaSpace);

        ReplayRun[] runs = new ReplayRun[specs.Count];
        void One(int i)
        {
            SimKernel k = Scenario.Boot(o.Machine, specs[i], o.Seed, randomizeVaSpace: o.RandomizeVaSpace);
            (RunResult result, ReplayEvents events) = new Replayer(k, o).Run(bytesRead);
            runs[i] = new ReplayRun(result, events);
        }

        Comparison.ForEachPair(specs.Count, o.Parallel && specs.Count > 1, One);

        List<string> notes = [.. o.Notes, .. Describe(o), .. specs.SelectMany(s => s.Notes)];
        CompareReport compare = new(o.Machine, baseline, specs.Select(s => s.Name).ToList(), [o.Name], budget, runs.Select(r => r.Result).ToList(), audits)
        {
            Notes = notes,
        };
        return new ReplayReport(compare, o, runs);
    }

    /// <summary>What the replay assumed, said in the report.</summary>
    public static IEnumerable<string> Describe(ReplayOptions o)
    {
        yield return $"trace {o.Name}: {o.Format.ToString().ToLowerInvariant()} ({o.FormatHow}); one operation is the whole trace";
        switch (o.Format)
        {
            case TraceFormat.Strace:
                yield return $"strace records no user work: before each call its process runs the loop and libc wrapper text, a stack frame and touches a {Hardware.ByteSize.Human(o.UserWss)} working set, one access per page (--user-wss)";
                break;
            case TraceFormat.ChampSim:
                yield return o.SyscallEvery > 0
                    ? $"ChampSim records no system calls: one {o.InjectedCall} call is injected every {o.SyscallEvery} instructions (--syscall-every, --syscall)"
                    : "ChampSim records no system calls and none are injected (--syscall-every 0): user accesses only";
                break;
        }
    }
}
