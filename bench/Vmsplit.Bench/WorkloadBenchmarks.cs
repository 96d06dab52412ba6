using BenchmarkDotNet.Attributes;
using Vmsplit.Lab;
using Vmsplit.Workloads;

namespace Vmsplit.Bench;

/// <summary>
/// Workload operations through the Lab's Runner on Skylake x86-64: event emission (with the benchmark
/// program's own fetches and stack touch), dispatch, the kernel, and the ledger/counter bookkeeping of
/// one Measure call amortised over its 1000 operations.
/// </summary>
[MemoryDiagnoser]
public class WorkloadBenchmarks
{
    private Runner _runner = null!;

    [Params("classic", "kpti")]
    public string Design { get; set; } = "kpti";

    [Params("null", "pipe")]
    public string Workload { get; set; } = "null";

    [GlobalSetup]
    public void Setup()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        _runner = new Runner(Scenario.Boot(m, Scenario.ParseDesign(m, Design)), BuiltinWorkloads.Get(Workload));
        _runner.Measure(200, warmup: 20);
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public double Operation() => _runner.Measure(1000, warmup: 0).CyclesPerOp;
}
