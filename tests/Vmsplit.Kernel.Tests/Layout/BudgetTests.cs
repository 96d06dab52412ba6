using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Layout;

/// <summary>The address budget: Arnd Bergmann's (July 2020) arithmetic, page tables per process, x86 4G/4G.</summary>
public sealed class BudgetTests
{
    [Fact]
    public void KernelInVmalloc_CostsPointOnePercentOfSpace_AndOnePointFiveOfVmalloc()
    {
        // Arnd Bergmann (July 2020): "a 32-bit system would waste about 0.1% of its virtual address space ... around 1.5% of the
        // available vmalloc area (assuming a 4MB vmlinux)" with "3072 MB user, 768MB linear and 256MB vmalloc".
        // 4 MiB / 4 GiB = 0.0977 %; 4 MiB / 256 MiB = 1.5625 %.
        IReadOnlyList<BudgetColumn> columns = AddressBudget.Compare(
            new Machine(KernelArch.Arm, [new RamBank(new PhysicalAddress(0x10000000), 2 * ByteSize.GiB)]),
            new KernelConfig());
        BudgetColumn classic = columns[0];
        BudgetColumn kimage = columns[1];
        Assert.Equal("kimage-vmalloc", kimage.Title);
        Assert.Equal(0UL, classic.Layout.MappedTwiceBytes);
        Assert.Equal(4 * ByteSize.MiB, kimage.Layout.MappedTwiceBytes);
        Assert.Equal(256 * ByteSize.MiB, kimage.NonLinearKernelBytes);
        Assert.Equal(100.0 * 4 / 4096, kimage.MappedTwiceShareOfSpace, 10);
        Assert.Equal(1.5625, kimage.MappedTwiceShareOfVmalloc, 10);
        Assert.InRange(kimage.MappedTwiceShareOfSpace, 0.09, 0.11);
    }

    [Fact]
    public void Lpae_FourGFourG_NextToClassic()
    {
        IReadOnlyList<BudgetColumn> columns = AddressBudget.Compare(
            new Machine(KernelArch.ArmLpae, [new RamBank(new PhysicalAddress(0x80000000), 4 * ByteSize.GiB)]),
            new KernelConfig());
        Assert.Equal(["classic VMSPLIT_3G", "kimage-vmalloc", "4g4g (LPAE)"], columns.Select(c => c.Title));
        Assert.Equal(0xbf000000UL - 0x1000, columns[0].UserBytes);
        Assert.Equal(0xf0000000UL - 0x1000, columns[2].UserBytes);
        Assert.Equal(768 * ByteSize.MiB, columns[0].Layout.LowmemBytes);
        Assert.Equal(3840 * ByteSize.MiB, columns[2].Layout.LowmemBytes);
        // 4g4g: the 4 MiB image is 1.5625 % of the 256 MiB TTBR1 region.
        Assert.Equal(1.5625, columns[2].MappedTwiceShareOfVmalloc, 10);
    }

    [Theory]
    // ARM short: 16 KiB L1 + PTE pages for text at 0x10000 and the stack below 0xbf000000 (two 2 MiB slots) = 24 KiB.
    [InlineData(KernelArch.Arm, 24 * 1024UL)]
    // LPAE: 32 B pgd + PMDs for GiB 0 and GiB 2 (stack and modules share it) + 2 PTE pages = 16 KiB + 32 B.
    [InlineData(KernelArch.ArmLpae, 16 * 1024UL + 32)]
    // x86 2-level: 4 KiB page directory + 2 page tables (0x08048000 and 0xbffff000 in different 4 MiB slots).
    [InlineData(KernelArch.X86, 12 * 1024UL)]
    // PAE: 32 B PDPT + 3 preallocated user PMDs + 2 page tables.
    [InlineData(KernelArch.X86Pae, 20 * 1024UL + 32)]
    // x86-64: PGD + (PUD, PMD, PTE) for 0x400000 and for 0x7ffffffff000 = 7 pages.
    [InlineData(KernelArch.X86_64, 28 * 1024UL)]
    // LA57: STACK_TOP stays DEFAULT_MAP_WINDOW, 2^47 - 4 KiB, so the stack page 0x7fffffffe000 shares the text's PGD slot
    // (bit 48 up): one P4D page, then a PUD, PMD and PTE on each path = 8 pages.
    [InlineData(KernelArch.X86_64La57, 32 * 1024UL)]
    // Sv39: root + (L1, L0) x 2.
    [InlineData(KernelArch.RiscvSv39, 20 * 1024UL)]
    [InlineData(KernelArch.Aarch64, 28 * 1024UL)]
    public void PageTablesPerMinimalProcess(KernelArch arch, ulong bytes)
    {
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(arch, ByteSize.GiB), new KernelConfig());
        Assert.Equal(bytes, PageTableCost.ForMinimalProcess(l, PageTableCost.StackTop(l)).Bytes);
    }

    [Fact]
    public void X86FourGFourG_UserEndsAtTrampoline()
    {
        // Ingo Molnar, 2003: the user stack ends at 0xff000000; the 16 MB above is mapped in both contexts.
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86Pae, 8 * ByteSize.GiB), new KernelConfig { Design = LayoutDesign.X86FourGFourG });
        Assert.Equal(0xff000000UL, l.TaskSize);
        LayoutRegion tramp = l.Find("trampoline")!;
        Assert.Equal(0xff000000UL, tramp.Start);
        Assert.Equal(16 * ByteSize.MiB, tramp.Size);
        Assert.Equal(RegionView.Shared, tramp.View);
        // Kernel space: linear map from 0x02000000; VMALLOC_END = 0xfee00000 - 8K; MAXMEM = that - 32M - 128M.
        ulong maxmem = 0xfee00000UL - 0x2000 - 0x02000000 - 128 * ByteSize.MiB;
        Assert.Equal(maxmem & ~0xfffUL, l.LowmemBytes);
        Assert.True(l.LowmemBytes > 3 * ByteSize.GiB);
    }
}
