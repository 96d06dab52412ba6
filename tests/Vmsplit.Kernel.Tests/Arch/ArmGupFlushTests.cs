using Vmsplit.Hardware;
using Vmsplit.Hardware.Caches;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Tests.Core;

namespace Vmsplit.Kernel.Tests.Arch;

/// <summary>
/// get_user_pages on a non-aliasing ARMv7 data cache without LPAE (no fast GUP): __get_user_pages' flush_dcache_page of
/// the anonymous page takes __flush_dcache_page as Linux 4.4 and the 2020 vmsplit 4g/4g tree run it (arch/arm/mm/flush.c):
/// the page cleaned and invalidated line by line to the point of coherency, so it leaves the L1D and the L2.
/// </summary>
public class ArmGupFlushTests
{
    private const ulong Page = 4096;

    [Fact]
    public void PinningAPageOnACortexA8FlushesItsSixtyFourLinesOutOfBothCaches()
    {
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Arm, "classic+pin-kmap", "cortex-a8", ramBytes: 256 * ByteSize.MiB, touch: true);
        ArmMm arm = Assert.IsType<ArmMm>(k.Arch);
        k.EnterKernel();
        PhysicalAddress frame = p.Tables.Lookup(buf).FrameBase;
        CacheHierarchy c = k.Cpu.Caches!;
        c.Data(frame.Value, Page); // the page brought into the L1D and the L2
        Assert.Equal(0, c.Data(frame.Value, Page));
        double flush = k.Ledger.Cycles(CostCause.CacheFlush);
        double barriers = k.Ledger.Cycles(CostCause.Barrier);

        Assert.Equal(frame, k.GetUserPage(p, buf, write: true, pin: true));

        // 64 lines of 64 bytes, one DCCIMVAC each at cleanInvalidateLineCycles (12), then one DSB (20)
        Assert.Equal(1, arm.GupPagesFlushed);
        Assert.Equal(64 * 12.0, k.Ledger.Cycles(CostCause.CacheFlush) - flush);
        Assert.Equal(20.0, k.Ledger.Cycles(CostCause.Barrier) - barriers);

        // the next copy of the page finds none of its lines: 64 consecutive lines from memory, streamed at the AM335x's
        // 1.6 bytes per cycle: max(110, min(64 x 110, 64 x 64 / 1.6)) = 2 560 cycles
        Assert.Equal(2560, c.Data(frame.Value, Page), 6);
        k.UnpinUserPage(p, frame);
    }

    [Fact]
    public void AnLpaeKernelHasFastGupAndFlushesNothing()
    {
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.ArmLpae, "classic+pin-kmap", "cortex-a15", touch: true);
        ArmMm arm = Assert.IsType<ArmMm>(k.Arch);
        k.EnterKernel();
        double flush = k.Ledger.Cycles(CostCause.CacheFlush);
        PhysicalAddress frame = k.GetUserPage(p, buf, write: false, pin: true)!.Value;
        Assert.Equal(0, arm.GupPagesFlushed);
        Assert.Equal(flush, k.Ledger.Cycles(CostCause.CacheFlush));
        k.UnpinUserPage(p, frame);
    }

    [Fact]
    public void ClassicNeverPinsSoNeverFlushes()
    {
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Arm, "classic", "cortex-a8", ramBytes: 256 * ByteSize.MiB, touch: true);
        k.EnterKernel();
        Assert.Equal(0UL, k.Uaccess.CopyToUser(buf, new byte[2 * Page]));
        Assert.Equal(0, Assert.IsType<ArmMm>(k.Arch).GupPagesFlushed);
        Assert.Equal(0, k.Ledger.Cycles(CostCause.CacheFlush));
    }
}
