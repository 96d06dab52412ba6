using Vmsplit.Hardware.Profiles;

namespace Vmsplit.Kernel.Arch;

/// <summary>
/// The speculation mitigations an x86 kernel of Linux v5.2 (the release the x86 entry path is counted from,
/// <see cref="KernelEntryPaths.X86_64"/>) executes on a CPU with the bugs, as instruction counts from the source
/// plus the profile's cost of the one instruction in each that is not a plain instruction. IBRS is not used
/// (retpolines are selected on every modelled core), IBPB only for tasks that asked for it (spectre_v2_user=prctl,
/// seccomp by default) and the swapgs fences only on interrupt and exception entries, so none of those is here.
/// </summary>
public static class X86Mitigations
{
    /// <summary>
    /// A retpoline in place of an indirect call: <c>call __x86_indirect_thunk_rax</c> runs RETPOLINE_JMP's inner
    /// call, the mov of the target over the return address and the ret (arch/x86/lib/retpoline.S and
    /// arch/x86/include/asm/nospec-branch.h, v5.2): three instructions more than <c>call *%rax</c>, and the ret is
    /// mispredicted by design (the return stack predicts the capture loop), priced by the profile's
    /// <c>returnMispredict</c>.
    /// </summary>
    public const int RetpolineInstructions = 3;

    /// <summary>
    /// mds_user_clear_cpu_buffers() (arch/x86/include/asm/nospec-branch.h, v5.2): the static branch, patched to a
    /// nop when the key is on, then VERW of a memory operand, priced by the profile's <c>verw</c>.
    /// </summary>
    public const int ClearCpuBuffersInstructions = 1;

    /// <summary>
    /// FILL_RETURN_BUFFER %r12, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_CTXSW in __switch_to_asm (arch/x86/entry/entry_64.S
    /// and entry_32.S, v5.2): the alternative's jmp patched to a nop 1, mov $16 1, sixteen iterations of call, call,
    /// dec, jnz 64, the stack add 1. The calls are direct and predicted; the speculation traps never run.
    /// </summary>
    public const int FillReturnBufferInstructions = 67;

    /// <summary>Whether a kernel with these mitigations switched on runs retpolines and the RSB fill on this CPU.</summary>
    public static bool Retpolines(CpuProfile cpu, bool enabled) => enabled && cpu.Has(CpuFeature.SpectreV2);

    /// <summary>Whether it clears the CPU buffers with VERW on every return to user mode.</summary>
    public static bool ClearsCpuBuffers(CpuProfile cpu, bool enabled) => enabled && cpu.Has(CpuFeature.Mds);
}
