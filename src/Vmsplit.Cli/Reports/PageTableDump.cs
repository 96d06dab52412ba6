using System.Globalization;
using System.Text;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Cli.Reports;

/// <summary>
/// One entry the dumper visits, in VA order: a leaf (<see cref="Present"/>) or an empty entry at the level where the
/// walk found it, as Linux's dumpers visit them (every entry of every present table; a leaf or an empty entry ends
/// the descent).
/// </summary>
/// <param name="Va">The entry's first address inside the tree (not sign-extended; a TTBR1 tree's own offset).</param>
/// <param name="Span">The bytes the entry covers.</param>
/// <param name="Level">The tree level (0 = the root table).</param>
/// <param name="Raw">The descriptor (0 for an empty entry).</param>
/// <param name="Pa">The physical address the leaf maps at <see cref="Va"/> (0 for an empty entry).</param>
public readonly record struct DumpEntry(ulong Va, ulong Span, int Level, ulong Raw, bool Present, ulong Pa = 0);

/// <summary>An address marker: the <c>---[ name ]---</c> line printed when the walk reaches <see cref="Start"/>.</summary>
public readonly record struct DumpMarker(ulong Start, string Name, int MaxLines = 0);

/// <summary>
/// The page tables of a simulated tree in the text of Linux's <c>/sys/kernel/debug/page_tables/</c> files: the walk
/// (<see cref="Entries"/>) and one renderer per architecture that follows that architecture's dumper: its columns,
/// how it coalesces equal adjacent entries and where it prints the address markers.
/// </summary>
public static class PageTableDump
{
    /// <summary>Every entry of <paramref name="tree"/> in [start, end), in VA order (the software walk, no side effects).</summary>
    public static IEnumerable<DumpEntry> Entries(PageTable tree, ulong start, ulong end)
    {
        PageTableGeometry g = tree.Geometry;
        UInt128 total = (UInt128)g[0].Entries * g[0].EntrySpan;
        ulong limit = (UInt128)end > total ? (total > ulong.MaxValue ? ulong.MaxValue : (ulong)total) : end;
        ulong a = start;
        while (a < limit)
        {
            PageTableLookup l = tree.Lookup(new VirtualAddress(a));
            int li = LevelIndex(g, l.Level);
            ulong span = l.Found ? l.PageSize : g[li].EntrySpan;
            ulong from = l.Found ? l.PageBase.Value : a & ~(span - 1);
            yield return new DumpEntry(from, span, li, l.Found ? l.Descriptor : 0, l.Found, l.Found ? l.FrameBase.Value : 0);
            ulong next = from + span;
            if (next <= a)
            {
                yield break; // the top of a 64-bit space
            }

            a = next;
        }
    }

    private static int LevelIndex(PageTableGeometry g, int number)
    {
        for (int i = 0; i < g.LevelCount; i++)
        {
            if (g[i].Number == number)
            {
                return i;
            }
        }

        return g.LevelCount - 1;
    }

    // ---- x86 ------------------------------------------------------------------------------------------

    private const ulong X86Present = 1UL << 0;
    private const ulong X86Rw = 1UL << 1;
    private const ulong X86User = 1UL << 2;
    private const ulong X86Pwt = 1UL << 3;
    private const ulong X86Pcd = 1UL << 4;
    private const ulong X86Pse = 1UL << 7;
    private const ulong X86PatPte = 1UL << 7;
    private const ulong X86Global = 1UL << 8;
    private const ulong X86PatLarge = 1UL << 12;
    private const ulong X86Nx = 1UL << 63;

    /// <summary>
    /// Linux's level numbers of a tree's levels (arch/x86/mm/dump_pagetables.c: 1 pgd, 2 p4d, 3 pud, 4 pmd, 5 pte;
    /// folded levels are skipped: 4-level x86-64 pgd/pud/pmd/pte, PAE pgd/pmd/pte, 2-level pgd/pte).
    /// </summary>
    public static int[] X86LinuxLevels(int levelCount) => levelCount switch
    {
        5 => [1, 2, 3, 4, 5],
        4 => [1, 3, 4, 5],
        3 => [1, 4, 5],
        _ => [1, 5],
    };

    /// <summary>
    /// x86 as arch/x86/mm/dump_pagetables.c prints it (Linux 5.4: note_page, printk_prot): every range, present or
    /// not, as <c>0x%0*lx-0x%0*lx   %9lu%c </c> (16 hex digits on 64-bit, 8 on 32-bit; the size in B, K, M, G, T, P
    /// or E), then USR, RW/ro, PWT, PCD, PSE (above the pte level), PAT, GLB, NX/x and the level name; a break
    /// where the flags or the level change or a marker is crossed, the marker line after the range that crossed it,
    /// at most <see cref="DumpMarker.MaxLines"/> lines per marker (ESPfix). Addresses are sign-extended from the
    /// virtual-address width on 64-bit (normalize_addr); the walk ends with the range up to 2^width, printed as 0.
    /// Linux also breaks where the effective (upper-level) permissions differ; the simulated trees' upper levels
    /// grant everything their leaves ask, so the leaves' flags decide.
    /// </summary>
    public static string X86(PageTable tree, IReadOnlyList<DumpMarker> markers, bool is64)
    {
        string[] names = ["cr3", "pgd", "p4d", "pud", "pmd", "pte"];
        int[] linuxLevel = X86LinuxLevels(tree.Geometry.LevelCount);
        int vaBits = tree.Geometry[0].IndexShift + tree.Geometry[0].IndexBits;
        int width = is64 ? 16 : 8;
        ulong Normalize(ulong u)
        {
            if (!is64)
            {
                return u & 0xffffffffUL;
            }

            int shift = 64 - vaBits;
            return (ulong)((long)(u << shift) >> shift);
        }

        RunState st = new(markers);

        // every range printed, at most MaxLines per marker, the lines left out counted when the marker is crossed
        void Line(ulong current)
        {
            DumpMarker m = st.Current;
            if (m.MaxLines == 0 || st.Lines < (ulong)m.MaxLines)
            {
                st.Range(current, width).Append(Size(is64 ? current - st.From : (current - st.From) & 0xffffffffUL, "BKMGTPE")).Append(' ');
                X86Prot(st.Out, st.Prot, st.Level);
                st.Out.Append(names[st.Level]).Append('\n');
            }

            st.Lines++;
        }

        void StepMarker(ulong current)
        {
            if (st.Crosses(current))
            {
                DumpMarker m = st.Current;
                if (m.MaxLines != 0 && st.Lines > (ulong)m.MaxLines)
                {
                    ulong skipped = st.Lines - (ulong)m.MaxLines;
                    st.Out.Append("... ").Append(skipped.ToString(CultureInfo.InvariantCulture)).Append(skipped == 1 ? " entry" : " entries").Append(" skipped ... \n");
                }

                st.NextMarker();
            }
        }

        void Note(ulong current, ulong newProt, int newLevel) => st.Note(current, newLevel, newProt, sameOtherwise: true, Line, StepMarker);

        UInt128 total = (UInt128)tree.Geometry[0].Entries * tree.Geometry[0].EntrySpan;
        foreach (DumpEntry e in Entries(tree, 0, total > ulong.MaxValue ? ulong.MaxValue : (ulong)total))
        {
            int l = linuxLevel[e.Level];
            ulong flags = e.Present ? X86Flags(e.Raw, l, is64) : 0;
            foreach (ulong va in Visits(e, pte: l == 5))
            {
                Note(Normalize(va), flags, l);
            }
        }

        // "Flush out the last page": the address past the last pgd entry, normalised (0 on both widths)
        Note(Normalize(is64 ? (ulong)(total & ulong.MaxValue) : 0), 0, 0);
        return st.Out.ToString();
    }

    // pte_flags / pmd_flags: the descriptor without its frame number (PTE_PFN_MASK; the large-page mask keeps bit 12, PAT)
    private static ulong X86Flags(ulong raw, int linuxLevel, bool is64)
    {
        ulong frameBits = is64 ? 0x000ffffffffff000UL : 0xfffff000UL;
        if (linuxLevel < 5)
        {
            frameBits &= ~X86PatLarge;
        }

        return raw & ~frameBits;
    }

    private static void X86Prot(StringBuilder sb, ulong pr, int level)
    {
        if ((pr & X86Present) == 0)
        {
            sb.Append(' ', 30);
            return;
        }

        sb.Append((pr & X86User) != 0 ? "USR " : "    ");
        sb.Append((pr & X86Rw) != 0 ? "RW " : "ro ");
        sb.Append((pr & X86Pwt) != 0 ? "PWT " : "    ");
        sb.Append((pr & X86Pcd) != 0 ? "PCD " : "    ");
        sb.Append(level <= 4 && (pr & X86Pse) != 0 ? "PSE " : "    ");
        sb.Append((level == 5 && (pr & X86PatPte) != 0) || ((level == 4 || level == 3) && (pr & X86PatLarge) != 0) ? "PAT " : "    ");
        sb.Append((pr & X86Global) != 0 ? "GLB " : "    ");
        sb.Append((pr & X86Nx) != 0 ? "NX " : "x  ");
    }

    // ---- arm64 ----------------------------------------------------------------------------------------

    private static readonly (ulong Mask, ulong Val, string Set, string? Clear)[] s_arm64Bits =
    [
        (1UL << 0, 1UL << 0, " ", "F"), // PTE_VALID
        (1UL << 6, 1UL << 6, "USR", "   "), // PTE_USER (AP[1])
        (1UL << 7, 1UL << 7, "ro", "RW"), // PTE_RDONLY (AP[2])
        (1UL << 53, 1UL << 53, "NX", "x "), // PTE_PXN
        (3UL << 8, 3UL << 8, "SHD", "   "), // PTE_SHARED (SH = inner shareable)
        (1UL << 10, 1UL << 10, "AF", "  "), // PTE_AF
        (1UL << 11, 1UL << 11, "NG", "  "), // PTE_NG
        (1UL << 52, 1UL << 52, "CON", "   "), // PTE_CONT
        (1UL << 1, 1UL << 1, "   ", "BLK"), // PTE_TABLE_BIT
        (1UL << 54, 1UL << 54, "UXN", "   "), // PTE_UXN
        (1UL << 50, 1UL << 50, "GP", "  "), // PTE_GP
        (7UL << 2, 3UL << 2, "DEVICE/nGnRnE", null), // AttrIndx = MT_DEVICE_nGnRnE 3 (arch/arm64/include/asm/memory.h, ArmMair.LinuxArm64)
        (7UL << 2, 4UL << 2, "DEVICE/nGnRE", null), // MT_DEVICE_nGnRE 4
        (7UL << 2, 2UL << 2, "MEM/NORMAL-NC", null), // MT_NORMAL_NC 2
        (7UL << 2, 0UL << 2, "MEM/NORMAL", null), // MT_NORMAL 0
        (7UL << 2, 1UL << 2, "MEM/NORMAL-TAGGED", null), // MT_NORMAL_TAGGED 1
    ];

    /// <summary>
    /// arm64 as arch/arm64/mm/ptdump.c prints it (Linux 6.9+, with the generic mm/ptdump.c walk): each range as
    /// <c>0x%016lx-0x%016lx   %9lu%c %s</c> (the size in K, M, G, T, P or E, the level PGD/PUD/PMD/PTE; with 39-bit
    /// VAs the folded PUD is named PGD), then, for a mapped range, each attribute of pte_bits; a break where the
    /// attributes or the level change or a marker is crossed; empty entries are ranges without attributes. The walk
    /// covers [<paramref name="start"/>, 2^64) of a TTBR1 tree placed at <paramref name="vaBase"/> (the kernel file
    /// starts at PAGE_OFFSET) and ends with the flush note_page(0, -1, 0), whose range ends at 0.
    /// </summary>
    public static string Arm64(PageTable tree, ulong vaBase, ulong start, ulong end, IReadOnlyList<DumpMarker> markers)
    {
        int levels = tree.Geometry.LevelCount;
        // the generic walker's depth of each real level: pgd 0, (p4d 1 folded), pud 2, pmd 3, pte 4
        int[] depth = levels == 4 ? [0, 2, 3, 4] : [0, 3, 4];
        string[] names = ["PGD", "P4D", levels > 3 ? "PUD" : "PGD", "PMD", "PTE"];
        ulong mask = 0;
        foreach ((ulong m, _, _, _) in s_arm64Bits)
        {
            mask |= m;
        }

        RunState st = new(markers);

        // every range printed, the attributes of a mapped one
        void Line(ulong addr)
        {
            st.Range(addr, 16).Append(Size((addr - st.From) >> 10, "KMGTPE")).Append(' ').Append(names[st.Level]);
            if (st.Prot != 0)
            {
                AppendBits(st.Out, st.Prot, s_arm64Bits);
            }

            st.Out.Append('\n');
        }

        void Note(ulong addr, int newLevel, ulong val)
        {
            st.Note(addr, newLevel, newLevel >= 0 ? val & mask : 0, sameOtherwise: true, Line, st.StepMarker);

            // arm64's note_page checks the marker once more after every note, the first one and a break included
            st.StepMarker(addr);
        }

        ulong treeStart = start - vaBase;
        ulong treeEnd = end == 0 ? ulong.MaxValue : end - vaBase;
        foreach (DumpEntry e in Entries(tree, treeStart, treeEnd))
        {
            int d = depth[e.Level];
            // the generic walker visits every pte of a present table (ptdump_pte_entry); a CONT run the editor reports once is 16 equal ptes
            foreach (ulong va in Visits(e, pte: d == 4))
            {
                Note(va + vaBase, d, e.Raw);
            }
        }

        Note(0, -1, 0); // "Flush out the last page" (mm/ptdump.c, ptdump_walk_pgd)
        return st.Out.ToString();
    }

    // ---- 32-bit ARM with LPAE ----------------------------------------------------------------------------

    private static readonly (ulong Mask, ulong Val, string Set, string? Clear)[] s_lpaePteBits =
    [
        (1UL << 6, 1UL << 6, "USR", "   "), // L_PTE_USER (arch/arm/include/asm/pgtable-3level.h: AP[1])
        (1UL << 7, 1UL << 7, "ro", "RW"), // L_PTE_RDONLY (AP[2])
        (1UL << 54, 1UL << 54, "NX", "x "), // L_PTE_XN
        (3UL << 8, 3UL << 8, "SHD", "   "), // L_PTE_SHARED
        (7UL << 2, 0UL << 2, "SO/UNCACHED", null), // L_PTE_MT_UNCACHED (AttrIndx, arch/arm/include/asm/pgtable-3level.h)
        (7UL << 2, 1UL << 2, "MEM/BUFFERABLE/WC", null),
        (7UL << 2, 2UL << 2, "MEM/CACHED/WT", null),
        (7UL << 2, 3UL << 2, "MEM/CACHED/WBRA", null),
        (7UL << 2, 7UL << 2, "MEM/CACHED/WBWA", null),
        (7UL << 2, 4UL << 2, "DEV/SHARED", null),
        (7UL << 2, 1UL << 2, "DEV/WC", null),
        (7UL << 2, 3UL << 2, "DEV/CACHED", null),
    ];

    private static readonly (ulong Mask, ulong Val, string Set, string? Clear)[] s_lpaeSectionBits =
    [
        (1UL << 6, 1UL << 6, "USR", null), // PMD_SECT_USER
        (1UL << 7, 1UL << 7, "ro", "RW"), // L_PMD_SECT_RDONLY
        (1UL << 54, 1UL << 54, "NX", "x "), // PMD_SECT_XN
        (3UL << 8, 3UL << 8, "SHD", "   "), // PMD_SECT_S
    ];

    /// <summary>
    /// 32-bit ARM with LPAE as arch/arm/mm/dump.c prints it (Linux 6.x): only ranges with attributes, each as
    /// <c>0x%08lx-0x%08lx   %9lu%c %s</c> (the size in K, M, G, ...; the level name, PMD for a section and PTE for a
    /// page with CONFIG_PGTABLE_LEVELS=3) and the section bits of a pmd block (USR, ro/RW, NX/x, SHD) or the pte bits of
    /// a page (USR, ro/RW, NX/x, SHD and every memory type whose L_PTE_MT value the AttrIndx equals, so index 1 prints
    /// MEM/BUFFERABLE/WC DEV/WC and 3 MEM/CACHED/WBRA DEV/CACHED, as dump.c does); a break where the bits or the level
    /// change or the next marker is reached, one marker per break. With LPAE the descriptors carry the L_PTE bits
    /// themselves. A tree behind TTBR1 is placed at <paramref name="vaBase"/>.
    /// </summary>
    public static string ArmLpae(PageTable tree, ulong vaBase, IReadOnlyList<DumpMarker> markers)
    {
        // Linux levels: 1 pgd, 4 pmd (p4d and pud fold), 5 pte; only pmd and pte have bits (pg_level in dump.c)
        int[] linuxLevel = tree.Geometry.LevelCount == 3 ? [1, 4, 5] : [4, 5];
        return Arm32(tree, vaBase, markers, "PMD", e =>
        {
            // A first-level block (1 GiB; the 4g4g kernel's linear map uses them) has the block descriptor's attribute
            // fields, the same as a pmd section's (ARM ARM B3.6.2), so it prints with the section bits; Linux's own
            // LPAE tables never hold one (arch/arm/mm/mmu.c maps with 2 MiB sections at most).
            int l = e.Present && e.Level < tree.Geometry.LevelCount - 1 ? 4 : linuxLevel[e.Level];
            return (l, e.Raw, null);
        }, s_lpaeSectionBits, s_lpaePteBits);
    }

    // ---- 32-bit ARM, short descriptors -----------------------------------------------------------------

    // arch/arm/include/asm/pgtable-2level.h: the Linux pte bits dump.c reads
    private const ulong LPteUser = 1UL << 8;
    private const ulong LPteRdonly = 1UL << 7;
    private const ulong LPteXn = 1UL << 9;
    private const ulong LPteShared = 1UL << 10;

    private static readonly (ulong Mask, ulong Val, string Set, string? Clear)[] s_shortPteBits =
    [
        (LPteUser, LPteUser, "USR", "   "),
        (LPteRdonly, LPteRdonly, "ro", "RW"),
        (LPteXn, LPteXn, "NX", "x "),
        (LPteShared, LPteShared, "SHD", "   "),
        (0xfUL << 2, 0x00UL << 2, "SO/UNCACHED", null), // L_PTE_MT_* (pgtable-2level.h)
        (0xfUL << 2, 0x01UL << 2, "MEM/BUFFERABLE/WC", null),
        (0xfUL << 2, 0x02UL << 2, "MEM/CACHED/WT", null),
        (0xfUL << 2, 0x03UL << 2, "MEM/CACHED/WBRA", null),
        (0xfUL << 2, 0x06UL << 2, "MEM/MINICACHE", null),
        (0xfUL << 2, 0x07UL << 2, "MEM/CACHED/WBWA", null),
        (0xfUL << 2, 0x04UL << 2, "DEV/SHARED", null),
        (0xfUL << 2, 0x0cUL << 2, "DEV/NONSHARED", null),
        (0xfUL << 2, 0x09UL << 2, "DEV/WC", null),
        (0xfUL << 2, 0x0bUL << 2, "DEV/CACHED", null),
    ];

    // the ARMv6+ section_bits: PMD_SECT_APX (15), PMD_SECT_AP_READ (11), PMD_SECT_AP_WRITE (10), PMD_SECT_XN (4), PMD_SECT_S (16)
    private const ulong SectApMask = (1UL << 15) | (1UL << 11) | (1UL << 10);

    private static readonly (ulong Mask, ulong Val, string Set, string? Clear)[] s_shortSectionBits =
    [
        (SectApMask, (1UL << 15) | (1UL << 10), "    ro", null),
        (SectApMask, 1UL << 10, "    RW", null),
        (SectApMask, 1UL << 11, "USR ro", null),
        (SectApMask, (1UL << 11) | (1UL << 10), "USR RW", null),
        (1UL << 4, 1UL << 4, "NX", "x "),
        (1UL << 16, 1UL << 16, "SHD", "   "),
    ];

    /// <summary>
    /// 32-bit ARM with short descriptors as arch/arm/mm/dump.c prints it (Linux 6.x, CONFIG_PGTABLE_LEVELS=2): each
    /// range as <c>0x%08lx-0x%08lx   %9lu%c %s %s</c> with the level name (PGD for a 1 MiB section, PTE for a page), the
    /// domain of its first-level descriptor (KERNEL, USER, IO, VECTORS) and the ARMv6+ section bits or the Linux pte
    /// bits. dump.c reads the Linux ptes, the software half of each second-level table (L_PTE_*); the model keeps the
    /// hardware half only, so each is recovered from its hardware pte by inverting cpu_v7_set_pte_ext
    /// (arch/arm/mm/proc-v7-2level.S): AP[1] is L_PTE_USER, APX L_PTE_RDONLY, XN L_PTE_XN, S L_PTE_SHARED, and TEX[0]:C:B
    /// the low three bits of L_PTE_MT (the fourth, which only the device types set, is not kept in hardware).
    /// </summary>
    public static string ArmShort(PageTable tree, IReadOnlyList<DumpMarker> markers)
    {
        return Arm32(tree, 0, markers, "PGD", e =>
        {
            ulong l1 = tree.Memory.ReadUInt32(new PhysicalAddress(tree.Root.Value + (((e.Va >> 20) & 0xfff) * 4)));
            string domain = ((l1 >> 5) & 0xf) switch
            {
                0 => "KERNEL ", // get_domain_name: DOMAIN_KERNEL, DOMAIN_USER, DOMAIN_IO, DOMAIN_VECTORS (asm/domain.h)
                1 => "USER   ",
                2 => "IO     ",
                3 => "VECTORS",
                _ => "unknown",
            };
            if (!e.Present)
            {
                return (e.Level == 0 ? 4 : 5, 0, domain);
            }

            if (e.Level == 0)
            {
                return (4, e.Raw, domain); // a section or supersection: the hardware pmd, as dump.c reads it
            }

            ulong hw = e.Raw;
            ulong linux = (hw & 0xc) | ((hw & (1UL << 6)) != 0 ? 1UL << 4 : 0) // C:B, TEX[0]
                | ((hw & (1UL << 5)) != 0 ? LPteUser : 0) | ((hw & (1UL << 9)) != 0 ? LPteRdonly : 0)
                | ((hw & 1UL) != 0 ? LPteXn : 0) | ((hw & (1UL << 10)) != 0 ? LPteShared : 0);
            return (5, linux, domain);
        }, s_shortSectionBits, s_shortPteBits);
    }

    // The walk and note_page of arch/arm/mm/dump.c (Linux 6.x) over a tree: `classify` gives each entry its Linux level
    // (4 pmd, 5 pte; others carry no bits), the value dump.c reads and the domain (short descriptors only).
    private static string Arm32(PageTable tree, ulong vaBase, IReadOnlyList<DumpMarker> markers, string pmdName,
        Func<DumpEntry, (int Level, ulong Value, string? Domain)> classify,
        (ulong Mask, ulong Val, string Set, string? Clear)[] sectionBits, (ulong Mask, ulong Val, string Set, string? Clear)[] pteBits)
    {
        ulong sectionMask = sectionBits.Aggregate(0UL, (a, b) => a | b.Mask);
        ulong pteMask = pteBits.Aggregate(0UL, (a, b) => a | b.Mask);
        RunState st = new(markers);
        string? domain = null;

        // only ranges with attributes, with the domain the run started in (short descriptors)
        void Line(ulong addr)
        {
            if (st.Prot != 0)
            {
                st.Range(addr, 8).Append(Size(((addr - st.From) & 0xffffffffUL) >> 10, "KMGTPE")).Append(' ').Append(st.Level == 4 ? pmdName : "PTE");
                if (domain is not null)
                {
                    st.Out.Append(' ').Append(domain);
                }

                AppendBits(st.Out, st.Prot, st.Level == 4 ? sectionBits : pteBits);
                st.Out.Append('\n');
            }
        }

        void Note(ulong addr, int newLevel, ulong val, string? newDomain)
        {
            ulong newProt = val & (newLevel == 4 ? sectionMask : newLevel == 5 ? pteMask : 0);
            if (st.Note(addr, newLevel, newProt, sameOtherwise: newDomain == domain, Line, st.StepMarker))
            {
                domain = newDomain;
            }
        }

        if (vaBase != 0)
        {
            // dump.c walks from 0: below a TTBR1 tree the entries hold nothing (prot 0, never printed)
            Note(0, 4, 0, null);
        }

        UInt128 total = (UInt128)tree.Geometry[0].Entries * tree.Geometry[0].EntrySpan;
        foreach (DumpEntry e in Entries(tree, 0, total > ulong.MaxValue ? ulong.MaxValue : (ulong)total))
        {
            (int l, ulong value, string? dom) = classify(e);
            foreach (ulong va in Visits(e, pte: l == 5))
            {
                Note((va + vaBase) & 0xffffffffUL, l, value, dom);
            }
        }

        Note(0, 0, 0, null); // ptdump_walk_pgd's last note_page(&st, 0, 0, 0, NULL)
        return st.Out.ToString();
    }

    // ---- RISC-V ---------------------------------------------------------------------------------------

    private const ulong RiscvSoft = 3UL << 8;

    /// <summary>
    /// RISC-V as arch/riscv/mm/ptdump.c prints it (Linux 6.x, generic mm/ptdump.c walk): only mapped ranges, each as
    /// <c>0x%016lx-0x%016lx    0x%016lx %9lu%c %s</c> (virtual range, the physical address of its first page, the
    /// size in K, M, G, T, P or E, the level) and the bits N, MT, RSW, D, A, G, U, X, W, R, V (a dot or blanks when
    /// clear); a break where the bits or the level change or a marker is crossed (the physical addresses are not
    /// compared), every marker crossed printed. A kernel runs on whatever satp mode the CPU has, so levels above
    /// the hardware's fold at run time: a top-level empty entry is a PGD hole, a top-level leaf of Sv39 is a PUD
    /// (1 GiB), of Sv48 a P4D... as the walker reaches them. Addresses are sign-extended from the tree's width.
    /// </summary>
    public static string Riscv(PageTable tree, ulong start, ulong end, IReadOnlyList<DumpMarker> markers)
    {
        int levels = tree.Geometry.LevelCount;
        int vaBits = tree.Geometry[0].IndexShift + tree.Geometry[0].IndexBits;
        bool is64 = vaBits > 32;
        // the generic walker's depth of each real level (pgd 0, p4d 1, pud 2, pmd 3, pte 4), folded levels skipped
        int[] depth = levels switch { 5 => [0, 1, 2, 3, 4], 4 => [1, 2, 3, 4], 3 => [2, 3, 4], _ => [3, 4] };
        string[] names = is64 ? ["PGD", "P4D", "PUD", "PMD", "PTE"] : ["PGD", "PGD", "PGD", "PGD", "PTE"];
        (ulong Mask, string Set, string Clear)[] bits = is64
            ? [(1UL << 63, "N", "."), (3UL << 61, "MT(??)", "  ..  "), (RiscvSoft, "RSW", "  ..  "), (1UL << 7, "D", "."), (1UL << 6, "A", "."), (1UL << 5, "G", "."), (1UL << 4, "U", "."), (1UL << 3, "X", "."), (1UL << 2, "W", "."), (1UL << 1, "R", "."), (1UL << 0, "V", ".")]
            : [(RiscvSoft, "RSW", "  ..  "), (1UL << 7, "D", "."), (1UL << 6, "A", "."), (1UL << 5, "G", "."), (1UL << 4, "U", "."), (1UL << 3, "X", "."), (1UL << 2, "W", "."), (1UL << 1, "R", "."), (1UL << 0, "V", ".")];
        ulong mask = 0;
        foreach ((ulong m, _, _) in bits)
        {
            mask |= m;
        }

        int width = is64 ? 16 : 8;
        ulong Extend(ulong u) => is64 ? (ulong)((long)(u << (64 - vaBits)) >> (64 - vaBits)) : u;
        RunState st = new(markers);
        ulong fromPa = 0;

        // only mapped ranges, with the physical address the run started at
        void Line(ulong addr)
        {
            if (st.Prot != 0)
            {
                st.Range(addr, width).Append(" 0x").Append(Hex(fromPa, width)).Append(' ');
                st.Out.Append(Size((is64 ? addr - st.From : (addr - st.From) & 0xffffffffUL) >> 10, "KMGTPE")).Append(' ').Append(names[st.Level]);
                foreach ((ulong m, string set, string clear) in bits)
                {
                    ulong v = st.Prot & m;
                    string s = v == 0 ? clear : m == RiscvSoft ? $"RSW({v >> 8})" : set;
                    st.Out.Append(' ').Append(s);
                }

                st.Out.Append('\n');
            }
        }

        // every marker crossed is printed
        void StepMarkers(ulong addr)
        {
            while (st.Crosses(addr))
            {
                st.NextMarker();
            }
        }

        void Note(ulong addr, int newLevel, ulong val, ulong pa)
        {
            if (st.Note(addr, newLevel, newLevel >= 0 ? val & mask : 0, sameOtherwise: true, Line, StepMarkers))
            {
                fromPa = pa;
            }
        }

        foreach (DumpEntry e in Entries(tree, start, end))
        {
            // a hole found at the top level is the pgd's; a leaf is reported where the walker meets it
            int d = e.Present || e.Level != 0 ? depth[e.Level] : 0;
            foreach (ulong va in Visits(e, pte: d == 4))
            {
                Note(Extend(va), d, e.Raw, e.Present ? e.Pa + (va - e.Va) : 0);
            }
        }

        Note(0, -1, 0, 0); // "Flush out the last page" (mm/ptdump.c, ptdump_walk_pgd)
        return st.Out.ToString();
    }

    // ---- shared ---------------------------------------------------------------------------------------

    // Every dumper's struct pg_state: the run being gathered (its first address, level and protection bits), the
    // marker it lies in, the lines printed since that marker, and the text; and the course every dumper's note_page
    // takes (Note). What each dumper's note_page does its own way (which runs it prints and how, how many markers one
    // break steps over, what else ends a run) are the hooks each passes.
    private sealed class RunState(IReadOnlyList<DumpMarker> markers)
    {
        private readonly List<DumpMarker> _marks = [.. markers, new DumpMarker(ulong.MaxValue, "")];
        private int _marker;

        public StringBuilder Out { get; } = new();

        public bool Started { get; private set; }

        public int Level { get; private set; }

        public ulong Prot { get; private set; }

        public ulong From { get; private set; }

        public ulong Lines { get; set; }

        public DumpMarker Current => _marks[_marker];

        public bool Crosses(ulong addr) => addr >= _marks[_marker + 1].Start;

        /// <summary>
        /// note_page: the first note opens the first run under the first marker's header; a note with the run's level and
        /// protection bits (and <paramref name="sameOtherwise"/>: what else the dumper compares) that crosses no marker
        /// continues the run; any other ends it: <paramref name="line"/> (given the run's end) prints it or not,
        /// <paramref name="stepMarkers"/> steps over the markers <paramref name="addr"/> crossed, and a run opens at
        /// <paramref name="addr"/>. True when a run opened.
        /// </summary>
        public bool Note(ulong addr, int level, ulong prot, bool sameOtherwise, Action<ulong> line, Action<ulong> stepMarkers)
        {
            if (!Started)
            {
                Started = true;
                Set(addr, level, prot);
                Header();
                return true;
            }

            if (prot == Prot && level == Level && sameOtherwise && !Crosses(addr))
            {
                return false;
            }

            line(addr);
            stepMarkers(addr);
            Set(addr, level, prot);
            return true;
        }

        /// <summary>One marker at most: the next one's header when <paramref name="addr"/> reached it.</summary>
        public void StepMarker(ulong addr)
        {
            if (Crosses(addr))
            {
                NextMarker();
            }
        }

        public void NextMarker()
        {
            _marker++;
            Lines = 0;
            Header();
        }

        private void Set(ulong addr, int level, ulong prot)
        {
            From = addr;
            Level = level;
            Prot = prot;
        }

        // "0x%0*lx-0x%0*lx   ": the run from its first address to addr
        public StringBuilder Range(ulong to, int width) => Out.Append("0x").Append(Hex(From, width)).Append("-0x").Append(Hex(to, width)).Append("   ");

        private void Header() => Out.Append("---[ ").Append(_marks[_marker].Name).Append(" ]---\n");
    }

    // The walkers visit every pte of a table but a larger entry once; a leaf the editor reports once over several
    // pages (a run of equal ptes, an arm64 CONT run) is visited page by page when it is a pte
    private static IEnumerable<ulong> Visits(DumpEntry e, bool pte)
    {
        ulong step = pte ? 4096 : e.Span;
        for (ulong va = e.Va; va - e.Va < e.Span; va += step)
        {
            yield return va;
            if (va + step < va)
            {
                yield break;
            }
        }
    }

    private static string Hex(ulong v, int width) => v.ToString("x" + width.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    // "%9lu%c": divide by 1024 while the value is a multiple of 1024 and a larger unit exists
    private static string Size(ulong delta, string units)
    {
        int unit = 0;
        while ((delta & 1023) == 0 && unit + 1 < units.Length)
        {
            delta >>= 10;
            unit++;
        }

        return delta.ToString(CultureInfo.InvariantCulture).PadLeft(9) + units[unit];
    }

    // arm64 ptdump.c and ARM dump.c print, per prot_bits entry, `set` when (prot & mask) == val, else `clear`
    private static void AppendBits(StringBuilder sb, ulong prot, (ulong Mask, ulong Val, string Set, string? Clear)[] bits)
    {
        foreach ((ulong m, ulong v, string set, string? clear) in bits)
        {
            string? s = (prot & m) == v ? set : clear;
            if (s is not null)
            {
                sb.Append(' ').Append(s);
            }
        }
    }
}
