using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;

namespace Vmsplit.Kernel.Arch.Arm;

/// <summary>
/// 32-bit ARM (arch/arm/mm): short descriptors or LPAE, the ARM ASID allocator (context.c), the vectors
/// page at 0xffff0000, TLBI by MVA and ASID between DSBs (tlb-v7.S), CONTEXTIDR or TTBR0 writes in
/// switch_mm (proc-v7-2level.S / proc-v7-3level.S).
/// </summary>
public sealed class ArmMm : ArchMm
{
    /// <summary>Linux DACR with CONFIG_CPU_SW_DOMAIN_PAN: kernel and I/O domains client, user domain client in user mode.</summary>
    public const uint DacrUserClient = 0b01 << 2 | 0b01 | 0b01 << 4;

    /// <summary>The same DACR with the user domain set to no access (in the kernel, outside uaccess).</summary>
    public const uint DacrUserNoAccess = 0b01 | 0b01 << 4;

    private readonly ArmAsidAllocator _asids;
    private readonly bool _lpae;

    public ArmMm(SimKernel kernel)
        : base(kernel)
    {
        _lpae = kernel.Format.Id == MmuFormat.ArmLpae;
        _asids = new ArmAsidAllocator(_lpae ? ArmAsidFlavor.Arm32Lpae : ArmAsidFlavor.Arm32Classic, 1, 8);
    }

    public override IAsidAllocator Asids => _asids;

    /// <summary>The allocator with its concrete type (generations, pinning).</summary>
    public ArmAsidAllocator ArmAsids => _asids;

    /// <summary>LPAE TTBCR.T1SZ: the TTBR1 region is the top 4 GiB >> T1SZ (0: TTBR0 covers everything).</summary>
    public int Ttbr1Size { get; internal set; }

    public override ulong ImageOffsetInRam => 0x8000; // TEXT_OFFSET (arch/arm/Makefile)

    public override ulong FixaddrTop => Kernel.Layout.FixaddrEnd - Page; // FIXADDR_TOP = FIXADDR_END - PAGE_SIZE (arch/arm/include/asm/fixmap.h)

    public override bool KmapFlushesAfterMap => true;

    public override bool KernelHasOwnRoot => _lpae && Ttbr1Size > 0;

    public override void MapEntry(VirtualAddress imageVa)
    {
        // The vectors page and the stubs page above it (arch/arm/kernel/traps.c early_trap_init).
        VirtualAddress entry = new(Kernel.Layout.VectorsBase != 0 ? Kernel.Layout.VectorsBase : 0xffff0000);
        VirtualAddress area = entry + Page;
        Kernel.EntryVa = entry;
        Kernel.EntryAreaVa = area;
        Kernel.MapKernelRange(entry, new PhysicalAddress(Kernel.AllocLowmem().Value), Page, PagePermissions.Read | PagePermissions.Execute);
        Kernel.MapKernelRange(area, new PhysicalAddress(Kernel.AllocLowmem().Value), Page, PagePermissions.Read | PagePermissions.Execute);
    }

    public override void LoadUserRoots(Process p, ushort asid, ushort userAsid)
    {
        ref MmuRegisters r = ref Mmu.Registers;
        if (!_lpae)
        {
            r = ArmShortFormat.Registers(p.Tables.Root, p.Tables.Root, 0, DacrUserClient, asid);
            return;
        }

        DesignSpec d = Kernel.Design;
        if (d.Scheme == IsolationScheme.FourGFourG)
        {
            r = ArmLpaeFormat.Registers(Kernel.InKernel ? Kernel.KernelLowTree!.Root : p.Tables.Root, Kernel.KernelTree.Root, ArmLpaeFormat.Ttbcr(0, Ttbr1Size), Kernel.InKernel ? SimKernel.FourGKernelAsid : userAsid);
        }
        else
        {
            r = ArmLpaeFormat.Registers(p.Tables.Root, Kernel.KernelTree.Root, ArmLpaeFormat.Ttbcr(0, Ttbr1Size, epd0: Kernel.InKernel && d.Pan == PanKind.ArmTtbr0), asid);
        }

        r.HardwareAccessFlag = true;
    }

    public override void SwitchMm(Process next, AsidSwitch sw)
    {
        CostCause flushCause = sw.Rollover ? CostCause.AsidRollover : CostCause.TlbMaintenance;
        if (sw.Flush == SwitchFlush.All)
        {
            Cpu.ChargeMaintenance(TlbMaintenanceOp.ArmTlbiAll, flushCause);
            Mmu.TlbiAll();
            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        }
        else if (sw.Flush == SwitchFlush.Asid)
        {
            Cpu.ChargeMaintenance(TlbMaintenanceOp.ArmTlbiAsid, flushCause);
            Mmu.TlbiAsid(sw.Asid);
        }

        if (sw.ReservedRootFirst)
        {
            // cpu_set_reserved_ttbr0 before the ASID changes (arch/arm/mm/context.c)
            Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        }

        if (Kernel.Design.Scheme != IsolationScheme.FourGFourG)
        {
            // in the 4g4g kernel the user tables are installed by the exit trampoline, not here
            LoadUserRoots(next, sw.Asid, sw.UserAsid);
            Cpu.Charge(CostCause.RootRegisterWrite, _lpae ? PrimitiveCost.Ttbr0Write : PrimitiveCost.ContextidrWrite);
            if (!_lpae)
            {
                Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
            }

            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        }
    }

    /// <summary>v7wbi_flush_user_tlb_range (arch/arm/mm/tlb-v7.S) has no ceiling.</summary>
    public override bool RangeFlushesWholeMm(ulong pages) => false;

    private protected override void FlushUserRange(VirtualAddress start, VirtualAddress end, ushort asid)
    {
        // DSB, one TLBIMVA per page, DSB
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        for (VirtualAddress va = start; va < end; va += Page)
        {
            Cpu.ChargeMaintenance(Mmu.TlbiMva(va, asid).Op);
        }

        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
    }

    private protected override void FlushUserMm(Process p, ushort asid)
    {
        // local_flush_tlb_mm: DSB, TLBIASID, DSB
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Cpu.ChargeMaintenance(Mmu.TlbiAsid(asid).Op);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
    }

    public override void FlushTlbKernelPage(VirtualAddress va)
    {
        // local_flush_tlb_kernel_page: DSB, TLBIMVAA, ISB
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Cpu.ChargeMaintenance(TlbMaintenanceOp.ArmTlbiMvaa);
        Mmu.TlbiMvaa(va);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }

    public override void FlushTlbAll()
    {
        Cpu.ChargeMaintenance(TlbMaintenanceOp.ArmTlbiAll);
        Mmu.TlbiAll();
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }
}
