using BenchmarkDotNet.Attributes;
using Vmsplit.Lab;

namespace Vmsplit.Bench;

/// <summary>
/// The TLB hit path (one array, the micro+main hierarchy, the whole MMU with its permission check)
/// and the miss path (lookup miss, 4-level x86-64 walk in simulated memory, fill). The setups are the
/// Lab's speed loops, which <c>vmsplit bench</c> times as well.
/// </summary>
[MemoryDiagnoser]
public class TlbBenchmarks
{
    private TlbLookupLoop _lookup = null!;
    private TlbHierarchyHitLoop _hierarchy = null!;
    private MmuHitLoop _mmuHit = null!;
    private MmuMissLoop _mmuMiss = null!;
    private MmuMissLoop _mmuMissTraced = null!;

    [GlobalSetup]
    public void Setup()
    {
        _lookup = new TlbLookupLoop();
        _hierarchy = new TlbHierarchyHitLoop();
        _mmuHit = new MmuHitLoop();
        _mmuMiss = new MmuMissLoop();
        _mmuMissTraced = new MmuMissLoop(traced: true);
    }

    /// <summary>Hits in the Cortex-A53 main TLB geometry (512 entries, 4-way), 256 distinct pages resident.</summary>
    [Benchmark(OperationsPerInvoke = TlbLookupLoop.Pages)]
    public ulong MainTlbLookupHit() => _lookup.RunBatch();

    [Benchmark(OperationsPerInvoke = TlbHierarchyHitLoop.OperationsPerRun)]
    public ulong HierarchyMicroHit() => _hierarchy.RunBatch();

    [Benchmark(OperationsPerInvoke = MmuHitLoop.OperationsPerRun)]
    public ulong MmuTranslateHit() => _mmuHit.RunBatch();

    /// <summary>8192 pages cycled through a 64 + 1024-entry LRU hierarchy: every access misses and walks four levels.</summary>
    [Benchmark(OperationsPerInvoke = MmuMissLoop.Pages)]
    public ulong MmuTranslateMissWalk() => _mmuMiss.RunBatch();

    /// <summary>The same misses with a walk trace installed, as the simulated kernel runs every miss (its cache model reads the steps).</summary>
    [Benchmark(OperationsPerInvoke = MmuMissLoop.Pages)]
    public ulong MmuTranslateMissWalkTraced() => _mmuMissTraced.RunBatch();
}
