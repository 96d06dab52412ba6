using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Paging.Arm;

/// <summary>
/// The lower and upper attributes of a long-descriptor block or page, in the architecture's terms.
/// <c>Ap</c> is AP[2:1] as a two-bit number (AP[2] read-only in bit 1, AP[1] EL0/PL0 access in bit 0);
/// <c>Xn</c> is XN on ARMv7 LPAE and UXN on AArch64 (both bit 54).
/// </summary>
public readonly record struct ArmLongAttributes(byte AttrIndx, byte Ap, byte Sh, bool Af, bool NotGlobal, bool Pxn, bool Xn, bool Contiguous = false);

/// <summary>Hierarchical attributes of a table descriptor (ARM DDI 0487 D5.3.3; ARM DDI 0406C B3.6.1).</summary>
public readonly record struct ArmTableAttributes(bool PxnTable, bool XnTable, byte ApTable)
{
    public static ArmTableAttributes None => default;

    /// <summary>Restrictions accumulate down the walk: any level may only take rights away.</summary>
    public ArmTableAttributes Merge(ulong tableDescriptor) => new(
        PxnTable || (tableDescriptor & ArmLongDescriptor.PxnTable) != 0,
        XnTable || (tableDescriptor & ArmLongDescriptor.XnTable) != 0,
        (byte)(ApTable | (int)((tableDescriptor >> ArmLongDescriptor.ApTableShift) & 3)));
}

/// <summary>
/// The 64-bit long-descriptor encoding shared by ARMv7 LPAE (ARM DDI 0406C B3.6.1, Linux
/// arch/arm/include/asm/pgtable-3level-hwdef.h) and AArch64 with a 4 KiB granule (ARM DDI 0487 D5.3,
/// Linux arch/arm64/include/asm/pgtable-hwdef.h). Bits 1:0: x0 invalid, 01 block, 11 table or page.
/// </summary>
public static class ArmLongDescriptor
{
    public const int Entries = 512;
    public const ulong TableBytes = Entries * 8;

    public const ulong Valid = 1UL << 0;
    public const ulong TableOrPage = 1UL << 1;
    public const int AttrIndxShift = 2;
    public const ulong AttrIndxMask = 7UL << AttrIndxShift;
    public const ulong Ns = 1UL << 5;

    /// <summary>AP[1]: EL0/PL0 may access (Linux PTE_USER, PMD_SECT_AP1).</summary>
    public const ulong ApUser = 1UL << 6;

    /// <summary>AP[2]: read-only at every privilege (Linux PTE_RDONLY, PTE_AP2).</summary>
    public const ulong ApReadOnly = 1UL << 7;
    public const int ShShift = 8;
    public const ulong ShMask = 3UL << ShShift;
    public const ulong Af = 1UL << 10;
    public const ulong NotGlobal = 1UL << 11;
    public const ulong Dbm = 1UL << 51;
    public const ulong Contiguous = 1UL << 52;
    public const ulong Pxn = 1UL << 53;

    /// <summary>XN on ARMv7 LPAE, UXN on AArch64.</summary>
    public const ulong Xn = 1UL << 54;
    public const ulong PxnTable = 1UL << 59;

    /// <summary>XNTable on ARMv7 LPAE, UXNTable on AArch64.</summary>
    public const ulong XnTable = 1UL << 60;
    public const int ApTableShift = 61;

    /// <summary>APTable[0]: no EL0/PL0 access below this table.</summary>
    public const ulong ApTableNoUser = 1UL << 61;

    /// <summary>APTable[1]: no write access at any privilege below this table.</summary>
    public const ulong ApTableReadOnly = 1UL << 62;
    public const ulong NsTable = 1UL << 63;

    /// <summary>Inner shareable, what Linux uses for every SMP mapping (PTE_SHARED, PMD_SECT_S).</summary>
    public const byte InnerShareable = 0b11;

    /// <summary>Bytes a leaf at <paramref name="level"/> maps with a 4 KiB granule: L1 1 GiB, L2 2 MiB, L3 4 KiB.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Shift(int level) => 12 + (9 * (3 - level));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong BlockSize(int level) => 1UL << Shift(level);

    /// <summary>A table descriptor pointing at <paramref name="next"/> with optional hierarchical restrictions.</summary>
    public static ulong Table(PhysicalAddress next, ulong outputMask, ArmTableAttributes restrictions = default)
    {
        CheckAddress(next, outputMask, TableBytes, "table");
        return next.Value
            | (restrictions.PxnTable ? PxnTable : 0)
            | (restrictions.XnTable ? XnTable : 0)
            | ((ulong)(restrictions.ApTable & 3) << ApTableShift)
            | TableOrPage | Valid;
    }

    /// <summary>A block (level 1 or 2) or page (level 3) descriptor.</summary>
    public static ulong Leaf(PhysicalAddress pa, int level, ArmLongAttributes a, ulong outputMask)
    {
        if (level is < 1 or > 3)
        {
            throw new ArgumentOutOfRangeException(nameof(level), $"4 KiB-granule blocks exist at levels 1 and 2, pages at level 3, not level {level}");
        }

        CheckAddress(pa, outputMask, BlockSize(level), level == 3 ? "page" : "block");
        return pa.Value | Attributes(a) | (level == 3 ? TableOrPage : 0) | Valid;
    }

    /// <summary>The same leaf at another address and level: attributes kept, Contiguous cleared, bits[1:0] set for a block (01) or page (11).</summary>
    public static ulong Relocate(ulong descriptor, ulong outputMask, int level, PhysicalAddress frame)
    {
        CheckAddress(frame, outputMask, BlockSize(level), level == 3 ? "page" : "block");
        return (descriptor & ~(outputMask | Contiguous | TableOrPage)) | frame.Value | (level == 3 ? TableOrPage : 0) | Valid;
    }

    private static ulong Attributes(ArmLongAttributes a) =>
        ((ulong)(a.AttrIndx & 7) << AttrIndxShift)
        | ((a.Ap & 1) != 0 ? ApUser : 0)
        | ((a.Ap & 2) != 0 ? ApReadOnly : 0)
        | ((ulong)(a.Sh & 3) << ShShift)
        | (a.Af ? Af : 0)
        | (a.NotGlobal ? NotGlobal : 0)
        | (a.Contiguous ? Contiguous : 0)
        | (a.Pxn ? Pxn : 0)
        | (a.Xn ? Xn : 0);

    private static void CheckAddress(PhysicalAddress pa, ulong outputMask, ulong alignment, string what)
    {
        if ((pa.Value & ~outputMask) != 0 || !pa.IsAligned(alignment))
        {
            throw new ArgumentOutOfRangeException(nameof(pa), $"long-descriptor {what} address {pa} must be {ByteSize.Format(alignment)}-aligned and within {ByteSize.Hex(outputMask | 0xFFF)}");
        }
    }

    /// <summary>The attribute fields of a block or page descriptor.</summary>
    public static ArmLongAttributes AttributesOf(ulong d) => new(
        (byte)((d >> AttrIndxShift) & 7),
        (byte)(((d & ApReadOnly) != 0 ? 2 : 0) | ((d & ApUser) != 0 ? 1 : 0)),
        (byte)((d >> ShShift) & 3),
        (d & Af) != 0,
        (d & NotGlobal) != 0,
        (d & Pxn) != 0,
        (d & Xn) != 0,
        (d & Contiguous) != 0);

    /// <summary>AP[2:1] and APTable folded together: APTable[0] clears AP[1], APTable[1] sets AP[2] (D5.4.5).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EffectiveAp(ulong d, int apTable)
    {
        int ap = ((d & ApReadOnly) != 0 ? 2 : 0) | ((d & ApUser) != 0 ? 1 : 0);
        if ((apTable & 1) != 0)
        {
            ap &= ~1;
        }

        return ap | (apTable & 2);
    }

    /// <summary>Read/write rights of AP[2:1]: 00 EL1 RW, 01 RW both, 10 EL1 RO, 11 RO both (B3.7.1, D5.4.5).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights DataRights(int ap) => ap switch
    {
        0b00 => AccessRights.KernelRead | AccessRights.KernelWrite,
        0b01 => AccessRights.KernelRead | AccessRights.KernelWrite | AccessRights.UserRead | AccessRights.UserWrite,
        0b10 => AccessRights.KernelRead,
        _ => AccessRights.KernelRead | AccessRights.UserRead,
    };

    /// <summary>The descriptor's fields as the ARM ARM names them; <paramref name="aarch64"/> says UXN rather than XN.</summary>
    public static IReadOnlyList<DescriptorField> Describe(ulong d, int level, ulong outputMask, bool aarch64)
    {
        List<DescriptorField> f = [new("Valid", d & 1)];
        if ((d & Valid) == 0)
        {
            return f;
        }

        bool tableBit = (d & TableOrPage) != 0;
        if (tableBit && level < 3)
        {
            f.Add(new("next", d & outputMask, IsAddress: true));
            f.Add(new("NSTable", Bit(d, 63)));
            f.Add(new("APTable", (d >> ApTableShift) & 3));
            f.Add(new(aarch64 ? "UXNTable" : "XNTable", Bit(d, 60)));
            f.Add(new("PXNTable", Bit(d, 59)));
            return f;
        }

        f.Add(new("OA", d & outputMask & ~(BlockSize(Math.Max(level, 1)) - 1), IsAddress: true));
        f.Add(new(aarch64 ? "UXN" : "XN", Bit(d, 54)));
        f.Add(new("PXN", Bit(d, 53)));
        f.Add(new("Contiguous", Bit(d, 52)));
        f.Add(new("nG", Bit(d, 11)));
        f.Add(new("AF", Bit(d, 10)));
        f.Add(new("SH", (d >> ShShift) & 3));
        f.Add(new("AP[2:1]", (d >> 6) & 3));
        f.Add(new("NS", Bit(d, 5)));
        f.Add(new("AttrIndx", (d >> AttrIndxShift) & 7));
        return f;
    }

    private static ulong Bit(ulong d, int bit) => (d >> bit) & 1;
}
