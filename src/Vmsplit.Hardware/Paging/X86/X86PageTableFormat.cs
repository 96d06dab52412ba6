using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging.X86;

/// <summary>
/// The x86 paging modes (Intel SDM Vol. 3A ch. 4): 32-bit 2-level paging (4 KiB pages, 4 MiB pages with
/// CR4.PSE), PAE (4-entry PDPT, 2 MiB and 4 KiB pages, NX with EFER.NXE), 4-level and 5-level (LA57)
/// IA-32e paging (1 GiB, 2 MiB, 4 KiB). Bit names follow arch/x86/include/asm/pgtable_types.h.
/// MAXPHYADDR is modelled as 52 for PAE and IA-32e paging and 32 for 2-level paging (no PSE-36), so
/// bits 21:13 of a 4 MiB PDE are reserved.
/// PAE walks take the PDPTE from the registers loaded at the last MOV to CR3, not from memory.
/// Accessed/dirty: like the hardware (SDM §4.8), a successful walk sets A in every entry it used
/// and D in the leaf on a write, with a locked read-modify-write of the descriptor in memory.
/// </summary>
public sealed class X86PageTableFormat : PageTableFormat
{
    public const ulong Present = 1UL << 0;
    public const ulong ReadWrite = 1UL << 1;
    public const ulong UserSupervisor = 1UL << 2;
    public const ulong WriteThrough = 1UL << 3;
    public const ulong CacheDisable = 1UL << 4;
    public const ulong Accessed = 1UL << 5;
    public const ulong Dirty = 1UL << 6;

    /// <summary>PS in a PDE/PDPTE (leaf); the same bit is PAT in a 4 KiB PTE.</summary>
    public const ulong PageSize = 1UL << 7;
    public const ulong Pat4K = 1UL << 7;
    public const ulong Global = 1UL << 8;

    /// <summary>PAT in a 2 MiB/4 MiB/1 GiB leaf (_PAGE_BIT_PAT_LARGE).</summary>
    public const ulong PatLarge = 1UL << 12;
    public const ulong NoExecute = 1UL << 63;

    /// <summary>Address bits 51:12 of a PAE/IA-32e entry (PTE_PFN_MASK with __PHYSICAL_MASK_SHIFT 52).</summary>
    public const ulong AddressMask64 = 0x000F_FFFF_FFFF_F000UL;
    public const ulong AddressMask32 = 0xFFFF_F000UL;

    /// <summary>PAE PDPTE: bits 2:1, 8:5 and 63:52 are reserved (SDM Table 4-8).</summary>
    public const ulong PdpteReserved = 0xFFF0_0000_0000_01E6UL;

    public static readonly X86PageTableFormat X86_32 = new(MmuFormat.X86_32);
    public static readonly X86PageTableFormat Pae = new(MmuFormat.X86Pae);
    public static readonly X86PageTableFormat X86_64 = new(MmuFormat.X86_64);
    public static readonly X86PageTableFormat X86_64La57 = new(MmuFormat.X86_64La57);

    // Rights by (NX << 2 | U/S << 1 | R/W): the kernel always reads; R/W grants writes; U/S opens the page to user mode; NX removes fetches.
    private static readonly AccessRights[] s_rights = BuildRights();

    private static readonly MemoryType[] s_memoryTypes = [.. Enumerable.Range(0, 8).Select(MemoryTypeOf)];

    private readonly MmuFormat _id;
    private readonly bool _wide;
    private readonly bool _long;
    private readonly int _vaBits;
    private readonly PageTableGeometry _geometry;

    private X86PageTableFormat(MmuFormat id)
    {
        _id = id;
        _wide = id != MmuFormat.X86_32;
        _long = id is MmuFormat.X86_64 or MmuFormat.X86_64La57;
        ulong[] none = [];
        PageTableLevel pt32 = new(1, "PT", 12, 10, 4, [ByteSize.KiB * 4], allowsTable: false);
        PageTableLevel pd32 = new(2, "PD", 22, 10, 4, [ByteSize.MiB * 4], allowsTable: true);
        PageTableLevel pt = new(1, "PT", 12, 9, 8, [ByteSize.KiB * 4], allowsTable: false);
        PageTableLevel pd = new(2, "PD", 21, 9, 8, [ByteSize.MiB * 2], allowsTable: true);
        _geometry = id switch
        {
            MmuFormat.X86_32 => new PageTableGeometry(pd32, pt32),
            MmuFormat.X86Pae => new PageTableGeometry(new PageTableLevel(3, "PDPT", 30, 2, 8, none, allowsTable: true), pd, pt),
            MmuFormat.X86_64 => new PageTableGeometry(
                new PageTableLevel(4, "PML4", 39, 9, 8, none, allowsTable: true),
                new PageTableLevel(3, "PDPT", 30, 9, 8, [ByteSize.GiB], allowsTable: true),
                pd,
                pt),
            _ => new PageTableGeometry(
                new PageTableLevel(5, "PML5", 48, 9, 8, none, allowsTable: true),
                new PageTableLevel(4, "PML4", 39, 9, 8, none, allowsTable: true),
                new PageTableLevel(3, "PDPT", 30, 9, 8, [ByteSize.GiB], allowsTable: true),
                pd,
                pt),
        };
        _vaBits = _geometry.VirtualAddressBits;
    }

    public override MmuFormat Id => _id;

    public override string Name => _id switch
    {
        MmuFormat.X86_32 => "x86-32",
        MmuFormat.X86Pae => "x86-pae",
        MmuFormat.X86_64 => "x86-64",
        _ => "x86-64-la57",
    };

    public override int VirtualAddressBits => _vaBits;

    public override int PhysicalAddressBits => _wide ? 52 : 32;

    public override PageTableGeometry Geometry => _geometry;

    public override string RootRegisterName => "CR3";

    /// <summary>CR3's table-address bits: 51:12 (IA-32e), 31:5 (PAE PDPT), 31:12 (2-level).</summary>
    public ulong Cr3AddressMask => _id switch
    {
        MmuFormat.X86_32 => AddressMask32,
        MmuFormat.X86Pae => 0xFFFF_FFE0UL,
        _ => AddressMask64,
    };

    /// <summary>
    /// Linux's settings: CR4.PGE always, CR4.PSE for 2-level paging, CR4.PAE for PAE and IA-32e (plus
    /// LA57 for 5-level), EFER.NXE where NX exists, CR0.WP. SMEP and SMAP are left off; set them to test them.
    /// </summary>
    public override MmuRegisters CreateRegisters(PhysicalAddress root)
    {
        if ((root.Value & ~Cr3AddressMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(root), $"{root} cannot be held in CR3 for {Name}");
        }

        Cr4Flags cr4 = Cr4Flags.Pge | (_wide ? Cr4Flags.Pae : Cr4Flags.Pse);
        if (_id == MmuFormat.X86_64La57)
        {
            cr4 |= Cr4Flags.La57;
        }

        return new MmuRegisters { Cr3 = root.Value, Cr4 = cr4, Nxe = _wide, WriteProtect = true };
    }

    public override WalkRoot SelectRoot(in MmuRegisters registers, VirtualAddress va)
    {
        PhysicalAddress root = new(registers.Cr3 & Cr3AddressMask);
        bool ok = _long ? IsCanonical(va.Value) : va.Value >> 32 == 0;
        return new WalkRoot(root, _geometry, "CR3", registers.Cr3, ok ? FaultKind.None : FaultKind.NonCanonical, firstLevelInRegisters: IsPae);
    }

    /// <summary>The shared walk loop over <see cref="Decode"/>, which the specialised walk below is checked against.</summary>
    internal WalkResult GenericWalk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null) =>
        base.Walk(memory, registers, va, access, privilege, trace);

    /// <summary>
    /// The x86 walk, specialised for speed: the same checks in the same order as the shared loop over
    /// <see cref="Decode"/> (cross-checked against this one, results and traces), with U/S and R/W ANDed
    /// and XD ORed over the levels as the SDM states them (§4.6). A trace records the same steps the
    /// shared loop would, so the kernel's cache model (which traces every miss) runs this walker too.
    /// </summary>
    public override WalkResult Walk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null)
    {
        // One body for traced and untraced walks, the trace tested at each step: the kernel traces every miss for
        // its cache model, and this single method, called directly from the MMU's miss path, ran both faster
        // than a body generic over a step recorder (docs/performance.md, issue 11's miss-walk row).
        if (trace is not null)
        {
            trace.Root = RootRegisterName;
            trace.RootValue = registers.Cr3;
            trace.FirstLevelInRegisters = IsPae;
        }

        ReadOnlySpan<PageTableLevel> levels = _geometry.Levels;
        ulong v = va.Value;
        if (_long ? !IsCanonical(v) : v >> 32 != 0)
        {
            return WalkResult.Faulted(FaultKind.NonCanonical, levels[0].Number, 0);
        }

        ulong addressMask = _wide ? AddressMask64 : AddressMask32;
        ulong table = registers.Cr3 & Cr3AddressMask;
        int i = 0;
        int reads = 0;
        ulong raw;
        if (IsPae)
        {
            raw = ReadFirstLevelFromRegisters(in registers, (int)((v >> 30) & 3));
            if (trace is not null)
            {
                trace.Add(new WalkStep(3, new PhysicalAddress(table), (int)((v >> 30) & 3), raw,
                    (raw & Present) == 0 ? "invalid" : (raw & PdpteReserved) != 0 ? "reserved" : "table"));
            }

            if ((raw & Present) == 0)
            {
                return WalkResult.Faulted(FaultKind.Translation, 3, 0, raw);
            }

            if ((raw & PdpteReserved) != 0)
            {
                return WalkResult.Faulted(FaultKind.ReservedBit, 3, 0, raw);
            }

            table = raw & AddressMask64;
            i = 1;
        }

        WalkBuffer entries = default;
        ulong allowed = ReadWrite | UserSupervisor;
        bool nx = false;
        bool accessed = true;
        ulong size;
        while (true)
        {
            ref readonly PageTableLevel level = ref levels[i];
            ulong entry = table + (((v >> level.IndexShift) & level.IndexMask) * (ulong)level.EntrySize);
            raw = _wide ? memory.ReadUInt64(new PhysicalAddress(entry)) : memory.ReadUInt32(new PhysicalAddress(entry));
            reads++;
            entries[i] = entry;
            if (trace is not null)
            {
                trace.Add(new WalkStep(level.Number, new PhysicalAddress(table), (int)((v >> level.IndexShift) & level.IndexMask), raw, KindName(in level, raw, in registers)));
            }

            if ((raw & Present) == 0)
            {
                return WalkResult.Faulted(FaultKind.Translation, level.Number, reads, raw);
            }

            if (_wide && (raw & NoExecute) != 0)
            {
                if (!registers.Nxe)
                {
                    return WalkResult.Faulted(FaultKind.ReservedBit, level.Number, reads, raw);
                }

                nx = true;
            }

            allowed &= raw;
            accessed &= (raw & Accessed) != 0;
            if (level.Number == 1)
            {
                size = 4096;
                break;
            }

            if ((raw & PageSize) != 0)
            {
                ReadOnlySpan<ulong> leafSizes = level.LeafSizes;
                if (leafSizes.IsEmpty)
                {
                    return WalkResult.Faulted(FaultKind.ReservedBit, level.Number, reads, raw);
                }

                if (_wide || (registers.Cr4 & Cr4Flags.Pse) != 0)
                {
                    size = leafSizes[0];
                    if ((raw & (size - 1) & ~0x1FFFUL) != 0)
                    {
                        return WalkResult.Faulted(FaultKind.ReservedBit, level.Number, reads, raw);
                    }

                    break;
                }
            }

            table = raw & addressMask;
            i++;
        }

        ref readonly PageTableLevel leafLevel = ref levels[i];
        bool user = (allowed & UserSupervisor) != 0;
        AccessRights rights = s_rights[(int)((allowed >> 1) & 3) | (nx ? 4 : 0)];
        FaultKind fault = CheckAccess(rights, user, 0, access, privilege, in registers);
        if (fault != FaultKind.None)
        {
            return WalkResult.Faulted(fault, leafLevel.Number, reads, raw);
        }

        if (!accessed || (access == AccessType.Write && (raw & Dirty) == 0))
        {
            // SDM §4.8: set A in every entry used (not the PAE PDPTEs, held in registers) and D in the leaf on a write.
            for (int k = IsPae ? 1 : 0; k <= i; k++)
            {
                PhysicalAddress at = new(entries[k]);
                ulong old = _wide ? memory.ReadUInt64(at) : memory.ReadUInt32(at);
                ulong updated = SetAccessedDirty(in levels[k], old, k == i, access);
                if (updated != old)
                {
                    if (_wide)
                    {
                        memory.WriteUInt64(at, updated);
                    }
                    else
                    {
                        memory.WriteUInt32(at, (uint)updated);
                    }
                }
            }
        }

        bool pat = leafLevel.Number == 1 ? (raw & Pat4K) != 0 : (raw & PatLarge) != 0;
        int cacheIndex = (pat ? 4 : 0) | (int)((raw >> 3) & 3);
        bool global = (raw & Global) != 0 && (registers.Cr4 & Cr4Flags.Pge) != 0;
        return new WalkResult(FaultKind.None, leafLevel.Number, new VirtualAddress(v & ~(size - 1)), new PhysicalAddress(raw & addressMask & ~(size - 1)), size,
            rights, user, global, s_memoryTypes[cacheIndex], 0, reads, raw);
    }

    // What Decode would call this descriptor, for a trace: the same tests in the same order.
    private string KindName(in PageTableLevel level, ulong raw, in MmuRegisters registers)
    {
        if ((raw & Present) == 0)
        {
            return "invalid";
        }

        if (_wide && (raw & NoExecute) != 0 && !registers.Nxe)
        {
            return "reserved";
        }

        if (level.Number == 1)
        {
            return "leaf";
        }

        if (level.LeafSizes.IsEmpty)
        {
            return (raw & PageSize) != 0 ? "reserved" : "table";
        }

        if ((raw & PageSize) == 0 || (!_wide && (registers.Cr4 & Cr4Flags.Pse) == 0))
        {
            return "table";
        }

        return (raw & (level.LeafSizes[0] - 1) & ~0x1FFFUL) != 0 ? "reserved" : "leaf";
    }

    /// <summary>PAE: the PDPTEs are cached at CR3 load, so the tree keeps all four populated (Linux's PREALLOCATED_PMDS).</summary>
    public override bool PreallocatesRootEntries => IsPae;

    /// <summary>MOV to CR3: PAE paging also loads the four PDPTEs from the PDPT into registers (SDM §4.4.1).</summary>
    public override MmuRegisters LoadRegisters(PhysicalMemory memory, PhysicalAddress root)
    {
        MmuRegisters registers = CreateRegisters(root);
        LoadCr3(memory, ref registers, root.Value);
        return registers;
    }

    /// <summary>
    /// A MOV to CR3: sets CR3 and, with PAE paging, reloads the PDPTE registers from memory. Kernel code
    /// that switches address spaces or changes a PDPTE calls this, as Linux reloads CR3 after pud_clear
    /// on PAE (arch/x86/include/asm/pgtable-3level.h).
    /// </summary>
    public void LoadCr3(PhysicalMemory memory, ref MmuRegisters registers, ulong cr3)
    {
        registers.Cr3 = cr3;
        if (!IsPae)
        {
            return;
        }

        ulong pdpt = cr3 & Cr3AddressMask;
        registers.Pdpte0 = memory.ReadUInt64(new PhysicalAddress(pdpt));
        registers.Pdpte1 = memory.ReadUInt64(new PhysicalAddress(pdpt + 8));
        registers.Pdpte2 = memory.ReadUInt64(new PhysicalAddress(pdpt + 16));
        registers.Pdpte3 = memory.ReadUInt64(new PhysicalAddress(pdpt + 24));
    }

    protected override ulong ReadFirstLevelFromRegisters(in MmuRegisters registers, int index) => index switch
    {
        0 => registers.Pdpte0,
        1 => registers.Pdpte1,
        2 => registers.Pdpte2,
        _ => registers.Pdpte3,
    };

    private bool IsPae => _id == MmuFormat.X86Pae;

    [InlineArray(PageTableGeometry.MaxLevels)]
    private struct WalkBuffer
    {
        private ulong _element0;
    }

    /// <summary>Bits 63 down to the top VA bit all equal (SDM §3.3.7.1; 63:47 with 4-level, 63:56 with LA57).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsCanonical(ulong va)
    {
        int unused = 64 - _vaBits;
        return (ulong)((long)(va << unused) >> unused) == va;
    }

    public override bool ContainsRange(VirtualAddress va, ulong size)
    {
        if (!_long)
        {
            return base.ContainsRange(va, size);
        }

        ulong last = va.Value + size - 1;
        return size != 0 && last >= va.Value && IsCanonical(va.Value) && IsCanonical(last) && (va.Value >> 63) == (last >> 63);
    }

    public override DecodedEntry Decode(in PageTableLevel level, ulong descriptor, in MmuRegisters registers)
    {
        if ((descriptor & Present) == 0)
        {
            return DecodedEntry.Invalid;
        }

        int number = level.Number;
        if (!_long && _wide && number == 3)
        {
            // PAE PDPTE: only P, PWT, PCD and the address; no permission bits.
            return (descriptor & PdpteReserved) != 0
                ? DecodedEntry.ReservedEncoding()
                : DecodedEntry.Table(new PhysicalAddress(descriptor & AddressMask64));
        }

        bool nx = false;
        if (_wide && (descriptor & NoExecute) != 0)
        {
            if (!registers.Nxe)
            {
                return DecodedEntry.ReservedEncoding(); // bit 63 is reserved without EFER.NXE (SDM §4.4.2)
            }

            nx = true;
        }

        bool leaf;
        if (number == 1)
        {
            leaf = true;
        }
        else if (level.LeafSizes.IsEmpty)
        {
            if ((descriptor & PageSize) != 0)
            {
                return DecodedEntry.ReservedEncoding(); // PS is reserved in PML4E/PML5E
            }

            leaf = false;
        }
        else
        {
            // 2-level paging ignores PS unless CR4.PSE (SDM §4.3).
            leaf = (descriptor & PageSize) != 0 && (_wide || (registers.Cr4 & Cr4Flags.Pse) != 0);
        }

        bool user = (descriptor & UserSupervisor) != 0;
        AccessRights rights = s_rights[(int)((descriptor >> 1) & 3) | (nx ? 4 : 0)];
        ulong addressMask = _wide ? AddressMask64 : AddressMask32;
        if (!leaf)
        {
            return DecodedEntry.Table(new PhysicalAddress(descriptor & addressMask), rights, user, accessed: (descriptor & Accessed) != 0);
        }

        ulong size = level.LeafSizes[0];
        bool pat;
        if (number == 1)
        {
            pat = (descriptor & Pat4K) != 0;
        }
        else
        {
            // Large leaves: bit 12 is PAT, the address bits below the page size are reserved (SDM Tables 4-4, 4-9, 4-16, 4-18).
            if ((descriptor & (size - 1) & ~0x1FFFUL) != 0)
            {
                return DecodedEntry.ReservedEncoding();
            }

            pat = (descriptor & PatLarge) != 0;
        }

        int cacheIndex = (pat ? 4 : 0) | (int)((descriptor >> 3) & 3);
        bool global = (descriptor & Global) != 0 && (registers.Cr4 & Cr4Flags.Pge) != 0;
        return DecodedEntry.Leaf(new PhysicalAddress(descriptor & addressMask & ~(size - 1)), size, rights, user, global, s_memoryTypes[cacheIndex],
            accessed: (descriptor & Accessed) != 0, dirty: (descriptor & Dirty) != 0);
    }

    /// <summary>Linux's table descriptors: _PAGE_TABLE (P|RW|US|A|D) above user pages, _KERNPG_TABLE (P|RW|A|D) above kernel pages, P alone in a PAE PDPTE.</summary>
    public override ulong EncodeTable(in PageTableLevel level, PhysicalAddress table, PageAttributes attributes)
    {
        ulong mask = _wide ? AddressMask64 : AddressMask32;
        if ((table.Value & ~mask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(table), $"{table} cannot be held in a {Name} table descriptor");
        }

        if (!_long && _wide && level.Number == 3)
        {
            return table.Value | Present; // pud_populate for PAE: PDPTEs take only P (arch/x86/include/asm/pgalloc.h)
        }

        return table.Value | Present | ReadWrite | Accessed | Dirty | (attributes.User ? UserSupervisor : 0);
    }

    public override ulong MergeTable(in PageTableLevel level, ulong descriptor, PageAttributes attributes)
    {
        if (!_long && _wide && level.Number == 3)
        {
            return descriptor;
        }

        return attributes.User ? descriptor | UserSupervisor : descriptor;
    }

    /// <summary>
    /// Linux's protections: P|A always, RW for writable, US for user pages, D on kernel pages
    /// (__PAGE_KERNEL* carry ___D, PAGE_SHARED does not), G when global, NX unless executable (PAE and
    /// IA-32e), PS on large leaves, and the PAT/PCD/PWT index of the memory type.
    /// </summary>
    public override ulong EncodeLeaf(in PageTableLevel level, PhysicalAddress frame, ulong size, PageAttributes attributes)
    {
        ulong d = frame.Value | Present | Accessed;
        if (attributes.Write)
        {
            d |= ReadWrite;
        }

        d |= attributes.User ? UserSupervisor : Dirty;
        if (attributes.Global)
        {
            d |= Global;
        }

        if (_wide && !attributes.Execute)
        {
            d |= NoExecute;
        }

        int cacheIndex = CacheIndexOf(attributes.MemoryType);
        d |= (cacheIndex & 1) != 0 ? WriteThrough : 0;
        d |= (cacheIndex & 2) != 0 ? CacheDisable : 0;
        if (level.Number == 1)
        {
            d |= (cacheIndex & 4) != 0 ? Pat4K : 0;
        }
        else
        {
            d |= PageSize | ((cacheIndex & 4) != 0 ? PatLarge : 0);
        }

        return d;
    }

    /// <summary>Splitting keeps every flag and moves PAT between bit 12 (large) and bit 7 (4 KiB), as Linux's split_large_page does.</summary>
    public override ulong ConvertLeaf(in PageTableLevel from, ulong descriptor, in PageTableLevel to, PhysicalAddress frame, ulong size, in MmuRegisters registers)
    {
        bool pat = from.Number == 1 ? (descriptor & Pat4K) != 0 : (descriptor & PatLarge) != 0;
        ulong flags = (descriptor & 0xFFFUL & ~PageSize) | (descriptor & ~(AddressMask64 | 0xFFFUL));
        ulong d = flags | frame.Value;
        if (to.Number == 1)
        {
            d |= pat ? Pat4K : 0;
        }
        else
        {
            d |= PageSize | (pat ? PatLarge : 0);
        }

        return d;
    }

    /// <summary>
    /// mprotect's pte_modify: the accessed and dirty bits come from the old entry, the rest from the new protection
    /// (both are in _PAGE_CHG_MASK, arch/x86/include/asm/pgtable_types.h; pte_modify in arch/x86/include/asm/pgtable.h).
    /// </summary>
    public override ulong ChangeLeaf(in PageTableLevel level, ulong descriptor, PhysicalAddress frame, ulong size, PageAttributes attributes) =>
        (EncodeLeaf(level, frame, size, attributes) & ~(Accessed | Dirty)) | (descriptor & (Accessed | Dirty));

    public override IReadOnlyList<DescriptorField> Describe(int level, ulong descriptor)
    {
        int index = _geometry.IndexOfLevel(level);
        if (index < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(level), $"{Name} has no level {level}");
        }

        ulong addressMask = _wide ? AddressMask64 : AddressMask32;
        List<DescriptorField> fields = [new("P", descriptor & 1)];
        if (!_long && _wide && level == 3)
        {
            fields.Add(new("PWT", (descriptor >> 3) & 1));
            fields.Add(new("PCD", (descriptor >> 4) & 1));
            fields.Add(new("PFN", (descriptor & addressMask) >> 12, IsAddress: true));
            return fields;
        }

        bool large = level > 1 && (descriptor & PageSize) != 0 && !_geometry[index].LeafSizes.IsEmpty;
        fields.Add(new("RW", (descriptor >> 1) & 1));
        fields.Add(new("US", (descriptor >> 2) & 1));
        fields.Add(new("PWT", (descriptor >> 3) & 1));
        fields.Add(new("PCD", (descriptor >> 4) & 1));
        fields.Add(new("A", (descriptor >> 5) & 1));
        fields.Add(new("D", (descriptor >> 6) & 1));
        fields.Add(new(level == 1 ? "PAT" : "PS", (descriptor >> 7) & 1));
        fields.Add(new("G", (descriptor >> 8) & 1));
        if (large)
        {
            fields.Add(new("PAT", (descriptor >> 12) & 1));
        }

        if (_wide)
        {
            fields.Add(new("NX", descriptor >> 63));
        }

        ulong address = descriptor & addressMask;
        if (large)
        {
            address &= ~(_geometry[index].LeafSizes[0] - 1);
        }

        fields.Add(new("PFN", address >> 12, IsAddress: true));
        return fields;
    }

    /// <summary>
    /// SDM §4.6: user accesses need U/S (and R/W for writes, no XD for fetches) at every level; supervisor
    /// writes honour R/W only with CR0.WP; SMEP forbids supervisor fetches from user pages; SMAP forbids
    /// supervisor data accesses to user pages unless RFLAGS.AC.
    /// </summary>
    public override FaultKind CheckAccess(AccessRights rights, bool user, byte domain, AccessType access, Privilege privilege, in MmuRegisters registers)
    {
        if (privilege == Privilege.User)
        {
            return rights.Allows(Privilege.User, access) ? FaultKind.None : FaultKind.Permission;
        }

        if (user)
        {
            if (access == AccessType.Execute)
            {
                if ((registers.Cr4 & Cr4Flags.Smep) != 0)
                {
                    return FaultKind.Permission;
                }
            }
            else if ((registers.Cr4 & Cr4Flags.Smap) != 0 && !registers.Ac)
            {
                return FaultKind.Permission;
            }
        }

        if (access == AccessType.Write && !registers.WriteProtect)
        {
            return FaultKind.None;
        }

        return rights.Allows(Privilege.Kernel, access) ? FaultKind.None : FaultKind.Permission;
    }

    protected override bool UpdatesAccessedDirty => true;

    protected override ulong SetAccessedDirty(in PageTableLevel level, ulong descriptor, bool leaf, AccessType access)
    {
        if (!_long && _wide && level.Number == 3)
        {
            return descriptor; // PAE PDPTEs have no accessed flag
        }

        ulong d = descriptor | Accessed;
        if (leaf && access == AccessType.Write)
        {
            d |= Dirty;
        }

        return d;
    }

    private static AccessRights[] BuildRights()
    {
        AccessRights[] table = new AccessRights[8];
        for (int i = 0; i < 8; i++)
        {
            bool write = (i & 1) != 0;
            bool user = (i & 2) != 0;
            bool nx = (i & 4) != 0;
            AccessRights r = AccessRights.KernelRead;
            r |= write ? AccessRights.KernelWrite : 0;
            r |= nx ? 0 : AccessRights.KernelExecute;
            if (user)
            {
                r |= AccessRights.UserRead;
                r |= write ? AccessRights.UserWrite : 0;
                r |= nx ? 0 : AccessRights.UserExecute;
            }

            table[i] = r;
        }

        return table;
    }

    /// <summary>
    /// Linux programs the PAT MSR as WB, WC, UC-, UC, WB, WP, UC-, WT (arch/x86/mm/pat/memtype.c); the
    /// neutral types map to WB (0), WC (1), UC- for device (2, ioremap's default), UC (3), WT (7).
    /// </summary>
    public static int CacheIndexOf(MemoryType type) => type switch
    {
        MemoryType.Normal => 0,
        MemoryType.NonCacheable => 1,
        MemoryType.Device => 2,
        MemoryType.StronglyOrdered => 3,
        _ => 7,
    };

    public static MemoryType MemoryTypeOf(int cacheIndex) => cacheIndex switch
    {
        0 or 4 => MemoryType.Normal,
        1 => MemoryType.NonCacheable,
        2 or 6 => MemoryType.Device,
        3 => MemoryType.StronglyOrdered,
        _ => MemoryType.WriteThrough,
    };
}
