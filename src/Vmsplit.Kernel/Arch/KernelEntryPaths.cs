using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Arch;

/// <summary>An instruction count of one part of a kernel path and how it was obtained.</summary>
/// <param name="Instructions">Instructions executed on the path (the taken branches only, alternatives as patched on the core).</param>
/// <param name="How">The file and release it was counted from, or why it is an estimate.</param>
/// <param name="IsAssumption">True when the figure is an estimate read off C rather than counted from assembly.</param>
public sealed record PathPart(int Instructions, string How, bool IsAssumption);

/// <summary>
/// A system call's entry and exit on one architecture as the kernel executes it: the assembly entry up to the
/// C handler, the C dispatch around the handler, the assembly exit, and getppid() itself. The exception itself
/// (SVC/SYSCALL/ecall and the return) is the profile's <c>exceptionEntry</c>/<c>exceptionExit</c>; the memory
/// the path touches (stack, pt_regs, current, the syscall table) is walked through the MMU by
/// <see cref="SimKernel.TouchFootprint"/>; CR3/TTBR switches and PAN toggles are charged by the design.
/// </summary>
public sealed record EntryPath(string Name, PathPart EntryAsm, PathPart Dispatch, PathPart ExitAsm, PathPart Getppid)
{
    /// <summary>Instructions of entry, dispatch and exit (what every system call runs).</summary>
    public int EntryExitInstructions => EntryAsm.Instructions + Dispatch.Instructions + ExitAsm.Instructions;

    /// <summary>Each part with its name, in path order.</summary>
    public IEnumerable<(string Part, PathPart Count)> Parts =>
        [("entry", EntryAsm), ("dispatch", Dispatch), ("exit", ExitAsm), ("getppid", Getppid)];
}

/// <summary>
/// The entry and exit paths per architecture, counted from Linux's source (each part names the file and the
/// snapshot of torvalds/linux it was counted from). Alternatives are counted as patched on the cores the profiles
/// describe: no PAC, MTE, pseudo-NMI or SSBD firmware call on arm64 (Trusted Firmware-A builds mitigate
/// Spectre-v4 statically on the A57/A72, DYNAMIC_WORKAROUND_CVE_2018_3639 ?= 0 in lib/cpus/cpu-ops.mk, and
/// answer SMCCC_ARCH_WORKAROUND_2 with NOT_REQUIRED in services/arm_arch_svc/arm_arch_svc_setup.c, so Linux's
/// apply_ssbd stays a skipped branch); a nop left by a not-applied alternative counts as an instruction.
/// </summary>
public static class KernelEntryPaths
{
    // getppid(): rcu_read_lock, current->real_parent, task_tgid_vnr -> __task_pid_nr_ns (task_active_pid_ns, pid_nr_ns's
    // level compare and the upid load), rcu_read_unlock and the syscall wrapper (kernel/sys.c, kernel/pid.c).
    private static readonly PathPart s_getppid = new(30, "kernel/sys.c sys_getppid and kernel/pid.c __task_pid_nr_ns read off the C: about 30 instructions with the wrapper", true);

    /// <summary>arm64: el0_sync's vector, kernel_entry 0, el0t_64_sync_handler → el0_svc, ret_to_user, kernel_exit 0.</summary>
    public static EntryPath Arm64 { get; } = new(
        "arm64 el0_svc",
        new(90, "arch/arm64/kernel/entry.S (torvalds/linux b28a8eeb, a v5.17-era tree) counted: kernel_ventry with VMAP_STACK 8 (KPTI's first branch included), kernel_entry 0 80 (15 stp of x0-x29, clear_gp_regs 30 mov, sp_el0/__entry_task 6, flags and disable_step_tsk 2, the MTE, PAC, ISB and PMR alternatives left as 20 nops or branches, apply_ssbd's skip 1, ELR/SPSR and the frame record 8, NO_SYSCALL 2), entry_handler's mov and bl 2", false),
        new(100, "arch/arm64/kernel/entry-common.c and syscall.c read off the C (el0t_64_sync_handler's ESR switch, el0_svc with enter_from_user_mode and exit_to_user_mode, do_el0_svc's fp_user_discard, el0_svc_common's flag checks and local_daif_restore/mask, invoke_syscall's array_index_nospec, table load, indirect call and return-value store, six prologues and epilogues): an estimate of about 100 instructions, not counted from a compiled kernel", true),
        new(47, "arch/arm64/kernel/entry.S (b28a8eeb) counted: the branch to ret_to_user and its flag re-check 3, kernel_exit 0 44 (PMR alternative 5 nops, ELR/SPSR and SP_EL0 loads 4, the erratum-845719 slot 1, MTE and PAC alternatives 11 nops, apply_ssbd's skip 1, ELR/SPSR writes 2, 15 ldp, the lr load, sp restore and ERET 3)", false),
        s_getppid);

    /// <summary>32-bit ARM: vector_swi to the table call, ret_fast_syscall and restore_user_regs fast = 1.</summary>
    public static EntryPath Arm32 { get; } = new(
        "arm vector_swi",
        new(25, "arch/arm/kernel/entry-common.S (torvalds/linux 005b2a9d, a v5.x tree with TI_ADDR_LIMIT) counted, EABI, no tracing or context tracking: the register frame 8 (sub, stmia r0-r12, add, stmdb sp/lr^, mrs spsr, three str), zero_fp 1, alignment_trap 3, enable_irq 1, adr of the table 1, get_thread_info 2, local_restart's flags load, stmdb r4/r5, tst, bne 4, invoke_syscall with the Spectre bound check 5 (cmp, badr, movcs, csdb, ldrcc pc); the domain uaccess_disable is charged by the PAN model", false),
        new(0, "none: 32-bit ARM calls sys_* straight from the table", false),
        new(17, "arch/arm/kernel/entry-common.S and entry-header.S (005b2a9d) counted: ret_fast_syscall's disable_irq, addr_limit check 3 and flags check 3, restore_user_regs fast = 1 10 (SPSR and PC loads, the mode test, msr spsr, clrex, ldmdb r1-lr^, nop, sp add, movs pc)", false),
        s_getppid);

    /// <summary>x86-64: entry_SYSCALL_64, do_syscall_64 and the SYSRET exit.</summary>
    public static EntryPath X86_64 { get; } = new(
        "x86-64 entry_SYSCALL_64",
        new(40, "arch/x86/entry/entry_64.S of v4.16-v5.9 (the entry after the SYSCALL64 fast path was removed) counted: swapgs, the stack switch and SWITCH_TO_KERNEL_CR3's patched jump 4, five pushes of the hardware frame and orig_ax 6, PUSH_AND_CLEAR_REGS rax=$-ENOSYS 27 (15 pushes, 12 xor), the argument moves and call 3; the CR3 write itself is charged by PTI", false),
        new(47, "arch/x86/entry/common.c of v5.2 read off the C (do_syscall_64: enter_from_user_mode, local_irq_enable, the flags test, the bound check and array_index_nospec, the table call through the retpoline thunk, the return-value store; syscall_return_slowpath and prepare_exit_to_user_mode's cached-flags test, three prologues and epilogues): an estimate of about 47 instructions", true),
        new(41, "arch/x86/entry/entry_64.S of v4.16-v5.9 counted: the opportunistic-SYSRET checks 17 (RCX == RIP, canonical shl/sar, CS, R11 == RFLAGS, RF/TF, SS), POP_REGS 14, the trampoline-stack switch and SWITCH_TO_USER_CR3_STACK's patched jump 8, swapgs and sysretq 2", false),
        s_getppid);

    /// <summary>x86-32: entry_SYSENTER_32 / do_fast_syscall_32 / SYSEXIT.</summary>
    public static EntryPath X86_32 { get; } = new(
        "x86-32 entry_SYSENTER_32",
        new(40, "assumption: entry_32.S's SYSENTER entry (SAVE_ALL's pushes and segment loads) taken as long as x86-64's entry; not counted", true),
        new(60, "assumption: do_fast_syscall_32 (arch/x86/entry/common.c) reads the sixth argument from the user stack and checks the vDSO return address, so taken somewhat longer than do_syscall_64; not counted", true),
        new(41, "assumption: the SYSEXIT path of entry_32.S taken as long as x86-64's SYSRET exit; not counted", true),
        s_getppid);

    /// <summary>RISC-V: handle_exception, handle_syscall, ret_from_syscall / ret_from_exception, sret.</summary>
    public static EntryPath Riscv { get; } = new(
        "riscv handle_exception",
        new(71, "arch/riscv/kernel/entry.S (torvalds/linux 010e85f9, a v5.x tree with the assembly syscall path) counted: SAVE_ALL 47 (sscratch swap and branch 2, stack switch 3, 29 REG_S, the CSR reads and six REG_S 13), handle_exception's sscratch clear, gp and ra loads, cause tests 9, handle_syscall's orig_a0 and sepc stores, flags test and the table lookup and jalr 15", false),
        new(0, "none: RISC-V of this release calls sys_* from entry.S", false),
        new(50, "arch/riscv/kernel/entry.S (010e85f9) counted: ret_from_syscall's a0 store and flags test 4, ret_from_exception's SPP test 4, resume_userspace's work test, kernel-sp save and sscratch write 6, RESTORE_ALL 35, sret 1", false),
        s_getppid);

    /// <summary>The entry path the kernel of <paramref name="arch"/> runs.</summary>
    public static EntryPath For(KernelArch arch) => arch switch
    {
        KernelArch.Arm or KernelArch.ArmLpae => Arm32,
        KernelArch.Aarch64 => Arm64,
        KernelArch.X86 or KernelArch.X86Pae => X86_32,
        KernelArch.X86_64 or KernelArch.X86_64La57 => X86_64,
        _ => Riscv,
    };
}
