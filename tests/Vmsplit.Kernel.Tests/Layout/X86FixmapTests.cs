using Vmsplit.Hardware;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Layout;

/// <summary>x86-32's FIXADDR_START counted from enum fixed_addresses (arch/x86/include/asm/fixmap.h) at each release, by hand.</summary>
public class X86FixmapTests
{
    private static readonly X86FixmapOptions s_defaults = new();

    [Fact]
    public void Linux310_Pae_Nr8_CountsEverySlotOfTheEnum()
    {
        // fixmap.h at 3.10, x86-32: FIX_HOLE, FIX_VDSO, PVCLOCK (NR_CPUS 8 x 64 B fit one page), FIX_DBGP_BASE,
        // FIX_EARLYCON_MEM_BASE, FIX_APIC_BASE, FIX_IO_APIC_BASE_0..+63, FIX_RO_IDT, FIX_KMAP 20 x 8, FIX_PCIE_MCFG,
        // FIX_PARAVIRT_BOOTMAP, FIX_TEXT_POKE1, FIX_TEXT_POKE0 = 1+1+1+1+1+1+64+1+160+1+1+2 = 235.
        IReadOnlyList<X86Fixmap.Slot> slots = X86Fixmap.Permanent(new LinuxVersion(3, 10), pae: true, nrCpus: 8, highmem: true, s_defaults);
        Assert.Equal(
            ["FIX_HOLE", "FIX_VDSO", "PVCLOCK_FIXMAP", "FIX_DBGP_BASE", "FIX_EARLYCON_MEM_BASE", "FIX_APIC_BASE", "FIX_IO_APIC_BASE", "FIX_RO_IDT", "FIX_KMAP", "FIX_PCIE_MCFG", "FIX_PARAVIRT_BOOTMAP", "FIX_TEXT_POKE"],
            slots.Select(s => s.Name));
        Assert.Equal(235, slots.Sum(s => s.Pages));
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86Pae, 2 * ByteSize.GiB), new KernelConfig { Linux = new LinuxVersion(3, 10) });
        Assert.Equal(0xfffff000UL - (235 * 4096), l.FixaddrStart);
        Assert.Equal(0xfff14000UL, l.FixaddrStart);
    }

    [Fact]
    public void Mainline_NoPae_Nr4_WithoutHighmem_HasNoKmapSlots()
    {
        // fixmap.h since 5.11: FIX_KMAP and FIX_PCIE_MCFG sit inside #ifdef CONFIG_KMAP_LOCAL (HIGHMEM); no VDSO,
        // RO_IDT, TEXT_POKE; PARAVIRT_XXL needs Xen PV (PAE, before 5.9). HOLE, DBGP, EARLYCON, APIC, 64 IO-APIC,
        // 2 APEI_GHES = 70 pages.
        Assert.Equal(70, X86Fixmap.PermanentPages(LinuxVersion.Mainline, pae: false, nrCpus: 4, highmem: false, s_defaults));
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86, 512 * ByteSize.MiB), new KernelConfig { Highmem = false, NrCpus = 4 });
        Assert.Equal(0xfffff000UL - (70 * 4096), l.FixaddrStart);

        // With HIGHMEM: + KM_MAX_IDX 16 x 4 CPUs + FIX_PCIE_MCFG = 70 + 64 + 1.
        Assert.Equal(135, X86Fixmap.PermanentPages(LinuxVersion.Mainline, pae: false, nrCpus: 4, highmem: true, s_defaults));
    }

    [Fact]
    public void Linux414_AddsOneRemappedGdtPerCpuAndGhes()
    {
        // 4.14: no VDSO/PVCLOCK; FIX_RO_IDT, 20 x 16 KMAP, PCIE, PARAVIRT, 2 TEXT_POKE, 2 APEI_GHES (4.13) and
        // FIX_GDT_REMAP 16 (4.12): 1+1+1+1+64+1+320+1+1+2+2+16 = 411.
        Assert.Equal(411, X86Fixmap.PermanentPages(new LinuxVersion(4, 14), pae: true, nrCpus: 16, highmem: true, s_defaults));
    }

    [Fact]
    public void Linux26_CountsTheTwoSixThirtyTwoEnum()
    {
        // 2.6.32: HOLE, VDSO, DBGP, EARLYCON, APIC, 64 IO-APIC, KMAP 19 x 8 (KM_TYPE_NR ends at KM_NMI_PTE), PCIE,
        // PARAVIRT, 2 TEXT_POKE = 1+1+1+1+1+64+152+1+1+2 = 225.
        Assert.Equal(225, X86Fixmap.PermanentPages(new LinuxVersion(2, 6), pae: true, nrCpus: 8, highmem: true, s_defaults));
    }

    [Theory]
    [InlineData("X86_IO_APIC=n", 235 - 64)]
    [InlineData("CONFIG_X86_LOCAL_APIC=n,x86_io_apic=n", 235 - 65)]
    [InlineData("PROVIDE_OHCI1394_DMA_INIT=y,X86_INTEL_MID=y", 235 + 2)]
    [InlineData("DEBUG_HIGHMEM=y", 235 - 160 + (41 * 8))]
    [InlineData("PARAVIRT=n,PARAVIRT_CLOCK=n,PCI_MMCONFIG=n", 235 - 3)]
    public void OptionsMoveTheCount(string kconfig, int pages)
    {
        Assert.True(X86FixmapOptions.TryParse(kconfig, out X86FixmapOptions o, out string error), error);
        Assert.Equal(pages, X86Fixmap.PermanentPages(new LinuxVersion(3, 10), pae: true, nrCpus: 8, highmem: true, o));
    }

    [Theory]
    [InlineData("X86_IOAPIC=n", "unknown option")]
    [InlineData("PARAVIRT=maybe", "give PARAVIRT=y or PARAVIRT=n")]
    [InlineData("PARAVIRT", "give PARAVIRT=y or PARAVIRT=n")]
    public void BadOptionsAreOneLine(string kconfig, string fragment)
    {
        Assert.False(X86FixmapOptions.TryParse(kconfig, out _, out string error));
        Assert.Contains(fragment, error);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void NrCpusMovesFixaddrStartAndAnExplicitValueOverrides()
    {
        KernelLayout eight = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86Pae, 2 * ByteSize.GiB), new KernelConfig { Linux = new LinuxVersion(4, 19) });
        KernelLayout nine = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86Pae, 2 * ByteSize.GiB), new KernelConfig { Linux = new LinuxVersion(4, 19), NrCpus = 9 });
        Assert.Equal(20UL * 4096, eight.FixaddrStart - nine.FixaddrStart); // one more CPU: KM_TYPE_NR more kmap slots
        KernelLayout given = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86Pae, 2 * ByteSize.GiB), new KernelConfig { Linux = new LinuxVersion(4, 19), FixaddrStart = 0xffc57000 });
        Assert.Equal(0xffc57000UL, given.FixaddrStart);
        Assert.Contains(eight.Choices, c => c.StartsWith("FIXADDR_START 0xfff15000: 234 permanent fixmap pages of Linux 4.19", StringComparison.Ordinal));
        Assert.DoesNotContain(given.Choices, c => c.StartsWith("FIXADDR_START", StringComparison.Ordinal));
    }
}
