using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Layout;

/// <summary>The order and set of image-section lines mem_init() printed (arch/arm/mm/init.c).</summary>
public enum ArmSectionLines
{
    /// <summary>".init", ".text", ".data" — no ".bss" line (seen in a 2.6.37 boot log).</summary>
    InitTextData,

    /// <summary>".init", ".text", ".data", ".bss" (arch/arm/mm/init.c at v3.0.1).</summary>
    InitTextDataBss,

    /// <summary>".text", ".init", ".data", ".bss" (3.4-era trees and every later log).</summary>
    TextInitDataBss,
}

/// <summary>
/// The layout rules of one span of Linux releases on 32-bit ARM. Each rule names the commit (or, where the commit could
/// not be checked, the boot logs and source trees that bracket it); docs/layouts.md has the table.
/// </summary>
public sealed record ArmEra(
    ulong VmallocEnd,
    bool PerMachineVmallocEnd,
    ulong DefaultVmallocReserve,
    bool ReserveIncludesOffset,
    ulong FixaddrStart,
    ulong FixaddrPrintEnd,
    ulong FixaddrEnd,
    bool FdtFixedMapping,
    bool ConsistentDmaRegion,
    ArmSectionLines SectionLines,
    bool HashedPointers,
    bool PrintsLayout)
{
    /// <summary>The first release whose VMALLOC_END is no longer set by mach-*/include/mach/vmalloc.h.</summary>
    public static readonly LinuxVersion FixedVmallocEndSince = new(3, 4);

    /// <summary>The first release without the consistent-DMA region (so without CONSISTENT_DMA_SIZE).</summary>
    public static readonly LinuxVersion NoConsistentDmaSince = new(3, 6);

    public static ArmEra For(LinuxVersion v) => new(
        // pgtable.h VMALLOC_END: per machine (mach/vmalloc.h) before 3.4, then 0xff000000 (Nicolas Pitre's mach/vmalloc.h
        // removal, v3.4 merge window; logs 3.8-4.1.15 show it); 0xff800000 from 4.2 (bracketed by logs: 4.1.15 0xff000000, 4.9 0xff800000).
        v < new LinuxVersion(4, 2) ? 0xff000000UL : 0xff800000UL,
        v < FixedVmallocEndSince,
        // mmu.c vmalloc_min: VMALLOC_END - SZ_128M before 3.4 (2.6.37 log: 0xf8000000 - 128M = lowmem end 0xf0000000), then
        // VMALLOC_END - 240M - VMALLOC_OFFSET (3.17 log: 0xff000000 - 248M = 0xef800000); dated with the fixed VMALLOC_END.
        v < FixedVmallocEndSince ? 128 * ByteSize.MiB : 240 * ByteSize.MiB,
        v >= FixedVmallocEndSince,
        // fixmap.h: 0xfff00000 (5f0fbf9ecaf3 "[ARM] fixmap support"), 0xffc00000 from ARM 8031/2 "change fixmap mapping region
        // to support 32 CPUs" (v3.15; a 3.15-rc1-based log already prints it), 0xffc80000 from ARM 9012/1 (v5.11, DT blob at 0xff800000).
        v < new LinuxVersion(3, 15) ? 0xfff00000UL : v < new LinuxVersion(5, 11) ? 0xffc00000UL : 0xffc80000UL,
        // mem_init printed MLK(FIXADDR_START, FIXADDR_TOP) (init.c at v3.0.1, v3.4): FIXADDR_TOP 0xfffe0000, then 0xffe00000
        // (ARM 8031/2, v3.15; logs 3.16.0, 3.16.81, 3.17-rc5, 3.18.0 print 2048 kB); FIXADDR_END 0xfff00000 from "ARM: expand
        // fixmap region to 3MB" in Kees Cook's read-only-text series (v3.19; 4.1.15 log prints 3072 kB).
        v < new LinuxVersion(3, 15) ? 0xfffe0000UL : v < new LinuxVersion(3, 19) ? 0xffe00000UL : 0xfff00000UL,
        v < new LinuxVersion(3, 15) ? 0xfffe0000UL : v < new LinuxVersion(3, 19) ? 0xffe00000UL : 0xfff00000UL,
        v >= new LinuxVersion(5, 11),
        // The consistent-DMA region (CONSISTENT_END 0xffe00000 - CONSISTENT_DMA_SIZE) and its "DMA" line went with
        // e9da6e9905e6 "ARM: dma-mapping: remove custom consistent dma region" (v3.6).
        v < NoConsistentDmaSince,
        // Section lines: no .bss in a 2.6.37 log, .init first with .bss at v3.0.1 (init.c), .text first in 3.4 trees.
        v < new LinuxVersion(3, 0) ? ArmSectionLines.InitTextData : v < new LinuxVersion(3, 4) ? ArmSectionLines.InitTextDataBss : ArmSectionLines.TextInitDataBss,
        // printk %p hashing (ad67b74d2469 "printk: hash addresses printed with %p", v4.15) turned the section lines into 0x(ptrval).
        v >= new LinuxVersion(4, 15),
        // ARM 8820/1 "mm: Stop printing the virtual memory layout" (Kees Cook, v5.1).
        v < new LinuxVersion(5, 1));
}

/// <summary>32-bit ARM layouts: classic (arch/arm/mm/mmu.c, memory.h), 4g4g and kernel image in vmalloc.</summary>
internal static class ArmLayout
{
    public const ulong PmdSize = 2 * ByteSize.MiB; // PMD_SHIFT 21 in both pgtable-2level.h and pgtable-3level.h
    public const ulong VmallocOffset = 8 * ByteSize.MiB; // pgtable.h VMALLOC_OFFSET
    public const ulong DefaultVmallocSize = 240 * ByteSize.MiB; // mmu.c vmalloc_size (3.4+; 128 MiB before, see ArmEra)
    public const ulong VectorsBase = 0xffff0000;
    public const ulong FdtFixedBase = 0xff800000; // memory.h FDT_FIXED_BASE
    public const ulong ConsistentEnd = 0xffe00000; // memory.h CONSISTENT_END (until e9da6e9905e6, v3.6)
    public const ulong DefaultConsistentDmaSize = 2 * ByteSize.MiB; // memory.h: "#ifndef CONSISTENT_DMA_SIZE ... SZ_2M"
    public const ulong MaxConsistentDmaSize = 14 * ByteSize.MiB; // memory.h: "Must be multiple of 2M, between 2MB and 14MB inclusive"
    public const ulong LastPkmap = 512; // highmem.h: PTRS_PER_PTE

    public static void Build(KernelLayout l)
    {
        KernelConfig c = l.Config;
        bool lpae = l.Arch == KernelArch.ArmLpae;
        ArmEra era = ArmEra.For(c.Linux);
        if (c.Design == LayoutDesign.FourGFourG)
        {
            if (c.VmallocEnd is not null || c.ConsistentDmaSize is not null)
            {
                throw new LayoutException(LayoutErrorKind.Conflict, "--vmalloc-end and --consistent-dma-size describe pre-3.6 machines with the classic split, not design 4g4g");
            }

            BuildFourGFourG(l, era, lpae);
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
        ulong consistentBase = ConsistentBaseFor(l, era);
        ulong vmallocEnd = VmallocEndFor(l, era, pageOffset, consistentBase);
        l.PageOffset = pageOffset;
        l.TaskSize = pageOffset - 16 * ByteSize.MiB; // memory.h TASK_SIZE = PAGE_OFFSET - SZ_16M
        l.ModulesVaddr = pageOffset - (c.Thumb2Kernel ? 8UL : 16UL) * ByteSize.MiB; // memory.h MODULES_VADDR
        l.ModulesEnd = c.Highmem ? pageOffset - PmdSize : pageOffset; // memory.h MODULES_END
        ulong vmallocSize = VmallocSizeFor(c, pageOffset, vmallocEnd, l, era);

        // adjust_lowmem_bounds(): the physical address above which RAM would push vmalloc below its minimum.
        ulong vmallocMin = vmallocEnd - vmallocSize - (era.ReserveIncludesOffset ? VmallocOffset : 0);
        if (vmallocMin <= pageOffset)
        {
            throw new LayoutException(LayoutErrorKind.VmallocTooLarge, $"VMALLOC_END {ByteSize.Hex(vmallocEnd)} minus the {ByteSize.Human(vmallocSize)} vmalloc reserve leaves no lowmem above PAGE_OFFSET {ByteSize.Hex(pageOffset)}");
        }

        ulong vmallocLimit = vmallocMin - pageOffset + physOffset;
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
            l.ConsistentBase = consistentBase;
            l.Add("DMA", consistentBase, ConsistentEnd - consistentBase, RegionKind.Io, "consistent DMA mappings (dma_alloc_coherent), CONSISTENT_END - CONSISTENT_DMA_SIZE", RootFor(l, consistentBase));
        }

        l.Add("fixmap", l.FixaddrStart, l.FixaddrEnd - l.FixaddrStart, RegionKind.Fixmap, "fixed mappings (fix_to_virt): kmap_atomic slots, early console", RootFor(l, l.FixaddrStart));
        l.Add("vector", VectorsBase, 2 * Machine.PageSize, RegionKind.Vectors, "CPU vector page and stubs (0xffff0000, vector relocation V bit)", RootFor(l, VectorsBase));
        LayoutImage(l, pageOffset + 0x8000); // TEXT_OFFSET 0x8000: _text sits 32 KiB into the linear map
    }

    /// <summary>
    /// CONSISTENT_BASE = CONSISTENT_END - CONSISTENT_DMA_SIZE (memory.h before v3.6): a machine's mach/memory.h could raise
    /// the 2 MiB default (logs show 8 and 14 MiB); refused for releases without the region.
    /// </summary>
    private static ulong ConsistentBaseFor(KernelLayout l, ArmEra era)
    {
        if (l.Config.ConsistentDmaSize is not ulong size)
        {
            return ConsistentEnd - DefaultConsistentDmaSize;
        }

        if (!era.ConsistentDmaRegion)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, $"--consistent-dma-size: Linux {l.Config.Linux} has no consistent DMA region (removed by e9da6e9905e6 in v{ArmEra.NoConsistentDmaSince}); drop the option or use --linux 3.5 or older");
        }

        if (size < 2 * ByteSize.MiB || size > MaxConsistentDmaSize || size % (2 * ByteSize.MiB) != 0)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, $"--consistent-dma-size {ByteSize.Format(size)}: CONSISTENT_DMA_SIZE must be a multiple of 2M between 2M and 14M (arch/arm/include/asm/memory.h)");
        }

        return ConsistentEnd - size;
    }

    /// <summary>VMALLOC_END: fixed by pgtable.h from 3.4, set by each mach-*/include/mach/vmalloc.h before (--vmalloc-end).</summary>
    private static ulong VmallocEndFor(KernelLayout l, ArmEra era, ulong pageOffset, ulong consistentBase)
    {
        KernelConfig c = l.Config;
        if (c.VmallocEnd is not ulong end)
        {
            if (era.PerMachineVmallocEnd)
            {
                l._choices.Add($"VMALLOC_END {ByteSize.Hex(era.VmallocEnd)} (assumption: the value every platform got in {ArmEra.FixedVmallocEndSince}; before that mach-*/include/mach/vmalloc.h set it, give --vmalloc-end)");
            }

            return era.VmallocEnd;
        }

        if (!era.PerMachineVmallocEnd)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, $"--vmalloc-end: from Linux {ArmEra.FixedVmallocEndSince} VMALLOC_END is {ByteSize.Hex(era.VmallocEnd)} for every machine (arch/arm/include/asm/pgtable.h), not a per-machine value; use --linux 3.3 or older");
        }

        // The vmalloc area lies between PAGE_OFFSET and the consistent DMA region (mem_init: BUG_ON(VMALLOC_END > CONSISTENT_BASE)).
        ulong floor = pageOffset + 32 * ByteSize.MiB;
        if (end % Machine.PageSize != 0 || end <= floor || end > consistentBase)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, $"--vmalloc-end {ByteSize.Hex(end)} must be page-aligned, above PAGE_OFFSET + 32 MiB ({ByteSize.Hex(floor)}) and at most CONSISTENT_BASE {ByteSize.Hex(consistentBase)}");
        }

        return end;
    }

    private static ulong VmallocSizeFor(KernelConfig c, ulong pageOffset, ulong vmallocEnd, KernelLayout l, ArmEra era)
    {
        if (c.VmallocSize is not ulong requested)
        {
            return era.DefaultVmallocReserve;
        }

        // early_vmalloc(): below 16 MiB is rounded up; the maximum keeps 32 MiB of lowmem (arch/arm/mm/mmu.c).
        ulong offset = era.ReserveIncludesOffset ? VmallocOffset : 0;
        ulong max = vmallocEnd - (pageOffset + 32 * ByteSize.MiB + offset);
        if (requested > max)
        {
            throw new LayoutException(
                LayoutErrorKind.VmallocTooLarge,
                $"vmalloc={ByteSize.Format(requested)} exceeds the {ByteSize.Human(max)} the {KernelConfig.SplitName(c.Split)} split allows (VMALLOC_END {ByteSize.Hex(vmallocEnd)} - PAGE_OFFSET - 32 MiB{(offset != 0 ? " - 8 MiB" : "")})");
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
        if (l.Config.Image is null)
        {
            l._choices.Add($"kernel image {ByteSize.Human(KernelImage.Typical32Bit.Total)} (default, Arnd Bergmann, July 2020: \"a 4MB vmlinux in a typical 32-bit kernel\")");
        }

        return l.ImageBytes;
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
    /// On short descriptors (<paramref name="lpae"/> false) the kernel's table has the same regions, but TTBCR.N cannot
    /// confine TTBR1 to its top 256 MiB (ARM ARM B3.5.4: TTBR1 covers at least the top 2 GiB when N &gt; 0), so TTBR0 is
    /// switched over the whole 4 GiB and user space runs up to 0xff000000, sharing only the trampoline at 0xffff0000.
    /// </summary>
    private static void BuildFourGFourG(KernelLayout l, ArmEra era, bool lpae)
    {
        KernelConfig c = l.Config;
        ulong image = ImageBytes(l);
        ulong imageSpan = AlignUp(image, PmdSize);
        const ulong modulesSize = 16 * ByteSize.MiB;
        ulong pkmapTop = c.Highmem ? FdtFixedBase - PmdSize : FdtFixedBase; // pkmap sits right below the DT blob mapping
        ulong ttbr1Size = 256 * ByteSize.MiB;
        ulong vmallocSize;
        if (c.VmallocSize is ulong requested)
        {
            vmallocSize = requested;
            while ((1UL << 32) - ttbr1Size + modulesSize + imageSpan + vmallocSize > pkmapTop)
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
            vmallocSize = pkmapTop - ((1UL << 32) - ttbr1Size + modulesSize + imageSpan);
            l._choices.Add($"vmalloc {ByteSize.Human(vmallocSize)}: what the 256 MiB TTBR1 region leaves after modules, image, pkmap, DT blob and fixmap (default, Arnd Bergmann, May 2020)");
        }

        ulong ttbr1Base = (1UL << 32) - ttbr1Size;
        int t1sz = 32 - System.Numerics.BitOperations.Log2(ttbr1Size);
        ulong linearStart = c.LinearMapStart ?? 0;
        if (linearStart >= ttbr1Base || (linearStart & (PmdSize - 1)) != 0)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, $"--linear-start {ByteSize.Hex(linearStart)} must be PMD-aligned and below the TTBR1 region at {ByteSize.Hex(ttbr1Base)}");
        }

        l._choices.Add(c.LinearMapStart is null
            ? $"linear map of lowmem starts at {ByteSize.Hex(linearStart)} in the kernel's TTBR0 (default, Arnd Bergmann, May and July 2020: \"3840MB for either user or linear map\")"
            : $"linear map of lowmem starts at {ByteSize.Hex(linearStart)} in the kernel's TTBR0 (from --linear-start)");

        l.PageOffset = linearStart;
        const ulong shortUserTop = 0xff000000; // ArmShortFourGFourG.UserTop: the top 16 MiB left to the trampoline (as x86-32's 4G/4G)
        l.TaskSize = lpae ? ttbr1Base : shortUserTop;
        l.KernelRootStart = lpae ? ttbr1Base : 0;
        l.RootSplit = lpae
            ? $"TTBCR.T0SZ=0 T1SZ={t1sz}: TTBR1 (global kernel tables) from {ByteSize.Hex(ttbr1Base)}; TTBR0 switched on every entry/exit between the user tables (user ASID) and the kernel's lowmem tables (kernel ASID, non-global)"
            : "TTBCR.N=0: TTBR0 switched on every entry/exit between the process's full 4 GiB table (user ASID: user space and the trampoline) and the kernel's full 4 GiB table (ASID 0, non-global but the trampoline); TTBR1 holds the trampoline alone, the reserved TTBR0 while the ASID changes";
        if (!lpae)
        {
            l._choices.Add($"user space up to {ByteSize.Hex(shortUserTop)}: the whole 4 GiB but the top 16 MiB, where the trampoline (vectors, stubs, save area) is shared (our choice, after x86-32's 4G/4G)");
        }

        string top = lpae ? "TTBR1" : "TTBR0";
        RegionView kernelOnly = lpae ? RegionView.Shared : RegionView.KernelContext;
        ulong physOffset = l.Machine.PhysOffset.Value;
        ulong lowmemLimit = physOffset + (ttbr1Base - linearStart);
        AdjustLowmemBounds(l, lowmemLimit, physOffset, linearStart, true, c.Highmem && !c.ViptAliasing);

        l.ModulesVaddr = ttbr1Base;
        l.ModulesEnd = ttbr1Base + modulesSize;
        ulong imageStart = l.ModulesEnd;
        l.VmallocEnd = pkmapTop;
        l.VmallocStart = pkmapTop - vmallocSize;
        l.FixaddrStart = ArmEra.For(LinuxVersion.Mainline).FixaddrStart;
        l.FixaddrEnd = 0xfff00000;
        l.VectorsBase = VectorsBase;
        l.MappedTwiceBytes = image;

        l.Add("null", 0, Machine.PageSize, RegionKind.Guard, "null pointer trap", "TTBR0", RegionView.UserContext);
        l.Add("user", Machine.PageSize, l.TaskSize - Machine.PageSize, RegionKind.User, "user space (TTBR0 = user tables, user ASID)", "TTBR0", RegionView.UserContext);
        l.Add("lowmem", linearStart, l.HighMemory - linearStart, RegionKind.Lowmem, "linear map of lowmem (TTBR0 = kernel tables, kernel ASID, non-global)", "TTBR0", RegionView.KernelContext);
        l.Add("modules", l.ModulesVaddr, modulesSize, RegionKind.Modules, "kernel modules", top, kernelOnly);
        l.Add("kernel", imageStart, imageSpan, RegionKind.KernelImage, "static kernel image (its RAM is also in the linear map: mapped twice)", top, kernelOnly);
        l.Add("vmalloc", l.VmallocStart, vmallocSize, RegionKind.Vmalloc, "vmalloc()/ioremap(), static I/O maps", top, kernelOnly);
        if (c.Highmem)
        {
            l.PkmapBase = pkmapTop;
            l.PkmapSize = LastPkmap * Machine.PageSize;
            l.Add("pkmap", l.PkmapBase, l.PkmapSize, RegionKind.Pkmap, "kmap of highmem and of pinned user pages (uaccess)", top, kernelOnly);
        }

        l.Add("fdt", FdtFixedBase, 4 * ByteSize.MiB, RegionKind.Metadata, lpae ? "DT blob fixed mapping (2 LPAE sections)" : "DT blob fixed mapping", top, kernelOnly);
        l.Add("fixmap", l.FixaddrStart, l.FixaddrEnd - l.FixaddrStart, RegionKind.Fixmap, "fixed mappings: kmap_atomic slots", top, kernelOnly);
        if (lpae)
        {
            l.Add("vector", VectorsBase, 2 * Machine.PageSize, RegionKind.Vectors, "vectors and the entry/exit trampoline that switches TTBR0", "TTBR1");
        }
        else
        {
            l.Add("vector", VectorsBase, 3 * Machine.PageSize, RegionKind.Vectors, "the trampoline in every table: vectors, stubs with the entry/exit code that switches TTBR0, per-CPU save area (global)", "TTBR0");
        }

        LayoutImage(l, imageStart);
        _ = era;
    }
}
