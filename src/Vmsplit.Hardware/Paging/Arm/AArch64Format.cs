using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging.Arm;

/// <summary>
/// AArch64 stage 1 translation for the EL1&amp;0 regime with a 4 KiB granule (VMSAv8-64, ARM DDI 0487 D5):
/// 39-bit VAs walk levels 1..3, 48-bit VAs levels 0..3; 1 GiB (level 1) and 2 MiB (level 2) blocks;
/// VA bit 55 selects TTBR0 or TTBR1 and every bit above VA_BITS must match it; UXN/PXN, AP[2:1] with
/// ARMv8.1 PAN, AF, nG, SH, AttrIndx, and hierarchical APTable/UXNTable/PXNTable; 48-bit output addresses.
/// </summary>
public sealed class AArch64Format : PageTableFormat
{
    // TCR_EL1 (ARM DDI 0487 D13.2.131; Linux arch/arm64/include/asm/pgtable-hwdef.h).
    public const int TcrT0szShift = 0;
    public const ulong TcrEpd0 = 1UL << 7;
    public const int TcrT1szShift = 16;
    public const ulong TcrA1 = 1UL << 22;
    public const ulong TcrEpd1 = 1UL << 23;

    /// <summary>TG1 = 0b10 selects the 4 KiB granule for TTBR1 (TG0 = 0b00 does for TTBR0).</summary>
    public const ulong TcrTg1Granule4K = 2UL << 30;
    public const int TcrIpsShift = 32;
    public const ulong TcrAs = 1UL << 36;
    public const ulong TcrTbi0 = 1UL << 37;
    public const ulong TcrTbi1 = 1UL << 38;
    public const ulong TcrHa = 1UL << 39;

    /// <summary>IPS = 0b101: 48-bit intermediate physical address size.</summary>
    public const ulong TcrIps48 = 5UL << TcrIpsShift;

    /// <summary>Descriptor output address bits 47:12; TTBR BADDR is bits 47:1 (bit 0 is CnP), ASID bits 63:48.</summary>
    public const ulong OutputMask = 0x0000_FFFF_FFFF_F000;

    private readonly int _vaBits;
    private readonly int _startLevel;
    private readonly PageTableGeometry _geometry;

    private AArch64Format(int vaBits)
    {
        _vaBits = vaBits;
        _startLevel = vaBits > 39 ? 0 : 1;
        PageTableLevel l1 = new(1, "L1", 30, 9, 8, [ByteSize.GiB], allowsTable: true);
        PageTableLevel l2 = new(2, "L2", 21, 9, 8, [2 * ByteSize.MiB], allowsTable: true);
        PageTableLevel l3 = new(3, "L3", 12, 9, 8, [4 * ByteSize.KiB], allowsTable: false);
        _geometry = vaBits > 39
            ? new PageTableGeometry(new PageTableLevel(0, "L0", 39, 9, 8, [], allowsTable: true), l1, l2, l3)
            : new PageTableGeometry(l1, l2, l3);
    }

    public static AArch64Format Va39 { get; } = new(39);

    public static AArch64Format Va48 { get; } = new(48);

    public override MmuFormat Id => _vaBits == 39 ? MmuFormat.AArch64Va39 : MmuFormat.AArch64Va48;

    public override string Name => _vaBits == 39 ? "aarch64-39" : "aarch64-48";

    public override int VirtualAddressBits => _vaBits;

    public override int PhysicalAddressBits => 48;

    /// <summary>The level the walk starts at: 0 for 48-bit VAs (four levels), 1 for 39-bit (three).</summary>
    public int StartLevel => _startLevel;

    /// <summary>One tree shape for both halves (TTBR0 and TTBR1 index the same VA bits below VA_BITS).</summary>
    public override PageTableGeometry Geometry => _geometry;

    public override string RootRegisterName => "TTBR0";

    /// <summary>
    /// TTBR0 = TTBR1 = the tree, so one tree serves both halves (each half indexes VA[VA_BITS−1:12]); Linux's TCR
    /// (A1, TBI0, 16-bit ASIDs, 48-bit IPS), ASID 0, PAN off, no hardware AF. Linux proper gives each half its own
    /// tree: <see cref="LinuxRegisters"/>.
    /// </summary>
    public override MmuRegisters CreateRegisters(PhysicalAddress root) => new()
    {
        Ttbr0 = Ttbr(root),
        Ttbr1 = Ttbr(root),
        Ttbcr = LinuxTcr(),
    };

    public override WalkRoot SelectRoot(in MmuRegisters registers, VirtualAddress va)
    {
        int select = SelectTtbr(registers.Ttbcr, va.Value);
        bool one = select == 1;
        ulong ttbr = one ? registers.Ttbr1 : registers.Ttbr0;
        FaultKind fault = select < 0 || (registers.Ttbcr & (one ? TcrEpd1 : TcrEpd0)) != 0 ? FaultKind.Translation : FaultKind.None;
        return new WalkRoot(new PhysicalAddress(ttbr & OutputMask), _geometry, one ? "TTBR1" : "TTBR0", ttbr, fault);
    }

    /// <summary>Either half: [0, 2^VA_BITS) for TTBR0 or [2^64 − 2^VA_BITS, 2^64) for TTBR1, not straddling.</summary>
    public override bool ContainsRange(VirtualAddress va, ulong size)
    {
        ulong last = va.Value + size - 1;
        if (size == 0 || last < va.Value)
        {
            return false;
        }

        ulong top = ~0UL << _vaBits;
        return (va.Value & top) == (last & top) && ((va.Value & top) == 0 || (va.Value & top) == top);
    }

    public override DecodedEntry Decode(in PageTableLevel level, ulong descriptor, in MmuRegisters registers)
    {
        if ((descriptor & ArmLongDescriptor.Valid) == 0)
        {
            return DecodedEntry.Invalid;
        }

        bool tableBit = (descriptor & ArmLongDescriptor.TableOrPage) != 0;
        if ((level.Number == 3 || level.Number == 0) && !tableBit)
        {
            return DecodedEntry.ReservedEncoding(FaultKind.Translation);
        }

        if (((descriptor & OutputMask) >> PaBits(registers.Ttbcr)) != 0)
        {
            return DecodedEntry.ReservedEncoding(FaultKind.AddressSize);
        }

        if (level.Number < 3 && tableBit)
        {
            return DecodedEntry.Table(new PhysicalAddress(descriptor & OutputMask), ArmLpaeFormat.TableMask(descriptor, aarch64: true));
        }

        ulong size = ArmLongDescriptor.BlockSize(level.Number);
        AccessRights rights = Rights(ArmLongDescriptor.EffectiveAp(descriptor, 0), (descriptor & ArmLongDescriptor.Xn) != 0, (descriptor & ArmLongDescriptor.Pxn) != 0);
        FaultKind fault = (descriptor & ArmLongDescriptor.Af) == 0 && !registers.HardwareAccessFlag ? FaultKind.AccessFlag : FaultKind.None;
        MemoryType type = ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxArm64, (int)((descriptor >> ArmLongDescriptor.AttrIndxShift) & 7)));
        const AccessRights userAny = AccessRights.UserRead | AccessRights.UserWrite | AccessRights.UserExecute;
        return DecodedEntry.Leaf(new PhysicalAddress(descriptor & OutputMask & ~(size - 1)), size, rights, (rights & userAny) != 0, (descriptor & ArmLongDescriptor.NotGlobal) == 0, type, 0, fault);
    }

    public override ulong EncodeTable(in PageTableLevel level, PhysicalAddress table, PageAttributes attributes) =>
        ArmLongDescriptor.Table(table, OutputMask);

    public override ulong EncodeLeaf(in PageTableLevel level, PhysicalAddress frame, ulong size, PageAttributes attributes) =>
        ArmLongDescriptor.Leaf(frame, level.Number, Attributes(attributes), OutputMask);

    /// <summary>Keeps every attribute bit; only the address and the block/page type change.</summary>
    public override ulong ConvertLeaf(in PageTableLevel from, ulong descriptor, in PageTableLevel to, PhysicalAddress frame, ulong size, in MmuRegisters registers) =>
        ArmLongDescriptor.Relocate(descriptor, OutputMask, to.Number, frame);

    public override IReadOnlyList<DescriptorField> Describe(int level, ulong descriptor) => ArmLongDescriptor.Describe(descriptor, level, OutputMask, aarch64: true);

    /// <summary>TCR_EL1.IPS as a bit count (D13.2.131); encodings above 48 bits are treated as 48, the model's PA width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PaBits(ulong tcr) => ((tcr >> TcrIpsShift) & 7) switch
    {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        _ => 48,
    };

    /// <summary>
    /// TCR_EL1 for this VA size: T0SZ = T1SZ = 64 − VA_BITS, 4 KiB granules, IPS 48 bits, 16-bit ASIDs, and the
    /// requested EPD/A1/TBI/HA bits. The walker takes VA_BITS from the format and reads EPD0/EPD1, TBI0/TBI1,
    /// IPS and A1 from the register.
    /// </summary>
    public ulong Tcr(bool epd0 = false, bool epd1 = false, bool a1 = false, bool tbi0 = false, bool tbi1 = false, bool hardwareAccessFlag = false)
    {
        ulong tsz = (ulong)(64 - _vaBits);
        return (tsz << TcrT0szShift) | (tsz << TcrT1szShift) | TcrTg1Granule4K | TcrIps48 | TcrAs
            | (epd0 ? TcrEpd0 : 0) | (epd1 ? TcrEpd1 : 0) | (a1 ? TcrA1 : 0)
            | (tbi0 ? TcrTbi0 : 0) | (tbi1 ? TcrTbi1 : 0) | (hardwareAccessFlag ? TcrHa : 0);
    }

    /// <summary>Linux's TCR_EL1 (arch/arm64/mm/proc.S __cpu_setup): TCR_A1 (ASID in TTBR1), TCR_TBI0, TCR_ASID16.</summary>
    public ulong LinuxTcr() => Tcr(a1: true, tbi0: true);

    /// <summary>A TTBR value: BADDR in bits 47:12 for a full 4 KiB table, ASID in bits 63:48.</summary>
    public static ulong Ttbr(PhysicalAddress table, int asid = 0)
    {
        if ((uint)asid > 0xFFFF || (table.Value & ~OutputMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(asid), $"AArch64 TTBR needs a 16-bit ASID ({asid}) and a 4 KiB-aligned 48-bit base ({table})");
        }

        return table.Value | ((ulong)asid << 48);
    }

    /// <summary>The ASID the TLB tags new entries with: TTBR1[63:48] when TCR.A1 (Linux), else TTBR0; 8 bits unless TCR.AS.</summary>
    public static int CurrentAsid(in MmuRegisters registers)
    {
        ulong asid = (((registers.Ttbcr & TcrA1) != 0 ? registers.Ttbr1 : registers.Ttbr0) >> 48) & 0xFFFF;
        return (int)((registers.Ttbcr & TcrAs) != 0 ? asid : asid & 0xFF);
    }

    /// <summary>Registers as Linux sets them: user tables in TTBR0, swapper_pg_dir and the ASID in TTBR1 (TCR.A1).</summary>
    public MmuRegisters LinuxRegisters(PhysicalAddress userTable, PhysicalAddress kernelTable, int asid, bool pan = false, bool hardwareAccessFlag = false) => new()
    {
        Ttbr0 = Ttbr(userTable),
        Ttbr1 = Ttbr(kernelTable, asid),
        Ttbcr = LinuxTcr() | (hardwareAccessFlag ? TcrHa : 0),
        Pan = pan,
        HardwareAccessFlag = hardwareAccessFlag,
    };

    /// <summary>
    /// Which TTBR translates <paramref name="va"/>: bit 55 selects, and bits [top:VA_BITS] must all equal it
    /// (top is 55 with top-byte-ignore for that half, else 63). Returns 0, 1, or −1 when out of range.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int SelectTtbr(ulong tcr, ulong va)
    {
        int select = (int)((va >> 55) & 1);
        bool tbi = (tcr & (select == 0 ? TcrTbi0 : TcrTbi1)) != 0;
        int top = tbi ? 55 : 63;
        ulong mask = (1UL << (top - _vaBits + 1)) - 1;
        ulong upper = (va >> _vaBits) & mask;
        return upper == (select == 0 ? 0 : mask) ? select : -1;
    }

    /// <summary>
    /// The neutral request in AArch64 terms, as Linux's PAGE_* values encode it (arch/arm64/include/asm/pgtable-prot.h):
    /// AF and SH always, nG for non-global; kernel pages UXN (PXN unless executable); user pages PXN (UXN unless
    /// executable), and a user execute-only page is AP=10 with UXN clear (PAGE_EXECONLY).
    /// </summary>
    public static ArmLongAttributes Attributes(PageAttributes a)
    {
        int ap;
        if (a.User)
        {
            ap = a.Write ? 0b01 : a.Read ? 0b11 : 0b10;
        }
        else
        {
            ap = a.Write ? 0b00 : 0b10;
        }

        bool exec = a.Execute;
        return new ArmLongAttributes((byte)ArmMair.Arm64Index(a.MemoryType), (byte)ap, ArmLongDescriptor.InnerShareable, Af: true, NotGlobal: !a.Global, Pxn: a.User || !exec, Xn: !a.User || !exec);
    }

    /// <summary>The neutral view of an AArch64 leaf (Linux MAIR_EL1 for the memory type).</summary>
    public static PageAttributes ToNeutral(ArmLongAttributes a)
    {
        AccessRights r = Rights(a.Ap, a.Xn, a.Pxn);
        const AccessRights userAny = AccessRights.UserRead | AccessRights.UserWrite | AccessRights.UserExecute;
        bool user = (r & userAny) != 0;
        PagePermissions p = PagePermissions.None;
        if ((r & (user ? AccessRights.UserRead : AccessRights.KernelRead)) != 0)
        {
            p |= PagePermissions.Read;
        }

        if ((r & (user ? AccessRights.UserWrite : AccessRights.KernelWrite)) != 0)
        {
            p |= PagePermissions.Write;
        }

        if ((r & (user ? AccessRights.UserExecute : AccessRights.KernelExecute)) != 0)
        {
            p |= PagePermissions.Execute;
        }

        return new PageAttributes(p, user, !a.NotGlobal, ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxArm64, a.AttrIndx)));
    }

    /// <summary>
    /// VMSAv8-64 stage 1 rights with two VA ranges (D5.4.5): AP[2:1] for data; EL0 may execute wherever UXN is
    /// clear, whatever AP says; EL1 may execute where PXN is clear unless EL0 can write the page. SCTLR_EL1.WXN
    /// is not modelled (Linux leaves it clear).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights Rights(int ap, bool uxn, bool pxn)
    {
        AccessRights r = ArmLongDescriptor.DataRights(ap);
        if (!uxn)
        {
            r |= AccessRights.UserExecute;
        }

        if (!pxn && (r & AccessRights.UserWrite) == 0)
        {
            r |= AccessRights.KernelExecute;
        }

        return r;
    }

    /// <summary>The framework's generic walk over <see cref="SelectRoot"/> and <see cref="Decode"/>, kept to cross-check the hand-written one.</summary>
    internal WalkResult GenericWalk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null) =>
        base.Walk(memory, registers, va, access, privilege, trace);

    public override WalkResult Walk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null)
    {
        ulong v = va.Value;
        ulong tcr = registers.Ttbcr;
        int select = SelectTtbr(tcr, v);
        if (trace is not null)
        {
            bool one = ((v >> 55) & 1) != 0;
            trace.Root = one ? "TTBR1" : "TTBR0";
            trace.RootValue = one ? registers.Ttbr1 : registers.Ttbr0;
        }

        if (select < 0)
        {
            return WalkResult.Faulted(FaultKind.Translation, 0, 0); // outside both VA ranges: a level 0 translation fault (AArch64.TranslationTableWalk)
        }

        if ((tcr & (select == 0 ? TcrEpd0 : TcrEpd1)) != 0)
        {
            return WalkResult.Faulted(FaultKind.Translation, 0, 0);
        }

        int paBits = PaBits(tcr);
        ulong tableBase = (select == 0 ? registers.Ttbr0 : registers.Ttbr1) & OutputMask;
        int level = _startLevel;
        int index = (int)((v >> ArmLongDescriptor.Shift(level)) & 511);
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
            if ((level == 3 && !tableBit) || (level == 0 && !tableBit))
            {
                trace?.Add(new WalkStep(level, new PhysicalAddress(tableBase), index, d, "reserved"));
                return WalkResult.Faulted(FaultKind.Translation, level, reads, d); // no level 0 blocks with 4 KiB granules; 01 is reserved at level 3
            }

            if (((d & OutputMask) >> paBits) != 0)
            {
                trace?.Add(new WalkStep(level, new PhysicalAddress(tableBase), index, d, tableBit && level < 3 ? "table" : level == 3 ? "page" : "block"));
                return WalkResult.Faulted(FaultKind.AddressSize, level, reads, d); // output address beyond TCR_EL1.IPS
            }

            if (level < 3 && tableBit)
            {
                trace?.Add(new WalkStep(level, new PhysicalAddress(tableBase), index, d, "table"));
                table = table.Merge(d);
                tableBase = d & OutputMask;
                level++;
                index = (int)((v >> ArmLongDescriptor.Shift(level)) & 511);
                continue;
            }

            trace?.Add(new WalkStep(level, new PhysicalAddress(tableBase), index, d, level == 3 ? "page" : "block"));
            if ((d & ArmLongDescriptor.Af) == 0)
            {
                if (!registers.HardwareAccessFlag)
                {
                    return WalkResult.Faulted(FaultKind.AccessFlag, level, reads, d);
                }

                d |= ArmLongDescriptor.Af;
                memory.WriteUInt64(address, d); // ARMv8.1 TCR_EL1.HA: the walker sets AF itself
            }

            ulong size = ArmLongDescriptor.BlockSize(level);
            int ap = ArmLongDescriptor.EffectiveAp(d, table.ApTable);
            AccessRights rights = Rights(ap, (d & ArmLongDescriptor.Xn) != 0 || table.XnTable, (d & ArmLongDescriptor.Pxn) != 0 || table.PxnTable);
            bool user = (rights & (AccessRights.UserRead | AccessRights.UserWrite | AccessRights.UserExecute)) != 0;
            MemoryType type = ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxArm64, (int)((d >> ArmLongDescriptor.AttrIndxShift) & 7)));
            FaultKind fault = Check(rights, access, privilege, registers.Pan);
            return new WalkResult(fault, level, new VirtualAddress(v & ~(size - 1)), new PhysicalAddress(d & OutputMask & ~(size - 1)), size, rights, user, (d & ArmLongDescriptor.NotGlobal) == 0, type, 0, reads, d);
        }
    }

    public override FaultKind CheckAccess(AccessRights rights, bool user, byte domain, AccessType access, Privilege privilege, in MmuRegisters registers) =>
        Check(rights, access, privilege, registers.Pan);

    /// <summary>
    /// ARMv8.1 PAN: with PSTATE.PAN set, an EL1 data access to data EL0 can read or write faults; fetches are not
    /// affected, nor is execute-only user memory (that needs ARMv8.7 EPAN, not modelled).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FaultKind Check(AccessRights rights, AccessType access, Privilege privilege, bool pan)
    {
        if (pan && privilege == Privilege.Kernel && access != AccessType.Execute && (rights & (AccessRights.UserRead | AccessRights.UserWrite)) != 0)
        {
            return FaultKind.Permission;
        }

        return rights.Allows(privilege, access) ? FaultKind.None : FaultKind.Permission;
    }
}
