using BenchmarkDotNet.Attributes;
using Vmsplit.Hardware.Paging;
using Vmsplit.Lab;

namespace Vmsplit.Bench;

/// <summary>
/// Software walks per second: 256 user pages of 4 KiB, each under its own last-level table entry and
/// spread over many tables, walked round-robin with a user read (a full-depth walk every time; the
/// setup is the Lab's <see cref="WalkLoop"/>). Add a format with one value in <see cref="Format"/>'s <c>[Params]</c>.
/// </summary>
[MemoryDiagnoser]
public class WalkBenchmarks
{
    private WalkLoop _loop = null!;

    [Params(
        MmuFormat.ArmShort, MmuFormat.ArmLpae, MmuFormat.AArch64Va39, MmuFormat.AArch64Va48,
        MmuFormat.X86_32, MmuFormat.X86Pae, MmuFormat.X86_64, MmuFormat.X86_64La57,
        MmuFormat.RiscvSv32, MmuFormat.RiscvSv39, MmuFormat.RiscvSv48, MmuFormat.RiscvSv57)]
    public MmuFormat Format { get; set; }

    [GlobalSetup]
    public void Setup() => _loop = new WalkLoop(Format);

    [Benchmark(OperationsPerInvoke = WalkLoop.Pages)]
    public ulong Walk() => _loop.RunBatch();
}
