using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>dd's copies through the Cortex-A8's 32 KiB L1 data cache and 256 KiB L2, counted by hand.</summary>
public class DataCacheTests
{
    private static MachineSpec A8() => MachineSpec.For(CpuProfiles.Find("cortex-a8")!, KernelArch.Arm, 256 * ByteSize.MiB);

    [Fact]
    public void ASmallBlockMissesOnlyItsFreshPageCacheLines()
    {
        // dd:4K reads the next 4 KiB of a 4 MiB file (64 lines the run has not touched: memory) into the user buffer,
        // which stays in the L1D from the last operation, and writes it back to the page just read (L1D hits). The 64 lines
        // are consecutive, one run streamed at the AM335x's 1.6 bytes per cycle: max(110, min(64 x 110, 64 x 64 / 1.6)) = 2560
        MachineSpec m = A8();
        RunResult r = Runner.Run(m, "classic", BuiltinWorkloads.Get("dd:4K"), 100);
        Assert.Equal(2560, r.CyclesPerOpByCause[CostCause.DataCacheMiss], 6);
    }

    [Fact]
    public void ABlockLargerThanTheL2MissesEveryLineOfBothCopies()
    {
        // dd:1M: the 1 MiB user buffer and page-cache range stream through the 256 KiB L2 in LRU order, so every line of
        // the read's two sides and the write's two sides comes from memory: 4 x 16384 lines, copied a page (a run of 64
        // lines) at a time, each run streamed at 64 / 1.6 = 40 cycles a line (the Cortex-A8 has no write streaming: the
        // destinations fill too)
        MachineSpec m = A8();
        RunResult r = Runner.Run(m, "classic", BuiltinWorkloads.Get("dd:1M"), 4);
        Assert.Equal(4 * 16384 * 40.0, r.CyclesPerOpByCause[CostCause.DataCacheMiss], 6);
    }
}
