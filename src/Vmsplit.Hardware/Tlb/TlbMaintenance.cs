using Vmsplit.Hardware.Paging;

namespace Vmsplit.Hardware.Tlb;

/// <summary>
/// Every TLB maintenance operation Vmsplit executes, one value per architectural operation so that a
/// CPU profile can give each its own cost. The semantics are implemented by the TLB hierarchy of each CPU.
/// </summary>
public enum TlbMaintenanceOp : byte
{
    /// <summary>ARMv7 TLBIALL (ARMv7 ARM B4.2.2): every entry, global or not.</summary>
    ArmTlbiAll,

    /// <summary>TLBIALLIS: TLBIALL broadcast to every CPU in the inner-shareable domain (Multiprocessing Extensions).</summary>
    ArmTlbiAllIs,

    /// <summary>ARMv7 TLBIASID: non-global entries of one ASID.</summary>
    ArmTlbiAsid,

    ArmTlbiAsidIs,

    /// <summary>ARMv7 TLBIMVA: the VA in one ASID, and a global entry for the VA.</summary>
    ArmTlbiMva,

    ArmTlbiMvaIs,

    /// <summary>ARMv7 TLBIMVAA (Multiprocessing Extensions): the VA in every ASID.</summary>
    ArmTlbiMvaa,

    ArmTlbiMvaaIs,

    /// <summary>AArch64 TLBI VMALLE1 (ARM ARM DDI 0487F D5.10.2): every stage-1 EL1&amp;0 entry, global or not, any level.</summary>
    Arm64TlbiVmalle1,

    Arm64TlbiVmalle1Is,

    /// <summary>TLBI ASIDE1: non-global entries of one ASID, any level.</summary>
    Arm64TlbiAside1,

    Arm64TlbiAside1Is,

    /// <summary>TLBI VAE1: entries for the VA that are global or of the ASID, any level (walk caches included).</summary>
    Arm64TlbiVae1,

    Arm64TlbiVae1Is,

    /// <summary>TLBI VALE1: as VAE1 but last level only: walk-cache (table) entries are kept.</summary>
    Arm64TlbiVale1,

    Arm64TlbiVale1Is,

    /// <summary>TLBI VAAE1: entries for the VA in every ASID, global ones included, any level.</summary>
    Arm64TlbiVaae1,

    Arm64TlbiVaae1Is,

    /// <summary>TLBI VAALE1: as VAAE1, last level only.</summary>
    Arm64TlbiVaale1,

    Arm64TlbiVaale1Is,

    /// <summary>TLBI RVAE1 (ARMv8.4 FEAT_TLBIRANGE): VAE1 for every VA of a <see cref="TlbiRange"/>.</summary>
    Arm64TlbiRvae1,

    Arm64TlbiRvae1Is,

    /// <summary>TLBI RVALE1: VALE1 for every VA of the range.</summary>
    Arm64TlbiRvale1,

    Arm64TlbiRvale1Is,

    /// <summary>TLBI RVAAE1: VAAE1 for every VA of the range.</summary>
    Arm64TlbiRvaae1,

    Arm64TlbiRvaae1Is,

    /// <summary>TLBI RVAALE1: VAALE1 for every VA of the range.</summary>
    Arm64TlbiRvaale1,

    Arm64TlbiRvaale1Is,

    /// <summary>x86 MOV to CR3 with CR4.PCIDE=0: every non-global entry (Intel SDM Vol. 3A §4.10.4.1).</summary>
    X86Cr3Write,

    /// <summary>x86 MOV to CR3 with CR4.PCIDE=1 and bit 63 clear: non-global entries of the new PCID.</summary>
    X86Cr3WritePcidFlush,

    /// <summary>x86 MOV to CR3 with CR4.PCIDE=1 and bit 63 set: nothing invalidated.</summary>
    X86Cr3WriteNoFlush,

    /// <summary>x86 INVLPG: the VA in the current PCID plus a global entry for it; paging-structure caches of the current PCID.</summary>
    X86Invlpg,

    /// <summary>INVPCID type 0: one VA in one PCID, global entries kept.</summary>
    X86InvpcidAddress,

    /// <summary>INVPCID type 1: every non-global entry of one PCID.</summary>
    X86InvpcidSingleContext,

    /// <summary>INVPCID type 2: every entry, global ones included.</summary>
    X86InvpcidAllIncludingGlobal,

    /// <summary>INVPCID type 3: every non-global entry of every PCID.</summary>
    X86InvpcidAllNonGlobal,

    /// <summary>x86 CR4.PGE toggle: every entry including global ones (what Linux's __flush_tlb_all does without INVPCID).</summary>
    X86Cr4PgeToggle,

    /// <summary>RISC-V SFENCE.VMA x0, x0: every entry of every address space.</summary>
    RiscvSfenceVmaAll,

    /// <summary>SFENCE.VMA va, x0: leaf entries for the VA in every address space, global ones included.</summary>
    RiscvSfenceVmaVa,

    /// <summary>SFENCE.VMA x0, asid: every non-global entry of the ASID.</summary>
    RiscvSfenceVmaAsid,

    /// <summary>SFENCE.VMA va, asid: the VA in the ASID, global entries kept.</summary>
    RiscvSfenceVmaVaAsid,
}

/// <summary>What one maintenance operation removed, so that the kernel layer can charge its cost.</summary>
public readonly record struct TlbFlushResult(TlbMaintenanceOp Op, int TlbEntriesRemoved, int WalkCacheEntriesRemoved, int CpusAffected)
{
    public int TotalRemoved => TlbEntriesRemoved + WalkCacheEntriesRemoved;

    public static TlbFlushResult operator +(TlbFlushResult a, TlbFlushResult b) =>
        new(a.Op, a.TlbEntriesRemoved + b.TlbEntriesRemoved, a.WalkCacheEntriesRemoved + b.WalkCacheEntriesRemoved, a.CpusAffected + b.CpusAffected);
}

/// <summary>
/// The range operand of an ARMv8.4 TLBI RVA* (FEAT_TLBIRANGE): (NUM + 1) x 2^(5 x SCALE + 1) translation
/// granules from BaseADDR (ARM ARM DDI 0487F D5.10.2, "TLB range maintenance instructions"; Linux
/// __TLBI_RANGE_PAGES). SCALE is Xt[45:44], NUM Xt[43:39]; the TTL hint is taken as 0 (no level information).
/// </summary>
public readonly record struct TlbiRange
{
    public TlbiRange(int scale, int num, int granuleShift = 12)
    {
        if (scale is < 0 or > 3)
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "SCALE is a 2-bit field (0 to 3)");
        }

        if (num is < 0 or > 31)
        {
            throw new ArgumentOutOfRangeException(nameof(num), num, "NUM is a 5-bit field (0 to 31)");
        }

        if (granuleShift is not (12 or 14 or 16))
        {
            throw new ArgumentOutOfRangeException(nameof(granuleShift), granuleShift, "TG selects a 4K, 16K or 64K granule");
        }

        Scale = scale;
        Num = num;
        GranuleShift = granuleShift;
    }

    public int Scale { get; }

    public int Num { get; }

    public int GranuleShift { get; }

    /// <summary>Granules the operation covers.</summary>
    public ulong Granules => (ulong)(Num + 1) << ((5 * Scale) + 1);

    public ulong Bytes => Granules << GranuleShift;
}

/// <summary>One operation of an architecture's set, with the extension it needs where it is optional.</summary>
public readonly record struct TlbOperation(TlbMaintenanceOp Op, string Requires);

public static class TlbMaintenanceOpExtensions
{
    private const string MpExtensions = "Multiprocessing Extensions";

    // ARMv7 ARM (DDI 0406C) B4.2.2: TLBIMVAA and the IS forms come with the Multiprocessing Extensions, optional
    // with short descriptors; the Large Physical Address Extension requires them (DDI 0406C A1.5).
    private static readonly TlbOperation[] s_armShort =
    [
        new(TlbMaintenanceOp.ArmTlbiAll, ""), new(TlbMaintenanceOp.ArmTlbiAsid, ""), new(TlbMaintenanceOp.ArmTlbiMva, ""),
        new(TlbMaintenanceOp.ArmTlbiMvaa, MpExtensions), new(TlbMaintenanceOp.ArmTlbiAllIs, MpExtensions), new(TlbMaintenanceOp.ArmTlbiAsidIs, MpExtensions),
        new(TlbMaintenanceOp.ArmTlbiMvaIs, MpExtensions), new(TlbMaintenanceOp.ArmTlbiMvaaIs, MpExtensions),
    ];

    private static readonly TlbOperation[] s_armLpae =
    [
        new(TlbMaintenanceOp.ArmTlbiAll, ""), new(TlbMaintenanceOp.ArmTlbiAsid, ""), new(TlbMaintenanceOp.ArmTlbiMva, ""),
        new(TlbMaintenanceOp.ArmTlbiMvaa, ""), new(TlbMaintenanceOp.ArmTlbiAllIs, ""), new(TlbMaintenanceOp.ArmTlbiAsidIs, ""),
        new(TlbMaintenanceOp.ArmTlbiMvaIs, ""), new(TlbMaintenanceOp.ArmTlbiMvaaIs, ""),
    ];

    // DDI 0487F D5.10.2: the EL1&0 stage-1 operations of AArch64; the range forms are ARMv8.4's FEAT_TLBIRANGE.
    private static readonly TlbOperation[] s_arm64 =
    [
        new(TlbMaintenanceOp.Arm64TlbiVmalle1, ""), new(TlbMaintenanceOp.Arm64TlbiAside1, ""),
        new(TlbMaintenanceOp.Arm64TlbiVae1, ""), new(TlbMaintenanceOp.Arm64TlbiVale1, ""),
        new(TlbMaintenanceOp.Arm64TlbiVaae1, ""), new(TlbMaintenanceOp.Arm64TlbiVaale1, ""),
        new(TlbMaintenanceOp.Arm64TlbiVmalle1Is, ""), new(TlbMaintenanceOp.Arm64TlbiAside1Is, ""),
        new(TlbMaintenanceOp.Arm64TlbiVae1Is, ""), new(TlbMaintenanceOp.Arm64TlbiVale1Is, ""),
        new(TlbMaintenanceOp.Arm64TlbiVaae1Is, ""), new(TlbMaintenanceOp.Arm64TlbiVaale1Is, ""),
        new(TlbMaintenanceOp.Arm64TlbiRvae1, "FEAT_TLBIRANGE"), new(TlbMaintenanceOp.Arm64TlbiRvale1, "FEAT_TLBIRANGE"),
        new(TlbMaintenanceOp.Arm64TlbiRvaae1, "FEAT_TLBIRANGE"), new(TlbMaintenanceOp.Arm64TlbiRvaale1, "FEAT_TLBIRANGE"),
        new(TlbMaintenanceOp.Arm64TlbiRvae1Is, "FEAT_TLBIRANGE"), new(TlbMaintenanceOp.Arm64TlbiRvale1Is, "FEAT_TLBIRANGE"),
        new(TlbMaintenanceOp.Arm64TlbiRvaae1Is, "FEAT_TLBIRANGE"), new(TlbMaintenanceOp.Arm64TlbiRvaale1Is, "FEAT_TLBIRANGE"),
    ];

    // Intel SDM Vol. 3A 4.10.1: CR4.PCIDE can be set only in IA-32e mode, so the PCID forms of MOV to CR3 are x86-64's.
    private static readonly TlbOperation[] s_x86_32 =
    [
        new(TlbMaintenanceOp.X86Cr3Write, ""), new(TlbMaintenanceOp.X86Invlpg, ""),
        new(TlbMaintenanceOp.X86InvpcidAddress, "INVPCID"), new(TlbMaintenanceOp.X86InvpcidSingleContext, "INVPCID"),
        new(TlbMaintenanceOp.X86InvpcidAllIncludingGlobal, "INVPCID"), new(TlbMaintenanceOp.X86InvpcidAllNonGlobal, "INVPCID"),
        new(TlbMaintenanceOp.X86Cr4PgeToggle, ""),
    ];

    private static readonly TlbOperation[] s_x86_64 =
    [
        new(TlbMaintenanceOp.X86Cr3Write, ""), new(TlbMaintenanceOp.X86Cr3WritePcidFlush, "PCID"), new(TlbMaintenanceOp.X86Cr3WriteNoFlush, "PCID"),
        new(TlbMaintenanceOp.X86Invlpg, ""),
        new(TlbMaintenanceOp.X86InvpcidAddress, "INVPCID"), new(TlbMaintenanceOp.X86InvpcidSingleContext, "INVPCID"),
        new(TlbMaintenanceOp.X86InvpcidAllIncludingGlobal, "INVPCID"), new(TlbMaintenanceOp.X86InvpcidAllNonGlobal, "INVPCID"),
        new(TlbMaintenanceOp.X86Cr4PgeToggle, ""),
    ];

    private static readonly TlbOperation[] s_riscv =
    [
        new(TlbMaintenanceOp.RiscvSfenceVmaAll, ""), new(TlbMaintenanceOp.RiscvSfenceVmaVa, ""),
        new(TlbMaintenanceOp.RiscvSfenceVmaAsid, ""), new(TlbMaintenanceOp.RiscvSfenceVmaVaAsid, ""),
    ];

    /// <summary>The TLB maintenance operations a CPU walking <paramref name="format"/> executes, local forms first.</summary>
    public static IReadOnlyList<TlbOperation> TlbOperations(this MmuFormat format) => format switch
    {
        MmuFormat.ArmShort => s_armShort,
        MmuFormat.ArmLpae => s_armLpae,
        MmuFormat.X86_32 or MmuFormat.X86Pae => s_x86_32,
        _ => format.Family() switch
        {
            ArchFamily.Arm64 => s_arm64,
            ArchFamily.X86 => s_x86_64,
            _ => s_riscv,
        },
    };

    // One bit per operation for each format, so that the MMU's check on every invalidation allocates nothing.
    private static readonly ulong[] s_masks = BuildMasks();

    private static ulong[] BuildMasks()
    {
        MmuFormat[] formats = Enum.GetValues<MmuFormat>();
        ulong[] masks = new ulong[formats.Length];
        foreach (MmuFormat f in formats)
        {
            foreach (TlbOperation o in f.TlbOperations())
            {
                masks[(int)f] |= 1UL << (int)o.Op;
            }
        }

        return masks;
    }

    /// <summary>Whether a CPU walking <paramref name="format"/> has <paramref name="op"/>.</summary>
    public static bool Has(this MmuFormat format, TlbMaintenanceOp op) => (s_masks[(int)format] & (1UL << (int)op)) != 0;

    /// <summary>True for the inner-shareable ARM operations that reach every CPU of the domain.</summary>
    public static bool IsBroadcast(this TlbMaintenanceOp op) => op != op.Local();

    /// <summary>True for the ARMv8.4 range operations, whose operand is a <see cref="TlbiRange"/> from a base VA.</summary>
    public static bool IsRange(this TlbMaintenanceOp op) =>
        op.Local() is TlbMaintenanceOp.Arm64TlbiRvae1 or TlbMaintenanceOp.Arm64TlbiRvale1 or TlbMaintenanceOp.Arm64TlbiRvaae1 or TlbMaintenanceOp.Arm64TlbiRvaale1;

    /// <summary>The local operation an inner-shareable one performs on each CPU.</summary>
    public static TlbMaintenanceOp Local(this TlbMaintenanceOp op) => op switch
    {
        TlbMaintenanceOp.ArmTlbiAllIs => TlbMaintenanceOp.ArmTlbiAll,
        TlbMaintenanceOp.ArmTlbiAsidIs => TlbMaintenanceOp.ArmTlbiAsid,
        TlbMaintenanceOp.ArmTlbiMvaIs => TlbMaintenanceOp.ArmTlbiMva,
        TlbMaintenanceOp.ArmTlbiMvaaIs => TlbMaintenanceOp.ArmTlbiMvaa,
        TlbMaintenanceOp.Arm64TlbiVmalle1Is => TlbMaintenanceOp.Arm64TlbiVmalle1,
        TlbMaintenanceOp.Arm64TlbiAside1Is => TlbMaintenanceOp.Arm64TlbiAside1,
        TlbMaintenanceOp.Arm64TlbiVae1Is => TlbMaintenanceOp.Arm64TlbiVae1,
        TlbMaintenanceOp.Arm64TlbiVale1Is => TlbMaintenanceOp.Arm64TlbiVale1,
        TlbMaintenanceOp.Arm64TlbiVaae1Is => TlbMaintenanceOp.Arm64TlbiVaae1,
        TlbMaintenanceOp.Arm64TlbiVaale1Is => TlbMaintenanceOp.Arm64TlbiVaale1,
        TlbMaintenanceOp.Arm64TlbiRvae1Is => TlbMaintenanceOp.Arm64TlbiRvae1,
        TlbMaintenanceOp.Arm64TlbiRvale1Is => TlbMaintenanceOp.Arm64TlbiRvale1,
        TlbMaintenanceOp.Arm64TlbiRvaae1Is => TlbMaintenanceOp.Arm64TlbiRvaae1,
        TlbMaintenanceOp.Arm64TlbiRvaale1Is => TlbMaintenanceOp.Arm64TlbiRvaale1,
        _ => op,
    };

    /// <summary>The mnemonic as the manuals write it.</summary>
    public static string Mnemonic(this TlbMaintenanceOp op) => op switch
    {
        TlbMaintenanceOp.ArmTlbiAll => "TLBIALL",
        TlbMaintenanceOp.ArmTlbiAllIs => "TLBIALLIS",
        TlbMaintenanceOp.ArmTlbiAsid => "TLBIASID",
        TlbMaintenanceOp.ArmTlbiAsidIs => "TLBIASIDIS",
        TlbMaintenanceOp.ArmTlbiMva => "TLBIMVA",
        TlbMaintenanceOp.ArmTlbiMvaIs => "TLBIMVAIS",
        TlbMaintenanceOp.ArmTlbiMvaa => "TLBIMVAA",
        TlbMaintenanceOp.ArmTlbiMvaaIs => "TLBIMVAAIS",
        TlbMaintenanceOp.Arm64TlbiVmalle1 => "TLBI VMALLE1",
        TlbMaintenanceOp.Arm64TlbiVmalle1Is => "TLBI VMALLE1IS",
        TlbMaintenanceOp.Arm64TlbiAside1 => "TLBI ASIDE1",
        TlbMaintenanceOp.Arm64TlbiAside1Is => "TLBI ASIDE1IS",
        TlbMaintenanceOp.Arm64TlbiVae1 => "TLBI VAE1",
        TlbMaintenanceOp.Arm64TlbiVae1Is => "TLBI VAE1IS",
        TlbMaintenanceOp.Arm64TlbiVale1 => "TLBI VALE1",
        TlbMaintenanceOp.Arm64TlbiVale1Is => "TLBI VALE1IS",
        TlbMaintenanceOp.Arm64TlbiVaae1 => "TLBI VAAE1",
        TlbMaintenanceOp.Arm64TlbiVaae1Is => "TLBI VAAE1IS",
        TlbMaintenanceOp.Arm64TlbiVaale1 => "TLBI VAALE1",
        TlbMaintenanceOp.Arm64TlbiVaale1Is => "TLBI VAALE1IS",
        TlbMaintenanceOp.Arm64TlbiRvae1 => "TLBI RVAE1",
        TlbMaintenanceOp.Arm64TlbiRvae1Is => "TLBI RVAE1IS",
        TlbMaintenanceOp.Arm64TlbiRvale1 => "TLBI RVALE1",
        TlbMaintenanceOp.Arm64TlbiRvale1Is => "TLBI RVALE1IS",
        TlbMaintenanceOp.Arm64TlbiRvaae1 => "TLBI RVAAE1",
        TlbMaintenanceOp.Arm64TlbiRvaae1Is => "TLBI RVAAE1IS",
        TlbMaintenanceOp.Arm64TlbiRvaale1 => "TLBI RVAALE1",
        TlbMaintenanceOp.Arm64TlbiRvaale1Is => "TLBI RVAALE1IS",
        TlbMaintenanceOp.X86Cr3Write => "MOV CR3",
        TlbMaintenanceOp.X86Cr3WritePcidFlush => "MOV CR3 (PCID, flush)",
        TlbMaintenanceOp.X86Cr3WriteNoFlush => "MOV CR3 (PCID, no flush)",
        TlbMaintenanceOp.X86Invlpg => "INVLPG",
        TlbMaintenanceOp.X86InvpcidAddress => "INVPCID 0",
        TlbMaintenanceOp.X86InvpcidSingleContext => "INVPCID 1",
        TlbMaintenanceOp.X86InvpcidAllIncludingGlobal => "INVPCID 2",
        TlbMaintenanceOp.X86InvpcidAllNonGlobal => "INVPCID 3",
        TlbMaintenanceOp.X86Cr4PgeToggle => "CR4.PGE toggle",
        TlbMaintenanceOp.RiscvSfenceVmaAll => "SFENCE.VMA x0, x0",
        TlbMaintenanceOp.RiscvSfenceVmaVa => "SFENCE.VMA va, x0",
        TlbMaintenanceOp.RiscvSfenceVmaAsid => "SFENCE.VMA x0, asid",
        TlbMaintenanceOp.RiscvSfenceVmaVaAsid => "SFENCE.VMA va, asid",
        _ => op.ToString(),
    };
}
