using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging.Arm;

/// <summary>
/// ARMv7-A Large Physical Address Extension, long-descriptor translation (ARM DDI 0406C B3.6): three levels
/// of 64-bit descriptors (1 GiB and 2 MiB blocks, 4 KiB pages), 40-bit output addresses, AttrIndx into
/// MAIR, AP[2:1], SH, AF, nG, PXN, XN, and hierarchical APTable/XNTable/PXNTable. TTBCR (EAE=1) T0SZ/T1SZ
/// divide the 32-bit address space between TTBR0 and TTBR1; EPD0/EPD1 disable either walk.
/// </summary>
public sealed class ArmLpaeFormat : PageTableFormat
{
    // TTBCR with EAE=1 (ARM DDI 0406C B4.1.153; Linux pgtable-3level-hwdef.h).
    public const uint TtbcrT0szMask = 0b111;
    public const uint TtbcrEpd0 = 1u << 7;
    public const int TtbcrT1szShift = 16;
    public const uint TtbcrT1szMask = 0b111u << TtbcrT1szShift;
    public const uint TtbcrA1 = 1u << 22;
    public const uint TtbcrEpd1 = 1u << 23;
    public const uint TtbcrEae = 1u << 31;

    /// <summary>Output addresses are bits 39:12 (40-bit PA).</summary>
    public const ulong OutputMask = 0x0000_00FF_FFFF_F000;

    /// <summary>TTBR bits 39:0 hold the base; a first table smaller than 4 KiB may sit at a finer alignment.</summary>
    public const ulong TtbrBaseMask = 0x0000_00FF_FFFF_FFFF;

    public static ArmLpaeFormat Instance { get; } = new();

    private static readonly PageTableGeometry[] s_geometries = CreateGeometries();

    private ArmLpaeFormat()
    {
    }

    public override MmuFormat Id => MmuFormat.ArmLpae;

    public override string Name => "arm-lpae";

    public override int VirtualAddressBits => 32;

    public override int PhysicalAddressBits => 40;

    /// <summary>T0SZ = T1SZ = 0: TTBR0 translates all 4 GiB from a 4-entry first-level table.</summary>
    public override PageTableGeometry Geometry => s_geometries[0];

    public override string RootRegisterName => "TTBR0";

    /// <summary>
    /// The tree for a region of 2^(32−TxSZ) bytes (B3.6.6): TxSZ 0–1 start at level 1 with 4 or 2 entries, TxSZ 2–7
    /// start at level 2 with 512 down to 16 entries (Linux VMSPLIT_3G's TTBR1: T1SZ = 2; a 256 MiB TTBR1: T1SZ = 4).
    /// </summary>
    public static PageTableGeometry GeometryFor(int txsz) => s_geometries[txsz];

    private static PageTableGeometry[] CreateGeometries()
    {
        PageTableLevel l2 = new(2, "L2", 21, 9, 8, [2 * ByteSize.MiB], allowsTable: true);
        PageTableLevel l3 = new(3, "L3", 12, 9, 8, [4 * ByteSize.KiB], allowsTable: false);
        PageTableGeometry[] g = new PageTableGeometry[8];
        for (int tsz = 0; tsz < 8; tsz++)
        {
            g[tsz] = tsz <= 1
                ? new PageTableGeometry(new PageTableLevel(1, "L1", 30, 2 - tsz, 8, [ByteSize.GiB], allowsTable: true), l2, l3)
                : new PageTableGeometry(new PageTableLevel(2, "L2", 21, 11 - tsz, 8, [2 * ByteSize.MiB], allowsTable: true), l3);
        }

        return g;
    }

    /// <summary>TTBR0 = TTBR1 = the tree, TTBCR.EAE with T0SZ = T1SZ = 0 (TTBR0 covers everything), ASID 0, no hardware AF.</summary>
    public override MmuRegisters CreateRegisters(PhysicalAddress root) => Registers(root, root, Ttbcr(0, 0));

    public override WalkRoot SelectRoot(in MmuRegisters registers, VirtualAddress va)
    {
        uint ttbcr = (uint)registers.Ttbcr;
        int select = va.Value > uint.MaxValue ? -1 : SelectTtbr(ttbcr, (uint)va.Value);
        if (select < 0)
        {
            return new WalkRoot(default, s_geometries[0], "TTBR0", registers.Ttbr0, FaultKind.Translation);
        }

        bool one = select == 1;
        int tsz = one ? (int)((ttbcr & TtbcrT1szMask) >> TtbcrT1szShift) : (int)(ttbcr & TtbcrT0szMask);
        ulong ttbr = one ? registers.Ttbr1 : registers.Ttbr0;
        PageTableGeometry g = s_geometries[tsz];
        bool disabled = (ttbcr & (one ? TtbcrEpd1 : TtbcrEpd0)) != 0;
        return new WalkRoot(new PhysicalAddress(ttbr & TtbrBaseMask & ~((ulong)g[0].TableBytes - 1)), g, one ? "TTBR1" : "TTBR0", ttbr, disabled ? FaultKind.Translation : FaultKind.None);
    }

    public override DecodedEntry Decode(in PageTableLevel level, ulong descriptor, in MmuRegisters registers)
    {
        if ((descriptor & ArmLongDescriptor.Valid) == 0)
        {
            return DecodedEntry.Invalid;
        }

        bool tableBit = (descriptor & ArmLongDescriptor.TableOrPage) != 0;
        if (level.Number < 3 && tableBit)
        {
            return DecodedEntry.Table(new PhysicalAddress(descriptor & OutputMask), TableMask(descriptor, aarch64: false));
        }

        if (level.Number == 3 && !tableBit)
        {
            return DecodedEntry.ReservedEncoding(FaultKind.Translation);
        }

        ulong size = ArmLongDescriptor.BlockSize(level.Number);
        AccessRights rights = Rights(ArmLongDescriptor.EffectiveAp(descriptor, 0), (descriptor & ArmLongDescriptor.Xn) != 0, (descriptor & ArmLongDescriptor.Pxn) != 0);
        FaultKind fault = (descriptor & ArmLongDescriptor.Af) == 0 && !registers.HardwareAccessFlag ? FaultKind.AccessFlag : FaultKind.None;
        MemoryType type = ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxLpae, (int)((descriptor >> ArmLongDescriptor.AttrIndxShift) & 7)));
        return DecodedEntry.Leaf(new PhysicalAddress(descriptor & OutputMask & ~(size - 1)), size, rights, (rights & AccessRights.UserRead) != 0, (descriptor & ArmLongDescriptor.NotGlobal) == 0, type, 0, fault);
    }

    /// <summary>What a table descriptor lets through: APTable[0] removes EL0/PL0 data access, APTable[1] writes, XNTable/UXNTable and PXNTable execution.</summary>
    internal static AccessRights TableMask(ulong d, bool aarch64)
    {
        AccessRights mask = DecodedEntry.AllRights;
        if ((d & ArmLongDescriptor.ApTableNoUser) != 0)
        {
            // On ARMv7 a PL0 fetch needs PL0 read, so it goes too; AArch64 EL0 execution depends on UXN alone.
            mask &= ~(AccessRights.UserRead | AccessRights.UserWrite | (aarch64 ? AccessRights.None : AccessRights.UserExecute));
        }

        if ((d & ArmLongDescriptor.ApTableReadOnly) != 0)
        {
            mask &= ~(AccessRights.KernelWrite | AccessRights.UserWrite);
        }

        if ((d & ArmLongDescriptor.XnTable) != 0)
        {
            mask &= aarch64 ? ~AccessRights.UserExecute : ~(AccessRights.UserExecute | AccessRights.KernelExecute);
        }

        if ((d & ArmLongDescriptor.PxnTable) != 0)
        {
            mask &= ~AccessRights.KernelExecute;
        }

        return mask;
    }

    public override ulong EncodeTable(in PageTableLevel level, PhysicalAddress table, PageAttributes attributes) =>
        ArmLongDescriptor.Table(table, OutputMask);

    public override ulong EncodeLeaf(in PageTableLevel level, PhysicalAddress frame, ulong size, PageAttributes attributes) =>
        ArmLongDescriptor.Leaf(frame, level.Number, Attributes(attributes), OutputMask);

    /// <summary>Keeps every attribute bit (AF, AttrIndx, SH, AP, nG, PXN, XN); only the address and the block/page type change.</summary>
    public override ulong ConvertLeaf(in PageTableLevel from, ulong descriptor, in PageTableLevel to, PhysicalAddress frame, ulong size, in MmuRegisters registers) =>
        ArmLongDescriptor.Relocate(descriptor, OutputMask, to.Number, frame);

    public override IReadOnlyList<DescriptorField> Describe(int level, ulong descriptor) => ArmLongDescriptor.Describe(descriptor, level, OutputMask, aarch64: false);

    /// <summary>A TTBCR value with EAE set.</summary>
    public static uint Ttbcr(int t0sz, int t1sz, bool epd0 = false, bool epd1 = false, bool a1 = false)
    {
        if ((uint)t0sz > 7 || (uint)t1sz > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(t0sz), $"T0SZ {t0sz} and T1SZ {t1sz} must be 0..7");
        }

        return TtbcrEae | (uint)t0sz | ((uint)t1sz << TtbcrT1szShift) | (epd0 ? TtbcrEpd0 : 0) | (epd1 ? TtbcrEpd1 : 0) | (a1 ? TtbcrA1 : 0);
    }

    /// <summary>
    /// Linux's split for a PAGE_OFFSET (pgtable-3level-hwdef.h TTBR1_SIZE and proc-v7-3level.S v7_ttb_setup):
    /// T0SZ stays 0 and T1SZ = (PAGE_OFFSET &gt;&gt; 30) − 1, so 0xC0000000 gives T1SZ=2 (TTBR1 covers the top
    /// 1 GiB), 0x80000000 gives T1SZ=1, and 0x40000000 gives T1SZ=0 (TTBR0 covers everything).
    /// </summary>
    public static uint LinuxTtbcr(ulong pageOffset)
    {
        if (pageOffset is not (0x4000_0000 or 0x8000_0000 or 0xC000_0000))
        {
            throw new ArgumentOutOfRangeException(nameof(pageOffset), $"Linux LPAE splits at 1, 2 or 3 GiB, not {ByteSize.Hex(pageOffset)}");
        }

        return Ttbcr(0, (int)(pageOffset >> 30) - 1);
    }

    /// <summary>
    /// Linux CONFIG_CPU_TTBR0_PAN (arch/arm/include/asm/uaccess-asm.h): outside uaccess, EPD0=1, T0SZ=7 (TTBR0
    /// shrinks to 32 MiB so kernel addresses walk TTBR1) and A1=1 (the reserved ASID from TTBR1); inside
    /// uaccess all three are cleared. TTBR1_SIZE is 0 with TTBR0-PAN, so T1SZ stays 0.
    /// </summary>
    public static uint LinuxTtbr0Pan(uint ttbcr, bool userAccessEnabled) => userAccessEnabled
        ? ttbcr & ~(TtbcrEpd0 | TtbcrT0szMask | TtbcrA1)
        : ttbcr | TtbcrEpd0 | TtbcrT0szMask | TtbcrA1;

    /// <summary>A 64-bit TTBR: table base in bits 39:0, ASID in bits 55:48 (B4.1.155). Linux keeps it in TTBR0.</summary>
    public static ulong Ttbr(PhysicalAddress table, int asid = 0)
    {
        if ((uint)asid > 0xFF || (table.Value & ~0xFF_FFFF_FFFFUL) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(asid), $"LPAE TTBR needs an 8-bit ASID ({asid}) and a 40-bit base ({table})");
        }

        return table.Value | ((ulong)asid << 48);
    }

    /// <summary>The ASID the TLB tags new entries with: TTBR0[55:48], or TTBR1[55:48] when TTBCR.A1 is set.</summary>
    public static int CurrentAsid(in MmuRegisters registers) =>
        (int)(((registers.Ttbcr & TtbcrA1) != 0 ? registers.Ttbr1 : registers.Ttbr0) >> 48) & 0xFF;

    public static MmuRegisters Registers(PhysicalAddress ttbr0, PhysicalAddress ttbr1, uint ttbcr, int asid = 0, bool hardwareAccessFlag = false) => new()
    {
        Ttbr0 = Ttbr(ttbr0, asid),
        Ttbr1 = Ttbr(ttbr1),
        Ttbcr = ttbcr,
        HardwareAccessFlag = hardwareAccessFlag,
    };

    /// <summary>
    /// Which TTBR translates <paramref name="va"/> (B3.6.4, table B3-1): with T1SZ=0 TTBR1 takes everything above
    /// TTBR0's 2^(32−T0SZ) bytes; otherwise TTBR1 takes the top 2^(32−T1SZ) bytes and any gap between the two
    /// regions faults. Returns 0, 1, or −1 for the gap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SelectTtbr(uint ttbcr, uint va)
    {
        int t0sz = (int)(ttbcr & TtbcrT0szMask);
        int t1sz = (int)((ttbcr & TtbcrT1szMask) >> TtbcrT1szShift);
        uint ttbr0Top = 0xFFFF_FFFFu >> t0sz;
        if (t1sz == 0)
        {
            return va > ttbr0Top ? 1 : 0;
        }

        if (va >= ~(0xFFFF_FFFFu >> t1sz))
        {
            return 1;
        }

        return va <= ttbr0Top ? 0 : -1;
    }

    /// <summary>The neutral request in LPAE terms, as Linux encodes it (AF set, SH inner shareable, XN for no-exec, PXN for user pages).</summary>
    public static ArmLongAttributes Attributes(PageAttributes a)
    {
        // No execute-only on ARMv7: an instruction fetch needs read permission at its privilege.
        int ap = a.User ? (a.Write ? 0b01 : 0b11) : (a.Write ? 0b00 : 0b10);
        bool xn = !a.Execute || a.Permissions == PagePermissions.None;
        return new ArmLongAttributes((byte)ArmMair.LpaeIndex(a.MemoryType), (byte)ap, ArmLongDescriptor.InnerShareable, Af: true, NotGlobal: !a.Global, Pxn: a.User, Xn: xn);
    }

    /// <summary>The neutral view of an LPAE leaf (Linux MAIR for the memory type).</summary>
    public static PageAttributes ToNeutral(ArmLongAttributes a)
    {
        AccessRights r = Rights(a.Ap, a.Xn, a.Pxn);
        bool user = (r & AccessRights.UserRead) != 0;
        PagePermissions p = PagePermissions.Read;
        if ((a.Ap & 2) == 0)
        {
            p |= PagePermissions.Write;
        }

        if (!a.Xn)
        {
            p |= PagePermissions.Execute;
        }

        return new PageAttributes(p, user, !a.NotGlobal, ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxLpae, a.AttrIndx)));
    }

    /// <summary>
    /// LPAE stage 1 rights (B3.7.1/B3.7.2): AP[2:1] for data; XN stops both privileges, PXN only PL1; PL0 fetch
    /// needs PL0 read. SCTLR.WXN/UWXN are not modelled (Linux leaves them clear).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights Rights(int ap, bool xn, bool pxn)
    {
        AccessRights r = ArmLongDescriptor.DataRights(ap);
        if (!xn)
        {
            if (!pxn)
            {
                r |= AccessRights.KernelExecute;
            }

            if ((r & AccessRights.UserRead) != 0)
            {
                r |= AccessRights.UserExecute;
            }
        }

        return r;
    }

    /// <summary>The framework's generic walk over <see cref="SelectRoot"/> and <see cref="Decode"/>, kept to cross-check the hand-written one.</summary>
    internal WalkResult GenericWalk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null) =>
        base.Walk(memory, registers, va, access, privilege, trace);

    public override WalkResult Walk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null)
    {
        if (va.Value > uint.MaxValue)
        {
            return WalkResult.Faulted(FaultKind.Translation, 1, 0);
        }

        uint v = (uint)va.Value;
        uint ttbcr = (uint)registers.Ttbcr;
        int select = SelectTtbr(ttbcr, v);
        if (select < 0)
        {
            return WalkResult.Faulted(FaultKind.Translation, 1, 0); // between the TTBR0 and TTBR1 regions
        }

        ulong ttbr;
        int tsz;
        if (select == 0)
        {
            if (trace is not null)
            {
                trace.Root = "TTBR0";
                trace.RootValue = registers.Ttbr0;
            }

            if ((ttbcr & TtbcrEpd0) != 0)
            {
                return WalkResult.Faulted(FaultKind.Translation, 1, 0); // EPD0: a TLB miss on TTBR0 is a translation fault (Linux TTBR0-PAN)
            }

            ttbr = registers.Ttbr0;
            tsz = (int)(ttbcr & TtbcrT0szMask);
        }
        else
        {
            if (trace is not null)
            {
                trace.Root = "TTBR1";
                trace.RootValue = registers.Ttbr1;
            }

            if ((ttbcr & TtbcrEpd1) != 0)
            {
                return WalkResult.Faulted(FaultKind.Translation, 1, 0);
            }

            ttbr = registers.Ttbr1;
            tsz = (int)((ttbcr & TtbcrT1szMask) >> TtbcrT1szShift);
        }

        // A region of at most 1 GiB (TxSZ >= 2) starts at level 2 (B3.6.6); the first table holds 2^(inputBits-shift) entries.
        int level = tsz <= 1 ? 1 : 2;
        int inputBits = 32 - tsz;
        int firstBits = inputBits - ArmLongDescriptor.Shift(level);
        ulong tableBase = ttbr & TtbrBaseMask & ~((8UL << firstBits) - 1); // BADDR[39:x], x = log2 of the first table's size
        int index = (int)((v >> ArmLongDescriptor.Shift(level)) & ((1u << firstBits) - 1));
        ArmTableAttributes table = default;
        int reads = 0;
        while (true)
        {
            PhysicalAddress address = new(tableBase + ((ulong)index << 3));
            ulong d = memory.ReadUInt64(address);
            reads++;
            if ((d & ArmLongDescriptor.Valid) == 0)
            {
                trace?.Add(new WalkStep(level, new PhysicalAddress(tableBase), index, d, "invalid"));
                return WalkResult.Faulted(FaultKind.Translation, level, reads, d);
            }

            bool tableBit = (d & ArmLongDescriptor.TableOrPage) != 0;
            if (level < 3 && tableBit)
            {
                trace?.Add(new WalkStep(level, new PhysicalAddress(tableBase), index, d, "table"));
                table = table.Merge(d);
                tableBase = d & OutputMask;
                level++;
                index = (int)((v >> ArmLongDescriptor.Shift(level)) & 511);
                continue;
            }

            if (level == 3 && !tableBit)
            {
                trace?.Add(new WalkStep(level, new PhysicalAddress(tableBase), index, d, "reserved"));
                return WalkResult.Faulted(FaultKind.Translation, level, reads, d); // bits[1:0]=01 is reserved at level 3
            }

            trace?.Add(new WalkStep(level, new PhysicalAddress(tableBase), index, d, level == 3 ? "page" : "block"));
            if ((d & ArmLongDescriptor.Af) == 0)
            {
                if (!registers.HardwareAccessFlag)
                {
                    return WalkResult.Faulted(FaultKind.AccessFlag, level, reads, d);
                }

                d |= ArmLongDescriptor.Af;
                memory.WriteUInt64(address, d); // hardware access-flag management sets AF in the descriptor
            }

            ulong size = ArmLongDescriptor.BlockSize(level);
            int ap = ArmLongDescriptor.EffectiveAp(d, table.ApTable);
            AccessRights rights = Rights(ap, (d & ArmLongDescriptor.Xn) != 0 || table.XnTable, (d & ArmLongDescriptor.Pxn) != 0 || table.PxnTable);
            bool user = (rights & AccessRights.UserRead) != 0;
            MemoryType type = ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxLpae, (int)((d >> ArmLongDescriptor.AttrIndxShift) & 7)));
            FaultKind fault = rights.Allows(privilege, access) ? FaultKind.None : FaultKind.Permission;
            return new WalkResult(fault, level, new VirtualAddress(v & ~(size - 1)), new PhysicalAddress(d & OutputMask & ~(size - 1)), size, rights, user, (d & ArmLongDescriptor.NotGlobal) == 0, type, 0, reads, d);
        }
    }

    /// <summary>ARMv7 has no PAN: Linux emulates it with EPD0 (TTBR0-PAN), which acts on walks, not on TLB hits.</summary>
    public override FaultKind CheckAccess(AccessRights rights, bool user, byte domain, AccessType access, Privilege privilege, in MmuRegisters registers) =>
        rights.Allows(privilege, access) ? FaultKind.None : FaultKind.Permission;
}
