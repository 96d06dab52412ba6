using BenchmarkDotNet.Attributes;
using Vmsplit.Lab;

namespace Vmsplit.Bench;

/// <summary>
/// Simulated system calls per second: one getppid() through entry, footprint, handler and exit on a
/// booted kernel (Skylake x86-64), per design. Each invocation runs 1000 calls (the Lab's <see cref="SyscallLoop"/>).
/// </summary>
[MemoryDiagnoser]
public class SyscallBenchmarks
{
    private SyscallLoop _loop = null!;

    [Params("classic", "kpti", "kpti+nopcid")]
    public string Design { get; set; } = "kpti";

    [GlobalSetup]
    public void Setup() => _loop = new SyscallLoop(MachineSpec.SkylakeX86(), Design);

    [Benchmark(OperationsPerInvoke = SyscallLoop.CallsPerRun)]
    public ulong NullSyscall() => _loop.RunBatch();
}
