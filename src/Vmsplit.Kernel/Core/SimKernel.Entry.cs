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
    /// <summary>ASID 0 is never handed out by Linux's ARM allocator (init_mm's reserved index); 4g4g gives it to the kernel's lowmem tables.</summary>
    public const ushort FourGKernelAsid = 0;

    // Linux DACR with CONFIG_CPU_SW_DOMAIN_PAN: kernel/io client; user client in user mode, no access in the kernel.
    private const uint DacrUserClient = ArmMm.DacrUserClient;
    private const uint DacrUserNoAccess = ArmMm.DacrUserNoAccess;

    private bool _uaccessOpen;

    /// <summary>Loads the registers for <paramref name="p"/> running user code (boot-time, no cost).</summary>
    public void Start(Process p)
    {
        Current = p;
        AsidSwitch sw = Arch.Asids.SwitchMm(Cpu.Id, p.Context);
        UserAsid = sw.UserAsid;
        Arch.LoadUserRoots(p, sw.Asid, sw.UserAsid);
        InKernel = false;
    }

    /// <summary>Exception entry (SVC/SYSCALL/ecall, abort, IRQ) as the design takes it.</summary>
    public void EnterKernel()
    {
        if (InKernel)
        {
            throw new InvalidOperationException("entry while already in the kernel");
        }

        InKernel = true;
        Cpu.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionEntry);
        MemoryManagementUnit m = Cpu.Mmu;
        Process p = Current ?? throw new InvalidOperationException("no process is running");
        switch (Design.Scheme)
        {
            case IsolationScheme.FourGFourG:
                // vector_swi trampoline in TTBR1: TTBR0 := kernel lowmem tables with the kernel ASID, ISB
                m.WriteTtbr0(ArmLpaeFormat.Ttbr(_kernelLowTree!.Root, FourGKernelAsid));
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case IsolationScheme.Kpti when Arch is X86Mm x86:
                x86.SwitchToKernelCr3(p);
                break;
            case IsolationScheme.Kpti when Arch is Arm64Mm arm64:
                arm64.SwitchToKernelTtbr1(UserAsid);
                break;
            case IsolationScheme.X86FourGFourG when Arch is X86Mm x86:
                x86.WriteCr3(_kernelTree.Root, 0, false);
                break;
            default:
                EntryPan(enter: true);
                break;
        }
    }

    /// <summary>Return to user mode in <see cref="Current"/>.</summary>
    public void ExitKernel()
    {
        if (!InKernel)
        {
            throw new InvalidOperationException("exit while not in the kernel");
        }

        MemoryManagementUnit m = Cpu.Mmu;
        Process p = Current ?? throw new InvalidOperationException("no process is running");
        switch (Design.Scheme)
        {
            case IsolationScheme.FourGFourG:
                m.WriteTtbr0(ArmLpaeFormat.Ttbr(p.Tables.Root, UserAsid));
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case IsolationScheme.Kpti when Arch is X86Mm x86:
                x86.SwitchToUserCr3(p);
                break;
            case IsolationScheme.Kpti when Arch is Arm64Mm arm64:
                arm64.SwitchToTrampolineTtbr1(UserAsid);
                break;
            case IsolationScheme.X86FourGFourG when Arch is X86Mm x86:
                x86.WriteCr3(p.Tables.Root, 0, false);
                break;
            default:
                EntryPan(enter: false);
                break;
        }

        Cpu.Charge(CostCause.ExceptionEntryExit, PrimitiveCost.ExceptionExit);
        InKernel = false;
    }

    // PAN state changes at entry and exit: SW domain PAN writes DACR, TTBR0 PAN sets TTBCR.EPD0;
    // hardware PAN, SMAP (RFLAGS.AC cleared by SYSCALL's FMASK) and SUM (cleared on trap) cost nothing here.
    private void EntryPan(bool enter)
    {
        MemoryManagementUnit m = Cpu.Mmu;
        switch (Design.Pan)
        {
            case PanKind.ArmDomain:
                m.Registers.Dacr = enter ? DacrUserNoAccess : DacrUserClient;
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.ContextidrWrite); // an MCR to CP15 like CONTEXTIDR
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case PanKind.ArmTtbr0:
                m.WriteTtbcr(ArmLpaeFormat.Ttbcr(0, LpaeT1sz, epd0: enter));
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.TtbcrWrite);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case PanKind.ArmHardware:
                m.Registers.Pan = enter;
                break;
            case PanKind.X86Smap:
                m.Registers.Ac = false;
                break;
            case PanKind.RiscvSum:
                m.Registers.Sum = false;
                break;
        }
    }

    /// <summary>uaccess_enable/disable around direct user accesses (stac/clac, DACR, EPD0, PSTATE.PAN, SUM).</summary>
    internal void UserAccessWindow(bool open)
    {
        if (_uaccessOpen == open)
        {
            return;
        }

        _uaccessOpen = open;
        MemoryManagementUnit m = Cpu.Mmu;
        Cpu.Charge(CostCause.PathBase, Software.UaccessToggle);
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
            case PanKind.ArmHardware:
                m.Registers.Pan = !open;
                break;
            case PanKind.X86Smap:
                m.Registers.Ac = open;
                break;
            case PanKind.RiscvSum:
                m.Registers.Sum = open;
                break;
        }
    }

    /// <summary>The TTBR1 tree loaded while user code runs (arm64: tramp_pg_dir under KPTI, else swapper).</summary>
    public PageTable UserTtbr1Tree => Arch is Arm64Mm arm64 ? arm64.UserTtbr1Tree : _kernelTree;

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
