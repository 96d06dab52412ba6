using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch.X86;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Validation;

/// <summary>A share of the model's value, by cause, in the published unit.</summary>
public sealed record CauseShare(string Cause, double Value);

/// <summary>One datapoint run: the published value, the model's, and the signed error in percent.</summary>
public sealed record ValidationResult(Datapoint Point, double Model, string Scenario, IReadOnlyList<CauseShare> Causes)
{
    public double ErrorPercent => (Model - Point.Published) / Point.Published * 100.0;

    public bool Within(double tolerancePercent) => Math.Abs(ErrorPercent) <= tolerancePercent;
}

/// <summary>
/// Runs the scenario behind each datapoint with the shipped profiles as they are: no term is fitted to
/// a datapoint. Workload runs are shared between datapoints that name the same machine, design and workload.
/// A <paramref name="profile"/> (a user's edited copy) replaces the shipped profile with its id.
/// </summary>
public sealed class Validator(ulong seed = 1, CpuProfile? profile = null, int cpus = 1)
{
    private const ulong Page = 4096;

    /// <summary>The CPU count that stands for the profile's own: each datapoint runs on its profile's <see cref="CpuProfile.BoardCores"/>.</summary>
    public const int BoardCpus = 0;

    private readonly Dictionary<string, RunResult> _runs = new(StringComparer.Ordinal);

    public static string UnitName(PublishedUnit u) => u switch
    {
        PublishedUnit.Microseconds => "us",
        PublishedUnit.Nanoseconds => "ns",
        PublishedUnit.Cycles => "cycles",
        _ => "bytes",
    };

    public IReadOnlyList<ValidationResult> Run(IReadOnlyList<Datapoint> points)
    {
        List<ValidationResult> results = new(points.Count);
        foreach (Datapoint d in points)
        {
            results.Add(Run(d));
        }

        return results;
    }

    public ValidationResult Run(Datapoint d)
    {
        try
        {
            return Evaluate(d);
        }
        catch (Exception e) when (e is LabException or WorkloadException)
        {
            throw new LabException($"{d.Location}: datapoint {d.Id}: {e.Message}");
        }
    }

    private ValidationResult Evaluate(Datapoint d)
    {
        DatapointScenario s = d.Scenario;
        MachineSpec machine = MachineOf(s);
        machine = machine with { Cpus = cpus == BoardCpus ? machine.Profile.BoardCores : cpus };
        string where = $"{s.Profile} {machine.Arch.Name()}{(machine.Cpus > 1 ? $" {machine.Cpus} CPUs" : "")}";
        switch (s.Measure)
        {
            case ValidationMeasure.TimePerOp:
                {
                    RunResult r = Workload(machine, s, s.Design);
                    double per = PerDivisor(s, r);
                    List<CauseShare> causes = new();
                    foreach ((CostCause c, double cycles) in r.CyclesPerOpByCause)
                    {
                        causes.Add(new CauseShare(c.Name, FromCycles(cycles / per, d.Unit, machine)));
                    }

                    return new ValidationResult(d, FromCycles(r.CyclesPerOp / per, d.Unit, machine), $"{where} {s.Design}: {s.Workload}{PerText(s)}", Sorted(causes));
                }

            case ValidationMeasure.TimeDifference:
                {
                    RunResult r = Workload(machine, s, s.Design);
                    RunResult b = Workload(machine, s, s.Baseline!);
                    double perR = PerDivisor(s, r);
                    double perB = PerDivisor(s, b);
                    List<CauseShare> causes = new();
                    foreach (CostCause c in KernelCostCause.All)
                    {
                        double delta = (Cycles(r, c) / perR) - (Cycles(b, c) / perB);
                        if (delta != 0)
                        {
                            causes.Add(new CauseShare(c.Name, FromCycles(delta, d.Unit, machine)));
                        }
                    }

                    double model = (r.CyclesPerOp / perR) - (b.CyclesPerOp / perB);
                    return new ValidationResult(d, FromCycles(model, d.Unit, machine), $"{where} {s.Design} - {s.Baseline}: {s.Workload}{PerText(s)}", Sorted(causes));
                }

            case ValidationMeasure.FlushCycles:
                {
                    CostLedger ledger = Flush(machine, s);
                    List<CauseShare> causes = new();
                    foreach (CostCause c in KernelCostCause.All)
                    {
                        // the published figure is the caller's time: the targets' handlers run on the other CPUs,
                        // and reach the caller only through its shootdown-wait
                        if (ledger.Cycles(c) != 0 && c != KernelCostCause.RemoteFlush)
                        {
                            causes.Add(new CauseShare(c.Name, FromCycles(ledger.Cycles(c), d.Unit, machine)));
                        }
                    }

                    string op = s.Operation switch
                    {
                        FlushOperation.FlushTlbMmRange => s.Pages == DatapointScenario.AllPages ? "flush_tlb_mm_range(all)" : $"flush_tlb_mm_range({s.Pages} page{(s.Pages == 1 ? "" : "s")})",
                        FlushOperation.FlushTlbLocal => "flush_tlb_local()",
                        _ => "flush_tlb_one_user()",
                    };
                    double caller = ledger.TotalCycles - ledger.Cycles(KernelCostCause.RemoteFlush);
                    return new ValidationResult(d, FromCycles(caller, d.Unit, machine), $"{where} {s.Design}: {op}", Sorted(causes));
                }

            default:
                {
                    long bytes = PageTableBytes(machine, s.Design) - PageTableBytes(machine, s.Baseline!);
                    return new ValidationResult(d, bytes, $"{where} {s.Design} - {s.Baseline}: page tables of a minimal process", []);
                }
        }
    }

    private MachineSpec MachineOf(DatapointScenario s)
    {
        if (!KernelArchitectures.TryParse(s.Arch, false, false, out KernelArch arch, out string error))
        {
            throw new LabException(error);
        }

        CpuProfile p = profile is not null && profile.Id == s.Profile ? profile : MachineSpec.Require(s.Profile);
        return new MachineSpec(p, arch, s.RamBytes);
    }

    private RunResult Workload(MachineSpec machine, DatapointScenario s, string design)
    {
        string key = $"{machine.Profile.Id}|{machine.Arch.Name()}|{machine.RamBytes}|{design}|{s.Workload}|{s.Ops}";
        if (!_runs.TryGetValue(key, out RunResult? r))
        {
            r = Runner.Run(machine, design, BuiltinWorkloads.Get(s.Workload!), s.Ops, seed);
            _runs[key] = r;
        }

        return r;
    }

    private static double PerDivisor(DatapointScenario s, RunResult r)
    {
        if (!s.PerContextSwitch)
        {
            return 1;
        }

        return r.ContextSwitchesPerOp > 0 ? r.ContextSwitchesPerOp : throw new LabException($"workload {s.Workload} makes no context switches to divide by");
    }

    private static string PerText(DatapointScenario s) => s.PerContextSwitch ? ", per context switch" : ", per operation";

    private static double Cycles(RunResult r, CostCause c) => r.CyclesPerOpByCause.TryGetValue(c, out double v) ? v : 0;

    private static double FromCycles(double cycles, PublishedUnit unit, MachineSpec m) => unit switch
    {
        PublishedUnit.Cycles => cycles,
        PublishedUnit.Nanoseconds => cycles * 1000.0 / m.Profile.ClockMhz,
        PublishedUnit.Microseconds => cycles / m.Profile.ClockMhz,
        _ => throw new LabException("a time cannot be given in bytes"),
    };

    private static List<CauseShare> Sorted(List<CauseShare> causes)
    {
        causes.Sort((a, b) =>
        {
            int c = Math.Abs(b.Value).CompareTo(Math.Abs(a.Value));
            return c != 0 ? c : string.CompareOrdinal(a.Cause, b.Cause);
        });
        return causes;
    }

    /// <summary>
    /// Boots the design, maps and touches a buffer so that its translations are resident, enters the
    /// kernel as a system call would, and returns the ledger of the flush operation alone.
    /// </summary>
    private CostLedger Flush(MachineSpec machine, DatapointScenario s)
    {
        DesignSpec design = Scenario.ParseDesign(machine, s.Design);
        SimKernel k = Scenario.Boot(machine, design, seed);
        X86Mm? x86 = k.Arch as X86Mm; // flush_tlb_local and __flush_tlb_one_user are arch/x86/mm/tlb.c's
        if (s.Operation != FlushOperation.FlushTlbMmRange && x86 is null)
        {
            throw new LabException($"{(s.Operation == FlushOperation.FlushTlbLocal ? "flush_tlb_local" : "flush_tlb_one_user")} is modelled for x86 only, not {machine.Arch.Name()}");
        }

        ulong pages = s.Pages > 0 ? (ulong)s.Pages : 64;
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, pages * Page, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.UserTouch(p, buf, pages * Page, write: true);
        for (int cpu = 1; cpu < k.Cpus.Count; cpu++)
        {
            // with --cpus: a thread of the process on every other CPU, the buffer in its TLB too
            k.CloneThread(p, cpu);
            k.RunOn(cpu);
            k.UserTouch(p, buf, pages * Page, write: false);
            k.RunOn(0);
        }

        k.EnterKernel();
        k.Ledger.Reset();
        switch (s.Operation)
        {
            case FlushOperation.FlushTlbMmRange when s.Pages == DatapointScenario.AllPages:
                k.FlushTlbMm(p);
                break;
            case FlushOperation.FlushTlbMmRange:
                k.FlushTlbMmRange(p, buf, buf + (pages * Page));
                break;
            case FlushOperation.FlushTlbLocal:
                x86!.FlushTlbLocal(p);
                break;
            default:
                x86!.FlushOneUser(buf);
                break;
        }

        return k.Ledger.Clone();
    }

    private long PageTableBytes(MachineSpec machine, string design) =>
        IsolationAudit.Run(Scenario.Boot(machine, Scenario.ParseDesign(machine, design), seed)).PageTableBytes;
}
