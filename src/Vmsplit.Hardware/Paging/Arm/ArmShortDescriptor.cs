using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Paging.Arm;

/// <summary>DACR field values, two bits per domain (ARM DDI 0406C B4.1.43).</summary>
public enum DomainAccess : byte
{
    /// <summary>Any access generates a Domain fault.</summary>
    NoAccess = 0b00,

    /// <summary>Accesses are checked against the descriptor's AP and XN bits.</summary>
    Client = 0b01,

    /// <summary>Reserved encoding; Vmsplit treats it as no access (its behaviour is UNPREDICTABLE).</summary>
    Reserved = 0b10,

    /// <summary>Accesses are not checked: AP, XN and PXN are ignored.</summary>
    Manager = 0b11,
}

/// <summary>What a first- or second-level short descriptor is, from its type bits.</summary>
public enum ArmShortKind : byte
{
    Fault,
    PageTable,
    Section,
    Supersection,
    LargePage,
    SmallPage,
}

/// <summary>
/// The attribute fields a short-descriptor section or page carries, in the architecture's own terms:
/// <c>Ap</c> is AP[2:0] (AP[2] is APX), TEX/C/B select the memory type (SCTLR.TRE=0), S, nG, XN, PXN.
/// </summary>
public readonly record struct ArmShortAttributes(byte Ap, byte Tex, bool C, bool B, bool S, bool NotGlobal, bool Xn, bool Pxn)
{
    /// <summary>
    /// The nearest encoding of a neutral request, chosen as Linux does on an SMP ARMv7 (S set, nG on user
    /// pages, PXN on user sections; AP values from arch/arm/mm/proc-v7-2level.S cpu_v7_set_pte_ext).
    /// </summary>
    public static ArmShortAttributes FromNeutral(PageAttributes attributes)
    {
        byte ap;
        if (attributes.Permissions == PagePermissions.None)
        {
            ap = 0b000; // no access at any privilege (ARM DDI 0406C table B3-8)
        }
        else if (attributes.User)
        {
            ap = attributes.Write ? (byte)0b011 : (byte)0b111;
        }
        else
        {
            ap = attributes.Write ? (byte)0b001 : (byte)0b101;
        }

        (byte tex, bool c, bool b) = ArmShortDescriptor.EncodeMemoryType(attributes.MemoryType);
        return new ArmShortAttributes(ap, tex, c, b, S: true, NotGlobal: !attributes.Global, Xn: !attributes.Execute, Pxn: attributes.User);
    }

    /// <summary>The neutral view: who may read and write (per AP), execute (XN), global (nG) and the memory type.</summary>
    public PageAttributes ToNeutral()
    {
        AccessRights rights = ArmShortDescriptor.RightsFromAp(Ap);
        bool user = (rights & AccessRights.UserRead) != 0;
        PagePermissions p = PagePermissions.None;
        if (user ? (rights & AccessRights.UserRead) != 0 : (rights & AccessRights.KernelRead) != 0)
        {
            p |= PagePermissions.Read;
        }

        if (user ? (rights & AccessRights.UserWrite) != 0 : (rights & AccessRights.KernelWrite) != 0)
        {
            p |= PagePermissions.Write;
        }

        if (!Xn && p != PagePermissions.None)
        {
            p |= PagePermissions.Execute;
        }

        return new PageAttributes(p, user, !NotGlobal, ArmShortDescriptor.DecodeMemoryType(Tex, C, B));
    }
}

/// <summary>
/// ARMv7-A short-descriptor translation table encodings (ARM DDI 0406C B3.5.1, figures B3-4 and B3-5;
/// Linux arch/arm/include/asm/pgtable-2level-hwdef.h). First-level table: 4096 × 4 bytes, 16 KiB aligned;
/// second-level table: 256 × 4 bytes. The core is LPAE-capable, so section bit 0 is PXN and page-table
/// bit 2 is PXNTABLE.
/// </summary>
public static class ArmShortDescriptor
{
    public const int L1Entries = 4096;
    public const int L2Entries = 256;
    public const ulong L1TableBytes = L1Entries * 4;
    public const ulong L2TableBytes = L2Entries * 4;

    public const ulong SectionSize = 1UL << 20;
    public const ulong SupersectionSize = 1UL << 24;
    public const ulong LargePageSize = 1UL << 16;
    public const ulong SmallPageSize = 1UL << 12;

    /// <summary>Supersections and large pages are repeated in this many consecutive entries.</summary>
    public const int RepeatCount = 16;

    // First level (B3.5.1 figure B3-4).
    public const uint TypeMask = 0b11;
    public const uint TypePageTable = 0b01;
    public const uint TypeSection = 0b10;
    public const uint SectionPxn = 1u << 0;
    public const uint PageTablePxn = 1u << 2;
    public const uint PageTableNs = 1u << 3;
    public const int DomainShift = 5;
    public const uint DomainMask = 0xFu << DomainShift;
    public const uint SectionB = 1u << 2;
    public const uint SectionC = 1u << 3;
    public const uint SectionXn = 1u << 4;
    public const int SectionApShift = 10;
    public const int SectionTexShift = 12;
    public const uint SectionApx = 1u << 15;
    public const uint SectionS = 1u << 16;
    public const uint SectionNg = 1u << 17;
    public const uint SectionSupersection = 1u << 18;
    public const uint SectionNs = 1u << 19;
    public const uint SectionBaseMask = 0xFFF0_0000;
    public const uint SupersectionBaseMask = 0xFF00_0000;
    public const uint PageTableBaseMask = 0xFFFF_FC00;

    // Second level (B3.5.1 figure B3-5).
    public const uint TypeLargePage = 0b01;
    public const uint TypeSmallPage = 0b10;
    public const uint SmallXn = 1u << 0;
    public const uint PageB = 1u << 2;
    public const uint PageC = 1u << 3;
    public const int PageApShift = 4;
    public const int SmallTexShift = 6;
    public const uint PageApx = 1u << 9;
    public const uint PageS = 1u << 10;
    public const uint PageNg = 1u << 11;
    public const int LargeTexShift = 12;
    public const uint LargeXn = 1u << 15;
    public const uint LargeBaseMask = 0xFFFF_0000;
    public const uint SmallBaseMask = 0xFFFF_F000;

    /// <summary>Supersections reach 40-bit physical addresses: PA[35:32] in bits 23:20, PA[39:36] in bits 8:5.</summary>
    public const ulong SupersectionMaxAddress = (1UL << 40) - 1;

    /// <summary>Linux's domain numbers (arch/arm/include/asm/domain.h without CONFIG_IO_36).</summary>
    public const int LinuxDomainKernel = 0;
    public const int LinuxDomainUser = 1;
    public const int LinuxDomainIo = 2;
    public const int LinuxDomainVectors = 3;

    // ---- Encoders ----

    /// <summary>A page-table (first-level) descriptor: L2 base [31:10], domain, PXNTABLE.</summary>
    public static uint PageTable(PhysicalAddress l2Table, int domain, bool pxnTable = false)
    {
        CheckAddress(l2Table, 32, L2TableBytes, "second-level table");
        CheckDomain(domain);
        return ((uint)l2Table.Value & PageTableBaseMask) | ((uint)domain << DomainShift) | (pxnTable ? PageTablePxn : 0) | TypePageTable;
    }

    /// <summary>A 1 MiB section descriptor.</summary>
    public static uint Section(PhysicalAddress pa, ArmShortAttributes a, int domain)
    {
        CheckAddress(pa, 32, SectionSize, "section");
        CheckDomain(domain);
        return ((uint)pa.Value & SectionBaseMask) | SectionFields(a) | ((uint)domain << DomainShift);
    }

    /// <summary>A 16 MiB supersection descriptor (always domain 0), PA up to 40 bits.</summary>
    public static uint Supersection(PhysicalAddress pa, ArmShortAttributes a)
    {
        CheckAddress(pa, 40, SupersectionSize, "supersection");
        ulong v = pa.Value;
        uint baseBits = ((uint)v & SupersectionBaseMask) | ((uint)((v >> 32) & 0xF) << 20) | ((uint)((v >> 36) & 0xF) << 5);
        return baseBits | SectionFields(a) | SectionSupersection;
    }

    /// <summary>A 64 KiB large-page descriptor (to be repeated in 16 consecutive L2 entries).</summary>
    public static uint LargePage(PhysicalAddress pa, ArmShortAttributes a)
    {
        CheckAddress(pa, 32, LargePageSize, "large page");
        return ((uint)pa.Value & LargeBaseMask)
            | (a.Xn ? LargeXn : 0)
            | ((uint)(a.Tex & 7) << LargeTexShift)
            | PageCommon(a)
            | TypeLargePage;
    }

    /// <summary>A 4 KiB small-page descriptor ("extended small page", XN in bit 0).</summary>
    public static uint SmallPage(PhysicalAddress pa, ArmShortAttributes a)
    {
        CheckAddress(pa, 32, SmallPageSize, "small page");
        return ((uint)pa.Value & SmallBaseMask)
            | ((uint)(a.Tex & 7) << SmallTexShift)
            | PageCommon(a)
            | TypeSmallPage
            | (a.Xn ? SmallXn : 0);
    }

    private static uint SectionFields(ArmShortAttributes a) =>
        (a.NotGlobal ? SectionNg : 0)
        | (a.S ? SectionS : 0)
        | ((a.Ap & 4) != 0 ? SectionApx : 0)
        | ((uint)(a.Tex & 7) << SectionTexShift)
        | ((uint)(a.Ap & 3) << SectionApShift)
        | (a.Xn ? SectionXn : 0)
        | (a.C ? SectionC : 0)
        | (a.B ? SectionB : 0)
        | TypeSection
        | (a.Pxn ? SectionPxn : 0);

    private static uint PageCommon(ArmShortAttributes a) =>
        (a.NotGlobal ? PageNg : 0)
        | (a.S ? PageS : 0)
        | ((a.Ap & 4) != 0 ? PageApx : 0)
        | ((uint)(a.Ap & 3) << PageApShift)
        | (a.C ? PageC : 0)
        | (a.B ? PageB : 0);

    private static void CheckAddress(PhysicalAddress pa, int bits, ulong alignment, string what)
    {
        if (pa.Value >> bits != 0 || !pa.IsAligned(alignment))
        {
            throw new ArgumentOutOfRangeException(nameof(pa), $"arm-short {what} address {pa} must be {ByteSize.Format(alignment)}-aligned and below 2^{bits}");
        }
    }

    private static void CheckDomain(int domain)
    {
        if ((uint)domain > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(domain), $"domain {domain} is not 0..15");
        }
    }

    // ---- Decoders ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ArmShortKind KindL1(uint d) => (d & TypeMask) switch
    {
        0 => ArmShortKind.Fault,
        TypePageTable => ArmShortKind.PageTable,
        _ => (d & SectionSupersection) != 0 ? ArmShortKind.Supersection : ArmShortKind.Section,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ArmShortKind KindL2(uint d) => (d & TypeMask) switch
    {
        0 => ArmShortKind.Fault,
        TypeLargePage => ArmShortKind.LargePage,
        _ => ArmShortKind.SmallPage,
    };

    /// <summary>The output address of a section or supersection (supersection: PA[39:32] from bits 8:5 and 23:20).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SectionBase(uint d) => (d & SectionSupersection) == 0
        ? d & SectionBaseMask
        : (d & SupersectionBaseMask) | ((ulong)((d >> 20) & 0xF) << 32) | ((ulong)((d >> 5) & 0xF) << 36);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Domain(uint l1) => (int)((l1 >> DomainShift) & 0xF);

    public static ArmShortAttributes SectionAttributes(uint d) => new(
        (byte)(((d & SectionApx) != 0 ? 4 : 0) | (int)((d >> SectionApShift) & 3)),
        (byte)((d >> SectionTexShift) & 7),
        (d & SectionC) != 0,
        (d & SectionB) != 0,
        (d & SectionS) != 0,
        (d & SectionNg) != 0,
        (d & SectionXn) != 0,
        (d & SectionPxn) != 0);

    public static ArmShortAttributes PageAttributesOf(uint d, bool pxnTable)
    {
        bool large = (d & TypeMask) == TypeLargePage;
        return new ArmShortAttributes(
            (byte)(((d & PageApx) != 0 ? 4 : 0) | (int)((d >> PageApShift) & 3)),
            (byte)((d >> (large ? LargeTexShift : SmallTexShift)) & 7),
            (d & PageC) != 0,
            (d & PageB) != 0,
            (d & PageS) != 0,
            (d & PageNg) != 0,
            large ? (d & LargeXn) != 0 : (d & SmallXn) != 0,
            pxnTable);
    }

    /// <summary>
    /// Read/write rights of AP[2:0] with SCTLR.AFE=0 (ARM DDI 0406C table B3-8). 0b100 is reserved and
    /// grants nothing here; 0b110 is the deprecated duplicate of 0b111.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights RightsFromAp(int ap) => ap switch
    {
        0b001 => AccessRights.KernelRead | AccessRights.KernelWrite,
        0b010 => AccessRights.KernelRead | AccessRights.KernelWrite | AccessRights.UserRead,
        0b011 => AccessRights.KernelRead | AccessRights.KernelWrite | AccessRights.UserRead | AccessRights.UserWrite,
        0b101 => AccessRights.KernelRead,
        0b110 or 0b111 => AccessRights.KernelRead | AccessRights.UserRead,
        _ => AccessRights.None,
    };

    /// <summary>
    /// Everything a mapping grants: AP rights plus execute where XN (and PXN for PL1) allow it; an instruction
    /// fetch also needs read permission at its privilege (B3.7.2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights Rights(int ap, bool xn, bool pxn)
    {
        AccessRights r = RightsFromAp(ap);
        if (!xn)
        {
            if (!pxn && (r & AccessRights.KernelRead) != 0)
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

    /// <summary>TEX/C/B for a neutral memory type with SCTLR.TRE=0 (ARM DDI 0406C table B3-10).</summary>
    public static (byte Tex, bool C, bool B) EncodeMemoryType(MemoryType type) => type switch
    {
        MemoryType.WriteThrough => (0b000, true, false),
        MemoryType.NonCacheable => (0b001, false, false),
        MemoryType.Device => (0b000, false, true),
        MemoryType.StronglyOrdered => (0b000, false, false),
        _ => (0b001, true, true), // Normal, outer and inner write-back write-allocate (Linux PMD_SECT_WBWA)
    };

    /// <summary>
    /// The memory type TEX/C/B select with SCTLR.TRE=0 (table B3-10). Reserved encodings decode as
    /// strongly-ordered; TEX=1xx (separate inner/outer policies) is classified by its inner policy C:B.
    /// </summary>
    public static MemoryType DecodeMemoryType(byte tex, bool c, bool b)
    {
        int cb = (c ? 2 : 0) | (b ? 1 : 0);
        if ((tex & 4) != 0)
        {
            return cb switch
            {
                0b00 => MemoryType.NonCacheable,
                0b10 => MemoryType.WriteThrough,
                _ => MemoryType.Normal,
            };
        }

        return (tex, cb) switch
        {
            (0b000, 0b00) => MemoryType.StronglyOrdered,
            (0b000, 0b01) => MemoryType.Device,
            (0b000, 0b10) => MemoryType.WriteThrough,
            (0b000, 0b11) => MemoryType.Normal,
            (0b001, 0b00) => MemoryType.NonCacheable,
            (0b001, 0b11) => MemoryType.Normal,
            (0b010, 0b00) => MemoryType.Device,
            _ => MemoryType.StronglyOrdered,
        };
    }

    // ---- DACR ----

    /// <summary>A DACR value with <paramref name="access"/> for <paramref name="domain"/> and every other field unchanged.</summary>
    public static uint WithDomain(uint dacr, int domain, DomainAccess access)
    {
        CheckDomain(domain);
        int shift = 2 * domain;
        return (dacr & ~(3u << shift)) | ((uint)access << shift);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DomainAccess DomainAccessOf(uint dacr, int domain) => (DomainAccess)((dacr >> (2 * domain)) & 3);

    /// <summary>
    /// Linux's DACR (arch/arm/include/asm/domain.h, CONFIG_CPU_SW_DOMAIN_PAN, no CONFIG_CPU_USE_DOMAINS so
    /// DOMAIN_MANAGER is client): kernel, io and vectors client; user client only inside uaccess
    /// (DACR_UACCESS_ENABLE = 0x55), otherwise no access (DACR_UACCESS_DISABLE = 0x51).
    /// </summary>
    public static uint LinuxDacr(bool userAccessEnabled)
    {
        uint dacr = WithDomain(0, LinuxDomainKernel, DomainAccess.Client);
        dacr = WithDomain(dacr, LinuxDomainIo, DomainAccess.Client);
        dacr = WithDomain(dacr, LinuxDomainVectors, DomainAccess.Client);
        return WithDomain(dacr, LinuxDomainUser, userAccessEnabled ? DomainAccess.Client : DomainAccess.NoAccess);
    }

    // ---- Display ----

    /// <summary>The descriptor's fields as the ARM ARM names them (figures B3-4 and B3-5).</summary>
    public static IReadOnlyList<DescriptorField> Describe(uint d, int level)
    {
        ArmShortKind kind = level == 1 ? KindL1(d) : KindL2(d);
        List<DescriptorField> f = new();
        switch (kind)
        {
            case ArmShortKind.Fault:
                f.Add(new("type", d & TypeMask));
                return f;
            case ArmShortKind.PageTable:
                f.Add(new("base", d & PageTableBaseMask, IsAddress: true));
                f.Add(new("Domain", (ulong)Domain(d)));
                f.Add(new("NS", Bit(d, 3)));
                f.Add(new("PXN", Bit(d, 2)));
                return f;
            case ArmShortKind.Section:
            case ArmShortKind.Supersection:
                f.Add(new("PA", SectionBase(d), IsAddress: true));
                f.Add(new("NS", Bit(d, 19)));
                f.Add(new("nG", Bit(d, 17)));
                f.Add(new("S", Bit(d, 16)));
                f.Add(new("AP[2]", Bit(d, 15)));
                f.Add(new("TEX[2:0]", (d >> 12) & 7));
                f.Add(new("AP[1:0]", (d >> 10) & 3));
                if (kind == ArmShortKind.Section)
                {
                    f.Add(new("Domain", (ulong)Domain(d)));
                }

                f.Add(new("XN", Bit(d, 4)));
                f.Add(new("C", Bit(d, 3)));
                f.Add(new("B", Bit(d, 2)));
                f.Add(new("PXN", Bit(d, 0)));
                return f;
            default:
                bool large = kind == ArmShortKind.LargePage;
                f.Add(new("PA", d & (large ? LargeBaseMask : SmallBaseMask), IsAddress: true));
                f.Add(new("nG", Bit(d, 11)));
                f.Add(new("S", Bit(d, 10)));
                f.Add(new("AP[2]", Bit(d, 9)));
                f.Add(new("TEX[2:0]", (d >> (large ? LargeTexShift : SmallTexShift)) & 7));
                f.Add(new("AP[1:0]", (d >> 4) & 3));
                f.Add(new("C", Bit(d, 3)));
                f.Add(new("B", Bit(d, 2)));
                f.Add(new("XN", large ? Bit(d, 15) : Bit(d, 0)));
                return f;
        }
    }

    private static ulong Bit(uint d, int bit) => (d >> bit) & 1;
}
