using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Tests.Mm;

/// <summary>mem_map's share of lowmem: 32 bytes per frame the kernel keeps, highmem frames included.</summary>
public sealed class MemMapTests
{
    private static KernelLayout Layout(KernelArch arch, ulong physBase, ulong ram, KernelConfig? config = null) =>
        LayoutEngine.Compute(new Machine(arch, [new RamBank(new PhysicalAddress(physBase), ram)]), config ?? new KernelConfig());

    [Fact]
    public void TwoHundredFiftySixMiBNeedTwoMiBOfStructPages()
    {
        // 65536 frames × 32 bytes
        Assert.Equal(2 * ByteSize.MiB, MemMap.BytesFor(Layout(KernelArch.Arm, 0x80000000, 256 * ByteSize.MiB)));
    }

    [Fact]
    public void HighmemFramesHaveTheirStructPagesInLowmem()
    {
        // 4 GiB on LPAE under VMSPLIT_3G: 768 MiB lowmem, the rest highmem; mem_map covers all 1048576 frames: 32 MiB
        KernelLayout l = Layout(KernelArch.ArmLpae, 0x80000000, 4 * ByteSize.GiB);
        Assert.True(l.HighmemBytes > 0);
        Assert.Equal(32 * ByteSize.MiB, MemMap.BytesFor(l));
        Assert.Equal((0x80000UL, 0x180000UL), MemMap.PfnRange(l));
    }

    [Fact]
    public void WithoutHighmemRamAboveLowmemHasNoStructPage()
    {
        // CONFIG_HIGHMEM off: 2 GiB of RAM, 760 MiB kept below the lowmem limit (VMSPLIT_3G, 240 MiB vmalloc + 8 MiB gap)
        KernelLayout l = Layout(KernelArch.Arm, 0x80000000, 2 * ByteSize.GiB, new KernelConfig { Highmem = false });
        Assert.Equal(0UL, l.HighmemBytes);
        Assert.Equal(((l.LowmemPhysLimit - 0x80000000) / 4096 * 32 + 4095) & ~4095UL, MemMap.BytesFor(l));
    }

    [Fact]
    public void SixtyFourBitKernelsReserveNoLowmemForIt()
    {
        Assert.Equal(0UL, MemMap.BytesFor(Layout(KernelArch.X86_64, 0, 8 * ByteSize.GiB)));
    }
}
