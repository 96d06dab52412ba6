using BenchmarkDotNet.Attributes;
using Vmsplit.Kernel.Core;
using Vmsplit.Lab;
using Vmsplit.Workloads;

namespace Vmsplit.Bench;

/// <summary>
/// Simulated system calls per second: one getppid() through entry, footprint, handler and exit on a
/// booted kernel (Skylake x86-64), per design. Each invocation runs 1000 calls.
/// </summary>
[MemoryDiagnoser]
public class SyscallBenchmarks
{
    private SimKernel _kernel = null!;
    private Process _process = null!;
    private readonly SyscallRequest _getppid = new(Kernel.Core.SyscallKind.Getppid);

    [Params("classic", "kpti", "kpti+nopcid")]
    public string Design { get; set; } = "kpti";

    [GlobalSetup]
    public void Setup()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        _kernel = Scenario.Boot(m, Scenario.ParseDesign(m, Design));
        Runner runner = new(_kernel, BuiltinWorkloads.Get("null"));
        runner.Measure(100, warmup: 10);
        _process = _kernel.Current!;
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public void NullSyscall()
    {
        for (int i = 0; i < 1000; i++)
        {
            _kernel.Syscall(_process, _getppid);
        }
    }
}
