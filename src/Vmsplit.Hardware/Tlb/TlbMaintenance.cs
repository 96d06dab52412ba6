namespace Vmsplit.Hardware.Tlb;

/// <summary>
/// Every TLB maintenance operation Vmsplit executes, one value per architectural operation so that a
/// CPU profile can give each its own cost. The semantics are implemented by the TLB hierarchy of each CPU.
/// </summary>
public enum TlbMaintenanceOp : byte
{
    /// <summary>ARM TLBIALL (ARMv7 ARM B4.2.2) / TLBI VMALLE1: every entry, global or not.</summary>
    ArmTlbiAll,

    /// <summary>TLBIALLIS: TLBIALL broadcast to every CPU in the inner-shareable domain.</summary>
    ArmTlbiAllIs,

    /// <summary>ARM TLBIASID / TLBI ASIDE1: non-global entries of one ASID.</summary>
    ArmTlbiAsid,

    ArmTlbiAsidIs,

    /// <summary>ARM TLBIMVA / TLBI VAE1: the VA in one ASID, and a global entry for the VA.</summary>
    ArmTlbiMva,

    ArmTlbiMvaIs,

    /// <summary>ARM TLBIMVAA / TLBI VAAE1: the VA in every ASID.</summary>
    ArmTlbiMvaa,

    ArmTlbiMvaaIs,

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

public static class TlbMaintenanceOpExtensions
{
    /// <summary>True for the inner-shareable ARM operations that reach every CPU of the domain.</summary>
    public static bool IsBroadcast(this TlbMaintenanceOp op) =>
        op is TlbMaintenanceOp.ArmTlbiAllIs or TlbMaintenanceOp.ArmTlbiAsidIs or TlbMaintenanceOp.ArmTlbiMvaIs or TlbMaintenanceOp.ArmTlbiMvaaIs;

    /// <summary>The local operation an inner-shareable one performs on each CPU.</summary>
    public static TlbMaintenanceOp Local(this TlbMaintenanceOp op) => op switch
    {
        TlbMaintenanceOp.ArmTlbiAllIs => TlbMaintenanceOp.ArmTlbiAll,
        TlbMaintenanceOp.ArmTlbiAsidIs => TlbMaintenanceOp.ArmTlbiAsid,
        TlbMaintenanceOp.ArmTlbiMvaIs => TlbMaintenanceOp.ArmTlbiMva,
        TlbMaintenanceOp.ArmTlbiMvaaIs => TlbMaintenanceOp.ArmTlbiMvaa,
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
