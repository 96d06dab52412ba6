using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Layout;

/// <summary>
/// The layout rules of one span of Linux releases on 32-bit ARM. Each rule names the release where it
/// changed; "bracketed" means dated from real boot logs on either side, not from the commit itself.
/// </summary>
public sealed record ArmEra(
    ulong VmallocEnd,
    ulong FixaddrStart,
    ulong FixaddrPrintEnd,
    ulong FixaddrEnd,
    bool FdtFixedMapping,
    bool ConsistentDmaRegion,
    bool HashedPointers,
    bool PrintsLayout)
{
    public static ArmEra For(LinuxVersion v) => new(
        // 0xff000000 until the 4.x series; 0xff800000 after (bracketed: 4.1 vendor logs show 0xff000000 with the
        // 3.15 fixmap, 4.9+ logs show 0xff800000); Vmsplit dates it at 4.2. arch/arm/include/asm/pgtable.h.
        v < new LinuxVersion(4, 2) ? 0xff000000UL : 0xff800000UL,
        // Fixmap 0xfff00000-0xfffe0000 (Nicolas Pitre's "[ARM] fixmap support", 2.6.2x) until ARM 8031/2
        // "change fixmap mapping region to support 32 CPUs" (v3.15) moved it to 0xffc00000-0xfff00000; since the DT
        // blob got its fixed mapping at 0xff800000 (ARM 9012/1, v5.11) it starts at 0xffc80000 after a guard.
        v < new LinuxVersion(3, 15) ? 0xfff00000UL : v < new LinuxVersion(5, 11) ? 0xffc00000UL : 0xffc80000UL,
        // Before 3.15 mem_init printed FIXADDR_START..FIXADDR_TOP (0xfffe0000); later FIXADDR_END.
        v < new LinuxVersion(3, 15) ? 0xfffe0000UL : 0xfff00000UL,
        v < new LinuxVersion(3, 15) ? 0xfffe0000UL : 0xfff00000UL,
        v >= new LinuxVersion(5, 11),
        // The consistent-DMA region (0xffc00000-0xffe00000) and its "DMA" line went with e9da6e9905e6
        // "ARM: dma-mapping: remove custom consistent dma region" (v3.6).
        v < new LinuxVersion(3, 6),
        // printk %p hashing (ad67b74d2469 "printk: hash addresses printed with %p", v4.15) turned the .text
        // lines into 0x(ptrval).
        v >= new LinuxVersion(4, 15),
        // mem_init() stopped printing the layout in v5.1 (the print had become useless once %p was hashed).
        v < new LinuxVersion(5, 1));
}

/// <summary>32-bit ARM layouts: classic (arch/arm/mm/mmu.c, memory.h), 4g4g and kernel image in vmalloc.</summary>
internal static class ArmLayout
{
    public const ulong PmdSize = 2 * ByteSize.MiB; // PMD_SHIFT 21 in both pgtable-2level.h and pgtable-3level.h
    public const ulong VmallocOffset = 8 * ByteSize.MiB; // pgtable.h VMALLOC_OFFSET
    public const ulong DefaultVmallocSize = 240 * ByteSize.MiB; // mmu.c vmalloc_size
    public const ulong VectorsBase = 0xffff0000;
    public const ulong FdtFixedBase = 0xff800000; // memory.h FDT_FIXED_BASE
    public const ulong ConsistentBase = 0xffc00000;
    public const ulong ConsistentEnd = 0xffe00000;
    public const ulong LastPkmap = 512; // highmem.h: PTRS_PER_PTE

    public static void Build(KernelLayout l)
    {
        KernelConfig c = l.Config;
        bool lpae = l.Arch == KernelArch.ArmLpae;
        ArmEra era = ArmEra.For(c.Linux);
        if (c.Design == LayoutDesign.FourGFourG)
        {
            if (!lpae)
            {
                throw new LayoutException(LayoutErrorKind.Conflict, "design 4g4g needs LPAE (TTBR0/TTBR1 split): use --arch arm --lpae (seed 002: \"pre-LPAE cannot do the same TTBR1 split\")");
            }

            BuildFourGFourG(l, era);
            return;
        }

        if (c.Split == VmSplit.Split3GOpt && lpae)
        {
            throw new LayoutException(LayoutErrorKind.Conflict, "VMSPLIT_3G_OPT depends on !ARM_LPAE (arch/arm/Kconfig): choose --split 3G or drop --lpae");
        }

        if (c.Split == VmSplit.Split2GOpt)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, "VMSPLIT_2G_OPT does not exist on ARM (only in an unmerged patch); use 3G, 3G_OPT, 2G or 1G");
        }

        ulong pageOffset = KernelConfig.PageOffsetFor(c.Split);
        ulong physOffset = l.Machine.PhysOffset.Value;
        ulong vmallocEnd = era.VmallocEnd;
        l.PageOffset = pageOffset;
        l.TaskSize = pageOffset - 16 * ByteSize.MiB; // memory.h TASK_SIZE = PAGE_OFFSET - SZ_16M
        l.ModulesVaddr = pageOffset - (c.Thumb2Kernel ? 8UL : 16UL) * ByteSize.MiB; // memory.h MODULES_VADDR
        l.ModulesEnd = c.Highmem ? pageOffset - PmdSize : pageOffset; // memory.h MODULES_END
        ulong vmallocSize = VmallocSizeFor(c, pageOffset, vmallocEnd, l);

        // adjust_lowmem_bounds(): the physical address above which RAM would push vmalloc below its minimum.
        ulong vmallocLimit = vmallocEnd - vmallocSize - VmallocOffset - pageOffset + physOffset;
        AdjustLowmemBounds(l, vmallocLimit, physOffset, pageOffset, lpae, c.Highmem && !c.ViptAliasing);

        l.VmallocStart = (l.HighMemory + VmallocOffset) & ~(VmallocOffset - 1);
        l.VmallocEnd = vmallocEnd;
        l.FixaddrStart = era.FixaddrStart;
        l.FixaddrEnd = era.FixaddrEnd;
        l.VectorsBase = VectorsBase;
        SetRoots(l, lpae, pageOffset);

        l.Add("null", 0, Machine.PageSize, RegionKind.Guard, "CPU vector page / null pointer trap (high vectors in use)", RootFor(l, 0));
        l.Add("user", Machine.PageSize, l.TaskSize - Machine.PageSize, RegionKind.User, "user space mappings (TASK_SIZE = PAGE_OFFSET - 16 MiB)", RootFor(l, Machine.PageSize));
        l.Add("modules", l.ModulesVaddr, l.ModulesEnd - l.ModulesVaddr, RegionKind.Modules, "kernel modules (within 32 MiB of the kernel text for BL)", RootFor(l, l.ModulesVaddr));
        if (c.Highmem)
        {
            l.PkmapBase = pageOffset - PmdSize; // highmem.h PKMAP_BASE
            l.PkmapSize = LastPkmap * Machine.PageSize;
            l.Add("pkmap", l.PkmapBase, l.PkmapSize, RegionKind.Pkmap, "permanent kernel mappings of highmem (kmap)", RootFor(l, l.PkmapBase));
        }

        l.Add("lowmem", pageOffset, l.HighMemory - pageOffset, RegionKind.Lowmem, "kernel direct-mapped RAM (linear map, PAGE_OFFSET..high_memory)", RootFor(l, pageOffset));
        ulong vmallocFrom = l.VmallocStart;
        if (c.Design == LayoutDesign.KimageVmalloc)
        {
            ulong image = ImageBytes(l);
            ulong imageSpan = AlignUp(image, PmdSize);
            if (l.VmallocStart + imageSpan >= vmallocEnd)
            {
                throw new LayoutException(LayoutErrorKind.Overlap, $"the kernel image ({ByteSize.Human(image)}) does not fit in the vmalloc area {ByteSize.Hex(l.VmallocStart)}-{ByteSize.Hex(vmallocEnd)}");
            }

            l.Add("kernel", l.VmallocStart, imageSpan, RegionKind.KernelImage, "kernel image mapped in the vmalloc area (its RAM is also in lowmem: mapped twice)", RootFor(l, l.VmallocStart));
            l.MappedTwiceBytes = image;
            vmallocFrom = l.VmallocStart + imageSpan;
            l._choices.Add($"kernel image placed at VMALLOC_START {ByteSize.Hex(l.VmallocStart)}, PMD-aligned (Vmsplit's choice; afzal's series left the position open)");
        }

        l.Add("vmalloc", vmallocFrom, vmallocEnd - vmallocFrom, RegionKind.Vmalloc, "vmalloc()/ioremap(), static I/O maps (iotable_init), PCI I/O at 0xfee00000", RootFor(l, vmallocFrom));
        if (era.FdtFixedMapping)
        {
            ulong sectionSize = lpae ? 2 * ByteSize.MiB : ByteSize.MiB;
            l.Add("fdt", FdtFixedBase, 2 * sectionSize, RegionKind.Metadata, "permanent read-only mapping of the firmware DT blob (FDT_FIXED_BASE)", RootFor(l, FdtFixedBase));
        }

        if (era.ConsistentDmaRegion)
        {
            l.Add("DMA", ConsistentBase, ConsistentEnd - ConsistentBase, RegionKind.Io, "consistent DMA mappings (dma_alloc_coherent)", RootFor(l, ConsistentBase));
        }

        l.Add("fixmap", l.FixaddrStart, l.FixaddrEnd - l.FixaddrStart, RegionKind.Fixmap, "fixed mappings (fix_to_virt): kmap_atomic slots, early console", RootFor(l, l.FixaddrStart));
        l.Add("vector", VectorsBase, 2 * Machine.PageSize, RegionKind.Vectors, "CPU vector page and stubs (0xffff0000, vector relocation V bit)", RootFor(l, VectorsBase));
        LayoutImage(l, pageOffset + 0x8000); // TEXT_OFFSET 0x8000: _text sits 32 KiB into the linear map
    }

    private static ulong VmallocSizeFor(KernelConfig c, ulong pageOffset, ulong vmallocEnd, KernelLayout l)
    {
        if (c.VmallocSize is not ulong requested)
        {
            return DefaultVmallocSize;
        }

        // early_vmalloc(): below 16 MiB is rounded up; the maximum keeps 32 MiB of lowmem (arch/arm/mm/mmu.c).
        ulong max = vmallocEnd - (pageOffset + 32 * ByteSize.MiB + VmallocOffset);
        if (requested > max)
        {
            throw new LayoutException(
                LayoutErrorKind.VmallocTooLarge,
                $"vmalloc={ByteSize.Format(requested)} exceeds the {ByteSize.Human(max)} the {KernelConfig.SplitName(c.Split)} split allows (VMALLOC_END {ByteSize.Hex(vmallocEnd)} - PAGE_OFFSET - 32 MiB - 8 MiB)");
        }

        if (requested < 16 * ByteSize.MiB)
        {
            l._notes.Add($"vmalloc area too small, limiting to 16MB (vmalloc={ByteSize.Format(requested)})");
            return 16 * ByteSize.MiB;
        }

        return requested;
    }

    /// <summary>adjust_lowmem_bounds() (arch/arm/mm/mmu.c) over the machine's banks, plus the zone split.</summary>
    private static void AdjustLowmemBounds(KernelLayout l, ulong vmallocLimit, ulong physOffset, ulong linearBase, bool lpae, bool highmem)
    {
        Machine m = l.Machine;
        ulong nomapHead = 0;
        ulong firstStart = m.Banks[0].Base.Value;
        if ((firstStart & (PmdSize - 1)) != 0)
        {
            // The first bank's head is marked MEMBLOCK_NOMAP when it is not PMD-aligned.
            nomapHead = AlignUp(firstStart, PmdSize) - firstStart;
            l._notes.Add($"RAM {ByteSize.Hex(firstStart)}-{ByteSize.Hex(firstStart + nomapHead)} marked NOMAP (first bank not PMD-aligned)");
        }

        ulong lowmemLimit = 0;
        ulong memblockLimit = 0;
        foreach (Vmsplit.Hardware.Memory.RamBank bank in m.Banks)
        {
            ulong blockStart = bank.Base.Value == firstStart ? firstStart + nomapHead : bank.Base.Value;
            ulong blockEnd = bank.End.Value;
            if (blockStart >= blockEnd || blockStart >= vmallocLimit)
            {
                continue;
            }

            if (blockEnd > lowmemLimit)
            {
                lowmemLimit = Math.Min(vmallocLimit, blockEnd);
            }

            if (memblockLimit == 0)
            {
                if ((blockStart & (PmdSize - 1)) != 0)
                {
                    memblockLimit = blockStart;
                }
                else if ((blockEnd & (PmdSize - 1)) != 0)
                {
                    memblockLimit = lowmemLimit;
                }
            }
        }

        if (lowmemLimit == 0)
        {
            throw new LayoutException(LayoutErrorKind.Conflict, $"no RAM lies below the vmalloc limit {ByteSize.Hex(vmallocLimit)}: nothing can be lowmem");
        }

        if (memblockLimit == 0)
        {
            memblockLimit = lowmemLimit;
        }

        memblockLimit &= ~(PmdSize - 1);
        ulong end = m.EndOfDram.Value;
        if (!highmem && end > lowmemLimit)
        {
            // %pa prints phys_addr_t: 8 hex digits, 16 with LPAE (64-bit phys_addr_t).
            int digits = lpae ? 16 : 8;
            l._notes.Add($"Ignoring RAM at {ByteSize.Hex(memblockLimit, digits)}-{ByteSize.Hex(end, digits)}");
            l._notes.Add("Consider using a HIGHMEM enabled kernel.");
            lowmemLimit = memblockLimit;
        }

        l.HighMemory = lowmemLimit - physOffset + linearBase;
        l.LowmemPhysLimit = memblockLimit;
        l.LowmemBytes = m.RamBetween(firstStart + nomapHead, lowmemLimit);
        l.HighmemBytes = highmem ? m.RamBetween(lowmemLimit, end) : 0;
        l.IgnoredBytes = m.TotalRam - l.LowmemBytes - l.HighmemBytes;

        // Zones: find_limits() puts max_low_pfn at memblock's current limit (PMD-rounded), not at high_memory.
        ulong maxLow = highmem ? memblockLimit : lowmemLimit;
        ulong zoneStart = firstStart + nomapHead;
        if (l.Config.DmaZoneSize is ulong dma)
        {
            ulong dmaEnd = Math.Min(physOffset + dma, maxLow);
            AddZone(l, "DMA", m.RamBetween(zoneStart, dmaEnd));
            zoneStart = Math.Max(zoneStart, dmaEnd);
        }

        AddZone(l, "Normal", m.RamBetween(zoneStart, maxLow));
        if (highmem)
        {
            AddZone(l, "HighMem", m.RamBetween(maxLow, end));
        }
    }

    internal static void AddZone(KernelLayout l, string name, ulong bytes)
    {
        if (bytes != 0)
        {
            l._zones.Add(new ZoneSize(name, bytes / Machine.PageSize));
        }
    }

    private static void SetRoots(KernelLayout l, bool lpae, ulong pageOffset)
    {
        if (!lpae)
        {
            l.KernelRootStart = 0;
            l.RootSplit = "TTBCR.N=0: TTBR0 translates every address (Linux does not use TTBR1 with short descriptors)";
            return;
        }

        // pgtable-3level-hwdef.h: T0SZ/T1SZ per PAGE_OFFSET; TTBR1 covers the top 2^(32-T1SZ) bytes,
        // or everything above TTBR0's 2^(32-T0SZ) when T0SZ is non-zero.
        (int t0sz, int t1sz) = pageOffset switch
        {
            0x40000000 => (2, 0),
            0x80000000 => (0, 1),
            _ => (0, 2),
        };
        l.KernelRootStart = t0sz != 0 ? 1UL << (32 - t0sz) : (1UL << 32) - (1UL << (32 - t1sz));
        l.RootSplit = $"TTBCR.T0SZ={t0sz} T1SZ={t1sz}: TTBR0 below {ByteSize.Hex(l.KernelRootStart)}, TTBR1 from {ByteSize.Hex(l.KernelRootStart)}";
    }

    private static string RootFor(KernelLayout l, ulong va) => l.KernelRootStart != 0 && va >= l.KernelRootStart ? "TTBR1" : "TTBR0";

    internal static ulong ImageBytes(KernelLayout l)
    {
        if (l.Config.Image is KernelImage image)
        {
            return image.Ranges is { } r ? r[^1].End - r[0].Start : image.Total;
        }

        l._choices.Add($"kernel image {ByteSize.Human(KernelImage.Seed001.Total)} (default, seed 001: \"a 4MB vmlinux in a typical 32-bit kernel\")");
        return KernelImage.Seed001.Total;
    }

    /// <summary>Lays the image sections out as the linker script does (.text, .init, .data, .bss) unless exact ranges were given.</summary>
    internal static void LayoutImage(KernelLayout l, ulong textStart)
    {
        if (l.Config.Image is not KernelImage image)
        {
            return;
        }

        if (image.Ranges is { } ranges)
        {
            l.ImageSections = ranges;
            return;
        }

        ulong text = textStart;
        ulong init = AlignUp(text + image.Text, Machine.PageSize);
        ulong data = AlignUp(init + image.Init, Machine.PageSize);
        ulong bss = data + image.Data;
        l.ImageSections = [(text, text + image.Text), (init, init + image.Init), (data, data + image.Data), (bss, bss + image.Bss)];
    }

    internal static ulong AlignUp(ulong v, ulong a) => (v + a - 1) & ~(a - 1);

    /// <summary>
    /// VMSPLIT_4G_4G on LPAE (seeds 000, 002): TTBR1 = top 256 MiB (T1SZ=4) holding modules, the kernel image,
    /// vmalloc, pkmap, fixmap and vectors; TTBR0 = the low 3840 MiB, holding user space or the lowmem linear map.
    /// </summary>
    private static void BuildFourGFourG(KernelLayout l, ArmEra era)
    {
        KernelConfig c = l.Config;
        ulong image = ImageBytes(l);
        ulong imageSpan = AlignUp(image, PmdSize);
        const ulong modulesSize = 16 * ByteSize.MiB;
        ulong top = c.Highmem ? FdtFixedBase - PmdSize : FdtFixedBase; // pkmap sits right below the DT blob mapping
        ulong ttbr1Size = 256 * ByteSize.MiB;
        ulong vmallocSize;
        if (c.VmallocSize is ulong requested)
        {
            vmallocSize = requested;
            while ((1UL << 32) - ttbr1Size + modulesSize + imageSpan + vmallocSize > top)
            {
                ttbr1Size <<= 1;
                if (ttbr1Size > ByteSize.GiB)
                {
                    throw new LayoutException(LayoutErrorKind.VmallocTooLarge, $"vmalloc={ByteSize.Format(requested)} does not fit even in a 1 GiB TTBR1 region (T1SZ=2) next to modules, kernel image, pkmap and fixmap");
                }
            }

            l._choices.Add($"vmalloc {ByteSize.Human(vmallocSize)} (from --vmalloc; TTBR1 region grown to {ByteSize.Human(ttbr1Size)} to hold it)");
        }
        else
        {
            vmallocSize = top - ((1UL << 32) - ttbr1Size + modulesSize + imageSpan);
            l._choices.Add($"vmalloc {ByteSize.Human(vmallocSize)}: what the 256 MiB TTBR1 region leaves after modules, image, pkmap, DT blob and fixmap (default, seed 002)");
        }

        ulong ttbr1Base = (1UL << 32) - ttbr1Size;
        int t1sz = 32 - System.Numerics.BitOperations.Log2(ttbr1Size);
        ulong linearStart = c.LinearMapStart ?? 0;
        if (linearStart >= ttbr1Base || (linearStart & (PmdSize - 1)) != 0)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, $"--linear-start {ByteSize.Hex(linearStart)} must be PMD-aligned and below the TTBR1 region at {ByteSize.Hex(ttbr1Base)}");
        }

        l._choices.Add(c.LinearMapStart is null
            ? $"linear map of lowmem starts at {ByteSize.Hex(linearStart)} in the kernel's TTBR0 (default, seed 001/002: \"3840MB for either user or linear map\")"
            : $"linear map of lowmem starts at {ByteSize.Hex(linearStart)} in the kernel's TTBR0 (from --linear-start)");

        l.PageOffset = linearStart;
        l.TaskSize = ttbr1Base;
        l.KernelRootStart = ttbr1Base;
        l.RootSplit = $"TTBCR.T0SZ=0 T1SZ={t1sz}: TTBR1 (global kernel tables) from {ByteSize.Hex(ttbr1Base)}; TTBR0 switched on every entry/exit between the user tables (user ASID) and the kernel's lowmem tables (kernel ASID, non-global)";
        ulong physOffset = l.Machine.PhysOffset.Value;
        ulong lowmemLimit = physOffset + (ttbr1Base - linearStart);
        AdjustLowmemBounds(l, lowmemLimit, physOffset, linearStart, true, c.Highmem && !c.ViptAliasing);

        l.ModulesVaddr = ttbr1Base;
        l.ModulesEnd = ttbr1Base + modulesSize;
        ulong imageStart = l.ModulesEnd;
        l.VmallocEnd = top;
        l.VmallocStart = top - vmallocSize;
        l.FixaddrStart = ArmEra.For(LinuxVersion.Mainline).FixaddrStart;
        l.FixaddrEnd = 0xfff00000;
        l.VectorsBase = VectorsBase;
        l.MappedTwiceBytes = image;

        l.Add("null", 0, Machine.PageSize, RegionKind.Guard, "null pointer trap", "TTBR0", RegionView.UserContext);
        l.Add("user", Machine.PageSize, ttbr1Base - Machine.PageSize, RegionKind.User, "user space (TTBR0 = user tables, user ASID)", "TTBR0", RegionView.UserContext);
        l.Add("lowmem", linearStart, l.HighMemory - linearStart, RegionKind.Lowmem, "linear map of lowmem (TTBR0 = kernel tables, kernel ASID, non-global)", "TTBR0", RegionView.KernelContext);
        l.Add("modules", l.ModulesVaddr, modulesSize, RegionKind.Modules, "kernel modules", "TTBR1");
        l.Add("kernel", imageStart, imageSpan, RegionKind.KernelImage, "static kernel image (its RAM is also in the linear map: mapped twice)", "TTBR1");
        l.Add("vmalloc", l.VmallocStart, vmallocSize, RegionKind.Vmalloc, "vmalloc()/ioremap(), static I/O maps", "TTBR1");
        if (c.Highmem)
        {
            l.PkmapBase = top;
            l.PkmapSize = LastPkmap * Machine.PageSize;
            l.Add("pkmap", l.PkmapBase, l.PkmapSize, RegionKind.Pkmap, "kmap of highmem and of pinned user pages (uaccess)", "TTBR1");
        }

        l.Add("fdt", FdtFixedBase, 4 * ByteSize.MiB, RegionKind.Metadata, "DT blob fixed mapping (2 LPAE sections)", "TTBR1");
        l.Add("fixmap", l.FixaddrStart, l.FixaddrEnd - l.FixaddrStart, RegionKind.Fixmap, "fixed mappings: kmap_atomic slots", "TTBR1");
        l.Add("vector", VectorsBase, 2 * Machine.PageSize, RegionKind.Vectors, "vectors and the entry/exit trampoline that switches TTBR0", "TTBR1");
        LayoutImage(l, imageStart);
        _ = era;
    }
}
