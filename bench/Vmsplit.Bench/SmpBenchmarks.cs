using BenchmarkDotNet.Attributes;
using Vmsplit.Lab;
using Vmsplit.Workloads;

namespace Vmsplit.Bench;

/// <summary>
/// Simulated operations per second of the threaded munmap on Skylake x86-64 (classic), with 1 and 4 simulated CPUs:
/// one thread per CPU touches the page, the thread on CPU 2 blocks, CPU 0 unmaps and shoots the page down (IPIs to
/// the running threads, the lazy CPU skipped and caught up on wake-up). The model runs on one host thread, so the
/// rate is per host core. Each invocation measures 100 operations.
/// </summary>
[MemoryDiagnoser]
public class SmpBenchmarks
{
    private Runner _runner = null!;

    [Params(1, 4)]
    public int Cpus { get; set; } = 4;

    [GlobalSetup]
    public void Setup()
    {
        MachineSpec m = MachineSpec.SkylakeX86() with { Cpus = Cpus };
        _runner = new Runner(Scenario.Boot(m, Scenario.ParseDesign(m, "classic")), BuiltinWorkloads.Get("munmap-mt"));
        _runner.Measure(50, warmup: 10);
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public double MunmapMt() => _runner.Measure(100, warmup: 0).CyclesPerOp;
}
