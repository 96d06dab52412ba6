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
    public void WithoutInvpcidTheUserPcidIsFlushedWholeAtTheNextExit()
    {
        // native_flush_tlb_one_user: no INVPCID -> invalidate_user_asid(), the user PCID goes at SWITCH_TO_USER_CR3
        string yaml = string.Join('\n', CpuProfiles.ShippedText("skylake")!.Replace("invpcid: { value: true", "invpcid: { value: false")
            .Split('\n').Where(line => !line.TrimStart().StartsWith("invpcid", StringComparison.Ordinal) || line.Contains("value: false", StringComparison.Ordinal)));
        MachineSpec m = new(CpuProfileLoader.Parse(yaml, "skylake-noinvpcid.yaml"), Kernel.Layout.KernelArch.X86_64, 8 * ByteSize.GiB);
        Assert.False(m.Profile.Tlb.HasInvpcid);
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(m, "kpti");
        k.EnterKernel();
        k.Ledger.Reset();
        k.FlushTlbMmRange(p, buf, buf + (2 * Page));
        Assert.Equal(1 + 2, k.Ledger.Events(CostCause.TlbMaintenance)); // software + two INVLPGs, no INVPCID
        Assert.True(((X86PcidAllocator)k.Asids).UserFlushPending(k.Cpu.Id));
        k.ExitKernel();
        k.Cpu.Mmu.Counters.Reset();
        k.UserTouch(p, buf, Pages * Page, write: false);
        Assert.Equal(Pages, k.Cpu.Mmu.Counters.Walks); // the whole user PCID was dropped
        Assert.Empty(k.Checker!.Reports);
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
            + (byVa * m.Profile.Cycles(TlbMaintenanceOp.Arm64TlbiVale1Is))
            + (byAsid * m.Profile.Cycles(TlbMaintenanceOp.Arm64TlbiAside1Is));
        Assert.Equal(expected, k.Ledger.Cycles(CostCause.TlbMaintenance));
        Assert.Equal(1 + byVa + byAsid, k.Ledger.Events(CostCause.TlbMaintenance));
        Assert.Equal(2, k.Ledger.Events(CostCause.Barrier));
        k.ExitKernel();
        k.Cpu.Mmu.Counters.Reset();
        k.UserTouch(p, buf, Pages * Page, write: false);
        Assert.Equal(Pages, k.Cpu.Mmu.Counters.Walks); // the whole 64-page buffer lies in the flushed range
        Assert.Empty(k.Checker!.Reports);
    }

    private static MachineSpec Riscv() => new(MachineSpec.Require("sifive-u74"), Kernel.Layout.KernelArch.RiscvSv39, 4 * ByteSize.GiB);

    [Theory]
    [InlineData(64, 64, 0)]
    [InlineData(65, 0, 1)]
    public void RiscvFlushesTheAsidAboveSixtyFourPages(int pages, int byVa, int byAsid)
    {
        // local_flush_tlb_range_threshold_asid: SFENCE.VMA va, asid per page up to tlb_flush_all_threshold (64), else by ASID
        MachineSpec m = Riscv();
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(m, "classic");
        k.EnterKernel();
        k.Ledger.Reset();
        k.FlushTlbMmRange(p, buf, buf + ((ulong)pages * Page));
        Assert.Equal(
            new KernelSoftwareCosts().FlushTlbRange + (byVa * m.Profile.Cycles(TlbMaintenanceOp.RiscvSfenceVmaVaAsid)) + (byAsid * m.Profile.Cycles(TlbMaintenanceOp.RiscvSfenceVmaAsid)),
            k.Ledger.Cycles(CostCause.TlbMaintenance));
        Assert.Equal(1 + byVa + byAsid, k.Ledger.Events(CostCause.TlbMaintenance));
        k.ExitKernel();
    }

    /// <summary>Three VMAs, the middle one never touched: what one munmap over all three flushes.</summary>
    private static (long Events, long Barriers) MunmapThreeVmas(MachineSpec m, string design)
    {
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        Process p = k.CreateProcess();
        VirtualAddress a = k.MapRegion(p, 2 * Page, VmFlags.Read | VmFlags.Write);
        VirtualAddress b = k.MapRegion(p, 1024 * Page, VmFlags.Read | VmFlags.Write);
        VirtualAddress c = k.MapRegion(p, 2 * Page, VmFlags.Read | VmFlags.Write);
        Assert.Equal(b + (1024 * Page), a); // placed top-down, one below another (mmap_base downwards)
        Assert.Equal(c + (2 * Page), b);
        k.Start(p);
        k.UserTouch(p, a, 2 * Page, write: true);
        k.UserTouch(p, c, 2 * Page, write: true);
        k.EnterKernel();
        k.Ledger.Reset();
        k.UnmapRegion(p, c, 1028 * Page);
        k.ExitKernel();
        Assert.Empty(k.Checker!.Reports);
        return (k.Ledger.Events(CostCause.TlbMaintenance), k.Ledger.Events(CostCause.Barrier));
    }

    [Fact]
    public void MunmapMergesTheVmasOnX86AndFlushesEachVmaElsewhere()
    {
        // x86 (MMU_GATHER_MERGE_VMAS): one range from the first to the last page cleared, 1028 pages > 33: one CR3 rewrite.
        Assert.Equal((2, 0), MunmapThreeVmas(MachineSpec.SkylakeX86(), "classic"));

        // arm (tlb_end_vma): one range per VMA that had pages: 2 × (software + 2 TLBIMVA), each between two DSBs.
        (long events, long barriers) = MunmapThreeVmas(MachineSpec.DefaultArm(), "classic");
        Assert.Equal(4, barriers);
        Assert.Equal(2 * (1 + 2), events);
    }

    [Fact]
    public void RiscvMunmapThatFreesPageTablesFlushesTheRangeThenTheWholeAsid()
    {
        // unmap_region: the VMA's own flush (tlb_end_vma: 64 pages, SFENCE.VMA va, asid each), then free_pgtables and
        // tlb_finish_mmu, whose tlb_flush() with freed_tables is flush_tlb_mm (arch/riscv/include/asm/tlb.h)
        MachineSpec m = Riscv();
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(m, "classic");
        long tables = p.Tables.TableBytes;
        k.EnterKernel();
        k.Ledger.Reset();
        k.UnmapRegion(p, buf, Pages * Page); // the whole region: its last-level table goes
        Assert.True(p.Tables.TableBytes < tables);
        double software = new KernelSoftwareCosts().FlushTlbRange;
        Assert.Equal(
            (2 * software) + (Pages * m.Profile.Cycles(TlbMaintenanceOp.RiscvSfenceVmaVaAsid)) + m.Profile.Cycles(TlbMaintenanceOp.RiscvSfenceVmaAsid),
            k.Ledger.Cycles(CostCause.TlbMaintenance));
        Assert.Equal(1 + Pages + 1 + 1, k.Ledger.Events(CostCause.TlbMaintenance));
        k.ExitKernel();
        Assert.Empty(k.Checker!.Reports);
    }

    /// <summary>
    /// x86 KPTI: munmap that frees the user PUD must drop the user copy's top-level entry too (pti_set_user_pgtbl);
    /// otherwise the user PGD keeps pointing at a freed table whose frame the next allocations reuse.
    /// </summary>
    [Fact]
    public void KptiUserCopyFollowsTablesFreedByMunmap()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "kpti"), coherenceCheck: true);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, 4 * Page, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.UserTouch(p, buf, 4 * Page, write: true);
        k.EnterKernel();
        k.UnmapRegion(p, buf, 4 * Page);
        k.ExitKernel();
        Assert.False(p.Tables.HasTopLevelEntry(buf)); // the whole user tree below this PGD entry went
        Assert.False(p.UserShadow!.HasTopLevelEntry(buf));
        for (int i = 0; i < 3; i++)
        {
            k.CreateProcess(); // reuse the freed table frames
        }

        VirtualAddress again = k.MapRegion(p, 4 * Page, VmFlags.Read | VmFlags.Write);
        Assert.Equal(buf, again);
        k.UserTouch(p, again, 4 * Page, write: true); // faulted in, reached through the refreshed user copy
        Assert.True(p.UserShadow.HasTopLevelEntry(buf));
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void MunmapUnderTheCeilingFlushesEachPageOnce()
    {
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(MachineSpec.SkylakeX86(), "classic");
        k.EnterKernel();
        k.Ledger.Reset();
        k.UnmapRegion(p, buf + (8 * Page), 33 * Page);
        Assert.Equal(1 + 33, k.Ledger.Events(CostCause.TlbMaintenance)); // one flush_tlb_mm_range, 33 INVLPGs
        k.ExitKernel();
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
        { "aarch64", "classic", 64 },
        { "aarch64", "kpti", 40 },
        { "riscv", "classic", 64 },
        { "riscv", "classic", 5 },
    };

    /// <summary>munmap gathers the range, flushes once, then frees: the checker sees no stale entry and every frame comes back.</summary>
    [Theory]
    [MemberData(nameof(MunmapCases))]
    public void MunmapLeavesNoStaleTranslation(string arch, string design, int pages)
    {
        MachineSpec m = arch switch
        {
            "aarch64" => new(MachineSpec.Require("cortex-a72"), Kernel.Layout.KernelArch.Aarch64, 4 * ByteSize.GiB),
            "riscv" => Riscv(),
            _ => DesignBehaviourTests.Machine(arch),
        };
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
