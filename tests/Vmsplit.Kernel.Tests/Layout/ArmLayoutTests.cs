using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Layout;

/// <summary>32-bit ARM rules: adjust_lowmem_bounds(), impossible configurations, eras, TTBR split, designs.</summary>
public sealed class ArmLayoutTests
{
    private static KernelLayout Compute(KernelArch arch, ulong ramBase, ulong ram, KernelConfig config)
        => LayoutEngine.Compute(new Machine(arch, [new RamBank(new PhysicalAddress(ramBase), ram)]), config);

    [Fact]
    public void NoHighmem_IgnoresRamAboveVmallocLimit_WithLinuxMessage()
    {
        // 2 GiB at 0x10000000, 3G split: vmalloc_limit = 0x40000000 (see log A); without HIGHMEM the rest is dropped
        // and adjust_lowmem_bounds() prints "Ignoring RAM at %pa-%pa" (8 hex digits: 32-bit phys_addr_t).
        KernelLayout l = Compute(KernelArch.Arm, 0x10000000, 2 * ByteSize.GiB, new KernelConfig { Highmem = false, Linux = new LinuxVersion(5, 10) });
        Assert.Equal(768 * ByteSize.MiB, l.LowmemBytes);
        Assert.Equal(0UL, l.HighmemBytes);
        Assert.Equal(1280 * ByteSize.MiB, l.IgnoredBytes);
        Assert.Equal(["Ignoring RAM at 0x40000000-0x90000000", "Consider using a HIGHMEM enabled kernel."], l.Notes);
        Assert.Equal(0xbf000000UL, l.ModulesVaddr);
        Assert.Equal(0xc0000000UL, l.ModulesEnd); // MODULES_END = PAGE_OFFSET without HIGHMEM
        Assert.Null(l.Find("pkmap"));
    }

    [Fact]
    public void Lpae_IgnoringRam_Prints64BitPhysAddr()
    {
        KernelLayout l = Compute(KernelArch.ArmLpae, 0x80000000, 2 * ByteSize.GiB, new KernelConfig { Highmem = false });
        // vmalloc_limit = 0xff800000 - 0x0f000000 - 0x00800000 - 0xc0000000 + 0x80000000 = 0xb0000000.
        Assert.Equal("Ignoring RAM at 0x00000000b0000000-0x0000000100000000", l.Notes[0]);
    }

    [Fact]
    public void VmallocOption_MovesLowmemBound()
    {
        // vmalloc=512M: vmalloc_limit = 0xff800000 - 512M - 8M - 0xc0000000 + 0 = 0x1f000000 -> lowmem 496 MiB.
        KernelLayout l = Compute(KernelArch.Arm, 0, ByteSize.GiB, new KernelConfig { VmallocSize = 512 * ByteSize.MiB });
        Assert.Equal(0x1f000000UL, l.LowmemBytes);
        Assert.Equal(0xdf000000UL, l.HighMemory);
        Assert.Equal(0xdf800000UL, l.VmallocStart);
    }

    [Fact]
    public void VmallocTooSmall_IsRoundedUpTo16M()
    {
        KernelLayout l = Compute(KernelArch.Arm, 0, 2 * ByteSize.GiB, new KernelConfig { VmallocSize = 4 * ByteSize.MiB });
        // 16 MiB: vmalloc_limit = 0xff800000 - 16M - 8M - 0xc0000000 = 0x3e000000.
        Assert.Equal(0x3e000000UL, l.LowmemBytes);
        Assert.Contains(l.Notes, n => n.StartsWith("vmalloc area too small", StringComparison.Ordinal));
    }

    [Fact]
    public void ImpossibleConfigurations_AreTypedErrors()
    {
        Assert.Equal(LayoutErrorKind.Conflict, Assert.Throws<LayoutException>(() => Compute(KernelArch.ArmLpae, 0, ByteSize.GiB, new KernelConfig { Split = VmSplit.Split3GOpt })).Kind);
        Assert.Equal(0xff000000UL, Compute(KernelArch.Arm, 0, ByteSize.GiB, new KernelConfig { Design = LayoutDesign.FourGFourG }).TaskSize); // short descriptors: the whole 4 GiB switched
        // Maximum for 3G: 0xff800000 - (0xc0000000 + 32M + 8M) = 976 MiB.
        LayoutException big = Assert.Throws<LayoutException>(() => Compute(KernelArch.Arm, 0, ByteSize.GiB, new KernelConfig { VmallocSize = 977 * ByteSize.MiB }));
        Assert.Equal(LayoutErrorKind.VmallocTooLarge, big.Kind);
        Assert.Contains("976 MiB", big.Message, StringComparison.Ordinal);
        _ = Compute(KernelArch.Arm, 0, ByteSize.GiB, new KernelConfig { VmallocSize = 976 * ByteSize.MiB });
        Assert.Equal(LayoutErrorKind.RamNotAddressable, Assert.Throws<LayoutException>(() => Compute(KernelArch.Arm, 0x80000000, 4 * ByteSize.GiB, new KernelConfig())).Kind);
        Assert.Equal(LayoutErrorKind.BadOption, Assert.Throws<LayoutException>(() => Compute(KernelArch.Arm, 0, ByteSize.GiB, new KernelConfig { Split = VmSplit.Split2GOpt })).Kind);
        Assert.Equal(LayoutErrorKind.Overlap, Assert.Throws<LayoutException>(() => new Machine(KernelArch.Arm, [new RamBank(new PhysicalAddress(0), ByteSize.GiB), new RamBank(new PhysicalAddress(0x20000000), ByteSize.GiB)])).Kind);
    }

    [Fact]
    public void Lpae_HighRamIsAddressable()
    {
        // LPAE descriptors carry 40-bit output addresses: 8 GiB from 0x200000000 is fine (and all highmem).
        KernelLayout l = LayoutEngine.Compute(
            new Machine(KernelArch.ArmLpae, [new RamBank(new PhysicalAddress(0x80000000), 2 * ByteSize.GiB), new RamBank(new PhysicalAddress(0x880000000), 6 * ByteSize.GiB)]),
            new KernelConfig());
        Assert.Equal(768 * ByteSize.MiB, l.LowmemBytes);
        Assert.Equal(8 * ByteSize.GiB - 768 * ByteSize.MiB, l.HighmemBytes);
    }

    [Fact]
    public void Thumb2Kernel_ModulesStart8MiBBelowPageOffset()
    {
        KernelLayout l = Compute(KernelArch.Arm, 0x80000000, 512 * ByteSize.MiB, new KernelConfig { Thumb2Kernel = true });
        Assert.Equal(0xbf800000UL, l.ModulesVaddr);
        Assert.Equal(0xbfe00000UL, l.ModulesEnd);
    }

    [Theory]
    [InlineData(VmSplit.Split3G, 0xc0000000UL, "TTBCR.T0SZ=0 T1SZ=2")]
    [InlineData(VmSplit.Split2G, 0x80000000UL, "TTBCR.T0SZ=0 T1SZ=1")]
    [InlineData(VmSplit.Split1G, 0x40000000UL, "TTBCR.T0SZ=2 T1SZ=0")]
    public void Lpae_TtbrSplitFollowsPageOffset(VmSplit split, ulong boundary, string ttbcr)
    {
        // pgtable-3level-hwdef.h: T0SZ/T1SZ per PAGE_OFFSET; with T0SZ=2 TTBR0 covers the low 1 GiB.
        KernelLayout l = Compute(KernelArch.ArmLpae, 0, ByteSize.GiB, new KernelConfig { Split = split });
        Assert.Equal(boundary, l.KernelRootStart);
        Assert.StartsWith(ttbcr, l.RootSplit, StringComparison.Ordinal);
        Assert.Equal("TTBR1", l.Find("lowmem")!.Ttbr);
        Assert.Equal("TTBR0", l.Find("user")!.Ttbr);
    }

    [Theory]
    [InlineData("3.14", 0xfff00000UL, 0xff000000UL)]
    [InlineData("3.15", 0xffc00000UL, 0xff000000UL)]
    [InlineData("4.19", 0xffc00000UL, 0xff800000UL)]
    [InlineData("5.11", 0xffc80000UL, 0xff800000UL)]
    public void Eras_FixmapAndVmallocEnd(string linux, ulong fixaddrStart, ulong vmallocEnd)
    {
        KernelLayout l = Compute(KernelArch.Arm, 0, 512 * ByteSize.MiB, new KernelConfig { Linux = LinuxVersion.Parse(linux) });
        Assert.Equal(fixaddrStart, l.FixaddrStart);
        Assert.Equal(vmallocEnd, l.VmallocEnd);
        Assert.Equal(LinuxVersion.Parse(linux) >= new LinuxVersion(5, 11), l.Find("fdt") is not null);
    }

    [Fact]
    public void UnalignedFirstBank_HeadIsNomap()
    {
        // A first bank at 0x80100000 is not PMD-aligned: 0x80100000-0x80200000 becomes NOMAP (counted as ignored).
        KernelLayout l = Compute(KernelArch.Arm, 0x80100000, 511 * ByteSize.MiB, new KernelConfig());
        Assert.Equal(ByteSize.MiB, l.IgnoredBytes);
        Assert.Equal(510 * ByteSize.MiB, l.LowmemBytes);
    }

    [Fact]
    public void FourGFourG_SeedDefaults()
    {
        // Arnd Bergmann (May 2020): TTBR1 = top 256 MiB (T1SZ=4 -> base 0xf0000000) for modules, image, vmalloc, pkmap, fixmap, vectors;
        // TTBR0 = low 3840 MiB for user space or the lowmem linear map (from 0 by default).
        KernelLayout l = Compute(KernelArch.ArmLpae, 0x80000000, 4 * ByteSize.GiB, new KernelConfig { Design = LayoutDesign.FourGFourG });
        Assert.Equal(0xf0000000UL, l.KernelRootStart);
        Assert.Equal(0xf0000000UL, l.TaskSize);
        Assert.StartsWith("TTBCR.T0SZ=0 T1SZ=4", l.RootSplit, StringComparison.Ordinal);
        Assert.Equal(3840 * ByteSize.MiB, l.LowmemBytes);
        Assert.Equal(256 * ByteSize.MiB, l.HighmemBytes);
        Assert.Equal(RegionView.UserContext, l.Find("user")!.View);
        Assert.Equal(RegionView.KernelContext, l.Find("lowmem")!.View);
        // Top-down: pkmap 0xff600000 below the 4 MiB DT blob mapping; modules 16 MiB at 0xf0000000; 4 MiB image at
        // 0xf1000000; vmalloc the rest: 0xff600000 - 0xf1400000 = 226 MiB.
        Assert.Equal(0xff600000UL, l.PkmapBase);
        Assert.Equal(0xf1000000UL, l.Find("kernel")!.Start);
        Assert.Equal(226 * ByteSize.MiB, l.VmallocEnd - l.VmallocStart);
        Assert.Equal(4 * ByteSize.MiB, l.MappedTwiceBytes);
        Assert.Contains(l.Choices, c => c.Contains("(default, Arnd Bergmann, May 2020)", StringComparison.Ordinal));
        foreach (LayoutRegion r in l.Regions)
        {
            Assert.Equal(r.Start >= 0xf0000000UL ? "TTBR1" : "TTBR0", r.Ttbr);
        }
    }

    [Fact]
    public void FourGFourG_LargerVmallocGrowsTtbr1()
    {
        // 400 MiB of vmalloc cannot fit in 256 MiB: the TTBR1 region doubles to 512 MiB (T1SZ=3), TTBR0 shrinks to 3.5 GiB.
        KernelLayout l = Compute(KernelArch.ArmLpae, 0, 4 * ByteSize.GiB, new KernelConfig { Design = LayoutDesign.FourGFourG, VmallocSize = 400 * ByteSize.MiB });
        Assert.Equal(0xe0000000UL, l.KernelRootStart);
        Assert.Equal(400 * ByteSize.MiB, l.VmallocEnd - l.VmallocStart);
        Assert.Equal(LayoutErrorKind.VmallocTooLarge, Assert.Throws<LayoutException>(() => Compute(KernelArch.ArmLpae, 0, 4 * ByteSize.GiB, new KernelConfig { Design = LayoutDesign.FourGFourG, VmallocSize = 2 * ByteSize.GiB })).Kind);
    }

    [Fact]
    public void KimageVmalloc_ImageCarvedFromVmalloc()
    {
        KernelLayout l = Compute(KernelArch.Arm, 0x10000000, 2 * ByteSize.GiB, new KernelConfig { Design = LayoutDesign.KimageVmalloc, Linux = new LinuxVersion(4, 19) });
        LayoutRegion kernel = l.Find("kernel")!;
        Assert.Equal(0xf0800000UL, kernel.Start);
        Assert.Equal(4 * ByteSize.MiB, kernel.Size);
        Assert.Equal(0xf0c00000UL, l.Find("vmalloc")!.Start);
        Assert.Equal(4 * ByteSize.MiB, l.MappedTwiceBytes);
    }
}
