using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Layout;

/// <summary>
/// 32-bit x86 layouts: the FIXADDR → cpu_entry_area → LDT → PKMAP → VMALLOC_END chain
/// (arch/x86/include/asm/pgtable_32_areas.h, fixmap.h) and Ingo Molnar's 2003 4G/4G split.
/// </summary>
internal static class X86Layout
{
    public const ulong FixaddrTop = 0xfffff000; // pgtable_32.c __FIXADDR_TOP (reservetop= moves it)
    public const ulong VmallocOffset = 8 * ByteSize.MiB;
    public const ulong DefaultVmallocReserve = 128 * ByteSize.MiB; // __VMALLOC_RESERVE
    public const int NrFixBtmaps = 64;

    // sizeof(struct cpu_entry_area) in pages on 32-bit (4.15-era): gdt 1 + entry stack 1 + tss 3 (104-byte hw TSS +
    // 8 KiB I/O bitmap, page-aligned) + debug store 1 + BTS/PEBS buffers 32 (CPU_SUP_INTEL). Assumption, see docs/layouts.md.
    public const int CpuEntryAreaPagesPerCpu = 38;

    public static void Build(KernelLayout l)
    {
        KernelConfig c = l.Config;
        bool pae = l.Arch == KernelArch.X86Pae;
        ulong pmdSize = pae ? 2 * ByteSize.MiB : 4 * ByteSize.MiB; // PMD_SHIFT 21 (PAE) or PGDIR_SHIFT 22 (2-level)
        ulong lastPkmap = pae ? 512UL : 1024UL; // pgtable_32_areas.h LAST_PKMAP
        ulong pmdMask = ~(pmdSize - 1);
        LinuxVersion v = c.Linux;

        if (c.Design == LayoutDesign.X86FourGFourG)
        {
            BuildFourGFourG(l, pmdSize, lastPkmap);
            return;
        }

        ulong pageOffset = KernelConfig.PageOffsetFor(c.Split);
        ulong permanentPages = (ulong)X86Fixmap.PermanentPages(v, pae, c.NrCpus, c.Highmem, c.X86Fixmap);
        ulong fixaddrStart = c.FixaddrStart ?? FixaddrTop - (permanentPages * Machine.PageSize); // fixmap.h FIXADDR_START
        if (fixaddrStart >= FixaddrTop || (fixaddrStart & (Machine.PageSize - 1)) != 0 || fixaddrStart < pageOffset)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, $"--fixaddr-start {ByteSize.Hex(fixaddrStart)} must be page-aligned, below FIXADDR_TOP {ByteSize.Hex(FixaddrTop)} and above PAGE_OFFSET");
        }

        if (c.FixaddrStart is null)
        {
            l._choices.Add($"FIXADDR_START {ByteSize.Hex(fixaddrStart)}: {permanentPages} permanent fixmap pages of Linux {v} with NR_CPUS {c.NrCpus}{(c.Highmem ? ", HIGHMEM" : "")} and {Describe(c.X86Fixmap)} (fixmap.h; --kconfig and --nr-cpus change them, --fixaddr-start overrides)");
        }

        // fixmap.h: permanent slots, then the boot-time early_ioremap slots, aligned so they do not cross a page table.
        ulong permanent = (FixaddrTop - fixaddrStart) / Machine.PageSize;
        ulong slots = v < new LinuxVersion(3, 14) ? 4UL : 8UL; // FIX_BTMAPS_SLOTS: 4 in fixmap.h at 2.6.32 and 3.10, 8 at 3.14
        ulong totalBtmaps = NrFixBtmaps * slots;
        ulong ptrsPerPte = pae ? 512UL : 1024UL;
        ulong btmapEnd = ((permanent ^ (permanent + totalBtmaps - 1)) & ~(ptrsPerPte - 1)) != 0
            ? permanent + totalBtmaps - (permanent & (totalBtmaps - 1))
            : permanent;
        ulong endOfFixed = btmapEnd + totalBtmaps; // FIX_BTMAP_BEGIN + 1
        ulong fixaddrTotStart = FixaddrTop - endOfFixed * Machine.PageSize;

        ulong pkmapBase;
        ulong belowPkmap; // the next region up: what VMALLOC_END hangs from without HIGHMEM
        ulong ldtBase = 0;
        if (v >= new LinuxVersion(4, 15))
        {
            // cpu_entry_area moved out of the fixmap (92a0f81d8, v4.15): CPU_ENTRY_AREA_BASE, +1 page for the RO IDT.
            ulong ceaPages = (ulong)c.NrCpus * CpuEntryAreaPagesPerCpu;
            l.CpuEntryAreaBase = (fixaddrTotStart - Machine.PageSize * (ceaPages + 1)) & pmdMask;
            l.CpuEntryAreaSize = Machine.PageSize + ceaPages * Machine.PageSize;
            belowPkmap = l.CpuEntryAreaBase;
            if (v >= new LinuxVersion(4, 19))
            {
                // 32-bit PTI (v4.19) remaps the LDT one PMD below the cpu_entry_area.
                ldtBase = (l.CpuEntryAreaBase - Machine.PageSize) & pmdMask;
                belowPkmap = ldtBase;
            }

            pkmapBase = (belowPkmap - Machine.PageSize) & pmdMask;
        }
        else
        {
            belowPkmap = fixaddrTotStart;
            pkmapBase = (fixaddrTotStart - Machine.PageSize * (lastPkmap + 1)) & pmdMask;
        }

        ulong vmallocEnd = c.Highmem ? pkmapBase - 2 * Machine.PageSize : belowPkmap - 2 * Machine.PageSize;
        ulong reserve = c.VmallocSize is ulong vm ? vm + VmallocOffset : DefaultVmallocReserve;
        // MAXMEM: 2.4 used -PAGE_OFFSET - VMALLOC_RESERVE (896 MiB for 3G); 2.6+ hangs it from VMALLOC_END.
        long maxmem = v < new LinuxVersion(2, 6)
            ? (long)((1UL << 32) - pageOffset) - (long)reserve
            : (long)vmallocEnd - (long)pageOffset - (long)reserve;
        if (maxmem < 16 * (long)ByteSize.MiB)
        {
            throw new LayoutException(LayoutErrorKind.VmallocTooLarge, $"vmalloc={ByteSize.Format(c.VmallocSize ?? reserve)} leaves no lowmem: VMALLOC_END {ByteSize.Hex(vmallocEnd)} - PAGE_OFFSET {ByteSize.Hex(pageOffset)} - reserve {ByteSize.Human(reserve)} = {maxmem / (long)ByteSize.MiB} MiB");
        }

        Machine m = l.Machine;
        ulong maxPfn = m.EndOfDram.Value / Machine.PageSize;
        ulong maxLowPfn = Math.Min(maxPfn, (ulong)maxmem / Machine.PageSize);
        ulong lowEnd = maxLowPfn * Machine.PageSize;
        if (!c.Highmem && maxPfn > maxLowPfn)
        {
            // arch/x86/mm/init_32.c lowmem_pfn_init(): MSG_LOWMEM_TOO_SMALL / "only %luMB will be used".
            l._notes.Add($"Warning only {lowEnd >> 20}MB will be used.");
            l._notes.Add("Use a HIGHMEM enabled kernel.");
        }

        l.PageOffset = pageOffset;
        l.TaskSize = pageOffset; // page_32_types.h TASK_SIZE = __PAGE_OFFSET
        l.HighMemory = pageOffset + lowEnd;
        l.VmallocStart = l.HighMemory + VmallocOffset;
        l.VmallocEnd = vmallocEnd;
        l.ModulesVaddr = l.VmallocStart; // pgtable_32_areas.h: modules live in the vmalloc area on x86-32
        l.ModulesEnd = vmallocEnd;
        l.FixaddrStart = fixaddrStart;
        l.FixaddrEnd = FixaddrTop;
        l.LowmemBytes = m.RamBetween(0, lowEnd);
        l.HighmemBytes = c.Highmem ? m.RamBetween(lowEnd, ulong.MaxValue) : 0;
        l.IgnoredBytes = m.TotalRam - l.LowmemBytes - l.HighmemBytes;
        l.LowmemPhysLimit = lowEnd;
        l.RootSplit = "one root: CR3 translates every address; the kernel half is shared by every process (global entries with PGE)";
        if (l.VmallocStart >= vmallocEnd)
        {
            throw new LayoutException(LayoutErrorKind.Overlap, $"VMALLOC_START {ByteSize.Hex(l.VmallocStart)} is not below VMALLOC_END {ByteSize.Hex(vmallocEnd)}");
        }

        AddZones(l, m, lowEnd, c.Highmem);
        l.Add("user", 0, pageOffset, RegionKind.User, "user space (TASK_SIZE = PAGE_OFFSET)", "CR3");
        l.Add("lowmem", pageOffset, lowEnd, RegionKind.Lowmem, "direct mapping of lowmem (PAGE_OFFSET..high_memory)", "CR3");
        l.Add("vmalloc", l.VmallocStart, vmallocEnd - l.VmallocStart, RegionKind.Vmalloc, "vmalloc/ioremap and modules (MODULES_VADDR = VMALLOC_START)", "CR3");
        if (c.Highmem)
        {
            l.PkmapBase = pkmapBase;
            l.PkmapSize = lastPkmap * Machine.PageSize;
            l.Add("pkmap", pkmapBase, l.PkmapSize, RegionKind.Pkmap, "permanent kmaps of highmem", "CR3");
        }

        if (ldtBase != 0)
        {
            l.Add("ldt", ldtBase, pmdSize, RegionKind.Metadata, "LDT remap for PTI (LDT_BASE_ADDR, one PMD)", "CR3");
        }

        if (l.CpuEntryAreaBase != 0)
        {
            l.Add("cpu_entry", l.CpuEntryAreaBase, l.CpuEntryAreaSize, RegionKind.Trampoline, $"cpu_entry_area: RO IDT + {c.NrCpus} CPUs x {CpuEntryAreaPagesPerCpu} pages (GDT, entry stack, TSS, debug store)", "CR3");
        }

        l.Add("fixmap-boot", fixaddrTotStart, fixaddrStart - fixaddrTotStart, RegionKind.Fixmap, $"boot-time fixmap slots (early_ioremap: {NrFixBtmaps} x {slots})", "CR3");
        l.Add("fixmap", fixaddrStart, FixaddrTop - fixaddrStart, RegionKind.Fixmap, "permanent fixmap slots (APIC, kmap_atomic, ...)", "CR3");
        ArmLayout.LayoutImage(l, pageOffset + 16 * ByteSize.MiB); // CONFIG_PHYSICAL_START 0x1000000
    }

    // the fixmap options set, by their Kconfig names
    private static string Describe(X86FixmapOptions o)
    {
        List<string> on = [];
        void Add(bool set, string name)
        {
            if (set)
            {
                on.Add(name);
            }
        }

        Add(o.LocalApic, "X86_LOCAL_APIC");
        Add(o.IoApic, "X86_IO_APIC");
        Add(o.PciMmconfig, "PCI_MMCONFIG");
        Add(o.Paravirt, "PARAVIRT");
        Add(o.ParavirtXxl == true, "PARAVIRT_XXL");
        Add(o.ParavirtClock, "PARAVIRT_CLOCK");
        Add(o.Ohci1394DmaInit, "PROVIDE_OHCI1394_DMA_INIT");
        Add(o.IntelMid, "X86_INTEL_MID");
        Add(o.ApeiGhes, "ACPI_APEI_GHES");
        Add(o.DebugHighmem, "DEBUG_HIGHMEM");
        return on.Count == 0 ? "no fixmap options" : string.Join(", ", on);
    }

    private static void AddZones(KernelLayout l, Machine m, ulong lowEnd, bool highmem)
    {
        // ZONE_DMA is the ISA-reachable first 16 MiB (MAX_DMA_ADDRESS); Normal up to max_low_pfn.
        ulong dmaEnd = Math.Min(16 * ByteSize.MiB, lowEnd);
        ArmLayout.AddZone(l, "DMA", m.RamBetween(0, dmaEnd));
        ArmLayout.AddZone(l, "Normal", m.RamBetween(dmaEnd, lowEnd));
        if (highmem)
        {
            ArmLayout.AddZone(l, "HighMem", m.RamBetween(lowEnd, ulong.MaxValue));
        }
    }

    /// <summary>
    /// Ingo Molnar's 4G/4G (LKML, July 2003, "4G/4G split on x86, 64 GB RAM (and more) support"): user and kernel
    /// each get their own 4 GB page tables; only the top 16 MB (entry trampoline, GDT/IDT/TSS, stacks, fixmap and
    /// atomic kmaps) is mapped in both; user space ends at 0xff000000.
    /// </summary>
    private static void BuildFourGFourG(KernelLayout l, ulong pmdSize, ulong lastPkmap)
    {
        KernelConfig c = l.Config;
        const ulong trampolineBase = 0xff000000;
        ulong linearStart = c.LinearMapStart ?? 0x02000000;
        l._choices.Add(c.LinearMapStart is null
            ? $"kernel linear map starts at {ByteSize.Hex(linearStart)} in the kernel's own page tables (default; recollection of the 2003 patch's __PAGE_OFFSET, set --linear-start)"
            : $"kernel linear map starts at {ByteSize.Hex(linearStart)} (from --linear-start)");
        ulong pkmapBase = trampolineBase - pmdSize;
        ulong vmallocEnd = (c.Highmem ? pkmapBase : trampolineBase) - 2 * Machine.PageSize;
        ulong reserve = c.VmallocSize is ulong vm ? vm + VmallocOffset : DefaultVmallocReserve;
        long maxmem = (long)vmallocEnd - (long)linearStart - (long)reserve;
        if (maxmem < 16 * (long)ByteSize.MiB)
        {
            throw new LayoutException(LayoutErrorKind.VmallocTooLarge, $"vmalloc={ByteSize.Format(c.VmallocSize ?? reserve)} leaves no lowmem in the 4G/4G kernel space");
        }

        Machine m = l.Machine;
        ulong lowEnd = Math.Min(m.EndOfDram.Value, (ulong)maxmem) & ~(Machine.PageSize - 1);
        l.PageOffset = linearStart;
        l.TaskSize = trampolineBase;
        l.HighMemory = linearStart + lowEnd;
        l.VmallocStart = l.HighMemory + VmallocOffset;
        l.VmallocEnd = vmallocEnd;
        l.ModulesVaddr = l.VmallocStart;
        l.ModulesEnd = vmallocEnd;
        l.FixaddrStart = trampolineBase;
        l.FixaddrEnd = FixaddrTop;
        l.LowmemBytes = m.RamBetween(0, lowEnd);
        l.HighmemBytes = c.Highmem ? m.RamBetween(lowEnd, ulong.MaxValue) : 0;
        l.IgnoredBytes = m.TotalRam - l.LowmemBytes - l.HighmemBytes;
        l.LowmemPhysLimit = lowEnd;
        l.RootSplit = "two roots: the user's CR3 while user code runs, the kernel's own CR3 in the kernel (switched by the trampoline, flushing the TLB: no PCID in 2003); 0xff000000-0xffffffff is mapped in both";
        AddZones(l, m, lowEnd, c.Highmem);
        l.Add("user", 0, trampolineBase, RegionKind.User, "user space: the whole 4 GB minus the 16 MB trampoline (stack ends at 0xff000000)", "CR3", RegionView.UserContext);
        if (linearStart > 0)
        {
            l.Add("null", 0, linearStart, RegionKind.Guard, "unmapped in the kernel context (catches NULL and user-pointer dereferences)", "CR3", RegionView.KernelContext);
        }

        l.Add("lowmem", linearStart, lowEnd, RegionKind.Lowmem, "direct mapping of lowmem, kernel page tables only", "CR3", RegionView.KernelContext);
        l.Add("vmalloc", l.VmallocStart, vmallocEnd - l.VmallocStart, RegionKind.Vmalloc, "vmalloc/ioremap and modules, kernel page tables only", "CR3", RegionView.KernelContext);
        if (c.Highmem)
        {
            l.PkmapBase = pkmapBase;
            l.PkmapSize = lastPkmap * Machine.PageSize;
            l.Add("pkmap", pkmapBase, l.PkmapSize, RegionKind.Pkmap, "permanent kmaps, kernel page tables only", "CR3", RegionView.KernelContext);
        }

        l.Add("trampoline", trampolineBase, (1UL << 32) - trampolineBase, RegionKind.Trampoline, "16 MB mapped in both: entry/exit trampoline, GDT/IDT/TSS, per-CPU stacks, fixmap and atomic kmaps for uaccess", "CR3");
        ArmLayout.LayoutImage(l, linearStart + 16 * ByteSize.MiB);
    }
}
