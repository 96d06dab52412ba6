using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Layout;

/// <summary>
/// The per-process page-table figures of <see cref="PageTableCost"/> checked against real trees built with the
/// page-table framework for the same two pages (text and stack). Only the radix formats whose Linux allocation
/// equals the hardware geometry are comparable; ARM and PAE differ on purpose (Linux's 4 KiB PTE pages on ARM,
/// the 32-byte LPAE/PAE pgd and PAE's preallocated PMDs), see docs/layouts.md.
/// </summary>
public sealed class PageTableCostCrossCheckTests
{
    [Theory]
    [InlineData(KernelArch.X86, "x86-32", 48)]
    [InlineData(KernelArch.X86_64, "x86-64", 48)]
    [InlineData(KernelArch.X86_64La57, "x86-64-la57", 48)]
    [InlineData(KernelArch.RiscvSv39, "riscv-sv39", 48)]
    [InlineData(KernelArch.RiscvSv48, "riscv-sv48", 48)]
    [InlineData(KernelArch.RiscvSv57, "riscv-sv57", 48)]
    [InlineData(KernelArch.Aarch64, "aarch64-48", 48)]
    [InlineData(KernelArch.Aarch64, "aarch64-39", 39)]
    public void GeometryCountMatchesABuiltTree(KernelArch arch, string format, int vaBits)
    {
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(arch, ByteSize.GiB), new KernelConfig { VaBits = vaBits });
        PageTableCost.Result cost = PageTableCost.ForMinimalProcess(l, PageTableCost.StackTop(l));

        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x40000000), 64 * ByteSize.MiB));
        PageTable tree = PageTable.Create(PageTableFormat.Parse(format), memory, allocator);
        ulong text = arch is KernelArch.X86 ? 0x08048000UL : arch is KernelArch.X86_64 or KernelArch.X86_64La57 or KernelArch.Aarch64 ? 0x400000UL : 0x10000UL;
        Assert.Equal(PageTableStatus.Ok, tree.Map(new VirtualAddress(text), new PhysicalAddress(0x1000000), 4096, PageAttributes.UserText).Status);
        Assert.Equal(PageTableStatus.Ok, tree.Map(new VirtualAddress(PageTableCost.StackTop(l) - 4096), new PhysicalAddress(0x1001000), 4096, PageAttributes.UserData).Status);
        Assert.Equal((long)cost.Bytes, tree.TableBytesUsed);
    }

    [Fact]
    public void ArmShort_LinuxAllocatesMoreThanTheHardwareNeeds()
    {
        // Hardware: 16 KiB L1 + two 1 KiB L2 tables = 18 KiB. Linux: each L2 comes in a 4 KiB page holding two
        // hardware tables and their Linux shadows (arch/arm/include/asm/pgtable-2level.h), so 16 + 2 x 4 = 24 KiB.
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(KernelArch.Arm, ByteSize.GiB), new KernelConfig());
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x40000000), 64 * ByteSize.MiB));
        PageTable tree = PageTable.Create(PageTableFormat.Parse("arm-short"), memory, allocator);
        Assert.Equal(PageTableStatus.Ok, tree.Map(new VirtualAddress(0x10000), new PhysicalAddress(0x1000000), 4096, PageAttributes.UserText).Status);
        Assert.Equal(PageTableStatus.Ok, tree.Map(new VirtualAddress(l.TaskSize - 4096), new PhysicalAddress(0x1001000), 4096, PageAttributes.UserData).Status);
        Assert.Equal(18 * 1024L, tree.TableBytesUsed);
        Assert.Equal(24 * 1024UL, PageTableCost.ForMinimalProcess(l, PageTableCost.StackTop(l)).Bytes);
    }
}
