using Vmsplit.Kernel.Core;
using Vmsplit.Lab.Validation;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>The datapoint file and the validator: parsing with located errors, the measures, and the shipped rows.</summary>
public class ValidationTests
{
    private static readonly Lazy<IReadOnlyList<ValidationResult>> s_shipped = new(() => new Validator().Run(DatapointFile.Shipped()));

    private static ValidationResult Shipped(string id) => s_shipped.Value.Single(r => r.Point.Id == id);

    [Fact]
    public void TheShippedFileCoversTheCalibrationSetRows()
    {
        IReadOnlyList<Datapoint> points = DatapointFile.Shipped();
        string[] expected =
        [
            "lmbench-null-pti-off", "lmbench-null-pti-on", "lmbench-null-pti-cost", "freebsd-getppid-pti-cost",
            "pcid-context-switch-saving", "pti-page-tables-per-process", "molnar-flush-tlb", "molnar-flush-tlb-one",
            "hansen-flush-1", "hansen-flush-2", "hansen-flush-4", "hansen-flush-8", "hansen-flush-16", "hansen-flush-33",
            "hansen-flush-full", "arm64-null-a72", "arm64-null-a72-kpti", "arm64-null-a53",
        ];
        Assert.Equal(expected, points.Select(p => p.Id));
        Assert.All(points, p => Assert.StartsWith("[P]", p.Source));
        Assert.Equal(0.1737, points.Single(p => p.Id == "lmbench-null-pti-on").Published);
        Assert.Equal(PublishedUnit.Microseconds, points.Single(p => p.Id == "lmbench-null-pti-on").Unit);
        Assert.Equal(8534, points.Single(p => p.Id == "hansen-flush-33").Published);
    }

    /// <summary>A miss needs its explanation, and an explanation on a row the model now meets is stale.</summary>
    [Fact]
    public void EveryMissBeyond25PercentIsExplainedAndNoHitCarriesAStaleExplanation()
    {
        foreach (ValidationResult r in s_shipped.Value)
        {
            if (r.Within(25))
            {
                Assert.True(r.Point.Miss is null, $"{r.Point.Id} is within 25 % ({r.ErrorPercent:F1} %) but still explains a miss");
            }
            else
            {
                Assert.True(r.Point.Miss is not null, $"{r.Point.Id} misses by {r.ErrorPercent:F1} % without an explanation");
            }
        }
    }

    [Fact]
    public void FlushRowsAreTheKernelsInstructionsCountedByHand()
    {
        // Haswell profile: INVLPG 200 cycles, CR3 write 100; flush_tlb_mm_range's own work 50 (KernelSoftwareCosts).
        Assert.Equal(50 + 200, Shipped("hansen-flush-1").Model);
        Assert.Equal(50 + (2 * 200), Shipped("hansen-flush-2").Model);
        Assert.Equal(50 + (33 * 200), Shipped("hansen-flush-33").Model); // 33 is still under the ceiling: per page
        Assert.Equal(50 + 100, Shipped("hansen-flush-full").Model);
        Assert.Equal(100, Shipped("molnar-flush-tlb").Model); // __flush_tlb alone: the CR3 rewrite
        Assert.Equal(200, Shipped("molnar-flush-tlb-one").Model); // one INVLPG, no PTI so no INVPCID
        Assert.Equal(["tlb-maintenance"], Shipped("hansen-flush-8").Causes.Select(c => c.Cause));
    }

    [Fact]
    public void WithTwoCpusAFlushRowIsTheCallersTimeWithTheIpiAndTheWait()
    {
        IReadOnlyList<Datapoint> points = DatapointFile.Shipped().Where(p => p.Id is "hansen-flush-1" or "hansen-flush-full").ToList();
        IReadOnlyList<ValidationResult> r = new Validator(1, null, cpus: 2).Run(points);
        Vmsplit.Hardware.Profiles.CpuProfile haswell = Vmsplit.Hardware.Profiles.CpuProfiles.Find("haswell")!;
        KernelSoftwareCosts sw = new();
        double entry = haswell.Cycles(Vmsplit.Hardware.Profiles.PrimitiveCost.ExceptionEntry);
        double delivery = sw.IpiDeliveryNs * haswell.ClockMhz / 1000.0;
        double ack = haswell.Cycles(Vmsplit.Hardware.Profiles.PrimitiveCost.WalkStepCacheMiss);

        // one page: local INVLPG; one ICR write; the wait: delivery, the target's entry, handler and INVLPG up to its
        // acknowledgement (its exit comes after), the ack line
        double handler = entry + sw.CallFunctionHandler + 200;
        Assert.Equal(50 + 200 + sw.IpiSend + delivery + handler + ack, r[0].Model);
        Assert.DoesNotContain(r[0].Causes, c => c.Cause == "remote-flush");
        Assert.Contains(r[0].Causes, c => c.Cause == "shootdown-wait");

        // the whole mm: the target rewrites CR3 (100 cycles) instead of the INVLPG
        Assert.Equal(50 + 100 + sw.IpiSend + delivery + (entry + sw.CallFunctionHandler + 100) + ack, r[1].Model);
        Assert.Contains("2 CPUs", r[0].Scenario);
    }

    [Fact]
    public void PtiCostIsTwoCr3WritesAndItsPageTablesOneMorePage()
    {
        // Two CR3 writes of 100 cycles at 4000 MHz: 200 / 4000 us = 0.05 us. With PCID the user PGD's entries
        // survive, so the entry code's own accesses before SWITCH_TO_KERNEL_CR3 and after SWITCH_TO_USER_CR3
        // hit the TLB; what they add is the entry text fetched through the user PGD's 2 MiB clone, which the
        // 4 KiB-only ITLB cannot hold: two STLB hits of 9 cycles, 18 / 4000 us.
        ValidationResult cost = Shipped("lmbench-null-pti-cost");
        Assert.Equal(0.05 + 0.0045, cost.Model, 12);
        Assert.Equal(["root-register-write", "tlb-lookup"], cost.Causes.Select(c => c.Cause).ToArray());
        Assert.Equal(0.0045, cost.Causes[1].Value, 12);
        Assert.Equal((0.0545 - 0.1215) / 0.1215 * 100, cost.ErrorPercent, 9);

        // The difference row equals the difference of the two absolute rows.
        Assert.Equal(Shipped("lmbench-null-pti-on").Model - Shipped("lmbench-null-pti-off").Model, cost.Model, 12);
        Assert.Equal(4096, Shipped("pti-page-tables-per-process").Model); // the order-1 PGD
    }

    [Fact]
    public void PerContextSwitchDividesByTheSwitchesTheWorkloadMade()
    {
        RunResult pipe = Runner.Run(MachineSpec.SkylakeX86(), "classic", BuiltinWorkloads.Get("pipe"), 50);
        Assert.Equal(2, pipe.ContextSwitchesPerOp); // one round trip: to the reader and back
        RunResult nul = Runner.Run(MachineSpec.SkylakeX86(), "classic", BuiltinWorkloads.Get("null"), 50);
        Assert.Equal(0, nul.ContextSwitchesPerOp);

        const string Yaml = """
            datapoints:
              - id: per-op
                what: x
                published: 100 ns
                setup: s
                source: src
                model: { machine: skylake, arch: x86-64, ram: 8G, measure: time-difference, workload: pipe, design: classic+nopcid, baseline: classic }
              - id: per-switch
                what: x
                published: 0.1 us
                setup: s
                source: src
                model: { machine: skylake, arch: x86-64, ram: 8G, measure: time-difference, workload: pipe, design: classic+nopcid, baseline: classic, per: context-switch }
            """;
        IReadOnlyList<ValidationResult> r = new Validator().Run(DatapointFile.Parse(Yaml, "t.yaml"));
        Assert.True(r[0].Model > 0);
        Assert.Equal(r[0].Model / 2 / 1000, r[1].Model, 12); // half, and in microseconds
    }

    [Fact]
    public void TheSameDatapointsGiveTheSameValues()
    {
        IReadOnlyList<ValidationResult> again = new Validator().Run(DatapointFile.Shipped());
        Assert.Equal(s_shipped.Value.Select(r => r.Model), again.Select(r => r.Model));
    }

    private const string Good = """
        datapoints:
          - id: a
            what: x
            published: 1 us
            setup: s
            source: src
            model: { machine: skylake, arch: x86-64, ram: 8G, measure: time-per-op, workload: "null", design: classic }
        """;

    [Theory]
    [InlineData("published: 1 us", "published: fast", "t.yaml:4: published: 'fast' is not a number and a unit")]
    [InlineData("published: 1 us", "published: 1 parsecs", "t.yaml:4: published: unknown unit 'parsecs'")]
    [InlineData("published: 1 us", "published: -3 us", "t.yaml:4: published: '-3' is not a positive number")]
    [InlineData("id: a", "id: Bad Id", "t.yaml:2: id: 'Bad Id' is not a lower-case name")]
    [InlineData("setup: s", "colour: s", "t.yaml:5: colour: unknown field")]
    [InlineData("measure: time-per-op", "measure: vibes", "t.yaml:7: model.measure: 'vibes' is not time-per-op")]
    [InlineData("measure: time-per-op", "measure: time-difference", "model.baseline: missing")]
    [InlineData("workload: \"null\", ", "", "model.workload: missing")]
    [InlineData("arch: x86-64", "arch: pdp11", "t.yaml:7: model.arch")]
    [InlineData("ram: 8G", "ram: 8Q", "t.yaml:7: ram")]
    [InlineData("design: classic }", "design: classic, pages: 3 }", "model.pages: only a flush_tlb_mm_range datapoint")]
    [InlineData("measure: time-per-op, workload: \"null\",", "measure: flush-cycles,", "model.operation: missing")]
    [InlineData("design: classic }", "design: classic, per: fortnight }", "model.per: 'fortnight'")]
    [InlineData("  - id: a", "  - [", "malformed YAML")]
    [InlineData("measure: time-per-op, workload: \"null\",", "measure: flush-cycles, operation: flush_tlb_mm_range, pages: 70000,", "t.yaml:7: pages: 70000 is out of range [1, 65536]")]
    [InlineData("ram: 8G, measure: time-per-op, workload: \"null\",", "ram: 64M, measure: flush-cycles, operation: flush_tlb_mm_range, pages: 65536,", "t.yaml:7: model.pages: a buffer of 65536 pages does not fit in half of the 64 MiB of RAM")]
    public void MalformedDatapointsAreOneLineErrorsWithFileLineAndField(string from, string to, string expected)
    {
        LabException e = Assert.Throws<LabException>(() => DatapointFile.Parse(Good.Replace(from, to), "t.yaml"));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void DuplicateIdsEmptyFilesAndImpossibleScenariosAreRefused()
    {
        string twice = Good + "\n" + Good["datapoints:\n".Length..];
        Assert.Contains("'a' is used twice", Assert.Throws<LabException>(() => DatapointFile.Parse(twice, "t.yaml")).Message);
        Assert.Contains("datapoints: missing or empty", Assert.Throws<LabException>(() => DatapointFile.Parse("datapoints: []", "t.yaml")).Message);
        Assert.Contains("expected a mapping", Assert.Throws<LabException>(() => DatapointFile.Parse("- 1", "t.yaml")).Message);

        // Well-formed but impossible: the scenario's own error, located at the datapoint.
        Datapoint bad = DatapointFile.Parse(Good.Replace("design: classic", "design: 4g4g"), "t.yaml")[0];
        LabException run = Assert.Throws<LabException>(() => new Validator().Run(bad));
        Assert.StartsWith("t.yaml:2: datapoint a: ", run.Message);
        Assert.Contains("4g4g is a 32-bit ARM design (LPAE or short descriptors), not x86-64", run.Message);

        Datapoint noSwitch = DatapointFile.Parse(Good.Replace("design: classic", "design: classic, per: context-switch"), "t.yaml")[0];
        Assert.Contains("makes no context switches", Assert.Throws<LabException>(() => new Validator().Run(noSwitch)).Message);
    }
}
