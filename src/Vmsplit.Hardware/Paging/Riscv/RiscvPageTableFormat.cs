using System.Runtime.CompilerServices;
using System.Text;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging.Riscv;

/// <summary>
/// The RISC-V page-based virtual-memory systems Sv32, Sv39, Sv48 and Sv57, walked exactly as the privileged
/// spec's "Virtual Address Translation Process" (§Sv32, steps 1–8) describes. Levels use the spec's numbering:
/// the root is LEVELS-1, 4 KiB pages are level 0.
/// <para>Decisions where the spec leaves a choice: Svnapot is implemented (an N=1 leaf at level 0 with
/// PPN[0][3:0]=1000 maps 64 KiB; every other N use is reserved); Svpbmt follows menvcfg.PBMTE
/// (<see cref="MmuRegisters.Pbmte"/>): with it clear, bits 62:61 are reserved; A/D follow menvcfg.ADUE
/// (<see cref="MmuRegisters.Adue"/>): Svadu sets them in memory, Svade faults with
/// <see cref="FaultKind.AccessFlag"/>. Reserved bits and encodings fault with <see cref="FaultKind.ReservedBit"/>,
/// V=0 and a pointer at level 0 with <see cref="FaultKind.Translation"/> (all are page faults on hardware).</para>
/// </summary>
public sealed class RiscvPageTableFormat : PageTableFormat
{
    public static readonly RiscvPageTableFormat Sv32 = new(MmuFormat.RiscvSv32, RiscvSatpMode.Sv32, "riscv-sv32", levels: 2, indexBits: 10, vaBits: 32, paBits: 34);
    public static readonly RiscvPageTableFormat Sv39 = new(MmuFormat.RiscvSv39, RiscvSatpMode.Sv39, "riscv-sv39", levels: 3, indexBits: 9, vaBits: 39, paBits: 56);
    public static readonly RiscvPageTableFormat Sv48 = new(MmuFormat.RiscvSv48, RiscvSatpMode.Sv48, "riscv-sv48", levels: 4, indexBits: 9, vaBits: 48, paBits: 56);
    public static readonly RiscvPageTableFormat Sv57 = new(MmuFormat.RiscvSv57, RiscvSatpMode.Sv57, "riscv-sv57", levels: 5, indexBits: 9, vaBits: 57, paBits: 56);

    /// <summary>Svnapot's only defined size: 16 contiguous 4 KiB pages.</summary>
    public const ulong NapotSize = 64 * 1024;

    private readonly MmuFormat _id;
    private readonly string _name;
    private readonly int _levels;
    private readonly int _indexBits;
    private readonly int _indexMask;
    private readonly int _pteShift;
    private readonly int _vaBits;
    private readonly int _paBits;
    private readonly ulong _ppnMask;
    private readonly bool _rv32;
    private readonly PageTableGeometry _geometry;

    private RiscvPageTableFormat(MmuFormat id, RiscvSatpMode mode, string name, int levels, int indexBits, int vaBits, int paBits)
    {
        _id = id;
        SatpMode = mode;
        _name = name;
        _levels = levels;
        _indexBits = indexBits;
        _indexMask = (1 << indexBits) - 1;
        _rv32 = mode == RiscvSatpMode.Sv32;
        _pteShift = _rv32 ? 2 : 3;
        _vaBits = vaBits;
        _paBits = paBits;
        _ppnMask = _rv32 ? RiscvPte.Sv32PpnMask : RiscvPte.Sv64PpnMask;
        _geometry = BuildGeometry(levels, indexBits, PteSize, napot: !_rv32);
    }

    /// <summary>The four RISC-V formats in <see cref="MmuFormat"/> order.</summary>
    public static IReadOnlyList<RiscvPageTableFormat> Formats { get; } = [Sv32, Sv39, Sv48, Sv57];

    // Every level may hold a leaf of its own span (any level may be a leaf, §Sv32); level 0 also holds the
    // Svnapot 64 KiB run of 16 identical PTEs on Sv39+. Names follow Linux's pgd/p4d/pud/pmd/pte.
    private static PageTableGeometry BuildGeometry(int levels, int indexBits, int pteSize, bool napot)
    {
        string[] linuxNames = levels switch
        {
            2 => ["pte", "pgd"],
            3 => ["pte", "pmd", "pgd"],
            4 => ["pte", "pmd", "pud", "pgd"],
            _ => ["pte", "pmd", "pud", "p4d", "pgd"],
        };
        PageTableLevel[] result = new PageTableLevel[levels];
        for (int i = levels - 1; i >= 0; i--)
        {
            int shift = 12 + (i * indexBits);
            ulong[] sizes = i == 0 && napot ? [NapotSize, 1UL << shift] : [1UL << shift];
            result[levels - 1 - i] = new PageTableLevel(i, linuxNames[i], shift, indexBits, pteSize, sizes, allowsTable: i > 0);
        }

        return new PageTableGeometry(result);
    }

    public override MmuFormat Id => _id;

    public override string Name => _name;

    public override int VirtualAddressBits => _vaBits;

    public override int PhysicalAddressBits => _paBits;

    public override PageTableGeometry Geometry => _geometry;

    public override string RootRegisterName => "satp";

    /// <summary>The satp.MODE value that selects this format.</summary>
    public RiscvSatpMode SatpMode { get; }

    /// <summary>LEVELS in the spec's algorithm.</summary>
    public int Levels => _levels;

    /// <summary>PTESIZE: 4 bytes for Sv32, 8 otherwise.</summary>
    public int PteSize => 1 << _pteShift;

    /// <summary>Bits of VA each level indexes (VPN[i] width): 10 for Sv32, 9 otherwise.</summary>
    public int IndexBits => _indexBits;

    /// <summary>PTEs per 4 KiB table page: 1024 for Sv32, 512 otherwise.</summary>
    public int EntriesPerTable => 1 << _indexBits;

    /// <summary>Sv32 has an RV32 satp and no N/PBMT/reserved bits.</summary>
    public bool IsRv32 => _rv32;

    /// <summary>Mask of the PPN field after shifting the PTE right by 10.</summary>
    public ulong PpnMask => _ppnMask;

    /// <summary>The region one PTE at <paramref name="level"/> maps: 4 KiB at level 0, then ×1024 (Sv32) or ×512.</summary>
    public ulong LevelSize(int level) => 1UL << (12 + (level * _indexBits));

    /// <summary>The VPN[level] index of <paramref name="va"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Index(ulong va, int level) => (int)(va >> (12 + (level * _indexBits))) & _indexMask;

    /// <summary>Bits 63..VA-1 all equal (Sv39/48/57); for Sv32 the address must fit in 32 bits, as RV32 cannot issue more.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsCanonical(ulong va)
    {
        if (_rv32)
        {
            return (va >> 32) == 0;
        }

        long top = (long)va >> (_vaBits - 1);
        return top == 0 || top == -1;
    }

    /// <summary>The registers for a tree rooted at <paramref name="root"/> with an ASID; see <see cref="RiscvSatp.Registers"/>.</summary>
    public MmuRegisters Registers(PhysicalAddress root, uint asid = 0) => RiscvSatp.Registers(SatpMode, root.Value, asid);

    /// <summary>satp with this mode, ASID 0 and the root; PBMTE on (Sv39+), Svade, SUM and MXR clear.</summary>
    public override MmuRegisters CreateRegisters(PhysicalAddress root) => Registers(root);

    public override WalkRoot SelectRoot(in MmuRegisters registers, VirtualAddress va) =>
        new(new PhysicalAddress(RiscvSatp.RootAddress(registers.Satp, _rv32)), _geometry, "satp", registers.Satp, IsCanonical(va.Value) ? FaultKind.None : FaultKind.NonCanonical);

    /// <summary>satp split into MODE, ASID and PPN.</summary>
    public override string DescribeRoot(string register, ulong value) => RiscvSatp.Describe(value, _rv32);

    /// <summary>Either canonical half (Linux maps the kernel in the upper one), never across the hole.</summary>
    public override bool ContainsRange(VirtualAddress va, ulong size)
    {
        ulong last = va.Value + size - 1;
        return size != 0 && last >= va.Value && IsCanonical(va.Value) && IsCanonical(last) && (va.Value >> 63) == (last >> 63);
    }

    /// <summary>Decodes a PTE with the rules of steps 3–6; a leaf's <see cref="DecodedEntry.Fault"/> is a misaligned superpage.</summary>
    public override DecodedEntry Decode(in PageTableLevel level, ulong descriptor, in MmuRegisters registers)
    {
        int i = level.Number;
        switch (Classify(descriptor, i, registers.Pbmte))
        {
            case FaultKind.Translation:
                return DecodedEntry.Invalid;
            case FaultKind.None:
                break;
            default:
                return DecodedEntry.ReservedEncoding();
        }

        bool global = (descriptor & RiscvPte.G) != 0;
        ulong ppn = RiscvPte.Ppn(descriptor, _ppnMask);
        if (!RiscvPte.IsLeaf(descriptor))
        {
            return DecodedEntry.Table(new PhysicalAddress(ppn << 12), global: global);
        }

        ulong size = LevelSize(i);
        if ((descriptor & RiscvPte.N) != 0)
        {
            size = NapotSize;
            ppn &= ~0xFUL;
        }

        int lowBits = i * _indexBits;
        FaultKind fault = (ppn & ((1UL << lowBits) - 1)) != 0 ? FaultKind.MisalignedSuperpage : FaultKind.None;
        MemoryType type = _rv32 ? MemoryType.Normal : RiscvPte.MemoryTypeOf(RiscvPte.Pbmt(descriptor));
        return DecodedEntry.Leaf(new PhysicalAddress(ppn << 12), size, RiscvPte.Rights(descriptor), (descriptor & RiscvPte.U) != 0, global, type, fault: fault);
    }

    /// <summary>A pointer carries V alone, like Linux's PAGE_TABLE: G on a pointer would make user mappings below it global.</summary>
    public override ulong EncodeTable(in PageTableLevel level, PhysicalAddress table, PageAttributes attributes) => EncodeTable(table);

    /// <summary>A leaf of the level's span, or (level 0, Sv39+) each of the 16 PTEs of a 64 KiB NAPOT run: N=1, PPN[0][3:0]=1000.</summary>
    public override ulong EncodeLeaf(in PageTableLevel level, PhysicalAddress frame, ulong size, PageAttributes attributes)
    {
        ulong pte = EncodeLeaf(frame, attributes);
        return size == NapotSize && !_rv32 ? pte | RiscvPte.N | (0x8UL << RiscvPte.PpnShift) : pte;
    }

    /// <summary>mprotect keeps the supervisor's RSW bits (Linux's _PAGE_SPECIAL/_PAGE_DEVMAP live there).</summary>
    public override ulong ChangeLeaf(in PageTableLevel level, ulong descriptor, PhysicalAddress frame, ulong size, PageAttributes attributes) =>
        EncodeLeaf(level, frame, size, attributes) | (descriptor & RiscvPte.RswMask);

    /// <summary>Splitting a superpage keeps RSW as well as the neutral attributes.</summary>
    public override ulong ConvertLeaf(in PageTableLevel from, ulong descriptor, in PageTableLevel to, PhysicalAddress frame, ulong size, in MmuRegisters registers) =>
        EncodeLeaf(to, frame, size, RiscvPte.Attributes(descriptor, hasPbmt: !_rv32)) | (descriptor & RiscvPte.RswMask);

    /// <summary>A leaf for <paramref name="pa"/> with a neutral request (A and D set, PBMT from the memory type on Sv39+).</summary>
    public ulong EncodeLeaf(PhysicalAddress pa, PageAttributes attributes) => RiscvPte.Leaf(pa.Value, RiscvPte.LeafFlags(attributes, hasPbmt: !_rv32));

    /// <summary>A pointer to the next-level table at <paramref name="table"/>.</summary>
    public ulong EncodeTable(PhysicalAddress table) => RiscvPte.Table(table.Value);

    /// <summary>The physical address a PTE's PPN names (the next table, or the leaf's frame).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PhysicalAddress OutputAddress(ulong pte) => new(RiscvPte.Ppn(pte, _ppnMask) << 12);

    /// <summary>Width of PPN[i] in the PTE: every field is VPN-wide except the top one, which takes the rest.</summary>
    public int PpnFieldBits(int i) => i < _levels - 1 ? _indexBits : (_rv32 ? 22 : 44) - ((_levels - 1) * _indexBits);

    /// <summary>PPN[i] of a PTE (Sv32: PPN[1] bits 31:20, PPN[0] 19:10; Sv39: PPN[2] 53:28, PPN[1] 27:19, PPN[0] 18:10; ...).</summary>
    public ulong PpnField(ulong pte, int i) => (pte >> (RiscvPte.PpnShift + (i * _indexBits))) & ((1UL << PpnFieldBits(i)) - 1);

    /// <summary>
    /// Step 3 (and 4's level-0 rule is left to the walk): why a PTE read at <paramref name="level"/> stops the walk,
    /// or <see cref="FaultKind.None"/>. Reserved: XWR 010/110; bits 60:54; PBMT without PBMTE, PBMT=3, PBMT on a
    /// pointer; N on a pointer, above level 0, or with a PPN[0][3:0] other than 1000; D, A or U on a pointer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FaultKind Classify(ulong pte, int level, bool pbmte)
    {
        if ((pte & RiscvPte.V) == 0)
        {
            return FaultKind.Translation; // V=0: the other bits are don't-cares
        }

        if (RiscvPte.IsReservedXwr(pte))
        {
            return FaultKind.ReservedBit;
        }

        bool leaf = RiscvPte.IsLeaf(pte);
        if (!leaf && (pte & (RiscvPte.D | RiscvPte.A | RiscvPte.U)) != 0)
        {
            return FaultKind.ReservedBit; // "For non-leaf PTEs, the D, A, and U bits are reserved for future standard use"
        }

        if (_rv32 || (pte & (RiscvPte.ReservedMask | RiscvPte.PbmtMask | RiscvPte.N)) == 0)
        {
            return FaultKind.None;
        }

        return ClassifyHighBits(pte, level, pbmte, leaf);
    }

    private static FaultKind ClassifyHighBits(ulong pte, int level, bool pbmte, bool leaf)
    {
        if ((pte & RiscvPte.ReservedMask) != 0)
        {
            return FaultKind.ReservedBit;
        }

        if ((pte & RiscvPte.PbmtMask) != 0 && (!pbmte || !leaf || RiscvPte.Pbmt(pte) == RiscvPbmt.Reserved))
        {
            return FaultKind.ReservedBit;
        }

        // Svnapot, table "Page table entry encodings when pte.N=1": only i=0 with ppn[0] = x xxxx 1000 (64 KiB) is defined.
        if ((pte & RiscvPte.N) != 0 && (!leaf || level != 0 || ((pte >> RiscvPte.PpnShift) & 0xF) != 0x8))
        {
            return FaultKind.ReservedBit;
        }

        return FaultKind.None;
    }

    public override WalkResult Walk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null)
    {
        ulong v = va.Value;
        int i = _levels - 1;
        if (trace is not null)
        {
            trace.Root = "satp";
            trace.RootValue = registers.Satp;
        }

        if (!IsCanonical(v))
        {
            return WalkResult.Faulted(FaultKind.NonCanonical, i, 0);
        }

        ulong satp = registers.Satp;
        if (RiscvSatp.Mode(satp, _rv32) != SatpMode)
        {
            ThrowModeMismatch(satp);
        }

        // Step 1: a = satp.ppn × PAGESIZE, i = LEVELS-1.
        ulong a = RiscvSatp.RootAddress(satp, _rv32);
        bool global = false;
        int reads = 0;
        while (true)
        {
            // Step 2: pte = the PTE at a + va.vpn[i] × PTESIZE.
            int index = (int)(v >> (12 + (i * _indexBits))) & _indexMask;
            ulong pteAddress = a + ((ulong)index << _pteShift);
            if (pteAddress >= PhysicalAddress.Limit)
            {
                return WalkResult.Faulted(FaultKind.AddressSize, i, reads); // access fault: no memory there
            }

            ulong pte = _rv32 ? memory.ReadUInt32(new PhysicalAddress(pteAddress)) : memory.ReadUInt64(new PhysicalAddress(pteAddress));
            reads++;

            // Step 3: invalid or reserved.
            FaultKind fault = Classify(pte, i, registers.Pbmte);
            bool leaf = RiscvPte.IsLeaf(pte);
            trace?.Add(new WalkStep(i, new PhysicalAddress(a), index, pte, StepKind(fault, leaf)));
            if (fault != FaultKind.None)
            {
                return WalkResult.Faulted(fault, i, reads, pte);
            }

            // G on a pointer makes every mapping below it global.
            global |= (pte & RiscvPte.G) != 0;

            // Step 4: a pointer goes one level down; none below level 0.
            if (!leaf)
            {
                if (i == 0)
                {
                    return WalkResult.Faulted(FaultKind.Translation, i, reads, pte);
                }

                i--;
                a = RiscvPte.Ppn(pte, _ppnMask) << 12;
                continue;
            }

            // Step 5: R/W/X/U against the privilege, SUM and MXR.
            AccessRights rights = RiscvPte.Rights(pte);
            bool user = (pte & RiscvPte.U) != 0;
            fault = CheckAccess(rights, user, 0, access, privilege, registers);
            if (fault != FaultKind.None)
            {
                return WalkResult.Faulted(fault, i, reads, pte);
            }

            // Step 6: a superpage's PPN fields below level i must be zero.
            ulong ppn = RiscvPte.Ppn(pte, _ppnMask);
            int lowBits = i * _indexBits;
            if ((ppn & ((1UL << lowBits) - 1)) != 0)
            {
                return WalkResult.Faulted(FaultKind.MisalignedSuperpage, i, reads, pte);
            }

            // Step 7: A=0, or D=0 on a store: Svade faults, Svadu sets the bits in memory.
            ulong needed = access == AccessType.Write ? RiscvPte.A | RiscvPte.D : RiscvPte.A;
            if ((pte & needed) != needed)
            {
                if (!registers.Adue)
                {
                    return WalkResult.Faulted(FaultKind.AccessFlag, i, reads, pte);
                }

                pte |= needed;
                if (_rv32)
                {
                    memory.WriteUInt32(new PhysicalAddress(pteAddress), (uint)pte);
                }
                else
                {
                    memory.WriteUInt64(new PhysicalAddress(pteAddress), pte);
                }
            }

            // Step 8: the translation; a NAPOT leaf covers 64 KiB with PPN[0][3:0] taken from the VA.
            ulong pageSize = 1UL << (12 + lowBits);
            if ((pte & RiscvPte.N) != 0)
            {
                pageSize = NapotSize;
                ppn &= ~0xFUL;
            }

            MemoryType type = _rv32 ? MemoryType.Normal : RiscvPte.MemoryTypeOf(RiscvPte.Pbmt(pte));
            return new WalkResult(FaultKind.None, i, new VirtualAddress(v & ~(pageSize - 1)), new PhysicalAddress(ppn << 12), pageSize, rights, user, global, type, 0, reads, pte);
        }
    }

    /// <summary>
    /// The step-5 check, also applied on TLB hits: U-mode needs U=1; S-mode never executes U pages and touches their
    /// data only with sstatus.SUM; with sstatus.MXR a load from an X page succeeds.
    /// </summary>
    public override FaultKind CheckAccess(AccessRights rights, bool user, byte domain, AccessType access, Privilege privilege, in MmuRegisters registers)
    {
        if (privilege == Privilege.User)
        {
            if (!user)
            {
                return FaultKind.Permission;
            }
        }
        else if (user && (access == AccessType.Execute || !registers.Sum))
        {
            return FaultKind.Permission;
        }

        if (rights.Allows(privilege, access))
        {
            return FaultKind.None;
        }

        // MXR: loads from pages marked X succeed (the X of a U page sits in UserExecute).
        AccessRights execute = user ? AccessRights.UserExecute : AccessRights.KernelExecute;
        return access == AccessType.Read && registers.Mxr && (rights & execute) != 0 ? FaultKind.None : FaultKind.Permission;
    }

    private static string StepKind(FaultKind fault, bool leaf) => fault switch
    {
        FaultKind.Translation => "invalid",
        FaultKind.ReservedBit => "reserved",
        _ => leaf ? "leaf" : "table",
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowModeMismatch(ulong satp) =>
        throw new InvalidOperationException($"satp {ByteSize.Hex(satp)} selects {RiscvSatp.Mode(satp, _rv32)}, but the walker is {_name}");

    /// <summary>The PTE's fields by name, from bit 0 up: V R W X U G A D RSW PPN[0..LEVELS-1], then (Sv39+) PBMT and N, and the reserved bits when any is set.</summary>
    public override IReadOnlyList<DescriptorField> Describe(int level, ulong descriptor)
    {
        if (level < 0 || level >= _levels)
        {
            throw new ArgumentOutOfRangeException(nameof(level), $"{Name} has no level {level}");
        }

        List<DescriptorField> fields = new(16)
        {
            new("V", descriptor & 1),
            new("R", (descriptor >> 1) & 1),
            new("W", (descriptor >> 2) & 1),
            new("X", (descriptor >> 3) & 1),
            new("U", (descriptor >> 4) & 1),
            new("G", (descriptor >> 5) & 1),
            new("A", (descriptor >> 6) & 1),
            new("D", (descriptor >> 7) & 1),
            new("RSW", (ulong)RiscvPte.Rsw(descriptor)),
        };
        for (int i = 0; i < _levels; i++)
        {
            fields.Add(new($"PPN[{i}]", PpnField(descriptor, i), IsAddress: true));
        }

        if (!_rv32)
        {
            fields.Add(new("PBMT", (ulong)RiscvPte.Pbmt(descriptor)));
            fields.Add(new("N", descriptor >> 63));
            if ((descriptor & RiscvPte.ReservedMask) != 0)
            {
                fields.Add(new("Reserved", (descriptor & RiscvPte.ReservedMask) >> 54, IsAddress: true));
            }
        }

        return fields;
    }

    /// <summary>One line a kernel developer reads: "V R W - - G A D RSW=0 PPN[2]=0x2 PPN[1]=0x1 PPN[0]=0x0 PBMT=PMA → superpage 2M 0x80200000".</summary>
    public string DescribeLine(ulong pte, int level)
    {
        if ((pte & RiscvPte.V) == 0)
        {
            return pte == 0 ? "invalid (empty)" : $"invalid (V=0, software bits {ByteSize.Hex(pte)})";
        }

        StringBuilder s = new();
        s.Append("V ");
        s.Append((pte & RiscvPte.R) != 0 ? "R " : "- ");
        s.Append((pte & RiscvPte.W) != 0 ? "W " : "- ");
        s.Append((pte & RiscvPte.X) != 0 ? "X " : "- ");
        s.Append((pte & RiscvPte.U) != 0 ? "U " : "- ");
        s.Append((pte & RiscvPte.G) != 0 ? "G " : "- ");
        s.Append((pte & RiscvPte.A) != 0 ? "A " : "- ");
        s.Append((pte & RiscvPte.D) != 0 ? "D" : "-");
        s.Append(" RSW=").Append(RiscvPte.Rsw(pte));
        for (int i = _levels - 1; i >= 0; i--)
        {
            s.Append($" PPN[{i}]=").Append(ByteSize.Hex(PpnField(pte, i)));
        }

        if (!_rv32)
        {
            s.Append(" PBMT=").Append(RiscvPte.Pbmt(pte).ToString().ToUpperInvariant());
            if ((pte & RiscvPte.N) != 0)
            {
                s.Append(" N");
            }

            if ((pte & RiscvPte.ReservedMask) != 0)
            {
                s.Append(" reserved[60:54]=").Append(ByteSize.Hex((pte & RiscvPte.ReservedMask) >> 54));
            }
        }

        string kind = RiscvPte.IsLeaf(pte) ? (level == 0 ? "page" : "superpage " + ByteSize.Format(LevelSize(level))) : "table";
        s.Append(" → ").Append(kind).Append(' ').Append(OutputAddress(pte).ToString());
        return s.ToString();
    }
}
