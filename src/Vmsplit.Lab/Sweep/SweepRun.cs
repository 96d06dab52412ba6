using System.Text;
using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab.Sweep;

/// <summary>One run of a sweep: its index and the value of every axis.</summary>
public sealed record SweepRunSpec(long Index, SweepMachine Machine, KernelArch? Arch, ulong Ram, SweepWorkload Workload, int Cpus, ulong Seed, int? Ops, string Design)
{
    /// <summary>The cell: the run's index without its design.</summary>
    public long Cell { get; init; }

    public bool IsBaseline { get; init; }
}

/// <summary>A finished run: the result, or the reason the combination was refused.</summary>
public sealed record SweepOutcome(SweepRunSpec Run, RunResult? Result, string? Refusal, string ArchName);

/// <summary>Decodes run numbers into axis values (mixed radix, design innermost) and runs them.</summary>
public static class SweepRuns
{
    public static SweepRunSpec Decode(SweepSpec s, long index)
    {
        if (index < 0 || index >= s.Runs)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "not a run of this sweep");
        }

        long rest = index;
        int design = (int)(rest % s.DesignCount);
        rest /= s.DesignCount;
        long cell = rest;
        int ops = (int)(rest % s.Ops.Count);
        rest /= s.Ops.Count;
        int seed = (int)(rest % s.Seeds.Count);
        rest /= s.Seeds.Count;
        int cpus = (int)(rest % s.Cpus.Count);
        rest /= s.Cpus.Count;
        int workload = (int)(rest % s.Workloads.Count);
        rest /= s.Workloads.Count;
        int ram = (int)(rest % s.Ram.Count);
        rest /= s.Ram.Count;
        int arch = (int)(rest % s.ArchCount);
        rest /= s.ArchCount;
        int machine = (int)rest;
        return new SweepRunSpec(index, s.Machines[machine], s.Architectures?[arch], s.Ram[ram], s.Workloads[workload], s.Cpus[cpus], s.Seeds[seed], s.Ops[ops], s.Designs[design])
        {
            Cell = cell,
            IsBaseline = design == 0,
        };
    }

    /// <summary>
    /// Runs one combination. Whatever the lab refuses in one line — a CPU that cannot run the architecture, a
    /// design it cannot run, a layout that does not fit, a workload the machine cannot hold, a run over the step
    /// cap — is the run's refusal, listed in the results with its reason.
    /// </summary>
    public static SweepOutcome Execute(SweepRunSpec run)
    {
        KernelArch arch = run.Arch ?? MachineSpec.DefaultArch(run.Machine.Profile);
        try
        {
            MachineSpec m = MachineSpec.For(run.Machine.Profile, arch, run.Ram);
            RunResult r = Runner.Run(m, run.Design, run.Workload.Workload, run.Ops, run.Seed);
            return new SweepOutcome(run, r, null, arch.Name());
        }
        catch (LabException e)
        {
            return new SweepOutcome(run, null, Hardware.Input.InputText.OneLine(e.Message), arch.Name());
        }
    }

    /// <summary>The CSV record of an outcome (with its line end); <paramref name="baselineNs"/> is the cell's baseline time, when it ran.</summary>
    public static string Row(SweepSpec s, SweepOutcome o, double? baselineNs)
    {
        SweepRunSpec run = o.Run;
        RunResult? r = o.Result;
        StringBuilder sb = new();
        void Add(string v) => sb.Append(sb.Length == 0 ? "" : ",").Append(SweepTable.Field(v));
        string Opt(ulong? v) => v is ulong x ? SweepTable.Integer((long)x) : "";
        Add(SweepTable.Integer(run.Index));
        Add(run.Machine.Name);
        Add(o.ArchName);
        Add(SweepTable.Integer((long)run.Ram));
        Add(run.Workload.Name);
        Add(Opt(run.Workload.Bytes));
        Add(Opt(run.Workload.Pages));
        Add(SweepTable.Integer(run.Cpus));
        Add(SweepTable.Integer((long)run.Seed));
        Add(r is null ? (run.Ops is int ops ? SweepTable.Integer(ops) : "") : SweepTable.Integer(r.Ops));
        Add(run.Design);
        Add(r is null ? "refused" : "ok");
        Add(o.Refusal ?? "");
        if (s.Record.HasFlag(SweepRecord.Time))
        {
            Add(r is null ? "" : SweepTable.Real(r.NsPerOp));
            Add(r is null || baselineNs is not double b || b == 0 ? "" : SweepTable.Real(100.0 * (r.NsPerOp - b) / b));
            Add(r is null ? "" : SweepTable.Real(r.CyclesPerOp));
            Add(r is null ? "" : SweepTable.Real(r.ContextSwitchesPerOp));
        }

        if (s.Record.HasFlag(SweepRecord.Causes))
        {
            foreach (CostCause c in KernelCostCause.All)
            {
                Add(r is null ? "" : SweepTable.Real(r.NsPerOpOf(c)));
            }
        }

        if (s.Record.HasFlag(SweepRecord.Tlb))
        {
            TlbCounters? t = r?.Tlb;
            long[] v = t is null ? [] : [t.Translations, t.MicroHits, t.MainHits, t.Misses, t.Walks, t.WalkReads, t.WalkStepCacheMisses, t.Flushes, t.EntriesInvalidated];
            foreach (int i in Enumerable.Range(0, SweepTable.TlbNames.Length))
            {
                Add(t is null ? "" : SweepTable.Integer(v[i]));
            }
        }

        return sb.Append('\n').ToString();
    }
}
