using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Lab.Tests;

/// <summary>flush_tlb_mm_range as each architecture does it: per page under the ceiling, whole mm above it.</summary>
public class TlbFlushRangeTests
{
    private const ulong Page = 4096;
    private const int Pages = 64;

    private static (SimKernel K, Process P, VirtualAddress Buf) BootAndTouch(MachineSpec m, string design)
    {
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, Pages * Page, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.UserTouch(p, buf, Pages * Page, write: true);
        k.UserTouch(p, buf, Pages * Page, write: false); // all 64 translations resident
        return (k, p, buf);
    }

    /// <summary>Flushes [buf, buf + pages) from inside the kernel; returns the ledger of the flush and the user walks that follow.</summary>
    private static (double Cycles, long Events, long WalksAfter) FlushAndRetouch(SimKernel k, Process p, VirtualAddress buf, int pages)
    {
        k.EnterKernel();
        k.Ledger.Reset();
        k.FlushTlbMmRange(p, buf, buf + ((ulong)pages * Page));
        double cycles = k.Ledger.Cycles(CostCause.TlbMaintenance);
        long events = k.Ledger.Events(CostCause.TlbMaintenance);
        k.ExitKernel();
        k.Cpu.Mmu.Counters.Reset();
        k.UserTouch(p, buf, Pages * Page, write: false);
        Assert.Empty(k.Checker!.Reports);
        return (cycles, events, k.Cpu.Mmu.Counters.Walks);
    }

    [Fact]
    public void X86ClassicFlushesPageByPageUpToTheCeilingOf33ThenTheWholeMm()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        CpuProfile prof = m.Profile;
        double software = new KernelSoftwareCosts().FlushTlbRange;

        // 33 pages: 33 INVLPGs (Skylake profile: 200 cycles each) plus the function's own work; only those 33 refill.
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(m, "classic");
        (double cycles, long events, long walks) = FlushAndRetouch(k, p, buf, 33);
        Assert.Equal(software + (33 * 200), cycles);
        Assert.Equal(200, prof.Cycles(TlbMaintenanceOp.X86Invlpg));
        Assert.Equal(1 + 33, events);
        Assert.Equal(33, walks);

        // 34 pages: one CR3 rewrite of the current PCID (100 cycles); every user page refills, the global kernel ones stay.
        (k, p, buf) = BootAndTouch(m, "classic");
        (cycles, events, walks) = FlushAndRetouch(k, p, buf, 34);
        Assert.Equal(software + 100, cycles);
        Assert.Equal(2, events);
        Assert.Equal(Pages, walks);
    }

    [Fact]
    public void X86KptiAlsoFlushesTheUserPcidPerPageAndDefersItsFullFlushToTheExit()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        double software = new KernelSoftwareCosts().FlushTlbRange;

        // Per page: INVLPG (kernel PCID, 200) + INVPCID type 0 for the user PCID (350).
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(m, "kpti");
        (double cycles, long events, long walks) = FlushAndRetouch(k, p, buf, 8);
        Assert.Equal(software + (8 * (200 + 350)), cycles);
        Assert.Equal(1 + 16, events);
        Assert.Equal(8, walks);

        // Whole mm: the kernel PCID now; the user PCID is marked in user_pcid_flush_mask and flushed by SWITCH_TO_USER_CR3.
        (k, p, buf) = BootAndTouch(m, "kpti");
        k.EnterKernel();
        k.FlushTlbMmRange(p, buf, buf + (40 * Page));
        Assert.True(((X86PcidAllocator)k.Asids).UserFlushPending(k.Cpu.Id));
        k.ExitKernel();
        Assert.False(((X86PcidAllocator)k.Asids).UserFlushPending(k.Cpu.Id));
        k.Cpu.Mmu.Counters.Reset();
        k.UserTouch(p, buf, Pages * Page, write: false);
        Assert.Equal(Pages, k.Cpu.Mmu.Counters.Walks);
    }

    [Fact]
    public void ArmLpaeLoopsWithoutACeilingBetweenTwoBarriers()
    {
        // v7wbi_flush_user_tlb_range: DSB, one TLBIMVA per page (40 of them, no ceiling on 32-bit ARM), DSB.
        MachineSpec m = MachineSpec.DefaultArm();
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(m, "classic");
        k.EnterKernel();
        k.Ledger.Reset();
        k.FlushTlbMmRange(p, buf, buf + (40 * Page));
        Assert.Equal(1 + 40, k.Ledger.Events(CostCause.TlbMaintenance));
        Assert.Equal(2, k.Ledger.Events(CostCause.Barrier));
        Assert.Equal(new KernelSoftwareCosts().FlushTlbRange + (40 * m.Profile.Cycles(TlbMaintenanceOp.ArmTlbiMva)), k.Ledger.Cycles(CostCause.TlbMaintenance));
        k.ExitKernel();
    }

    [Theory]
    [InlineData("classic", 511, 511, 0)]
    [InlineData("classic", 512, 0, 1)]
    [InlineData("kpti", 511, 2 * 511, 0)]
    [InlineData("kpti", 512, 0, 2)]
    public void Arm64FlushesTheAsidFromMaxTlbiOpsPagesOnAndRepeatsEachTlbiForTheKptiPair(string design, int pages, int byVa, int byAsid)
    {
        MachineSpec m = new(MachineSpec.Require("cortex-a72"), Kernel.Layout.KernelArch.Aarch64, 4 * ByteSize.GiB);
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(m, design);
        k.EnterKernel();
        k.Ledger.Reset();
        k.FlushTlbMmRange(p, buf, buf + ((ulong)pages * Page));
        double expected = new KernelSoftwareCosts().FlushTlbRange
            + (byVa * m.Profile.Cycles(TlbMaintenanceOp.ArmTlbiMva))
            + (byAsid * m.Profile.Cycles(TlbMaintenanceOp.ArmTlbiAsid));
        Assert.Equal(expected, k.Ledger.Cycles(CostCause.TlbMaintenance));
        Assert.Equal(1 + byVa + byAsid, k.Ledger.Events(CostCause.TlbMaintenance));
        Assert.Equal(2, k.Ledger.Events(CostCause.Barrier));
        k.ExitKernel();
        k.Cpu.Mmu.Counters.Reset();
        k.UserTouch(p, buf, Pages * Page, write: false);
        Assert.Equal(Pages, k.Cpu.Mmu.Counters.Walks); // the whole 64-page buffer lies in the flushed range
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void FlushingAnMmThatIsNotRunningIsRefused()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        (SimKernel k, _, VirtualAddress buf) = BootAndTouch(m, "classic");
        Process other = k.CreateProcess();
        Assert.Throws<InvalidOperationException>(() => k.FlushTlbMmRange(other, buf, buf + Page));
    }

    public static TheoryData<string, string, int> MunmapCases => new()
    {
        { "x86-64", "classic", 1 },
        { "x86-64", "classic", 33 },
        { "x86-64", "classic", 34 },
        { "x86-64", "classic+nopcid", 64 },
        { "x86-64", "kpti", 33 },
        { "x86-64", "kpti", 64 },
        { "x86-64", "kpti+nopcid", 34 },
        { "arm-lpae", "classic", 64 },
        { "arm-lpae", "4g4g", 64 },
        { "arm", "classic", 7 },
    };

    /// <summary>munmap gathers the range, flushes once, then frees: the checker sees no stale entry and every frame comes back.</summary>
    [Theory]
    [MemberData(nameof(MunmapCases))]
    public void MunmapLeavesNoStaleTranslation(string arch, string design, int pages)
    {
        MachineSpec m = DesignBehaviourTests.Machine(arch);
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(m, design);
        FrameAllocator low = k.Lowmem;
        ulong before = low.FreeBytes + (k.Highmem?.FreeBytes ?? 0);
        long tablesBefore = p.Tables.TableBytes;
        k.EnterKernel();
        k.UnmapRegion(p, buf, (ulong)pages * Page);
        k.ExitKernel();
        ulong after = low.FreeBytes + (k.Highmem?.FreeBytes ?? 0);
        ulong tablesFreed = (ulong)(tablesBefore - p.Tables.TableBytes); // tables left empty go back too
        Assert.Equal(((ulong)pages * Page) + tablesFreed, after - before);

        // The freed frames go to a new mapping in the same place; user reads must see the new pages, not the old ones.
        VirtualAddress again = k.MapRegion(p, (ulong)pages * Page, VmFlags.Read | VmFlags.Write);
        k.UserTouch(p, again, (ulong)pages * Page, write: true);
        k.UserTouch(p, buf + ((ulong)pages * Page), (ulong)(Pages - pages) * Page, write: false);
        Assert.Empty(k.Checker!.Reports);
    }
}
