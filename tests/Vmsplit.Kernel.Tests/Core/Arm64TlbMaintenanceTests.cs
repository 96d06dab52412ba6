using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>
/// The simulated arm64 kernel issues AArch64's TLBIs as Linux's arch/arm64/include/asm/tlbflush.h does
/// (VALE1IS per page for a munmap, ASIDE1IS for a whole mm, VAALE1IS for kernel ranges, VMALLE1IS for
/// everything), never ARMv7's TLBIMVA/TLBIASID/TLBIALL; the hit and miss sequences that follow are
/// computed by hand.
/// </summary>
public sealed class Arm64TlbMaintenanceTests
{
    private const ulong Page = 4096;

    private static readonly TlbMaintenanceOp[] s_armv7 =
    [
        TlbMaintenanceOp.ArmTlbiAll, TlbMaintenanceOp.ArmTlbiAllIs, TlbMaintenanceOp.ArmTlbiAsid, TlbMaintenanceOp.ArmTlbiAsidIs,
        TlbMaintenanceOp.ArmTlbiMva, TlbMaintenanceOp.ArmTlbiMvaIs, TlbMaintenanceOp.ArmTlbiMvaa, TlbMaintenanceOp.ArmTlbiMvaaIs,
    ];

    // Cortex-A53: a 64-entry walk cache of every table level (TRM 5.1), so a walk after a last-level TLBI
    // finds its level-2 table descriptor cached and reads only the leaf.
    private static (SimKernel K, Process P, VirtualAddress Buf) BootAndTouch(string design, int pages) =>
        KernelBoot.BootWithBuffer(KernelArch.Aarch64, design, "cortex-a53", (ulong)pages * Page, 4 * ByteSize.GiB, touch: true);

    private static void AssertNoArmv7Operation(MmuCounters c)
    {
        foreach (TlbMaintenanceOp op in s_armv7)
        {
            Assert.Equal(0, c.Flushes(op));
        }
    }

    [Theory]
    [InlineData("classic", 1)]
    [InlineData("kpti", 2)]
    public void MunmapOfTwoPagesIssuesVale1IsPerPage(string design, int copies)
    {
        // tlb_end_vma flushes [buf + 2 pages, buf + 4 pages) before free_pgtables, so tlb_flush passes
        // last_level = true: TLBI VALE1IS per page (KPTI: again for the other ASID of the pair, __tlbi_user).
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(design, 4);
        MmuCounters c = k.Cpu.Mmu.Counters;
        k.EnterKernel();
        k.Ledger.Reset();
        c.Reset();
        k.UnmapRegion(p, buf + (2 * Page), 2 * Page);
        k.ExitKernel();
        Assert.Equal(2 * copies, c.Flushes(TlbMaintenanceOp.Arm64TlbiVale1Is));
        Assert.Equal(2 * copies, c.TotalFlushes);
        AssertNoArmv7Operation(c);
        double software = new KernelSoftwareCosts().FlushTlbRange;
        Assert.Equal(150, k.Cpu.Profile.Cycles(TlbMaintenanceOp.Arm64TlbiVale1Is)); // cortex-a53 tlbiMvaIs
        Assert.Equal(software + (2 * copies * 150), k.Ledger.Cycles(CostCause.TlbMaintenance));
        Assert.Empty(k.Checker!.Reports);
    }

    [Theory]
    [InlineData("classic")]
    [InlineData("kpti")]
    public void AfterALastLevelRangeFlushTheFlushedPagesWalkFromTheCachedTableDescriptor(string design)
    {
        // 4 pages in one 2 MiB region (one level-3 table), all touched: their leaves are in the TLB, the table
        // descriptors of levels 0 to 2 in the walk cache.
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch(design, 4);
        Assert.Equal(buf.Value >> 21, (buf.Value + (3 * Page)) >> 21);
        MmuCounters c = k.Cpu.Mmu.Counters;
        k.EnterKernel();
        k.FlushTlbMmRange(p, buf + (2 * Page), buf + (4 * Page));
        k.ExitKernel();

        // Pages 0 and 1 hit. Pages 2 and 3 miss; VALE1 left the walk cache alone, so each walk finds the level-2
        // table descriptor cached, reads only the level-3 leaf (1 read) and skips levels 0 to 2 (3 reads saved)
        // of the 4-level VA_BITS=48 walk. (ARMv7's TLBIMVA, used before, also dropped those table entries: the
        // first walk would then read all 4 levels.)
        c.Reset();
        k.UserTouch(p, buf, 2 * Page, write: false);
        Assert.Equal((0L, 2L), (c.Walks, c.Hits));
        k.UserTouch(p, buf + (2 * Page), 2 * Page, write: false);
        Assert.Equal((2L, 2L, 6L), (c.Walks, c.WalkReads, c.WalkReadsSaved));
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void FlushTlbMmIssuesAside1IsAndEveryUserPageWalksAgain()
    {
        (SimKernel k, Process p, VirtualAddress buf) = BootAndTouch("classic", 4);
        MmuCounters c = k.Cpu.Mmu.Counters;
        k.EnterKernel();
        k.Ledger.Reset();
        c.Reset();
        k.FlushTlbMm(p);
        Assert.Equal(1, c.Flushes(TlbMaintenanceOp.Arm64TlbiAside1Is));
        Assert.Equal(1, c.TotalFlushes);
        double software = new KernelSoftwareCosts().FlushTlbRange;
        Assert.Equal(software + k.Cpu.Profile.Cycles(TlbMaintenanceOp.Arm64TlbiAside1Is), k.Ledger.Cycles(CostCause.TlbMaintenance));
        Assert.Equal(200, k.Cpu.Profile.Cycles(TlbMaintenanceOp.Arm64TlbiAside1Is)); // cortex-a53 tlbiAsidIs
        k.ExitKernel();
        c.Reset();
        k.UserTouch(p, buf, 4 * Page, write: false);
        Assert.Equal(4, c.Walks);
    }

    [Theory]
    [InlineData(40, 40, 0)]
    [InlineData(512, 512, 0)]
    [InlineData(513, 0, 1)]
    public void KernelRangesUseVaale1IsUpToMaxTlbiOpsPagesThenVmalle1Is(int pages, int byVa, int all)
    {
        // flush_tlb_kernel_range: above MAX_TLBI_OPS (512) pages flush_tlb_all (TLBI VMALLE1IS), else
        // DSB ISHST, TLBI VAALE1IS per page, DSB ISH, ISB.
        (SimKernel k, _, _) = BootAndTouch("classic", 1);
        MmuCounters c = k.Cpu.Mmu.Counters;
        k.EnterKernel();
        k.Ledger.Reset();
        c.Reset();
        VirtualAddress start = new(k.Layout.VmallocStart);
        k.FlushKernelRange(start, start + ((ulong)pages * Page));
        Assert.Equal((byVa, all), (c.Flushes(TlbMaintenanceOp.Arm64TlbiVaale1Is), c.Flushes(TlbMaintenanceOp.Arm64TlbiVmalle1Is)));
        Assert.Equal(byVa + all, c.TotalFlushes);
        Assert.Equal(byVa + all, k.Ledger.Events(CostCause.TlbMaintenance));
        Assert.Equal(byVa > 0 ? 3 : 2, k.Ledger.Events(CostCause.Barrier));
        k.ExitKernel();
    }
}
