using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Designs;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>ASID 0 is never handed out by Linux's ARM allocator (init_mm's reserved index); 4g4g gives it to the kernel's lowmem tables.</summary>
    public const ushort FourGKernelAsid = 0;

    // Linux DACR with CONFIG_CPU_SW_DOMAIN_PAN: kernel/io client; user client in user mode, no access in the kernel.
    private const uint DacrUserClient = 0b01 << 2 | 0b01 | 0b01 << 4;
    private const uint DacrUserNoAccess = 0b01 | 0b01 << 4;

    private ushort _userAsid;
    private bool _uaccessOpen;

    /// <summary>Loads the registers for <paramref name="p"/> running user code (boot-time, no cost).</summary>
    public void Start(Process p)
    {
        Current = p;
        AsidSwitch sw = _asids.SwitchMm(Cpu.Id, p.Context);
        _userAsid = sw.UserAsid;
        SetRootsForUser(p, sw.Asid, sw.UserAsid);
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
            case IsolationScheme.Kpti when Family == ArchFamily.X86:
                Cr3Write? w = ((X86PcidAllocator)_asids).EnterKernel(Cpu.Id);
                WriteCr3For(p.Tables.Root, w?.Pcid ?? 0, w?.NoFlush ?? false); // SWITCH_TO_KERNEL_CR3
                break;
            case IsolationScheme.Kpti:
                // arm64 tramp_vectors: TTBR1 := swapper_pg_dir with the kernel ASID (user ASID & ~1), ISB
                m.WriteTtbr1(_kernelTree.Root.Value | ((ulong)(_userAsid & ~1) << 48));
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr1Write);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case IsolationScheme.X86FourGFourG:
                WriteCr3For(_kernelTree.Root, 0, false);
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
                m.WriteTtbr0(ArmLpaeFormat.Ttbr(p.Tables.Root, _userAsid));
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case IsolationScheme.Kpti when Family == ArchFamily.X86:
                Cr3Write? w = ((X86PcidAllocator)_asids).ExitToUser(Cpu.Id);
                WriteCr3For(p.UserShadow!.Root, w?.Pcid ?? 0, w?.NoFlush ?? false); // SWITCH_TO_USER_CR3
                break;
            case IsolationScheme.Kpti:
                m.WriteTtbr1(TrampolineRoot.Value | ((ulong)_userAsid << 48));
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr1Write);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case IsolationScheme.X86FourGFourG:
                WriteCr3For(p.Tables.Root, 0, false);
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
                m.WriteTtbcr(ArmLpaeFormat.Ttbcr(0, _lpaeT1sz, epd0: enter));
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
                m.WriteTtbcr(ArmLpaeFormat.Ttbcr(0, _lpaeT1sz, epd0: !open));
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
    public PageTable UserTtbr1Tree => Design.Scheme == IsolationScheme.Kpti && Family == ArchFamily.Arm64 ? (_trampolineTree ??= CreateTrampolineTree()) : _kernelTree;

    /// <summary>arm64 KPTI's tramp_pg_dir: a TTBR1 tree holding only the trampoline vectors.</summary>
    private PhysicalAddress TrampolineRoot => (_trampolineTree ??= CreateTrampolineTree()).Root;

    private PageTable? _trampolineTree;

    private PageTable CreateTrampolineTree()
    {
        PageTable t = NewTree();
        t.ShareEntry(_kernelTree, EntryVa, 3);
        return t;
    }

    private void WriteCr3For(PhysicalAddress root, ushort pcid, bool noFlush, CostCause cause = CostCause.RootRegisterWrite)
    {
        MemoryManagementUnit m = Cpu.Mmu;
        bool pcide = (m.Registers.Cr4 & Cr4Flags.Pcide) != 0;
        ulong value = root.Value | (pcide ? pcid : 0UL) | (pcide && noFlush ? 1UL << 63 : 0);
        TlbFlushResult r = m.WriteCr3(value);
        Cpu.Charge(cause, pcide && noFlush ? PrimitiveCost.Cr3WriteNoFlush : PrimitiveCost.Cr3Write);
        _ = r;
    }

    /// <summary>switch_mm: the allocator's decision turned into root writes and TLB maintenance.</summary>
    public void SwitchMm(Process next)
    {
        AsidSwitch sw = _asids.SwitchMm(Cpu.Id, next.Context);
        Current = next;
        if (!sw.WritesRoot)
        {
            return;
        }

        _userAsid = sw.UserAsid;
        CostCause flushCause = sw.Rollover ? CostCause.AsidRollover : CostCause.TlbMaintenance;
        MemoryManagementUnit m = Cpu.Mmu;
        switch (Family)
        {
            case ArchFamily.Arm32:
            case ArchFamily.Arm64:
                if (sw.Flush == SwitchFlush.All)
                {
                    // local_flush_tlb_all after a rollover: TLBIALL (arch/arm/mm/context.c), TLBI VMALLE1 (arch/arm64/mm/context.c)
                    TlbFlushResult all = Family == ArchFamily.Arm64 ? m.TlbiVmalle1() : m.TlbiAll();
                    Cpu.ChargeMaintenance(all.Op, flushCause);
                    Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
                }
                else if (sw.Flush == SwitchFlush.Asid)
                {
                    TlbFlushResult byAsid = Family == ArchFamily.Arm64 ? m.TlbiAside1(sw.Asid) : m.TlbiAsid(sw.Asid);
                    Cpu.ChargeMaintenance(byAsid.Op, flushCause);
                }

                if (sw.ReservedRootFirst)
                {
                    Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
                    Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                }

                if (Design.Scheme != IsolationScheme.FourGFourG)
                {
                    // in the 4g4g kernel the user tables are installed by the exit trampoline, not here
                    SetRootsForUser(next, sw.Asid, sw.UserAsid);
                    Cpu.Charge(CostCause.RootRegisterWrite, Family == ArchFamily.Arm64 || Format.Id == MmuFormat.ArmLpae ? PrimitiveCost.Ttbr0Write : PrimitiveCost.ContextidrWrite);
                    if (Format.Id == MmuFormat.ArmShort)
                    {
                        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
                    }

                    Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                }

                break;
            case ArchFamily.X86:
                if (Design.Scheme == IsolationScheme.Kpti)
                {
                    WriteCr3For(next.Tables.Root, sw.Asid, sw.NoFlush);
                }
                else if (Design.Scheme == IsolationScheme.X86FourGFourG)
                {
                    // the kernel CR3 stays; the user's is loaded at exit
                }
                else
                {
                    WriteCr3For(next.Tables.Root, sw.Asid, sw.NoFlush);
                }

                break;
            default:
                SetRootsForUser(next, sw.Asid, sw.UserAsid);
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.SatpWrite);
                if (sw.Flush == SwitchFlush.All)
                {
                    Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaAll, flushCause);
                    m.SfenceVma(null, null);
                }
                else if (sw.Flush == SwitchFlush.Asid)
                {
                    Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaAsid, flushCause);
                    m.SfenceVma(null, sw.Asid);
                }

                break;
        }
    }

    // Root registers while `p` runs (or is about to run) user code.
    private void SetRootsForUser(Process p, ushort asid, ushort userAsid)
    {
        MemoryManagementUnit m = Cpu.Mmu;
        ref MmuRegisters r = ref m.Registers;
        switch (Format.Id)
        {
            case MmuFormat.ArmShort:
                r = ArmShortFormat.Registers(p.Tables.Root, p.Tables.Root, 0, DacrUserClient, asid);
                break;
            case MmuFormat.ArmLpae:
                if (Design.Scheme == IsolationScheme.FourGFourG)
                {
                    r = ArmLpaeFormat.Registers(InKernel ? _kernelLowTree!.Root : p.Tables.Root, _kernelTree.Root, ArmLpaeFormat.Ttbcr(0, _lpaeT1sz), InKernel ? FourGKernelAsid : userAsid);
                }
                else
                {
                    r = ArmLpaeFormat.Registers(p.Tables.Root, _kernelTree.Root, ArmLpaeFormat.Ttbcr(0, _lpaeT1sz, epd0: InKernel && Design.Pan == PanKind.ArmTtbr0), asid);
                }

                r.HardwareAccessFlag = true;
                break;
            case MmuFormat.AArch64Va39:
            case MmuFormat.AArch64Va48:
                MmuRegisters baseRegs = p.Tables.Registers;
                r = baseRegs;
                r.Ttbr0 = p.Tables.Root.Value;
                r.Ttbr1 = (Design.Scheme == IsolationScheme.Kpti && !InKernel ? TrampolineRoot.Value : _kernelTree.Root.Value) | ((ulong)userAsid << 48);
                r.Ttbcr |= AArch64Format.TcrA1; // Linux arm64 takes the ASID from TTBR1 (TCR_A1)
                r.HardwareAccessFlag = true;
                break;
            case MmuFormat.X86_32:
            case MmuFormat.X86Pae:
            case MmuFormat.X86_64:
            case MmuFormat.X86_64La57:
                MmuRegisters x = p.Tables.Registers;
                bool pcid = _setup.Profile.Tlb.HasPcid && Design.Pcid && Format.Id is MmuFormat.X86_64 or MmuFormat.X86_64La57;
                x.Cr4 = (_setup.Profile.Has(CpuFeature.Global) ? x.Cr4 | Cr4Flags.Pge : x.Cr4 & ~Cr4Flags.Pge) & ~(Cr4Flags.Pcide | Cr4Flags.Smap);
                if (pcid)
                {
                    x.Cr4 |= Cr4Flags.Pcide;
                }

                if (Design.Pan == PanKind.X86Smap)
                {
                    x.Cr4 |= Cr4Flags.Smap;
                }

                PhysicalAddress root = Design.Scheme == IsolationScheme.Kpti && p.UserShadow is not null && !InKernel ? p.UserShadow.Root : p.Tables.Root;
                if (Design.Scheme == IsolationScheme.X86FourGFourG && InKernel)
                {
                    root = _kernelTree.Root;
                }

                x.Cr3 = root.Value | (pcid ? (Design.Scheme == IsolationScheme.Kpti && !InKernel ? userAsid : asid) : 0UL);
                ((Vmsplit.Hardware.Paging.X86.X86PageTableFormat)Format).LoadCr3(Memory, ref x, x.Cr3); // PAE: the PDPTEs of the root just chosen
                r = x;
                break;
            default:
                MmuRegisters v = p.Tables.Registers;
                int shift = Format.Id == MmuFormat.RiscvSv32 ? 22 : 44;
                ulong mask = Format.Id == MmuFormat.RiscvSv32 ? 0x1FFUL : 0xFFFFUL;
                v.Satp = (v.Satp & ~(mask << shift)) | (((ulong)asid & mask) << shift);
                v.Sum = Design.Pan != PanKind.RiscvSum;
                r = v;
                break;
        }

        if (Design.Pan == PanKind.ArmHardware)
        {
            r.Pan = InKernel;
        }
    }

    /// <summary>
    /// flush_tlb_mm_range(): TLB maintenance after user PTEs of the running mm changed in
    /// [<paramref name="start"/>, <paramref name="end"/>), one page at a time below the architecture's
    /// ceiling and by address space above it. Single CPU: no shootdown IPIs.
    /// </summary>
    public void FlushTlbMmRange(Process p, VirtualAddress start, VirtualAddress end)
    {
        RequireRunning(p);
        ulong pages = (end.Value - start.Value) / Page;
        bool whole = Family switch
        {
            ArchFamily.Arm32 => false, // v7wbi_flush_user_tlb_range (arch/arm/mm/tlb-v7.S) has no ceiling
            ArchFamily.Arm64 => pages >= Arm64MaxTlbiOps, // __flush_tlb_range (arch/arm64/include/asm/tlbflush.h)
            ArchFamily.X86 => pages > X86SinglePageFlushCeiling, // flush_tlb_mm_range (arch/x86/mm/tlb.c)
            _ => pages > RiscvFlushAllThreshold, // local_flush_tlb_range_threshold_asid (arch/riscv/mm/tlbflush.c)
        };
        if (whole)
        {
            FlushTlbMm(p);
            return;
        }

        Cpu.Charge(CostCause.TlbMaintenance, Software.FlushTlbRange);
        MemoryManagementUnit m = Cpu.Mmu;
        ushort asid = _userAsid;
        switch (Family)
        {
            case ArchFamily.Arm32:
            case ArchFamily.Arm64:
                // DSB, one TLBI by VA and ASID per page, DSB; arm64's munmap gather flushes before free_pgtables, so
                // tlb_flush passes last_level = !freed_tables = true (arch/arm64/include/asm/tlb.h, Linux 5.4)
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
                for (VirtualAddress va = start; va < end; va += Page)
                {
                    ArmTlbiUser(va, asid);
                }

                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
                break;
            case ArchFamily.X86:
                if (Design.Scheme == IsolationScheme.X86FourGFourG && InKernel)
                {
                    break; // the user tables are not loaded: the CR3 write at exit flushes them (no PCID)
                }

                for (VirtualAddress va = start; va < end; va += Page)
                {
                    FlushOneUser(va);
                }

                break;
            default:
                for (VirtualAddress va = start; va < end; va += Page)
                {
                    Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaVaAsid);
                    m.SfenceVma(va, asid);
                }

                break;
        }
    }

    /// <summary>flush_tlb_mm(): every user translation of the running mm, by address space.</summary>
    public void FlushTlbMm(Process p)
    {
        RequireRunning(p);
        Cpu.Charge(CostCause.TlbMaintenance, Software.FlushTlbRange);
        MemoryManagementUnit m = Cpu.Mmu;
        ushort asid = _userAsid;
        switch (Family)
        {
            case ArchFamily.Arm32:
            case ArchFamily.Arm64:
                // local_flush_tlb_mm / arm64 flush_tlb_mm: DSB, TLBI by ASID (arm64: ASIDE1IS), DSB
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
                ArmTlbiUser(null, asid);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
                break;
            case ArchFamily.X86:
                if (Design.Scheme == IsolationScheme.X86FourGFourG && InKernel)
                {
                    break; // as above: the exit's CR3 write flushes
                }

                FlushLoadedMmLocal(p);
                break;
            default:
                Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaAsid);
                m.SfenceVma(null, asid);
                break;
        }
    }

    // One TLBI by VA (or by ASID when va is null) for the user ASID: ARMv7 TLBIMVA / TLBIASID, arm64
    // TLBI VALE1IS / ASIDE1IS (__flush_tlb_range with last_level, flush_tlb_mm); arm64 KPTI repeats it for
    // the other ASID of the pair (__tlbi_user, arch/arm64/include/asm/tlbflush.h, Linux 5.4).
    private void ArmTlbiUser(VirtualAddress? va, ushort asid)
    {
        MemoryManagementUnit m = Cpu.Mmu;
        bool arm64 = Family == ArchFamily.Arm64;
        int copies = arm64 && Design.Scheme == IsolationScheme.Kpti ? 2 : 1;
        for (int i = 0; i < copies; i++)
        {
            ushort a = i == 0 ? asid : (ushort)(asid & ~1);
            TlbFlushResult r = (va, arm64) switch
            {
                (VirtualAddress v, true) => m.TlbiVae1(v, a, lastLevel: true, innerShareable: true),
                (VirtualAddress v, false) => m.TlbiMva(v, a),
                (null, true) => m.TlbiAside1(a, innerShareable: true),
                _ => m.TlbiAsid(a),
            };
            Cpu.ChargeMaintenance(r.Op);
        }
    }

    private void RequireRunning(Process p)
    {
        if (p != Current)
        {
            throw new InvalidOperationException($"TLB flush of {p}, which is not the running mm (one CPU is modelled)");
        }
    }

    /// <summary>arch/x86/mm/tlb.c tlb_single_page_flush_ceiling: above this many pages a range flush flushes the whole mm.</summary>
    public const int X86SinglePageFlushCeiling = 33;

    /// <summary>arm64 MAX_TLBI_OPS (PTRS_PER_PTE with 4 KiB pages): from this many pages on, flush_tlb_mm instead.</summary>
    public const int Arm64MaxTlbiOps = 512;

    /// <summary>arch/riscv/mm/tlbflush.c tlb_flush_all_threshold.</summary>
    public const int RiscvFlushAllThreshold = 64;

    /// <summary>
    /// __flush_tlb_one_user (arch/x86/mm/tlb.c): INVLPG in the current PCID; under PTI with PCID the user
    /// PCID's copy goes too, by INVPCID type 0.
    /// </summary>
    public void FlushOneUser(VirtualAddress va)
    {
        MemoryManagementUnit m = Cpu.Mmu;
        if (Family != ArchFamily.X86)
        {
            throw new InvalidOperationException("__flush_tlb_one_user is x86's");
        }

        Cpu.ChargeMaintenance(TlbMaintenanceOp.X86Invlpg);
        m.Invlpg(va);
        if (Design.Scheme == IsolationScheme.Kpti && (m.Registers.Cr4 & Cr4Flags.Pcide) != 0)
        {
            if (!m.Tlb.Config.HasInvpcid)
            {
                // without INVPCID the user PCID is flushed whole at the next exit (invalidate_user_asid)
                ((X86PcidAllocator)_asids).InvalidateLoadedUserAsid(Cpu.Id);
                return;
            }

            Cpu.ChargeMaintenance(TlbMaintenanceOp.X86InvpcidAddress);
            m.Invpcid(0, (ushort)(m.CurrentAsid | (1 << X86PcidAllocator.PtiUserPcidBit)), va);
        }
    }

    /// <summary>
    /// flush_tlb_local() for the running mm (x86 __flush_tlb / native_flush_tlb_local): rewrite CR3 without
    /// NOFLUSH, dropping the current PCID's non-global entries; under PTI with PCID the user PCID is queued
    /// for the next SWITCH_TO_USER_CR3 (invalidate_user_asid).
    /// </summary>
    public void FlushLoadedMmLocal(Process p)
    {
        RequireRunning(p);
        if (Family != ArchFamily.X86 || !InKernel)
        {
            throw new InvalidOperationException("flush_tlb_local as modelled here is x86's, called from the kernel");
        }

        Cr3Write w = ((X86PcidAllocator)_asids).FlushLoadedMm(Cpu.Id);
        PhysicalAddress root = Design.Scheme == IsolationScheme.X86FourGFourG ? _kernelTree.Root : p.Tables.Root; // the CR3 the kernel runs on
        WriteCr3For(root, w.Pcid, noFlush: false, CostCause.TlbMaintenance);
    }
}
