using Vmsplit.Hardware;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>A workload that does not fit the machine is refused in one line, from what the allocators really hold.</summary>
public class WorkloadFitTests
{
    private static MachineSpec SmallArm() => MachineSpec.DefaultArm() with { RamBytes = 64 * ByteSize.MiB };

    [Fact]
    public void TheKernelImageFramesNeverReachThePageAllocator()
    {
        MachineSpec m = SmallArm();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic"));
        // memblock_reserve of the 4 MiB image, and memblock_alloc of mem_map (64 MiB: 16384 struct pages of 32 bytes, 128 frames)
        Assert.Equal((k.ImageBytes / 4096) + 128, k.Lowmem.ReservedPages);
        Assert.Throws<InvalidOperationException>(() => k.Lowmem.Reserve(k.ImagePa, 4096)); // not free: reserved
        for (Hardware.Memory.FrameAllocation f = k.Lowmem.Allocate(0); f.Succeeded; f = k.Lowmem.Allocate(0))
        {
            Assert.False(f.Address >= k.ImagePa && f.Address.Value < k.ImagePa.Value + k.ImageBytes, $"{f.Address} is an image frame");
        }
    }

    [Fact]
    public void AComparisonThatDoesNotFitIsRefusedBeforeAnyMeasuredRun()
    {
        CompareOptions o = new(SmallArm(), ["classic", "4g4g"], "classic", [BuiltinWorkloads.Get("null"), BuiltinWorkloads.Get("wss:100M")]) { Ops = 5 };
        int measured = 0;
        LabException e = Assert.Throws<LabException>(() => Comparison.Run(o, new SynchronousProgress(() => measured++)));
        Assert.Equal(0, measured);
        Assert.StartsWith("workload wss:100M does not fit classic on arm-lpae with 64 MiB of RAM: out of lowmem while setting it up; it maps 100.05 MiB", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        // what was free comes from the allocators after boot: RAM less the image, the kernel's tables and slab pages
        SimKernel k = Scenario.Boot(SmallArm(), Scenario.ParseDesign(SmallArm(), "classic"));
        Assert.Contains($"{ByteSize.Human(k.Lowmem.FreeBytes)} of page frames were free after boot (lowmem {ByteSize.Human(k.Lowmem.FreeBytes)}, highmem 0 B)", e.Message);
    }

    [Fact]
    public void AWorkloadThatOutgrowsTheMachineWhileRunningIsRefusedNamingTheOperation()
    {
        // fault maps a fresh page per operation over a 64 MiB region: past some 15,000 operations 64 MiB of RAM is full
        LabException e = Assert.Throws<LabException>(() => Runner.Run(SmallArm(), "classic", BuiltinWorkloads.Get("fault"), 20_000));
        Assert.Matches("^workload fault does not fit classic on arm-lpae with 64 MiB of RAM: out of lowmem[^;]* in operation [0-9]+; ", e.Message);
    }

    private sealed class SynchronousProgress(Action report) : IProgress<int>
    {
        public void Report(int value) => report();
    }
}
