namespace Vmsplit.Hardware.Profiles;

/// <summary>
/// The CPU features the designs depend on; a profile states each one of its architecture with a source
/// (the <c>features:</c> mapping, docs/profiles.md). The YAML key is the camel-case name.
/// </summary>
public enum CpuFeature : byte
{
    /// <summary>Global translations survive an address-space switch: x86 CR4.PGE, ARM's nG bit, RISC-V's G bit.</summary>
    Global,

    /// <summary>x86 process-context identifiers (CR4.PCIDE, IA-32e mode only).</summary>
    Pcid,

    /// <summary>x86 INVPCID.</summary>
    Invpcid,

    /// <summary>x86 supervisor-mode access prevention (CR4.SMAP, STAC/CLAC).</summary>
    Smap,

    /// <summary>ARMv7 Large Physical Address Extension (the long-descriptor format in AArch32).</summary>
    Lpae,

    /// <summary>ARM domains and the DACR: the short-descriptor format only.</summary>
    Domains,

    /// <summary>ARMv8.1 Privileged Access Never (PSTATE.PAN).</summary>
    Pan,

    /// <summary>RISC-V sstatus.SUM (privileged specification 1.10 and later).</summary>
    Sum,

    /// <summary>
    /// x86 X86_BUG_SPECTRE_V2: the CPU is not in Linux's cpu_vuln_whitelist as NO_SPECULATION
    /// (arch/x86/kernel/cpu/common.c, v5.2), so the kernel calls indirectly through retpolines and fills the
    /// return stack buffer on context switch (arch/x86/kernel/cpu/bugs.c, v5.2).
    /// </summary>
    SpectreV2,

    /// <summary>
    /// x86 X86_BUG_MDS: the CPU is not whitelisted NO_MDS (arch/x86/kernel/cpu/common.c, v5.2), so the kernel
    /// executes VERW on every return to user mode (mds_user_clear_cpu_buffers in prepare_exit_to_usermode,
    /// arch/x86/entry/common.c, v5.2).
    /// </summary>
    Mds,

    /// <summary>
    /// ARM Spectre-BHB mitigated by the branchy loop of eight iterations: the core is in spectre_bhb_loop_affected's
    /// k = 8 list (Cortex-A57 and A72, arch/arm64/kernel/proton-pack.c, Linux v5.17; arch/arm/mm/proc-v7-bugs.c adds
    /// the Cortex-A15 for 32-bit kernels), has neither ECBHB, ClearBHB nor CSV2.3, and is Spectre-v2 affected (not in
    /// spectre_v2_safe_list, no CSV2) with the firmware's ARM_SMCCC_ARCH_WORKAROUND_1. The arm64 kernel then runs the
    /// loop on every entry from EL0 and the firmware call on every switch_mm; the 32-bit kernel's are not modelled.
    /// </summary>
    SpectreBhb,
}

public static class CpuFeatureExtensions
{
    private static readonly CpuFeature[] s_x86 = [CpuFeature.Global, CpuFeature.Pcid, CpuFeature.Invpcid, CpuFeature.Smap, CpuFeature.SpectreV2, CpuFeature.Mds];
    private static readonly CpuFeature[] s_arm = [CpuFeature.Global, CpuFeature.Lpae, CpuFeature.Domains, CpuFeature.Pan, CpuFeature.SpectreBhb];
    private static readonly CpuFeature[] s_riscv = [CpuFeature.Global, CpuFeature.Sum];

    /// <summary>The YAML key: the name with a lower-case first letter.</summary>
    public static string Key(this CpuFeature feature)
    {
        string name = feature.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }

    /// <summary>How reports name the feature (PCID, SMAP, PAN, LPAE, SUM, ...).</summary>
    public static string Display(this CpuFeature feature) => feature switch
    {
        CpuFeature.Global => "global pages",
        CpuFeature.Domains => "domains",
        CpuFeature.SpectreV2 => "Spectre-v2",
        CpuFeature.SpectreBhb => "Spectre-BHB",
        _ => feature.ToString().ToUpperInvariant(),
    };

    /// <summary>The features a profile of this architecture must state, in file order.</summary>
    public static IReadOnlyList<CpuFeature> For(ProfileArchitecture architecture) => architecture switch
    {
        ProfileArchitecture.X86 => s_x86,
        ProfileArchitecture.Arm => s_arm,
        _ => s_riscv,
    };

    public static bool TryParseKey(string key, out CpuFeature feature)
    {
        foreach (CpuFeature f in Enum.GetValues<CpuFeature>())
        {
            if (string.Equals(f.Key(), key, StringComparison.Ordinal))
            {
                feature = f;
                return true;
            }
        }

        feature = default;
        return false;
    }
}
