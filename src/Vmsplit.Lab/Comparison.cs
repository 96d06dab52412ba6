using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Workloads;

namespace Vmsplit.Lab;

/// <summary>What <c>vmsplit compare</c> runs.</summary>
public sealed record CompareOptions(MachineSpec Machine, IReadOnlyList<string> Designs, string Baseline, IReadOnlyList<Workload> Workloads)
{
    public ulong Seed { get; init; } = 1;

    /// <summary>The kernel.randomize_va_space sysctl every booted kernel runs with (<see cref="KernelSetup.RandomizeVaSpace"/>; --randomize-va-space).</summary>
    public int RandomizeVaSpace { get; init; } = 2;

    /// <summary>Operations per workload (null: each workload's default).</summary>
    public int? Ops { get; init; }

    /// <summary>Run every measurement with the coherence checker on every CPU (--check): stale translations are counted per run.</summary>
    public bool Check { get; init; }

    /// <summary>Run design × workload pairs on every core (results are the same either way).</summary>
    public bool Parallel { get; init; } = true;

    /// <summary>What choosing the designs left to say (a default design the CPU cannot run, left out), printed before the designs' own notes.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The seeds' question: classic 3G/1G with highmem against 4g4g's uaccess strategies on a Cortex-A15 with 2 GiB and LPAE.</summary>
    public static CompareOptions Default() => new(
        MachineSpec.DefaultArm(),
        ["classic", "4g4g+pin-kmap", "4g4g+ttbr0-switch", "4g4g+hybrid", "4g4g+trampoline", "4g4g+pmd-copy"],
        "classic",
        BuiltinWorkloads.Suite.Select(BuiltinWorkloads.Get).ToList());

    /// <summary>The KPTI preset: Skylake x86-64, no PTI against PTI with and without PCID and with global entry pages.</summary>
    public static CompareOptions Kpti() => new(
        MachineSpec.SkylakeX86(),
        ["classic", "kpti", "kpti+nopcid", "kpti+global"],
        "classic",
        BuiltinWorkloads.Suite.Select(BuiltinWorkloads.Get).ToList());
}

/// <summary>One design's address budget: the layout's arithmetic and the page tables a process really holds.</summary>
public sealed record DesignBudget(string Design, KernelLayout Layout, PageTableCost.Result Estimated, long MeasuredPageTableBytes);

/// <summary>Everything <c>vmsplit compare</c> prints or writes.</summary>
public sealed record CompareReport(
    MachineSpec Machine,
    string Baseline,
    IReadOnlyList<string> Designs,
    IReadOnlyList<string> WorkloadNames,
    IReadOnlyList<DesignBudget> Budget,
    IReadOnlyList<RunResult> Results,
    IReadOnlyList<AuditResult> Audits)
{
    /// <summary>What the designs say about themselves on this CPU (DesignSpec.Notes): features Linux runs without, mechanisms that cost nothing and why.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    public RunResult Result(string design, string workload) =>
        Results.First(r => r.Design == design && r.Workload == workload);

    /// <summary>Time per operation relative to the baseline design on the same workload, in percent.</summary>
    public double OverheadPercent(RunResult r)
    {
        RunResult b = Result(Baseline, r.Workload);
        return b.NsPerOp == 0 ? 0 : 100.0 * (r.NsPerOp - b.NsPerOp) / b.NsPerOp;
    }

    /// <summary>The causes that add most time to a design against the baseline, summed over the workloads (ns per op).</summary>
    public IReadOnlyList<(CostCause Cause, double Ns)> TopCauses(string design, int count = 3)
    {
        Dictionary<CostCause, double> delta = new();
        foreach (string w in WorkloadNames)
        {
            RunResult r = Result(design, w);
            RunResult b = Result(Baseline, w);
            foreach (CostCause c in KernelCostCause.All)
            {
                delta[c] = delta.GetValueOrDefault(c) + r.NsPerOpOf(c) - b.NsPerOpOf(c);
            }
        }

        // OrderByDescending is stable and delta was filled in report order, so ties keep the report's order
        return delta.Where(kv => kv.Value > 0.005).OrderByDescending(kv => kv.Value).Take(count).Select(kv => (kv.Key, kv.Value)).ToList();
    }
}

/// <summary>Runs designs × workloads on one machine and gathers budgets and audits.</summary>
public static class Comparison
{
    public static CompareReport Run(CompareOptions o, IProgress<int>? progress = null)
    {
        (List<DesignSpec> specs, string baseline) = ParseDesigns(o.Machine, o.Designs, o.Baseline);

        List<(int Design, int Workload)> pairs = new();
        for (int d = 0; d < specs.Count; d++)
        {
            for (int w = 0; w < o.Workloads.Count; w++)
            {
                pairs.Add((d, w));
            }
        }

        Runner.CheckSteps(pairs.Sum(p => Runner.Steps(o.Workloads[p.Workload], o.Ops ?? o.Workloads[p.Workload].DefaultOps)), $"this comparison ({specs.Count} designs x {o.Workloads.Count} workloads)");

        (List<DesignBudget> budget, List<AuditResult> audits) = BudgetsAndAudits(o.Machine, specs, o.Seed, o.RandomizeVaSpace);

        // Every workload is set up on every design before any measured run, so that one that does not fit the
        // machine (the allocators run out of frames) is refused now, in one line, not after the others ran.
        ForEachPair(pairs.Count, o.Parallel, i => _ = new Runner(Scenario.Boot(o.Machine, specs[pairs[i].Design], o.Seed, randomizeVaSpace: o.RandomizeVaSpace), o.Workloads[pairs[i].Workload]));

        RunResult[] results = new RunResult[pairs.Count];
        int done = 0;
        ForEachPair(pairs.Count, o.Parallel, i =>
        {
            (int d, int w) = pairs[i];
            SimKernel k = Scenario.Boot(o.Machine, specs[d], o.Seed, o.Check, o.RandomizeVaSpace);
            Runner r = new(k, o.Workloads[w]);
            results[i] = r.Measure(o.Ops ?? o.Workloads[w].DefaultOps);
            progress?.Report(Interlocked.Increment(ref done));
        });

        return new CompareReport(o.Machine, baseline, specs.Select(s => s.Name).ToList(), o.Workloads.Select(w => w.Name).ToList(), budget, results, audits)
        {
            Notes = [.. o.Notes, .. specs.SelectMany(s => s.Notes)],
        };
    }

    /// <summary>The designs parsed on the machine and the baseline's name; a baseline not among them or a design listed twice is refused.</summary>
    internal static (List<DesignSpec> Specs, string Baseline) ParseDesigns(MachineSpec machine, IReadOnlyList<string> designs, string baselineName)
    {
        List<DesignSpec> specs = designs.Select(d => Scenario.ParseDesign(machine, d)).ToList();
        string baseline = Scenario.ParseDesign(machine, baselineName).Name;
        if (!specs.Any(s => s.Name == baseline))
        {
            throw new LabException($"baseline '{baselineName}' is not among the designs ({string.Join(", ", specs.Select(s => s.Name))})");
        }

        if (specs.Select(s => s.Name).Distinct().Count() != specs.Count)
        {
            throw new LabException($"a design is listed twice ({string.Join(", ", specs.Select(s => s.Name))})");
        }

        return (specs, baseline);
    }

    /// <summary>Each design booted once up front, so that a bad combination fails before any long run: its address budget and isolation audit.</summary>
    internal static (List<DesignBudget> Budget, List<AuditResult> Audits) BudgetsAndAudits(MachineSpec machine, IReadOnlyList<DesignSpec> specs, ulong seed, int randomizeVaSpace = 2)
    {
        List<DesignBudget> budget = new();
        List<AuditResult> audits = new();
        foreach (DesignSpec d in specs)
        {
            KernelLayout layout = Scenario.LayoutFor(machine, d);
            SimKernel k = Scenario.Boot(machine, d, seed, randomizeVaSpace: randomizeVaSpace);
            AuditResult audit = IsolationAudit.Run(k);
            audits.Add(audit);
            budget.Add(new DesignBudget(d.Name, layout, PageTableCost.ForMinimalProcess(layout, k.StackTop), audit.PageTableBytes)); // the stack where the run's processes have it
        }

        return (budget, audits);
    }

    // Runs body(0..count-1) on every core or in order; the failure reported is the first item's, whatever the timing.
    internal static void ForEachPair(int count, bool parallel, Action<int> body)
    {
        if (!parallel)
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        Exception?[] errors = new Exception?[count];
        System.Threading.Tasks.Parallel.For(0, count, i =>
        {
            try
            {
                body(i);
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        });
        if (Array.Find(errors, e => e is not null) is Exception first)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
