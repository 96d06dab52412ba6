using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Layout;

/// <summary>Real boot logs reproduced byte for byte with --format boot. Each test cites where the log was published.</summary>
public sealed class BootLogTests
{
    private static KernelLayout Arm(string linux, ulong[] banks, VmSplit split = VmSplit.Split3G, bool highmem = true, KernelImage? image = null, bool lpae = false)
    {
        List<RamBank> b = [];
        for (int i = 0; i < banks.Length; i += 2)
        {
            b.Add(new RamBank(new PhysicalAddress(banks[i]), banks[i + 1]));
        }

        return LayoutEngine.Compute(
            new Machine(lpae ? KernelArch.ArmLpae : KernelArch.Arm, b),
            new KernelConfig { Linux = LinuxVersion.Parse(linux), Split = split, Highmem = highmem, Image = image });
    }

    private static KernelLayout ArmMachine(string linux, ulong[] banks, KernelConfig config)
    {
        List<RamBank> b = [];
        for (int i = 0; i < banks.Length; i += 2)
        {
            b.Add(new RamBank(new PhysicalAddress(banks[i]), banks[i + 1]));
        }

        return LayoutEngine.Compute(new Machine(KernelArch.Arm, b), config with { Linux = LinuxVersion.Parse(linux) });
    }

    private static KernelImage Ranges(params ulong[] r)
        => new(r[1] - r[0], r[3] - r[2], r[5] - r[4], r[7] - r[6]) { Ranges = [(r[0], r[1]), (r[2], r[3]), (r[4], r[5]), (r[6], r[7])] };

    [Fact]
    public void LogA_Imx6q_Linux419_2GiB()
    {
        // Reference log A: LKML linux-usb 2019-08-01, i.MX6Q, Linux 4.19.25, 2 GiB at PHYS_OFFSET 0x10000000.
        // vmalloc_limit = 0xff800000 - 240M - 8M - 0xc0000000 + 0x10000000 = 0x40000000 -> lowmem 768 MB.
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xffc00000 - 0xfff00000   (3072 kB)\n" +
            "    vmalloc : 0xf0800000 - 0xff800000   ( 240 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xf0000000   ( 768 MB)\n" +
            "    pkmap   : 0xbfe00000 - 0xc0000000   (   2 MB)\n" +
            "    modules : 0xbf000000 - 0xbfe00000   (  14 MB)\n" +
            "      .text : 0x(ptrval) - 0x(ptrval)   (9184 kB)\n" +
            "      .init : 0x(ptrval) - 0x(ptrval)   (1024 kB)\n" +
            "      .data : 0x(ptrval) - 0x(ptrval)   ( 358 kB)\n" +
            "       .bss : 0x(ptrval) - 0x(ptrval)   ( 399 kB)\n";
        KernelLayout l = Arm("4.19", [0x10000000, 2 * ByteSize.GiB], image: new KernelImage(9184 * ByteSize.KiB, 1024 * ByteSize.KiB, 358 * ByteSize.KiB, 399 * ByteSize.KiB));
        Assert.Equal(expected, BootLog.Format(l));
        // Zones as the same log reports them: Normal 196608 pages (768 MiB), HighMem 327680 pages (1280 MiB).
        Assert.Equal([new ZoneSize("Normal", 196608), new ZoneSize("HighMem", 327680)], l.Zones);
    }

    [Fact]
    public void LogH_BeagleBoneBlack_OlderKernel_511MB()
    {
        // Reference log H: O'Reilly "Mastering Embedded Linux Programming" ch. 11 (BeagleBone Black, 3.8-era kernel),
        // RAM 512 MiB at 0x80000000. The book's excerpt stops after pkmap; modules follows the same rules (16 MiB below
        // PAGE_OFFSET up to PKMAP_BASE). VMALLOC_END is still 0xff000000 and the fixmap 0xfff00000-0xfffe0000.
        string expectedHead =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xfff00000 - 0xfffe0000   ( 896 kB)\n" +
            "    vmalloc : 0xe0800000 - 0xff000000   ( 488 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xe0000000   ( 512 MB)\n" +
            "    pkmap   : 0xbfe00000 - 0xc0000000   (   2 MB)\n";
        string boot = BootLog.Format(Arm("3.8", [0x80000000, 512 * ByteSize.MiB]));
        Assert.StartsWith(expectedHead, boot, StringComparison.Ordinal);
        Assert.Equal(expectedHead + "    modules : 0xbf000000 - 0xbfe00000   (  14 MB)\n", boot);
    }

    [Fact]
    public void RaspberryPi_Linux419_Vmsplit2G_NoHighmem()
    {
        // github.com/raspberrypi/linux issue 3172 (rpi-4.19-rt on a Pi 3): VMSPLIT_2G, no HIGHMEM, 948 MiB at 0.
        // VMALLOC_START = (0xbb400000 + 8M) & ~(8M - 1) = 0xbb800000; MODULES_END = PAGE_OFFSET without HIGHMEM.
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xffc00000 - 0xfff00000   (3072 kB)\n" +
            "    vmalloc : 0xbb800000 - 0xff800000   (1088 MB)\n" +
            "    lowmem  : 0x80000000 - 0xbb400000   ( 948 MB)\n" +
            "    modules : 0x7f000000 - 0x80000000   (  16 MB)\n" +
            "      .text : 0x(ptrval) - 0x(ptrval)   (9184 kB)\n" +
            "      .init : 0x(ptrval) - 0x(ptrval)   (1024 kB)\n" +
            "      .data : 0x(ptrval) - 0x(ptrval)   ( 630 kB)\n" +
            "       .bss : 0x(ptrval) - 0x(ptrval)   ( 958 kB)\n";
        KernelLayout l = Arm("4.19", [0, 0x3b400000], VmSplit.Split2G, highmem: false, image: new KernelImage(9184 * ByteSize.KiB, 1024 * ByteSize.KiB, 630 * ByteSize.KiB, 958 * ByteSize.KiB));
        Assert.Equal(expected, BootLog.Format(l));
    }

    [Fact]
    public void RaspberryPi4_Linux419_3G()
    {
        // github.com/raspberrypi/linux issue 3661 (Pi 4, 4.19): the 3G/768 MiB layout of log A with a larger image.
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xffc00000 - 0xfff00000   (3072 kB)\n" +
            "    vmalloc : 0xf0800000 - 0xff800000   ( 240 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xf0000000   ( 768 MB)\n" +
            "    pkmap   : 0xbfe00000 - 0xc0000000   (   2 MB)\n" +
            "    modules : 0xbf000000 - 0xbfe00000   (  14 MB)\n" +
            "      .text : 0x(ptrval) - 0x(ptrval)   (10208 kB)\n" +
            "      .init : 0x(ptrval) - 0x(ptrval)   (2048 kB)\n" +
            "      .data : 0x(ptrval) - 0x(ptrval)   ( 691 kB)\n" +
            "       .bss : 0x(ptrval) - 0x(ptrval)   ( 861 kB)\n";
        KernelLayout l = Arm("4.19", [0, 0x3b400000, 0x40000000, 0xbc000000], image: new KernelImage(10208 * ByteSize.KiB, 2048 * ByteSize.KiB, 691 * ByteSize.KiB, 861 * ByteSize.KiB));
        Assert.Equal(expected, BootLog.Format(l));
    }

    [Fact]
    public void RaspberryPi4_Linux419_ZoneDma()
    {
        // github.com/raspberrypi/firmware issue 1181 (Pi 4, 4.19.57-v7l+): "DMA zone: 196608 pages",
        // "HighMem zone: 816128 pages"; RAM 0-0x3b3fffff and 0x40000000-0xfbffffff, arm_dma_zone_size 1 GiB.
        // lowmem = 768 MiB = 196608 pages, all inside the 1 GiB DMA zone; the rest (948 + 3008 - 768 MiB) is HighMem.
        List<RamBank> banks = [new(new PhysicalAddress(0), 0x3b400000), new(new PhysicalAddress(0x40000000), 0xbc000000)];
        KernelLayout l = LayoutEngine.Compute(new Machine(KernelArch.Arm, banks), new KernelConfig { Linux = new LinuxVersion(4, 19), DmaZoneSize = ByteSize.GiB });
        Assert.Equal([new ZoneSize("DMA", 196608), new ZoneSize("HighMem", 816128)], l.Zones);
    }

    [Fact]
    public void PreHashing_RealAddresses_UnalignedLowmemEnd()
    {
        // github.com/FlorentRevest/linux issue 1 (4.x before %p hashing, VMALLOC_END 0xff800000): RAM ends at
        // 0x1fead000, not PMD-aligned; high_memory follows the bank end (0xdfead000) while VMALLOC_START rounds
        // (0xdfead000 + 8M) down to 8M = 0xe0000000. ARM rounds section sizes up: 0x110840 bytes -> 1091 kB.
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xffc00000 - 0xfff00000   (3072 kB)\n" +
            "    vmalloc : 0xe0000000 - 0xff800000   ( 504 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xdfead000   ( 510 MB)\n" +
            "    pkmap   : 0xbfe00000 - 0xc0000000   (   2 MB)\n" +
            "    modules : 0xbf000000 - 0xbfe00000   (  14 MB)\n" +
            "      .text : 0xc0208000 - 0xc0c00000   (10208 kB)\n" +
            "      .init : 0xc1000000 - 0xc1200000   (2048 kB)\n" +
            "      .data : 0xc1200000 - 0xc1310840   (1091 kB)\n" +
            "       .bss : 0xc1312000 - 0xc13777b8   ( 406 kB)\n";
        KernelLayout l = Arm("4.9", [0, 0x1fead000], image: Ranges(0xc0208000, 0xc0c00000, 0xc1000000, 0xc1200000, 0xc1200000, 0xc1310840, 0xc1312000, 0xc13777b8));
        Assert.Equal(expected, BootLog.Format(l));
        // Zones split at memblock's PMD-rounded limit 0x1fe00000: 0xad000 bytes (173 pages) land in HighMem.
        Assert.Equal([new ZoneSize("Normal", 0x1fe00), new ZoneSize("HighMem", 173)], l.Zones);
    }

    [Fact]
    public void RaspberryPi_PreHashing_Vmsplit2G()
    {
        // github.com/alexreinert/piVCCU issue 56 (Raspberry Pi, 4.14-era kernel with real addresses, VMSPLIT_2G,
        // no HIGHMEM, 948 MiB): every line the issue quotes (fixmap .. .bss).
        string expectedTail =
            "    fixmap  : 0xffc00000 - 0xfff00000   (3072 kB)\n" +
            "    vmalloc : 0xbb800000 - 0xff800000   (1088 MB)\n" +
            "    lowmem  : 0x80000000 - 0xbb400000   ( 948 MB)\n" +
            "    modules : 0x7f000000 - 0x80000000   (  16 MB)\n" +
            "      .text : 0x80008000 - 0x80800000   (8160 kB)\n" +
            "      .init : 0x80b00000 - 0x80c00000   (1024 kB)\n" +
            "      .data : 0x80c00000 - 0x80c8fd4c   ( 576 kB)\n" +
            "       .bss : 0x80c96f4c - 0x80d478b4   ( 707 kB)\n";
        KernelLayout l = Arm("4.14", [0, 0x3b400000], VmSplit.Split2G, highmem: false, image: Ranges(0x80008000, 0x80800000, 0x80b00000, 0x80c00000, 0x80c00000, 0x80c8fd4c, 0x80c96f4c, 0x80d478b4));
        Assert.EndsWith(expectedTail, BootLog.Format(l), StringComparison.Ordinal);
    }

    [Fact]
    public void Android_3x_OldFixmap_Vmalloc448()
    {
        // github.com/Tasssadar/multirom issue 88 (Android ARM kernel of the 3.6-3.14 era, real addresses):
        // lowmem 0xc0000000-0xe2e00000, VMALLOC_START (0xe2e00000 + 8M) & ~(8M-1) = 0xe3000000, VMALLOC_END 0xff000000.
        string expectedTail =
            "    fixmap  : 0xfff00000 - 0xfffe0000   ( 896 kB)\n" +
            "    vmalloc : 0xe3000000 - 0xff000000   ( 448 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xe2e00000   ( 558 MB)\n" +
            "    pkmap   : 0xbfe00000 - 0xc0000000   (   2 MB)\n" +
            "    modules : 0xbf000000 - 0xbfe00000   (  14 MB)\n" +
            "      .text : 0xc0008000 - 0xc0efc400   (15313 kB)\n" +
            "      .init : 0xc0f00000 - 0xc1019e40   (1128 kB)\n" +
            "      .data : 0xc101a000 - 0xc11893c8   (1469 kB)\n" +
            "       .bss : 0xc11893ec - 0xc1549aa8   (3842 kB)\n";
        KernelLayout l = Arm("3.10", [0x80000000, 0x22e00000], image: Ranges(0xc0008000, 0xc0efc400, 0xc0f00000, 0xc1019e40, 0xc101a000, 0xc11893c8, 0xc11893ec, 0xc1549aa8));
        Assert.EndsWith(expectedTail, BootLog.Format(l), StringComparison.Ordinal);
    }

    [Fact]
    public void Camera_3x_NoHighmem_ModulesUpToPageOffset()
    {
        // github.com/bmork/defogger issue 23 (an ARM camera's 3.x kernel, no HIGHMEM, 160 MiB): no pkmap line,
        // MODULES_END = PAGE_OFFSET (16 MB), and MLK_ROUNDUP section sizes (0x5289c4 bytes -> 5283 kB).
        string expectedTail =
            "    vmalloc : 0xca800000 - 0xff000000   ( 840 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xca000000   ( 160 MB)\n" +
            "    modules : 0xbf000000 - 0xc0000000   (  16 MB)\n" +
            "      .text : 0xc0008000 - 0xc05309c4   (5283 kB)\n" +
            "      .init : 0xc0531000 - 0xc0f02564   (10054 kB)\n" +
            "      .data : 0xc0f04000 - 0xc0f3ab10   ( 219 kB)\n" +
            "       .bss : 0xc0f3ab10 - 0xc0f50690   (  87 kB)\n";
        KernelLayout l = Arm("3.10", [0x80000000, 160 * ByteSize.MiB], highmem: false, image: Ranges(0xc0008000, 0xc05309c4, 0xc0531000, 0xc0f02564, 0xc0f04000, 0xc0f3ab10, 0xc0f3ab10, 0xc0f50690));
        Assert.EndsWith(expectedTail, BootLog.Format(l), StringComparison.Ordinal);
    }

    [Fact]
    public void X86Pae_PreCpuEntry_StackExchange5124()
    {
        // unix.stackexchange.com/questions/5124: 2 GiB, PAE, 2.6-era kernel, FIXADDR_START 0xffc57000.
        // 936 permanent fixmap pages + 4 x 64 btmap slots aligned to 1024 -> __end_of_fixed_addresses 1280,
        // FIXADDR_BOOT_START 0xffaff000; PKMAP_BASE (0xffaff000 - 513 pages) & PMD_MASK = 0xff800000;
        // VMALLOC_END = PKMAP_BASE - 8K; MAXMEM = VMALLOC_END - PAGE_OFFSET - 128M -> high_memory 0xf77fe000.
        string expected =
            "virtual kernel memory layout:\n" +
            "    fixmap  : 0xffc57000 - 0xfffff000   (3744 kB)\n" +
            "    pkmap   : 0xff800000 - 0xffa00000   (2048 kB)\n" +
            "    vmalloc : 0xf7ffe000 - 0xff7fe000   ( 120 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xf77fe000   ( 887 MB)\n" +
            "      .init : 0xc0906000 - 0xc09a5000   ( 636 kB)\n" +
            "      .data : 0xc071ae6a - 0xc08feb78   (1935 kB)\n" +
            "      .text : 0xc0400000 - 0xc071ae6a   (3179 kB)\n";
        KernelLayout l = LayoutEngine.Compute(
            Machine.WithRam(KernelArch.X86Pae, 2 * ByteSize.GiB),
            new KernelConfig { Linux = new LinuxVersion(2, 6), FixaddrStart = 0xffc57000, Image = Ranges(0xc0400000, 0xc071ae6a, 0xc0906000, 0xc09a5000, 0xc071ae6a, 0xc08feb78, 0xc08feb78, 0xc0906000) });
        Assert.Equal(expected, BootLog.Format(l));
    }

    [Fact]
    public void X86Pae_Linux419_CpuEntryLdtChain()
    {
        // Hand derivation (fixmap.h, pgtable_32_areas.h at 4.19) with the default options and NR_CPUS 8: permanent
        // slots HOLE, DBGP, EARLYCON, APIC, 64 IO-APIC, 20 x 8 KMAP, PCIE_MCFG, PARAVIRT_BOOTMAP, 2 TEXT_POKE,
        // 2 APEI_GHES = 234 pages, FIXADDR_START = 0xfffff000 - 234 pages = 0xfff15000; 8 x 64 btmap slots would cross
        // a page table, so FIX_BTMAP_END = 234 + 512 - 234 = 512 and FIXADDR_TOT_START = 0xfffff000 - 1024 pages =
        // 0xffbff000; 8 CPUs x 38 pages + 1 RO IDT page: CPU_ENTRY_AREA_BASE = (0xffbff000 - 305 pages) & ~(2M-1) =
        // 0xffa00000, map size 305 pages = 1220 kB; LDT_BASE = 0xff800000; PKMAP_BASE = 0xff600000; VMALLOC_END =
        // 0xff5fe000; MAXMEM = 0xff5fe000 - 0xc0000000 - 128M = 0x375fe000 -> high_memory 0xf75fe000, VMALLOC_START +8M.
        string expected =
            "virtual kernel memory layout:\n" +
            "    fixmap  : 0xfff15000 - 0xfffff000   ( 936 kB)\n" +
            "  cpu_entry : 0xffa00000 - 0xffb31000   (1220 kB)\n" +
            "    pkmap   : 0xff600000 - 0xff800000   (2048 kB)\n" +
            "    vmalloc : 0xf7dfe000 - 0xff5fe000   ( 120 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xf75fe000   ( 885 MB)\n";
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86Pae, 4 * ByteSize.GiB), new KernelConfig { Linux = new LinuxVersion(4, 19) });
        Assert.Equal(expected, BootLog.Format(l));
        Assert.NotNull(l.Find("ldt"));
        Assert.Equal(0xff800000UL, l.Find("ldt")!.Start);
        // Zones: DMA = first 16 MiB; Normal up to max_low_pfn 0x375fe; HighMem the rest of 4 GiB.
        Assert.Equal([new ZoneSize("DMA", 4096), new ZoneSize("Normal", 0x375fe - 4096), new ZoneSize("HighMem", 0x100000 - 0x375fe)], l.Zones);
    }

    [Fact]
    public void X86_Classic896MiB_Linux24()
    {
        // 2.4: MAXMEM = -PAGE_OFFSET - VMALLOC_RESERVE = 1 GiB - 128 MiB = 896 MiB of lowmem.
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86, 2 * ByteSize.GiB), new KernelConfig { Linux = new LinuxVersion(2, 4) });
        Assert.Equal(896 * ByteSize.MiB, l.LowmemBytes);
        Assert.Equal(0xf8000000UL, l.HighMemory);
    }

    [Fact]
    public void BootFormat_ConsistentDmaLine_Before36()
    {
        // Before e9da6e9905e6 (v3.6) mem_init printed the consistent DMA region 0xffc00000-0xffe00000.
        string boot = BootLog.Format(Arm("3.4", [0x80000000, 512 * ByteSize.MiB]));
        Assert.Contains("    fixmap  : 0xfff00000 - 0xfffe0000   ( 896 kB)\n    DMA     : 0xffc00000 - 0xffe00000   (   2 MB)\n    vmalloc : 0xe0800000 - 0xff000000   ( 488 MB)\n", boot, StringComparison.Ordinal);
    }

    [Fact]
    public void Linux316_QemuVexpress_Fixmap2048kB()
    {
        // github.com/ivanalgo/qemu-arm-linux README: "Linux version 3.16.0", QEMU vexpress-a9 (RAM 512 MiB at 0x60000000),
        // VMSPLIT_2G, no HIGHMEM. ARM 8031/2 (v3.15) set FIXADDR_START 0xffc00000 and FIXADDR_TOP 0xffe00000, which mem_init
        // printed until FIXADDR_END 0xfff00000 (v3.19): 2048 kB, not the 3072 kB of 3.19+. VMALLOC_END 0xff000000 (pre-4.2).
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xffc00000 - 0xffe00000   (2048 kB)\n" +
            "    vmalloc : 0xa0800000 - 0xff000000   (1512 MB)\n" +
            "    lowmem  : 0x80000000 - 0xa0000000   ( 512 MB)\n" +
            "    modules : 0x7f000000 - 0x80000000   (  16 MB)\n" +
            "      .text : 0x80008000 - 0x805bf0a0   (5853 kB)\n" +
            "      .init : 0x805c0000 - 0x805fdd80   ( 248 kB)\n" +
            "      .data : 0x805fe000 - 0x8062dac0   ( 191 kB)\n" +
            "       .bss : 0x8062dac8 - 0x806532e8   ( 151 kB)\n";
        KernelLayout l = Arm("3.16", [0x60000000, 512 * ByteSize.MiB], VmSplit.Split2G, highmem: false, image: Ranges(0x80008000, 0x805bf0a0, 0x805c0000, 0x805fdd80, 0x805fe000, 0x8062dac0, 0x8062dac8, 0x806532e8));
        Assert.Equal(expected, BootLog.Format(l));
    }

    [Fact]
    public void Linux31681_Jornada720_Fixmap2048kB()
    {
        // linux-arm-kernel, 2020-02-07, "SA-1111 USB OHCI driver (Jornada 720) - overcurrent condition": Linux 3.16.81 on a
        // StrongARM SA-1110 (PHYS_OFFSET 0xc0000000, mem=32m), 3G split, no HIGHMEM; _text at 0xc0208000.
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xffc00000 - 0xffe00000   (2048 kB)\n" +
            "    vmalloc : 0xc2800000 - 0xff000000   ( 968 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xc2000000   (  32 MB)\n" +
            "    modules : 0xbf000000 - 0xc0000000   (  16 MB)\n" +
            "      .text : 0xc0208000 - 0xc056be64   (3472 kB)\n" +
            "      .init : 0xc056c000 - 0xc0583484   (  94 kB)\n" +
            "      .data : 0xc0584000 - 0xc05a2520   ( 122 kB)\n" +
            "       .bss : 0xc05a2520 - 0xc05b5cd4   (  78 kB)\n";
        KernelLayout l = Arm("3.16.81", [0xc0000000, 32 * ByteSize.MiB], highmem: false, image: Ranges(0xc0208000, 0xc056be64, 0xc056c000, 0xc0583484, 0xc0584000, 0xc05a2520, 0xc05a2520, 0xc05b5cd4));
        Assert.Equal(expected, BootLog.Format(l));
    }

    [Fact]
    public void Linux317_Novena_Fixmap2048kB_Reserve248M()
    {
        // dmesg in the blog post "Novena first thoughts" (2015-03-21): Linux 3.17.0-rc5 on a Kosagi Novena (i.MX6Q), RAM
        // 0x10000000-0xffffefff ("Ignoring memory range 0xffffffff - 0x100000000"), HIGHMEM. vmalloc_min = 0xff000000 - 240M
        // - VMALLOC_OFFSET = 0xef800000 -> lowmem 760 MB, VMALLOC_START 0xf0000000; fixmap still 2048 kB before v3.19.
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xffc00000 - 0xffe00000   (2048 kB)\n" +
            "    vmalloc : 0xf0000000 - 0xff000000   ( 240 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xef800000   ( 760 MB)\n" +
            "    pkmap   : 0xbfe00000 - 0xc0000000   (   2 MB)\n" +
            "    modules : 0xbf000000 - 0xbfe00000   (  14 MB)\n" +
            "      .text : 0xc0008000 - 0xc0a05394   (10229 kB)\n" +
            "      .init : 0xc0a06000 - 0xc0a891c0   ( 525 kB)\n" +
            "      .data : 0xc0a8a000 - 0xc0ae54ec   ( 366 kB)\n" +
            "       .bss : 0xc0ae54ec - 0xc0b39e64   ( 339 kB)\n";
        KernelLayout l = Arm("3.17", [0x10000000, 0xeffff000], image: Ranges(0xc0008000, 0xc0a05394, 0xc0a06000, 0xc0a891c0, 0xc0a8a000, 0xc0ae54ec, 0xc0ae54ec, 0xc0b39e64));
        Assert.Equal(expected, BootLog.Format(l));
    }

    [Fact]
    public void Linux41_Imx6ull_Fixmap3072kB_OldVmallocEnd()
    {
        // Blog post "ARM-Linux驱动开发1" (pansyhou): Linux 4.1.15 on an i.MX6ULL 14x14 EVK, 512 MiB at 0x80000000, VMSPLIT_2G,
        // HIGHMEM. After FIXADDR_END 0xfff00000 (v3.19) mem_init prints 3072 kB; VMALLOC_END is still 0xff000000.
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xffc00000 - 0xfff00000   (3072 kB)\n" +
            "    vmalloc : 0xa0800000 - 0xff000000   (1512 MB)\n" +
            "    lowmem  : 0x80000000 - 0xa0000000   ( 512 MB)\n" +
            "    pkmap   : 0x7fe00000 - 0x80000000   (   2 MB)\n" +
            "    modules : 0x7f000000 - 0x7fe00000   (  14 MB)\n" +
            "      .text : 0x80008000 - 0x80908510   (9218 kB)\n" +
            "      .init : 0x80909000 - 0x80974000   ( 428 kB)\n" +
            "      .data : 0x80974000 - 0x809c4800   ( 322 kB)\n" +
            "       .bss : 0x809c7000 - 0x80a31194   ( 425 kB)\n";
        KernelLayout l = Arm("4.1.15", [0x80000000, 512 * ByteSize.MiB], VmSplit.Split2G, image: Ranges(0x80008000, 0x80908510, 0x80909000, 0x80974000, 0x80974000, 0x809c4800, 0x809c7000, 0x80a31194));
        Assert.Equal(expected, BootLog.Format(l));
    }

    [Fact]
    public void Linux308_Hi3518_MachineVmallocEnd_InitFirst()
    {
        // Blog post "Yi Home Camera" (2017-08-24): Linux 3.0.8 on a HiSilicon Hi3518 (ARM926), mem=40M at 0x80000000, no
        // HIGHMEM. Before 3.4 VMALLOC_END came from mach/vmalloc.h (here 0xfe000000, --vmalloc-end); the 2 MiB consistent
        // DMA region 0xffc00000-0xffe00000 was printed; v3.0 mem_init printed .init before .text (arch/arm/mm/init.c).
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xfff00000 - 0xfffe0000   ( 896 kB)\n" +
            "    DMA     : 0xffc00000 - 0xffe00000   (   2 MB)\n" +
            "    vmalloc : 0xc3000000 - 0xfe000000   ( 944 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xc2800000   (  40 MB)\n" +
            "    modules : 0xbf000000 - 0xc0000000   (  16 MB)\n" +
            "      .init : 0xc0008000 - 0xc0029000   ( 132 kB)\n" +
            "      .text : 0xc0029000 - 0xc0515000   (5040 kB)\n" +
            "      .data : 0xc0516000 - 0xc053a0e0   ( 145 kB)\n" +
            "       .bss : 0xc053a104 - 0xc0557380   ( 117 kB)\n";
        KernelLayout l = ArmMachine("3.0.8", [0x80000000, 40 * ByteSize.MiB], new KernelConfig { Highmem = false, VmallocEnd = 0xfe000000, Image = Ranges(0xc0029000, 0xc0515000, 0xc0008000, 0xc0029000, 0xc0516000, 0xc053a0e0, 0xc053a104, 0xc0557380) });
        Assert.Equal(expected, BootLog.Format(l));
    }

    [Fact]
    public void Linux2637_Ti8148_Reserve128M_NoBssLine()
    {
        // A TI8148 EVM (Yocto, "Linux version 2.6.37-yocto-standard+") boot transcript: 1023 MiB at 0x80000000, HIGHMEM,
        // OMAP's mach/vmalloc.h VMALLOC_END 0xf8000000. vmalloc_min = VMALLOC_END - SZ_128M = 0xf0000000 (the 128 MiB
        // default before 3.4, no VMALLOC_OFFSET) -> lowmem 768 MB; no .bss line yet, .init printed first.
        string expected =
            "Virtual kernel memory layout:\n" +
            "    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n" +
            "    fixmap  : 0xfff00000 - 0xfffe0000   ( 896 kB)\n" +
            "    DMA     : 0xffc00000 - 0xffe00000   (   2 MB)\n" +
            "    vmalloc : 0xf0800000 - 0xf8000000   ( 120 MB)\n" +
            "    lowmem  : 0xc0000000 - 0xf0000000   ( 768 MB)\n" +
            "    pkmap   : 0xbfe00000 - 0xc0000000   (   2 MB)\n" +
            "    modules : 0xbf000000 - 0xbfe00000   (  14 MB)\n" +
            "      .init : 0xc0008000 - 0xc0044000   ( 240 kB)\n" +
            "      .text : 0xc0044000 - 0xc0521000   (4980 kB)\n" +
            "      .data : 0xc0522000 - 0xc056f7e0   ( 310 kB)\n";
        // The log has no .bss line, so the .bss range given here (after .data) is not printed and not checked.
        KernelLayout l = ArmMachine("2.6.37", [0x80000000, 1023 * ByteSize.MiB], new KernelConfig { VmallocEnd = 0xf8000000, Image = Ranges(0xc0044000, 0xc0521000, 0xc0008000, 0xc0044000, 0xc0522000, 0xc056f7e0, 0xc056f7e0, 0xc0570000) });
        Assert.Equal(expected, BootLog.Format(l));
        Assert.Equal(255 * ByteSize.MiB, l.HighmemBytes); // "261120K highmem"
    }

    [Fact]
    public void ConsistentDmaSize_MovesTheDmaLine()
    {
        // Tegra (NVIDIA) 2.6.39/3.x Android logs print "DMA     : 0xff000000 - 0xffe00000   (  14 MB)": CONSISTENT_BASE =
        // CONSISTENT_END 0xffe00000 - CONSISTENT_DMA_SIZE 14 MiB (memory.h before v3.6).
        KernelLayout l = ArmMachine("3.1", [0, 512 * ByteSize.MiB], new KernelConfig { VmallocEnd = 0xf8000000, ConsistentDmaSize = 14 * ByteSize.MiB });
        Assert.Contains("    DMA     : 0xff000000 - 0xffe00000   (  14 MB)\n", BootLog.Format(l), StringComparison.Ordinal);
        Assert.Equal(0xff000000UL, l.Find("DMA")!.Start);
    }

    [Theory]
    [InlineData("3.3", true)]
    [InlineData("3.4", false)]
    public void VmallocEnd_PerMachineOnlyBefore34(string linux, bool accepted)
    {
        KernelConfig c = new() { VmallocEnd = 0xf8000000 };
        if (accepted)
        {
            Assert.Equal(0xf8000000UL, ArmMachine(linux, [0, 256 * ByteSize.MiB], c).VmallocEnd);
        }
        else
        {
            Assert.Equal(LayoutErrorKind.BadOption, Assert.Throws<LayoutException>(() => ArmMachine(linux, [0, 256 * ByteSize.MiB], c)).Kind);
        }
    }

    [Fact]
    public void BootFormat_RefusesArchitecturesThatNeverPrintedIt()
    {
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(KernelArch.X86_64, 8 * ByteSize.GiB), new KernelConfig());
        LayoutException e = Assert.Throws<LayoutException>(() => BootLog.Format(l));
        Assert.Contains("x86-64", e.Message, StringComparison.Ordinal);
    }
}
