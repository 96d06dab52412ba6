using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Profiles;

/// <summary>
/// The instruction families a CPU profile describes; each needs its own set of primitive costs. One ARM
/// profile serves both <see cref="ArchFamily.Arm32"/> and <see cref="ArchFamily.Arm64"/> (an ARMv8 core runs
/// AArch32 and AArch64 kernels, with one set of TLBI costs).
/// </summary>
public enum ProfileArchitecture : byte
{
    Arm,
    X86,
    Riscv,
}

/// <summary>
/// Every primitive cost a CPU profile can hold, in cycles unless the name says otherwise. The YAML key
/// is the camel-case name (<c>ttbr0Write</c>, <c>tlbiAsidIs</c>, <c>memcpyBytesPerCycle</c>).
/// </summary>
public enum PrimitiveCost : byte
{
    // ARM root registers and barriers.
    Ttbr0Write,
    Ttbr1Write,
    TtbcrWrite,
    ContextidrWrite,
    Isb,
    Dsb,

    // ARM TLB maintenance (ARMv7 ARM B4.2.2), local and inner-shareable; AArch64's TLBIs are priced by these
    // keys (see CostOf).
    TlbiAll,
    TlbiAllIs,
    TlbiAsid,
    TlbiAsidIs,
    TlbiMva,
    TlbiMvaIs,
    TlbiMvaa,
    TlbiMvaaIs,

    // x86 root register and TLB maintenance.
    Cr3Write,
    Cr3WriteNoFlush,
    Invlpg,
    InvpcidAddress,
    InvpcidSingleContext,
    InvpcidAllIncludingGlobal,
    InvpcidAllNonGlobal,
    Cr4PgeToggle,

    // x86 SMAP: set and clear RFLAGS.AC around user accesses.
    Stac,
    Clac,

    // x86 speculation mitigations: the return a retpoline takes against the return-stack prediction (a
    // mispredicted branch), and VERW clearing the CPU buffers (MDS).
    ReturnMispredict,
    Verw,

    // ARMv8.1 PAN: MSR PAN, #imm (SET_PSTATE_PAN).
    MsrPan,

    // RISC-V root register and SFENCE.VMA forms.
    SatpWrite,
    SfenceVmaAll,
    SfenceVmaVa,
    SfenceVmaAsid,
    SfenceVmaVaAsid,

    // RISC-V: csrs/csrc sstatus (SR_SUM around user accesses).
    SstatusWrite,

    // Every architecture.
    WalkStepCacheHit,
    WalkStepCacheMiss,
    ExceptionEntry,
    ExceptionExit,
    MemcpyBytesPerCycle,
    PageZeroCycles,
}

public static class PrimitiveCostExtensions
{
    public static readonly int Count = Enum.GetValues<PrimitiveCost>().Length;

    private static readonly PrimitiveCost[] s_arm =
    [
        PrimitiveCost.Ttbr0Write, PrimitiveCost.Ttbr1Write, PrimitiveCost.TtbcrWrite, PrimitiveCost.ContextidrWrite,
        PrimitiveCost.Isb, PrimitiveCost.Dsb,
        PrimitiveCost.TlbiAll, PrimitiveCost.TlbiAllIs, PrimitiveCost.TlbiAsid, PrimitiveCost.TlbiAsidIs,
        PrimitiveCost.TlbiMva, PrimitiveCost.TlbiMvaIs, PrimitiveCost.TlbiMvaa, PrimitiveCost.TlbiMvaaIs,
    ];

    private static readonly PrimitiveCost[] s_riscv =
    [
        PrimitiveCost.SatpWrite, PrimitiveCost.SfenceVmaAll, PrimitiveCost.SfenceVmaVa, PrimitiveCost.SfenceVmaAsid, PrimitiveCost.SfenceVmaVaAsid,
    ];

    private static readonly PrimitiveCost[] s_common =
    [
        PrimitiveCost.WalkStepCacheHit, PrimitiveCost.WalkStepCacheMiss, PrimitiveCost.ExceptionEntry, PrimitiveCost.ExceptionExit,
        PrimitiveCost.MemcpyBytesPerCycle, PrimitiveCost.PageZeroCycles,
    ];

    /// <summary>The YAML key: the name with a lower-case first letter.</summary>
    public static string Key(this PrimitiveCost cost)
    {
        string name = cost.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }

    public static bool TryParseKey(string key, out PrimitiveCost cost)
    {
        foreach (PrimitiveCost c in Enum.GetValues<PrimitiveCost>())
        {
            if (string.Equals(c.Key(), key, StringComparison.Ordinal))
            {
                cost = c;
                return true;
            }
        }

        cost = default;
        return false;
    }

    /// <summary>The unit a value is printed with.</summary>
    public static string Unit(this PrimitiveCost cost) => cost switch
    {
        PrimitiveCost.MemcpyBytesPerCycle => "bytes/cycle",
        PrimitiveCost.PageZeroCycles => "cycles/4K page",
        _ => "cycles",
    };

    /// <summary>
    /// The costs a profile of this architecture must give; features add their instructions' costs (PCID,
    /// INVPCID and SMAP on x86 and the mitigations its Spectre v2 and MDS bugs bring, PAN on ARM, SUM on RISC-V).
    /// </summary>
    public static IReadOnlyList<PrimitiveCost> Required(ProfileArchitecture architecture, IReadOnlySet<CpuFeature> features)
    {
        List<PrimitiveCost> list = [];
        switch (architecture)
        {
            case ProfileArchitecture.Arm:
                list.AddRange(s_arm);
                if (features.Contains(CpuFeature.Pan))
                {
                    list.Add(PrimitiveCost.MsrPan);
                }

                break;
            case ProfileArchitecture.X86:
                list.Add(PrimitiveCost.Cr3Write);
                if (features.Contains(CpuFeature.Pcid))
                {
                    list.Add(PrimitiveCost.Cr3WriteNoFlush);
                }

                list.Add(PrimitiveCost.Invlpg);
                if (features.Contains(CpuFeature.Invpcid))
                {
                    list.AddRange([PrimitiveCost.InvpcidAddress, PrimitiveCost.InvpcidSingleContext, PrimitiveCost.InvpcidAllIncludingGlobal, PrimitiveCost.InvpcidAllNonGlobal]);
                }

                list.Add(PrimitiveCost.Cr4PgeToggle);
                if (features.Contains(CpuFeature.Smap))
                {
                    list.AddRange([PrimitiveCost.Stac, PrimitiveCost.Clac]);
                }

                if (features.Contains(CpuFeature.SpectreV2))
                {
                    list.Add(PrimitiveCost.ReturnMispredict);
                }

                if (features.Contains(CpuFeature.Mds))
                {
                    list.Add(PrimitiveCost.Verw);
                }

                break;
            case ProfileArchitecture.Riscv:
                list.AddRange(s_riscv);
                if (features.Contains(CpuFeature.Sum))
                {
                    list.Add(PrimitiveCost.SstatusWrite);
                }

                break;
        }

        list.AddRange(s_common);
        return list;
    }

    /// <summary>The profile family whose costs a CPU of <paramref name="family"/> is priced with.</summary>
    public static ProfileArchitecture ProfileArchitectureOf(this ArchFamily family) => family switch
    {
        ArchFamily.Arm32 or ArchFamily.Arm64 => ProfileArchitecture.Arm,
        ArchFamily.X86 => ProfileArchitecture.X86,
        _ => ProfileArchitecture.Riscv,
    };

    /// <summary>
    /// The profile cost that prices a TLB maintenance operation. AArch64's TLBIs use the ARM keys of the
    /// operation with the same scope: VMALLE1 tlbiAll, ASIDE1 tlbiAsid, VAE1 tlbiMva, VAAE1 tlbiMvaa (and
    /// the IS forms the IS keys). Assumption: a last-level-only form (VALE1, VAALE1) costs what its
    /// all-levels form costs; no published figure separates them. The ARMv8.4 range forms have no key:
    /// no shipped core implements FEAT_TLBIRANGE, and the simulated kernel never issues them.
    /// </summary>
    public static PrimitiveCost CostOf(this TlbMaintenanceOp op) => op switch
    {
        TlbMaintenanceOp.ArmTlbiAll or TlbMaintenanceOp.Arm64TlbiVmalle1 => PrimitiveCost.TlbiAll,
        TlbMaintenanceOp.ArmTlbiAllIs or TlbMaintenanceOp.Arm64TlbiVmalle1Is => PrimitiveCost.TlbiAllIs,
        TlbMaintenanceOp.ArmTlbiAsid or TlbMaintenanceOp.Arm64TlbiAside1 => PrimitiveCost.TlbiAsid,
        TlbMaintenanceOp.ArmTlbiAsidIs or TlbMaintenanceOp.Arm64TlbiAside1Is => PrimitiveCost.TlbiAsidIs,
        TlbMaintenanceOp.ArmTlbiMva or TlbMaintenanceOp.Arm64TlbiVae1 or TlbMaintenanceOp.Arm64TlbiVale1 => PrimitiveCost.TlbiMva,
        TlbMaintenanceOp.ArmTlbiMvaIs or TlbMaintenanceOp.Arm64TlbiVae1Is or TlbMaintenanceOp.Arm64TlbiVale1Is => PrimitiveCost.TlbiMvaIs,
        TlbMaintenanceOp.ArmTlbiMvaa or TlbMaintenanceOp.Arm64TlbiVaae1 or TlbMaintenanceOp.Arm64TlbiVaale1 => PrimitiveCost.TlbiMvaa,
        TlbMaintenanceOp.ArmTlbiMvaaIs or TlbMaintenanceOp.Arm64TlbiVaae1Is or TlbMaintenanceOp.Arm64TlbiVaale1Is => PrimitiveCost.TlbiMvaaIs,
        TlbMaintenanceOp.X86Cr3Write or TlbMaintenanceOp.X86Cr3WritePcidFlush => PrimitiveCost.Cr3Write,
        TlbMaintenanceOp.X86Cr3WriteNoFlush => PrimitiveCost.Cr3WriteNoFlush,
        TlbMaintenanceOp.X86Invlpg => PrimitiveCost.Invlpg,
        TlbMaintenanceOp.X86InvpcidAddress => PrimitiveCost.InvpcidAddress,
        TlbMaintenanceOp.X86InvpcidSingleContext => PrimitiveCost.InvpcidSingleContext,
        TlbMaintenanceOp.X86InvpcidAllIncludingGlobal => PrimitiveCost.InvpcidAllIncludingGlobal,
        TlbMaintenanceOp.X86InvpcidAllNonGlobal => PrimitiveCost.InvpcidAllNonGlobal,
        TlbMaintenanceOp.X86Cr4PgeToggle => PrimitiveCost.Cr4PgeToggle,
        TlbMaintenanceOp.RiscvSfenceVmaAll => PrimitiveCost.SfenceVmaAll,
        TlbMaintenanceOp.RiscvSfenceVmaVa => PrimitiveCost.SfenceVmaVa,
        TlbMaintenanceOp.RiscvSfenceVmaAsid => PrimitiveCost.SfenceVmaAsid,
        TlbMaintenanceOp.RiscvSfenceVmaVaAsid => PrimitiveCost.SfenceVmaVaAsid,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "no profile cost for this operation"),
    };
}
