using Vmsplit.Hardware;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Layout;

/// <summary>Every row of the 64-bit documentation tables: start, end and size.</summary>
public sealed class DocumentedLayoutTests
{
    private const ulong KB = ByteSize.KiB;
    private const ulong MB = ByteSize.MiB;
    private const ulong GB = ByteSize.GiB;
    private const ulong TB = ByteSize.TiB;
    private const ulong PB = ByteSize.PiB;

    private static void AssertRows(KernelLayout l, (ulong Start, ulong Last, ulong Size, string Name)[] expected)
    {
        foreach ((ulong start, ulong last, ulong size, string name) in expected)
        {
            LayoutRegion? r = null;
            foreach (LayoutRegion candidate in l.Regions)
            {
                if (candidate.Start == start)
                {
                    r = candidate;
                }
            }

            Assert.True(r is not null, $"no region starts at {ByteSize.Hex(start)} ({name})");
            Assert.Equal(name, r!.Name);
            Assert.Equal(last, r.Last);
            if (size != 0)
            {
                Assert.Equal(size, r.Size);
            }
        }
    }

    private static KernelLayout Compute(KernelArch arch, int vaBits = 48, string linux = "mainline")
        => LayoutEngine.Compute(Machine.WithRam(arch, 8 * GB), new KernelConfig { VaBits = vaBits, Linux = LinuxVersion.Parse(linux) });

    [Fact]
    public void X86_64_FourLevel_EveryRow()
    {
        // Documentation/arch/x86/x86_64/mm.rst, 4-level table (size 0 = the table gives only "~").
        AssertRows(Compute(KernelArch.X86_64),
        [
            (0x0000000000000000, 0x00007fffffffffff, 128 * TB, "user"),
            (0x0000800000000000, 0xffff7fffffffffff, 0, "non-canonical"),
            (0xffff800000000000, 0xffff87ffffffffff, 8 * TB, "guard"),
            (0xffff880000000000, 0xffff887fffffffff, TB / 2, "ldt"),
            (0xffff888000000000, 0xffffc87fffffffff, 64 * TB, "lowmem"),
            (0xffffc88000000000, 0xffffc8ffffffffff, TB / 2, "hole"),
            (0xffffc90000000000, 0xffffe8ffffffffff, 32 * TB, "vmalloc"),
            (0xffffe90000000000, 0xffffe9ffffffffff, TB, "hole"),
            (0xffffea0000000000, 0xffffeaffffffffff, TB, "vmemmap"),
            (0xffffeb0000000000, 0xffffebffffffffff, TB, "hole"),
            (0xffffec0000000000, 0xfffffbffffffffff, 16 * TB, "kasan"),
            (0xfffffc0000000000, 0xfffffdffffffffff, 2 * TB, "hole"),
            (0xfffffe0000000000, 0xfffffe7fffffffff, TB / 2, "cpu_entry_area"),
            (0xfffffe8000000000, 0xfffffeffffffffff, TB / 2, "hole"),
            (0xffffff0000000000, 0xffffff7fffffffff, TB / 2, "espfix"),
            (0xffffff8000000000, 0xffffffeeffffffff, 444 * GB, "hole"),
            (0xffffffef00000000, 0xfffffffeffffffff, 64 * GB, "efi"),
            (0xffffffff00000000, 0xffffffff7fffffff, 2 * GB, "hole"),
            (0xffffffff80000000, 0xffffffff9fffffff, 512 * MB, "kernel"),
            (0xffffffffa0000000, 0xfffffffffeffffff, 1520 * MB, "modules"),
            (DocumentedLayouts.X86_64FixaddrStart, 0xffffffffff5fffff, MB / 2, "fixmap"),
            (0xffffffffff600000, 0xffffffffff600fff, 4 * KB, "vsyscall"),
            (0xffffffffffe00000, 0xffffffffffffffff, 2 * MB, "hole"),
        ]);
    }

    [Fact]
    public void X86_64_FiveLevel_EveryRow()
    {
        // mm.rst 5-level table; from 0xfffffc0000000000 up identical to 4-level (checked above).
        KernelLayout l = Compute(KernelArch.X86_64La57);
        AssertRows(l,
        [
            (0x0000000000000000, 0x00ffffffffffffff, 64 * PB, "user"),
            (0x0100000000000000, 0xfeffffffffffffff, 0, "non-canonical"),
            (0xff00000000000000, 0xff0fffffffffffff, 4 * PB, "guard"),
            (0xff10000000000000, 0xff10ffffffffffff, PB / 4, "ldt"),
            (0xff11000000000000, 0xff90ffffffffffff, 32 * PB, "lowmem"),
            (0xff91000000000000, 0xff9fffffffffffff, 3 * PB + 3 * PB / 4, "hole"),
            (0xffa0000000000000, 0xffd1ffffffffffff, 12 * PB + PB / 2, "vmalloc"),
            (0xffd2000000000000, 0xffd3ffffffffffff, PB / 2, "hole"),
            (0xffd4000000000000, 0xffd5ffffffffffff, PB / 2, "vmemmap"),
            (0xffd6000000000000, 0xffdeffffffffffff, 2 * PB + PB / 4, "hole"),
            (0xffdf000000000000, 0xfffffbffffffffff, 0, "kasan"),
            (0xffffffff80000000, 0xffffffff9fffffff, 512 * MB, "kernel"),
        ]);
        Assert.Equal(0xff11000000000000UL, l.PageOffset); // __PAGE_OFFSET_BASE_L5
    }

    [Fact]
    public void Riscv_Sv39_EveryRow()
    {
        // Documentation/arch/riscv/vm-layout.rst, Sv39.
        AssertRows(Compute(KernelArch.RiscvSv39),
        [
            (0x0000000000000000, 0x0000003fffffffff, 256 * GB, "user"),
            (0x0000004000000000, 0xffffffbfffffffff, 0, "non-canonical"),
            (0xffffffc4fea00000, 0xffffffc4feffffff, 6 * MB, "fixmap"),
            (0xffffffc4ff000000, 0xffffffc4ffffffff, 16 * MB, "pci-io"),
            (0xffffffc500000000, 0xffffffc5ffffffff, 4 * GB, "vmemmap"),
            (0xffffffc600000000, 0xffffffd5ffffffff, 64 * GB, "vmalloc"),
            (0xffffffd600000000, 0xfffffff5ffffffff, 128 * GB, "lowmem"),
            (0xfffffff700000000, 0xfffffffeffffffff, 32 * GB, "kasan"),
            (0xffffffff00000000, 0xffffffff7fffffff, 2 * GB, "modules"),
            (0xffffffff80000000, 0xffffffffffffffff, 2 * GB, "kernel"),
        ]);
    }

    [Fact]
    public void Riscv_Sv48_EveryRow()
    {
        AssertRows(Compute(KernelArch.RiscvSv48),
        [
            (0x0000000000000000, 0x00007fffffffffff, 128 * TB, "user"),
            (0xffff8d7ffea00000, 0xffff8d7ffeffffff, 6 * MB, "fixmap"),
            (0xffff8d7fff000000, 0xffff8d7fffffffff, 16 * MB, "pci-io"),
            (0xffff8d8000000000, 0xffff8f7fffffffff, 2 * TB, "vmemmap"),
            (0xffff8f8000000000, 0xffffaf7fffffffff, 32 * TB, "vmalloc"),
            (0xffffaf8000000000, 0xffffef7fffffffff, 64 * TB, "lowmem"),
            (0xffffef8000000000, 0xfffffffeffffffff, 16 * TB + TB / 2 - 4 * GB, "kasan"),
            (0xffffffff00000000, 0xffffffff7fffffff, 2 * GB, "modules"),
            (0xffffffff80000000, 0xffffffffffffffff, 2 * GB, "kernel"),
        ]);
    }

    [Fact]
    public void Riscv_Sv57_EveryRow()
    {
        AssertRows(Compute(KernelArch.RiscvSv57),
        [
            (0x0000000000000000, 0x00ffffffffffffff, 64 * PB, "user"),
            (0xff1bfffffea00000, 0xff1bfffffeffffff, 6 * MB, "fixmap"),
            (0xff1bffffff000000, 0xff1bffffffffffff, 16 * MB, "pci-io"),
            (0xff1c000000000000, 0xff1fffffffffffff, PB, "vmemmap"),
            (0xff20000000000000, 0xff5fffffffffffff, 16 * PB, "vmalloc"),
            // The table rounds this row to "32 PB"; the bounds it gives span 0x7f << 48 bytes = 31.75 PiB.
            (0xff60000000000000, 0xffdeffffffffffff, 31 * PB + 3 * PB / 4, "lowmem"),
            (0xffdf000000000000, 0xfffffffeffffffff, 0, "kasan"),
            (0xffffffff00000000, 0xffffffff7fffffff, 2 * GB, "modules"),
            (0xffffffff80000000, 0xffffffffffffffff, 2 * GB, "kernel"),
        ]);
    }

    [Fact]
    public void Arm64_4K_48bit_Mainline_EveryRow()
    {
        // Documentation/arch/arm64/memory.rst after the 6.9 VA reorganisation ("TTBRx selection is given by bit 55").
        KernelLayout l = Compute(KernelArch.Aarch64, 48);
        AssertRows(l,
        [
            (0x0000000000000000, 0x0000ffffffffffff, 256 * TB, "user"),
            (0xffff000000000000, 0xffff7fffffffffff, 128 * TB, "lowmem"),
            (0xffff800000000000, 0xffff80007fffffff, 2 * GB, "modules"),
            (0xffff800080000000, 0xfffffdffbf7fffff, 0, "vmalloc"),
            (0xfffffdffbf800000, 0xfffffdffbfffffff, 8 * MB, "guard"),
            (0xfffffdffc0000000, 0xffffffffbfffffff, 2 * TB, "vmemmap"),
            (0xffffffffc0000000, 0xffffffffc07fffff, 8 * MB, "guard"),
            (0xffffffffc0800000, 0xffffffffc17fffff, 16 * MB, "pci-io"),
            (0xffffffffc1800000, 0xffffffffff7fffff, 992 * MB, "fixmap"),
            (0xffffffffff800000, 0xffffffffffffffff, 8 * MB, "guard"),
        ]);
        Assert.Equal("TTBR0", l.Find("user")!.Ttbr);
        Assert.Equal("TTBR1", l.Find("vmalloc")!.Ttbr);
        // The table says "126TB" for vmalloc: 0xfffffdffbf800000 - 0xffff800080000000 is 126 TiB less 3 GiB less 8 MiB.
        Assert.Equal(126 * TB - 3 * GB - 8 * MB, l.Find("vmalloc")!.Size);
    }

    [Fact]
    public void Arm64_4K_48bit_Before69_EveryRow()
    {
        AssertRows(Compute(KernelArch.Aarch64, 48, "6.6"),
        [
            (0x0000000000000000, 0x0000ffffffffffff, 256 * TB, "user"),
            (0xffff000000000000, 0xffff7fffffffffff, 128 * TB, "lowmem"),
            (0xffff800000000000, 0xffff80007fffffff, 2 * GB, "modules"),
            (0xffff800080000000, 0xfffffbffefffffff, 0, "vmalloc"),
            (0xfffffbfff0000000, 0xfffffbfffdffffff, 224 * MB, "fixmap"),
            (0xfffffbfffe000000, 0xfffffbfffe7fffff, 8 * MB, "guard"),
            (0xfffffbfffe800000, 0xfffffbffff7fffff, 16 * MB, "pci-io"),
            (0xfffffbffff800000, 0xfffffbffffffffff, 8 * MB, "guard"),
            (0xfffffc0000000000, 0xfffffdffffffffff, 2 * TB, "vmemmap"),
            (0xfffffe0000000000, 0xffffffffffffffff, 2 * TB, "guard"),
        ]);
    }

    [Fact]
    public void Arm64_4K_39bit_FromMemoryH()
    {
        // memory.h with VA_BITS 39: PAGE_OFFSET -2^39, PAGE_END -2^38 (256 GiB linear map); vmemmap for 2^26 pages of
        // 64-byte struct page = 4 GiB ending at -1 GiB; vmalloc stops 8 MiB below it; PCI I/O and fixmap as for 48 bits.
        AssertRows(Compute(KernelArch.Aarch64, 39),
        [
            (0x0000000000000000, 0x0000007fffffffff, 512 * GB, "user"),
            (0xffffff8000000000, 0xffffffbfffffffff, 256 * GB, "lowmem"),
            (0xffffffc000000000, 0xffffffc07fffffff, 2 * GB, "modules"),
            (0xffffffc080000000, 0xfffffffebf7fffff, 0, "vmalloc"),
            (0xfffffffec0000000, 0xffffffffbfffffff, 4 * GB, "vmemmap"),
            (0xffffffffc0800000, 0xffffffffc17fffff, 16 * MB, "pci-io"),
            (0xffffffffc1800000, 0xffffffffff7fffff, 992 * MB, "fixmap"),
        ]);
    }

    [Fact]
    public void Sv32_HasNoDocumentedLayout()
    {
        LayoutException e = Assert.Throws<LayoutException>(() => Compute(KernelArch.RiscvSv32));
        Assert.Contains("TODO", e.Message, StringComparison.Ordinal);
    }
}
