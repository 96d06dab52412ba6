using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.X86;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Arch.X86;

/// <summary>
/// x86 (arch/x86/mm): CR3 with PCID and the NOFLUSH bit, the per-CPU dynamic PCID slots of tlb.c,
/// flush_tlb_mm_range with tlb_single_page_flush_ceiling, INVLPG and INVPCID, the CR4.PGE toggle,
/// cpu_entry_area on x86-64.
/// </summary>
public sealed class X86Mm : ArchMm
{
    /// <summary>arch/x86/mm/tlb.c tlb_single_page_flush_ceiling: above this many pages a range flush flushes the whole mm.</summary>
    public const int SinglePageFlushCeiling = 33;

    private readonly X86PcidAllocator _pcids;
    private readonly X86PageTableFormat _format;
    private readonly bool _long;
    private readonly bool _pcidWanted;
    private readonly bool _pcid;
    private readonly bool _pti;
    private readonly bool _retpolines;
    private readonly bool _clearsCpuBuffers;

    /// <param name="pcid">The design asks for PCIDs (used where the CPU has them, in IA-32e mode).</param>
    /// <param name="pti">Page-table isolation: kernel/user PCID pairs, user-PCID flushes (X86_FEATURE_PTI).</param>
    /// <param name="mitigations">The speculation mitigations Linux v5.2 applies where the CPU has the bugs (false: spectre_v2=off mds=off).</param>
    public X86Mm(SimKernel kernel, bool pcid, bool pti, bool mitigations = true)
        : base(kernel)
    {
        _retpolines = X86Mitigations.Retpolines(kernel.Profile, mitigations);
        _clearsCpuBuffers = X86Mitigations.ClearsCpuBuffers(kernel.Profile, mitigations);
        _format = (X86PageTableFormat)kernel.Format; // this room runs only the x86 formats
        _long = kernel.Format.Id is MmuFormat.X86_64 or MmuFormat.X86_64La57;
        _pcidWanted = pcid;
        _pcid = kernel.Profile.Tlb.HasPcid && pcid && _long;
        _pti = pti;
        _pcids = new X86PcidAllocator(kernel.Cpus.Count, _pcid, pti);
    }

    public override IAsidAllocator Asids => _pcids;

    /// <summary>
    /// A retpoline in place of the indirect call on a CPU with Spectre v2 (the system-call table's in do_syscall_64
    /// and do_fast_syscall_32, a file's f_op in vfs_read/vfs_write; arch/x86/entry/common.c, fs/read_write.c, v5.2):
    /// the thunk's instructions and its mispredicted return.
    /// </summary>
    public override void IndirectCall()
    {
        if (_retpolines)
        {
            Cpu.Charge(KernelCostCause.SpeculationMitigation, Kernel.Profile.Kernel.Cycles(X86Mitigations.RetpolineInstructions) + Cpu.Cycles(PrimitiveCost.ReturnMispredict));
        }
    }

    /// <summary>
    /// mds_user_clear_cpu_buffers() at the end of prepare_exit_to_usermode(), which every return to user mode but the
    /// NMI's passes (arch/x86/entry/common.c, v5.2): VERW on a CPU with MDS.
    /// </summary>
    public override void ReturnToUser()
    {
        if (_clearsCpuBuffers)
        {
            Cpu.Charge(KernelCostCause.SpeculationMitigation, Kernel.Profile.Kernel.Cycles(X86Mitigations.ClearCpuBuffersInstructions) + Cpu.Cycles(PrimitiveCost.Verw));
        }
    }

    /// <summary>__switch_to_asm's return-stack fill on every task switch on a CPU with Spectre v2 (X86_FEATURE_RSB_CTXSW, arch/x86/entry/entry_64.S and entry_32.S, v5.2).</summary>
    public override void TaskSwitch()
    {
        if (_retpolines)
        {
            Cpu.Charge(KernelCostCause.SpeculationMitigation, Kernel.Profile.Kernel.Cycles(X86Mitigations.FillReturnBufferInstructions));
        }
    }

    /// <summary>The PCID allocator with its concrete type (PTI's kernel/user pair, the deferred user flush).</summary>
    public X86PcidAllocator Pcids => _pcids;

    public override ulong ImageOffsetInRam => 0x1000000; // CONFIG_PHYSICAL_START 16 MiB

    // 32-bit: FIXADDR_TOP is one page below the top of the 4 GiB space (arch/x86/include/asm/fixmap.h, __FIXADDR_TOP)
    public override ulong FixaddrTop => _long ? 0 : 0xfffff000UL - Page;

    public override bool EntryTouchesEntryArea => true;

    public override AccessType EntryAreaAccess => AccessType.Write; // the entry stack in cpu_entry_area

    public override ulong KernelSpaceStart => Format.Id switch
    {
        MmuFormat.X86_64 => 0xffff800000000000UL,
        MmuFormat.X86_64La57 => 0xff00000000000000UL,
        _ => base.KernelSpaceStart,
    };

    public override ulong KernelSpaceEnd => _long ? ulong.MaxValue : base.KernelSpaceEnd;

    // PAE trees preallocate their four PMDs (PREALLOCATED_PMDS), so the kernel is shared at the PMD level.
    public override int KernelShareLevel => Format.Id == MmuFormat.X86Pae ? 1 : 0;

    public override bool GatherMergesVmas => true; // MMU_GATHER_MERGE_VMAS (arch/x86/Kconfig)

    // x86-64 Linux 6.18.44 (kallsyms); 32-bit x86 Linux 4.19 (Debian 10's 686-pae System.map), with or without PAE
    public override KernelTextTable TextFootprint => _long ? KernelTextFootprint.X86_64 : KernelTextFootprint.X86_32;

    // arch/x86/include/asm/elf.h (5.4): ELF_PLATFORM is utsname()->machine ("i686" on a 32-bit kernel, identify_cpu for
    // family 6 and up), ELF_HWCAP2 elf_hwcap2; ARCH_DLINFO AT_SYSINFO_EHDR (x86-64), ARCH_DLINFO_IA32 AT_SYSINFO and
    // AT_SYSINFO_EHDR (x86-32); arch_align_stack rounds down to 16 (arch/x86/kernel/process.c)
    public override Vmsplit.Kernel.Abi.ElfStack ElfStack => _long ? X86_64Stack : X86_32Stack;

    // STACK_TOP: x86-64 TASK_SIZE_LOW = DEFAULT_MAP_WINDOW, (1 << 47) - PAGE_SIZE with 4 or 5 levels, and mmap_base() is
    // taken in that window (task_size_64bit(0)); x86-32 TASK_SIZE (arch/x86/include/asm/processor.h, 5.4).
    // __STACK_RND_MASK: 0x3fffff pages (16 GiB) for a 64-bit task, 0x7ff (8 MiB) for a 32-bit one
    // (arch/x86/include/asm/elf.h); mmap_rnd_bits: ARCH_MMAP_RND_BITS_MIN, 28 on 64-bit, 8 on 32-bit (arch/x86/Kconfig)
    public override Vmsplit.Kernel.Abi.ProcessLayout ProcessLayout => _long
        ? new((1UL << 47) - Page, 0x3fffff, 28)
        : new(Kernel.Layout.TaskSize, 0x7ff, 8);

    // arch_align_stack (arch/x86/kernel/process.c, 5.4): sp -= get_random_int() % 8192, then sp & ~0xf
    private static readonly Vmsplit.Kernel.Abi.ElfStack X86_64Stack = new("x86_64", 1, Hwcap2: true, AlignsStack: true, AlignRandomBytes: 8192);
    private static readonly Vmsplit.Kernel.Abi.ElfStack X86_32Stack = new("i686", 2, Hwcap2: true, AlignsStack: true, AlignRandomBytes: 8192);

    public override void MapEntry(VirtualAddress imageVa)
    {
        Kernel.EntryVa = imageVa; // .entry.text is the first text page
        if (!_long && Kernel.Layout.CpuEntryAreaBase == 0)
        {
            Kernel.EntryAreaVa = imageVa + Page;
            return;
        }

        // cpu_entry_area (entry stack, TSS): CPU_ENTRY_AREA_BASE, on x86-32 since 4.15 (arch/x86/include/asm/pgtable_32_areas.h)
        Kernel.EntryAreaVa = new VirtualAddress(Kernel.Layout.CpuEntryAreaBase != 0 ? Kernel.Layout.CpuEntryAreaBase : 0xfffffe0000000000UL);
        Kernel.MapKernelRange(Kernel.EntryAreaVa, Kernel.AllocLowmem(), Page, PagePermissions.Read | PagePermissions.Write);
    }

    private protected override void SetUserRoots(Process p, ushort asid, ushort userAsid)
    {
        MmuRegisters x = p.Tables.Registers;
        x.Cr4 = (Kernel.Profile.Has(CpuFeature.Global) ? x.Cr4 | Cr4Flags.Pge : x.Cr4 & ~Cr4Flags.Pge) & ~(Cr4Flags.Pcide | Cr4Flags.Smap);
        if (_pcid)
        {
            x.Cr4 |= Cr4Flags.Pcide;
        }

        bool inKernel = Kernel.InKernel;
        PhysicalAddress root = Isolation.UserHalfRoot(p, inKernel);
        x.Cr3 = root.Value | (_pcid ? Isolation.RootAsid(asid, userAsid, inKernel) : 0UL);
        _format.LoadCr3(Kernel.Memory, ref x, x.Cr3); // PAE: the PDPTEs of the root just chosen
        Mmu.Registers = x;
    }

    public override void SwitchMm(Process next, AsidSwitch sw)
    {
        if (!Isolation.SwitchMmLoadsUserRoots)
        {
            return; // x86-4g4g: the kernel CR3 stays; the user's is loaded at exit
        }

        WriteCr3(next.Tables.Root, sw.Asid, sw.NoFlush);
    }

    /// <summary>A CR3 write: the PCID and the NOFLUSH bit only when CR4.PCIDE is set.</summary>
    public void WriteCr3(PhysicalAddress root, ushort pcid, bool noFlush, CostCause? cause = null)
    {
        MemoryManagementUnit m = Mmu;
        bool pcide = (m.Registers.Cr4 & Cr4Flags.Pcide) != 0;
        ulong value = root.Value | (pcide ? pcid : 0UL) | (pcide && noFlush ? 1UL << 63 : 0);
        m.WriteCr3(value);
        Cpu.Charge(cause ?? CostCause.RootRegisterWrite, pcide && noFlush ? PrimitiveCost.Cr3WriteNoFlush : PrimitiveCost.Cr3Write);
    }

    /// <summary>SWITCH_TO_KERNEL_CR3 (arch/x86/entry/calling.h): the kernel PGD of <paramref name="p"/> with the kernel PCID.</summary>
    public void SwitchToKernelCr3(Process p)
    {
        Cr3Write? w = _pcids.EnterKernel(Cpu.Id);
        WriteCr3(p.Tables.Root, w?.Pcid ?? 0, w?.NoFlush ?? false);
    }

    /// <summary>SWITCH_TO_USER_CR3: the user PGD with the user PCID, flushing it when a flush was deferred.</summary>
    public void SwitchToUserCr3(Process p)
    {
        Cr3Write? w = _pcids.ExitToUser(Cpu.Id);
        WriteCr3(p.UserShadow!.Root, w?.Pcid ?? 0, w?.NoFlush ?? false);
    }

    /// <summary>switch_mm_irqs_off clears this CPU from the previous mm's mm_cpumask (arch/x86/mm/tlb.c, Linux 5.4).</summary>
    public override bool SwitchMmClearsPrevCpu => true;

    private protected override void LocalFlushDone(Process p, ulong gen) => _pcids.SetLoadedTlbGen(Cpu.Id, gen);

    /// <summary>
    /// native_flush_tlb_others (arch/x86/mm/tlb.c, Linux 5.4): IPIs to the CPUs of mm_cpumask, skipping those in lazy
    /// TLB mode unless page tables were freed (tlb_is_not_lazy), and waiting for every one; each runs flush_tlb_func.
    /// </summary>
    private protected override void FlushOtherCpus(Process p, ulong targets, UserFlush f)
    {
        ulong send = 0;
        for (int t = 0; t < Kernel.Cpus.Count; t++)
        {
            if ((targets & (1UL << t)) == 0)
            {
                continue;
            }

            if (!f.FreedTables && Kernel.IsLazy(t))
            {
                LazySkips++; // it catches up by tlb_gen when it switches back (LeaveLazyTlb)
                continue;
            }

            send |= 1UL << t;
        }

        CallFunctionMany(send, _ => FlushTlbFunc(p, f));
    }

    /// <summary>
    /// flush_tlb_func_common (arch/x86/mm/tlb.c, Linux 5.4) on the target CPU: nothing if another mm is loaded or the
    /// CPU's tlb_gen already caught up; the pages when this flush is the only one it missed; otherwise the whole PCID.
    /// A lazy CPU reached because tables were freed flushes the PCID (Linux switches it to init_mm instead).
    /// </summary>
    private void FlushTlbFunc(Process p, UserFlush f)
    {
        int cpu = Cpu.Id;
        if (!ReferenceEquals(_pcids.LoadedMm(cpu), p.Context))
        {
            return;
        }

        ulong local = _pcids.LoadedTlbGen(cpu);
        ulong mmGen = p.Context.TlbGen;
        if (local == mmGen && !Kernel.IsLazy(cpu))
        {
            return; // an earlier flush already brought this CPU up to date
        }

        if (!f.WholeMm && !Kernel.IsLazy(cpu) && f.Gen == local + 1 && f.Gen == mmGen)
        {
            for (VirtualAddress va = f.Start; va < f.End; va += Page)
            {
                FlushUserPageIfLoaded(va);
            }

            _pcids.SetLoadedTlbGen(cpu, f.Gen);
            return;
        }

        FlushTlbLocal(p);
    }

    private void FlushUserPageIfLoaded(VirtualAddress va)
    {
        if (!Isolation.UserTablesLoadedInKernel && Kernel.InKernel)
        {
            return; // x86-4g4g: the exit's CR3 write flushes the user tables
        }

        FlushOneUser(va);
    }

    /// <summary>switch_mm_irqs_off back to the mm a lazy CPU kept: a CR3 write without NOFLUSH when its tlb_gen fell behind (Linux 5.4).</summary>
    public override void LeaveLazyTlb(Process p)
    {
        if (_pcids.LoadedTlbGen(Cpu.Id) == p.Context.TlbGen)
        {
            return;
        }

        LazyCatchUps++;
        FlushTlbLocal(p);
    }

    /// <summary>flush_tlb_kernel_range (arch/x86/mm/tlb.c): on_each_cpu, so every other CPU gets the IPI too.</summary>
    public override void FlushTlbKernelRange(VirtualAddress start, VirtualAddress end)
    {
        base.FlushTlbKernelRange(start, end);
        ulong others = OtherCpus;
        if (others != 0)
        {
            FlushKernelRangeOn(others, start, end); // a separate method: its closure is not allocated on one CPU
        }
    }

    private void FlushKernelRangeOn(ulong cpus, VirtualAddress start, VirtualAddress end) =>
        CallFunctionMany(cpus, _ => base.FlushTlbKernelRange(start, end));

    /// <summary>flush_tlb_mm_range (arch/x86/mm/tlb.c): more than the ceiling flushes the whole mm.</summary>
    public override bool RangeFlushesWholeMm(ulong pages) => pages > SinglePageFlushCeiling;

    private protected override void FlushUserRange(VirtualAddress start, VirtualAddress end, ushort asid)
    {
        if (!Isolation.UserTablesLoadedInKernel && Kernel.InKernel)
        {
            return; // the user tables are not loaded: the CR3 write at exit flushes them (no PCID)
        }

        for (VirtualAddress va = start; va < end; va += Page)
        {
            FlushOneUser(va);
        }
    }

    private protected override void FlushUserMm(Process p, ushort asid)
    {
        if (!Isolation.UserTablesLoadedInKernel && Kernel.InKernel)
        {
            return; // as above: the exit's CR3 write flushes
        }

        FlushTlbLocal(p);
    }

    /// <summary>
    /// __flush_tlb_one_user (arch/x86/mm/tlb.c): INVLPG in the current PCID; under PTI with PCID the user
    /// PCID's copy goes too, by INVPCID type 0.
    /// </summary>
    public void FlushOneUser(VirtualAddress va)
    {
        MemoryManagementUnit m = Mmu;
        Cpu.ChargeMaintenance(TlbMaintenanceOp.X86Invlpg);
        m.Invlpg(va);
        if (_pti && (m.Registers.Cr4 & Cr4Flags.Pcide) != 0)
        {
            if (!m.Tlb.Config.HasInvpcid)
            {
                // without INVPCID the user PCID is flushed whole at the next exit (invalidate_user_asid)
                _pcids.InvalidateLoadedUserAsid(Cpu.Id);
                return;
            }

            Cpu.ChargeMaintenance(TlbMaintenanceOp.X86InvpcidAddress);
            m.Invpcid(0, (ushort)(m.CurrentAsid | (1 << X86PcidAllocator.PtiUserPcidBit)), va);
        }
    }

    /// <summary>
    /// flush_tlb_local() for the running mm (__flush_tlb / native_flush_tlb_local): rewrite CR3 without
    /// NOFLUSH, dropping the current PCID's non-global entries; under PTI with PCID the user PCID is queued
    /// for the next SWITCH_TO_USER_CR3 (invalidate_user_asid).
    /// </summary>
    public void FlushTlbLocal(Process p)
    {
        Kernel.RequireRunning(p);
        if (!Kernel.InKernel)
        {
            throw new InvalidOperationException("flush_tlb_local as modelled here is x86's, called from the kernel");
        }

        Cr3Write w = _pcids.FlushLoadedMm(Cpu.Id);
        PhysicalAddress root = Isolation.UserHalfRoot(p, inKernel: true); // the CR3 the kernel runs on
        WriteCr3(root, w.Pcid, noFlush: false, CostCause.TlbMaintenance);
    }

    public override void FlushTlbKernelPage(VirtualAddress va)
    {
        MemoryManagementUnit m = Mmu;
        Cpu.ChargeMaintenance(TlbMaintenanceOp.X86Invlpg);
        m.Invlpg(va);
        if (_pti && m.Tlb.Config.HasPcid && _pcidWanted)
        {
            // flush_tlb_one_kernel under PTI also invalidates the user PCID's copy (invalidate_user_asid)
            Cpu.ChargeMaintenance(TlbMaintenanceOp.X86InvpcidAddress);
            m.Invpcid(0, (ushort)(m.CurrentAsid | (1 << X86PcidAllocator.PtiUserPcidBit)), va);
        }
    }

    public override void FlushTlbAll()
    {
        MemoryManagementUnit m = Mmu;
        if (m.Tlb.Config.HasInvpcid)
        {
            Cpu.ChargeMaintenance(TlbMaintenanceOp.X86InvpcidAllIncludingGlobal);
            m.Invpcid(2, 0);
            return;
        }

        // CR4.PGE toggled and restored (cr4 ^ X86_CR4_PGE, then cr4): __native_flush_tlb_global
        // without INVPCID (arch/x86/mm/tlb.c); any change of PGE flushes everything
        Cpu.Charge(CostCause.TlbMaintenance, PrimitiveCost.Cr4PgeToggle);
        Cr4Flags cr4 = m.Registers.Cr4;
        m.WriteCr4(cr4 ^ Cr4Flags.Pge);
        m.WriteCr4(cr4);
    }
}
