using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Arch.Arm64;
using Vmsplit.Kernel.Arch.X86;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Designs;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    // Linux DACR with CONFIG_CPU_SW_DOMAIN_PAN: kernel/io client; user client in user mode, no access in the kernel.
    private const uint DacrUserClient = ArmMm.DacrUserClient;
    private const uint DacrUserNoAccess = ArmMm.DacrUserNoAccess;

    private bool _uaccessOpen;

    // LPAE TTBCR.T1SZ for the TTBR0-PAN writes of TTBCR (the ARM room keeps it)
    private int LpaeT1sz => Arch is ArmMm arm ? arm.Ttbr1Size : 0;

    /// <summary>Loads the registers for <paramref name="p"/> running user code (boot-time, no cost).</summary>
    public void Start(Process p)
    {
        Current = p;
        AsidSwitch sw = Arch.Asids.SwitchMm(Cpu.Id, p.Context);
        UserAsid = sw.UserAsid;
        Arch.LoadUserRoots(p, sw.Asid, sw.UserAsid);
        InKernel = false;
    }

    /// <summary>
    /// Exception entry as the design takes it: a system call (SVC/SYSCALL/ecall), or with
    /// <paramref name="exception"/> an abort or interrupt (x86 then runs its entry's ASM_CLAC under SMAP).
    /// </summary>
    public void EnterKernel(bool exception = false)
    {
        if (InKernel)
        {
            throw new InvalidOperationException("entry while already in the kernel");
        }

        InKernel = true;
        Cpu.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionEntry);
        Process p = Current ?? throw new InvalidOperationException("no process is running");
        Isolation.Enter(p, exception);
    }

    /// <summary>Return to user mode in <see cref="Current"/>.</summary>
    public void ExitKernel()
    {
        if (!InKernel)
        {
            throw new InvalidOperationException("exit while not in the kernel");
        }

        Process p = Current ?? throw new InvalidOperationException("no process is running");
        Isolation.Exit(p);
        Cpu.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionExit);
        InKernel = false;
    }

    // PAN state at exception entry and return, at the points Linux changes it:
    // - SW domain PAN: vector_swi's uaccess_disable writes DACR and ISBs (arch/arm/kernel/entry-common.S);
    //   restore_user_regs' uaccess_enable writes it without an ISB, the exception return synchronises
    //   (arch/arm/kernel/entry-header.S); LPAE TTBR0 PAN does the same with TTBCR.EPD0.
    // - arm64 SW PAN: __swpan_entry_el0 / __swpan_exit_el0 run __uaccess_ttbr0_disable / _enable, two
    //   TTBR writes and an ISB each way (arch/arm64/kernel/entry.S, asm/asm-uaccess.h, Linux 4.10+).
    // - Hardware PAN: SCTLR_EL1.SPAN is clear, so the exception sets PSTATE.PAN and ERET restores it
    //   (cpu_enable_pan, arch/arm64/kernel/cpufeature.c): no instruction.
    // - SMAP: SYSCALL clears RFLAGS.AC through MSR_SYSCALL_MASK (syscall_init, arch/x86/kernel/cpu/common.c)
    //   and SYSENTER's path leaves it clear; an exception runs ASM_CLAC first (idtentry, arch/x86/entry/entry_64.S).
    // - SUM: handle_exception's csrrc of sstatus, which saves it and clears FS anyway, clears SR_SUM too
    //   (arch/riscv/kernel/entry.S): no instruction of its own.
    internal void EntryPan(bool enter, bool exception)
    {
        MemoryManagementUnit m = Cpu.Mmu;
        switch (Design.Pan)
        {
            case PanKind.ArmDomain:
                m.Registers.Dacr = enter ? DacrUserNoAccess : DacrUserClient;
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.ContextidrWrite); // an MCR to CP15 like CONTEXTIDR
                if (enter)
                {
                    Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                }

                break;
            case PanKind.ArmTtbr0:
                m.WriteTtbcr(ArmLpaeFormat.Ttbcr(0, LpaeT1sz, epd0: enter));
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.TtbcrWrite);
                if (enter)
                {
                    Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                }

                break;
            case PanKind.Arm64Ttbr0:
                SwPanTtbr0(enable: !enter);
                break;
            case PanKind.ArmHardware:
                m.Registers.Pan = enter;
                break;
            case PanKind.X86Smap:
                m.Registers.Ac = false;
                if (enter && exception)
                {
                    Cpu.Charge(CostCause.UserAccessControl, PrimitiveCost.Clac);
                }

                break;
            case PanKind.RiscvSum:
                m.Registers.Sum = false;
                break;
        }
    }

    /// <summary>
    /// Whether arm64 uaccess uses LDTR/STTR, which make EL0 permission checks and so ignore PSTATE.PAN:
    /// since Linux 5.11 unconditionally (uaccess_ttbr0_enable alone around __arch_copy_*_user,
    /// arch/arm64/include/asm/uaccess.h); before, only with ARMv8.2 UAO, which no profile describes.
    /// </summary>
    internal bool UnprivilegedUaccess => Arch is Arm64Mm && Layout.Config.Linux >= new Vmsplit.Kernel.Layout.LinuxVersion(5, 11);

    /// <summary>
    /// uaccess_enable/disable around direct user accesses, the instructions Linux executes for the
    /// design's PAN around each copy_{to,from}_user, get/put_user, clear_user and strncpy_from_user:
    /// x86 stac/clac (__uaccess_begin/end, copy_user_generic; arch/x86/include/asm/uaccess_64.h, Linux 3.7+);
    /// arm64 SET_PSTATE_PAN(0/1) from uaccess_enable_not_uao/disable_not_uao (Linux 4.3 to 5.10), nothing
    /// since 5.11 (LDTR/STTR), and uaccess_ttbr0_enable/disable for SW PAN; RISC-V csrs/csrc sstatus.SUM
    /// (__enable_user_access/__disable_user_access, arch/riscv/include/asm/uaccess.h and lib/uaccess.S);
    /// arm32 uaccess_save_and_enable/uaccess_restore (DACR or TTBCR write + isb, arch/arm/include/asm/uaccess.h).
    /// </summary>
    internal void UserAccessWindow(bool open)
    {
        if (_uaccessOpen == open)
        {
            return;
        }

        _uaccessOpen = open;
        Cpu.Charge(CostCause.PathBase, Software.UaccessToggle);
        SetUserAccess(open);
    }

    // The PAN state change itself, with its instructions (the window above, and a fault taken inside it).
    private void SetUserAccess(bool open)
    {
        MemoryManagementUnit m = Cpu.Mmu;
        switch (Design.Pan)
        {
            case PanKind.ArmDomain:
                m.Registers.Dacr = open ? DacrUserClient : DacrUserNoAccess;
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.ContextidrWrite);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case PanKind.ArmTtbr0:
                m.WriteTtbcr(ArmLpaeFormat.Ttbcr(0, LpaeT1sz, epd0: !open));
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.TtbcrWrite);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case PanKind.Arm64Ttbr0:
                SwPanTtbr0(enable: open);
                break;
            case PanKind.ArmHardware when !UnprivilegedUaccess:
                m.Registers.Pan = !open;
                Cpu.Charge(CostCause.UserAccessControl, PrimitiveCost.MsrPan);
                break;
            case PanKind.X86Smap:
                m.Registers.Ac = open;
                Cpu.Charge(CostCause.UserAccessControl, open ? PrimitiveCost.Stac : PrimitiveCost.Clac);
                break;
            case PanKind.RiscvSum:
                m.Registers.Sum = open;
                Cpu.Charge(CostCause.UserAccessControl, PrimitiveCost.SstatusWrite);
                break;
        }
    }

    /// <summary>
    /// A page fault taken by a direct user access inside the uaccess window: the exception entry closes
    /// user access as it does from user mode (arm32 svc_entry's uaccess_entry, arm64 __swpan_entry_el1,
    /// x86 ASM_CLAC; hardware PAN and SUM change with the exception itself) and the return reopens it
    /// (uaccess_exit, __swpan_exit_el1; IRET and sret restore the saved AC or SUM without an instruction).
    /// </summary>
    internal void UaccessFault(bool entering)
    {
        if (!_uaccessOpen)
        {
            return;
        }

        switch (Design.Pan)
        {
            case PanKind.ArmDomain:
            case PanKind.ArmTtbr0:
            case PanKind.Arm64Ttbr0:
                SetUserAccess(open: !entering);
                break;
            case PanKind.X86Smap:
                Cpu.Mmu.Registers.Ac = !entering;
                if (entering)
                {
                    Cpu.Charge(CostCause.UserAccessControl, PrimitiveCost.Clac);
                }

                break;
            case PanKind.ArmHardware when !UnprivilegedUaccess:
                Cpu.Mmu.Registers.Pan = entering;
                break;
            case PanKind.RiscvSum:
                Cpu.Mmu.Registers.Sum = !entering;
                break;
        }
    }

    // arm64 SW PAN: the task's TTBR0 and ASID in place (enable) or reserved_pg_dir and ASID 0 (disable).
    private void SwPanTtbr0(bool enable)
    {
        Arm64Mm arm64 = (Arm64Mm)Arch;
        if (enable)
        {
            arm64.UaccessTtbr0Enable(Current!, UserAsid);
        }
        else
        {
            arm64.UaccessTtbr0Disable();
        }
    }

    // The release that brought the design's PAN mechanism: CONFIG_X86_SMAP (3.7), CONFIG_ARM64_PAN (4.3),
    // CONFIG_ARM64_SW_TTBR0_PAN (4.10); an older kernel has none to run.
    private void RequirePanRelease()
    {
        (int major, int minor, string what) = Design.Pan switch
        {
            PanKind.X86Smap => (3, 7, "SMAP support (CONFIG_X86_SMAP)"),
            PanKind.ArmHardware => (4, 3, "PAN support (CONFIG_ARM64_PAN)"),
            PanKind.Arm64Ttbr0 => (4, 10, "SW PAN (CONFIG_ARM64_SW_TTBR0_PAN)"),
            _ => (0, 0, ""),
        };
        Vmsplit.Kernel.Layout.LinuxVersion linux = Layout.Config.Linux;
        if (linux < new Vmsplit.Kernel.Layout.LinuxVersion(major, minor))
        {
            throw new KernelSetupException($"{Design.Name}: Linux {linux} has no {what}; it arrived in {major}.{minor}");
        }
    }

    /// <summary>switch_mm: the allocator's decision turned into root writes and TLB maintenance.</summary>
    public void SwitchMm(Process next)
    {
        AsidSwitch sw = Arch.Asids.SwitchMm(Cpu.Id, next.Context);
        Current = next;
        if (!sw.WritesRoot)
        {
            return;
        }

        UserAsid = sw.UserAsid;
        Arch.SwitchMm(next, sw);
    }

    /// <summary>flush_tlb_mm_range() of the architecture (see <see cref="ArchMm.FlushTlbMmRange"/>).</summary>
    public void FlushTlbMmRange(Process p, VirtualAddress start, VirtualAddress end) => Arch.FlushTlbMmRange(p, start, end);

    /// <summary>flush_tlb_mm(): every user translation of the running mm, by address space.</summary>
    public void FlushTlbMm(Process p) => Arch.FlushTlbMm(p);

    internal void RequireRunning(Process p)
    {
        if (p != Current)
        {
            throw new InvalidOperationException($"TLB flush of {p}, which is not the running mm (one CPU is modelled)");
        }
    }

    /// <summary>__flush_tlb_one_user: x86's (see <see cref="X86Mm.FlushOneUser"/>).</summary>
    public void FlushOneUser(VirtualAddress va)
    {
        if (Arch is not X86Mm x86)
        {
            throw new InvalidOperationException("__flush_tlb_one_user is x86's");
        }

        x86.FlushOneUser(va);
    }

    /// <summary>flush_tlb_local() for the running mm: x86's (see <see cref="X86Mm.FlushTlbLocal"/>).</summary>
    public void FlushLoadedMmLocal(Process p)
    {
        RequireRunning(p);
        if (Arch is not X86Mm x86)
        {
            throw new InvalidOperationException("flush_tlb_local as modelled here is x86's, called from the kernel");
        }

        x86.FlushTlbLocal(p);
    }
}
