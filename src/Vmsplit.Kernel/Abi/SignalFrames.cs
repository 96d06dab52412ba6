using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Abi;

/// <summary>
/// sizeof(struct rt_sigframe), the frame setup_rt_frame writes on the user stack and rt_sigreturn reads back, per
/// architecture, from the structures' definitions (Linux 5.4 to 6.6; siginfo is 128 bytes everywhere,
/// include/uapi/asm-generic/siginfo.h SI_MAX_SIZE). The floating-point and vector state some architectures add
/// beside it (x86's xsave area, arm64's records inside its 4 KiB __reserved, RISC-V's V state since 6.5) is not
/// counted apart.
/// </summary>
public static class SignalFrames
{
    /// <summary>The frame's bytes on <paramref name="arch"/>.</summary>
    public static ulong RtSigframeBytes(KernelArch arch) => arch switch
    {
        // arch/x86/include/asm/sigframe.h (X86_32): pretcode, sig, pinfo, puc (16) + siginfo 128 + ucontext 116
        // (flags, link, stack_t 12, sigcontext 88, sigmask 8) + retcode[8]
        KernelArch.X86 or KernelArch.X86Pae => 268,

        // arch/x86/include/asm/sigframe.h (X86_64): pretcode 8 + ucontext 304 (flags, link, stack_t 24, sigcontext 256,
        // sigmask 8) + siginfo 128
        KernelArch.X86_64 or KernelArch.X86_64La57 => 440,

        // arch/arm/kernel/signal.h: siginfo 128 + sigframe (ucontext 744: flags, link, stack_t 12, sigcontext 84,
        // sigmask 8, __unused 120, uc_regspace[128] aligned 8; retcode[4] 16)
        KernelArch.Arm or KernelArch.ArmLpae => 888,

        // arch/arm64/kernel/signal.c: siginfo 128 + ucontext 4560 (flags, link, stack_t 24, sigmask 8, __unused 120,
        // then sigcontext aligned 16: fault_address, regs[31], sp, pc, pstate, __reserved[4096] aligned 16 = 4384)
        KernelArch.Aarch64 => 4688,

        // arch/riscv/kernel/signal.c: siginfo 128 + ucontext (flags, link, stack_t, sigmask 8, __unused 120, then
        // sigcontext aligned 16: 32 registers and the 528-byte __riscv_q_ext_state); RV32 with 4-byte longs
        KernelArch.RiscvSv32 => 944,
        KernelArch.RiscvSv39 or KernelArch.RiscvSv48 or KernelArch.RiscvSv57 => 1088,
        _ => throw new ArgumentOutOfRangeException(nameof(arch), arch, "no signal frame for this architecture"),
    };
}
