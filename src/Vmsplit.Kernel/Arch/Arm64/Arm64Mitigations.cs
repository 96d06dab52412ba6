using Vmsplit.Hardware.Profiles;

namespace Vmsplit.Kernel.Arch.Arm64;

/// <summary>
/// The Spectre-v2 and Spectre-BHB mitigations arm64 Linux v5.17 (the release the arm64 entry path is counted from,
/// <see cref="KernelEntryPaths.Arm64"/>: torvalds/linux b28a8eeb, whose entry.S already has the BHB vectors) runs on a
/// core with <see cref="CpuFeature.SpectreBhb"/> (Cortex-A57, A72), as instruction counts from the source plus the
/// profile's cost of the barriers and the firmware call in them. spectre_bhb_enable_mitigation
/// (arch/arm64/kernel/proton-pack.c) finds neither ECBHB nor ClearBHB on these cores and selects the branchy loop:
/// this_cpu_set_vectors(EL1_VECTOR_BHB_LOOP), so every exception from EL0 enters through a tramp_ventry with the loop
/// (__bp_harden_el1_vectors without KPTI, tramp_vectors with it). Spectre-v2 is mitigated by the firmware
/// (ARM_SMCCC_ARCH_WORKAROUND_1 through the SMC conduit), which the kernel calls on each switch_mm
/// (check_and_switch_context's arm64_apply_bp_hardening, arch/arm64/mm/context.c) and for an instruction abort from
/// EL0 at a kernel address (not made by any workload). The boot option mitigations=off turns both off
/// (<c>+nomitigations</c>).
/// </summary>
public static class Arm64Mitigations
{
    /// <summary>spectre_bhb_loop_affected's k for the Cortex-A57 and A72 (spectre_bhb_k8_list, proton-pack.c, v5.17).</summary>
    public const int BhbLoopIterations = 8;

    /// <summary>
    /// __mitigate_spectre_bhb_loop (arch/arm64/include/asm/assembler.h, v5.17): mov of k (patched by
    /// spectre_bhb_patch_loop_iter) 1, k iterations of b . + 4, subs, b.ne, then sb, which is dsb nsh and isb on a core
    /// without FEAT_SB: 1 + 3k + 2 instructions, the DSB and the ISB priced as barriers.
    /// </summary>
    public const int BhbLoopInstructions = 1 + (3 * BhbLoopIterations) + 2;

    /// <summary>
    /// What the loop's vector adds to an entry from EL0 without KPTI: tramp_ventry (kpti = 0, bhb = LOOP, regsize 64,
    /// arch/arm64/kernel/entry.S, v5.17) runs msr tpidrro_el0 1, the loop, ldr x30 =vectors, add and ret 3, and lands
    /// one instruction into kernel_ventry, past its first branch, where mrs x30, tpidrro_el0 and msr tpidrro_el0, xzr
    /// run instead of it (+1). With KPTI the trampoline vectors already run all but the loop, so only the loop is added.
    /// </summary>
    public const int BhbVectorInstructions = 1 + BhbLoopInstructions + 3 + 1;

    /// <summary>
    /// arm64_apply_bp_hardening (arch/arm64/include/asm/spectre.h, v5.17): the capability's static branch 1, the
    /// per-CPU bp_hardening_data.fn load 3, the test and indirect call 2; call_smc_arch_workaround_1
    /// (proton-pack.c) through arm_smccc_1_1_smc: mov w0 and smc #0 2, ret 2. The SMC itself is the profile's exception
    /// entry and return; what the firmware runs is <see cref="FirmwareWorkaround1Instructions"/>.
    /// </summary>
    public const int BpHardeningCallInstructions = 1 + 3 + 2 + 2 + 2;

    /// <summary>
    /// Trusted Firmware-A's handling of SMCCC_ARCH_WORKAROUND_1 on a Cortex-A57/A72 (the EL3 vector's fast path of
    /// lib/cpus/aarch64/wa_cve_2017_5715_mmu.S: the function-id check, the EL3 MMU toggle that invalidates the branch
    /// predictor, and the return). Assumption: about 15 instructions, not counted from a build; their two ISBs are
    /// priced as barriers.
    /// </summary>
    public const int FirmwareWorkaround1Instructions = 15;

    /// <summary>Whether a kernel with mitigations on runs the BHB loop and the firmware's Spectre-v2 call on this CPU.</summary>
    public static bool Applies(CpuProfile cpu, bool enabled) => enabled && cpu.Has(CpuFeature.SpectreBhb);
}
