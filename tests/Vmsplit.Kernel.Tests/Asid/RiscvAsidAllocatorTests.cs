using Vmsplit.Kernel.Asid;

namespace Vmsplit.Kernel.Tests.Asid;

public class RiscvAsidAllocatorTests
{
    [Theory]
    [InlineData(4, 0, false)]   // no ASIDs at all
    [InlineData(4, 3, false)]   // 8 ASIDs, not more than 2 x 4 harts
    [InlineData(4, 4, true)]    // 16 > 8
    [InlineData(8, 4, false)]   // 16, not more than 16
    [InlineData(8, 16, true)]
    public void AllocatorOnlyWithMoreThanTwiceAsManyAsidsAsHarts(int cpus, int bits, bool uses)
    {
        Assert.Equal(uses, new RiscvAsidAllocator(cpus, bits).UsesAllocator);
    }

    [Fact]
    public void TooFewAsidsFlushAsidZeroOnEverySwitch()
    {
        RiscvAsidAllocator r = new(cpus: 4, asidBits: 3);
        MmContext a = new(2);
        MmContext b = new(3);
        for (int i = 0; i < 5; i++)
        {
            AsidSwitch s = r.SwitchMm(0, i % 2 == 0 ? a : b);
            Assert.Equal(0, s.Asid);
            Assert.Equal(SwitchFlush.Asid, s.Flush);
            Assert.True(s.FlushAfterRootWrite);
        }

        Assert.False(r.SwitchMm(0, a).WritesRoot);
        Assert.Equal(5, r.FlushCount);
    }

    [Fact]
    public void SmallAllocatorRollsOverWithAFlushAfterTheSatpWrite()
    {
        // 4-bit ASIDs on one hart: 1..15 usable. P1..P15 -> 1..15; P16 rolls over (gen 2) -> 1 and flushes.
        RiscvAsidAllocator r = new(cpus: 1, asidBits: 4);
        for (int i = 1; i <= 16; i++)
        {
            AsidSwitch s = r.SwitchMm(0, new MmContext((ulong)i + 1));
            Assert.Equal(i <= 15 ? i : 1, s.Asid);
            Assert.Equal(i == 16 ? SwitchFlush.All : SwitchFlush.None, s.Flush);
        }

        Assert.Equal(2UL, r.Generation);
        Assert.Equal(1, r.FlushCount);
    }
}
