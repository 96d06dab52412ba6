using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Arch.Riscv;

/// <summary>
/// RISC-V (arch/riscv/mm): satp with its ASID field, the ASID allocator of context.c, SFENCE.VMA by
/// address and ASID up to tlb_flush_all_threshold (tlbflush.c), flush_tlb_mm for freed tables (tlb.h).
/// </summary>
public sealed class RiscvMm : ArchMm
{
    /// <summary>arch/riscv/mm/tlbflush.c tlb_flush_all_threshold.</summary>
    public const int FlushAllThreshold = 64;

    private readonly RiscvAsidAllocator _asids;
    private readonly bool _sv32;

    public RiscvMm(SimKernel kernel)
        : base(kernel)
    {
        _sv32 = kernel.Format.Id == MmuFormat.RiscvSv32;
        _asids = new RiscvAsidAllocator(kernel.Cpus.Count, kernel.Profile.Tlb.AsidBits);
    }

    public override IAsidAllocator Asids => _asids;

    /// <summary>The allocator with its concrete type.</summary>
    public RiscvAsidAllocator RiscvAsids => _asids;

    public override ulong ImageOffsetInRam => 0x200000; // 2 MiB-aligned kernel load address

    // RISC-V Linux 5.4.61 (the Allwinner D1 System.map)
    public override KernelTextTable TextFootprint => KernelTextFootprint.Riscv;

    // arch/riscv/include/asm/elf.h (5.4): ELF_PLATFORM NULL, no ELF_HWCAP2, ARCH_DLINFO AT_SYSINFO_EHDR; the generic
    // arch_align_stack(x) is x (include/asm-generic/exec.h)
    public override Vmsplit.Kernel.Abi.ElfStack ElfStack { get; } = new("", 1, Hwcap2: false, AlignsStack: false);

    // STACK_TOP = TASK_SIZE (arch/riscv/include/asm/processor.h, 5.4); STACK_RND_MASK the generic 0x7ff pages, 8 MiB
    // (mm/util.c); mmap_rnd_bits: ARCH_MMAP_RND_BITS_MIN, 18 on 64-bit, 8 on 32-bit (arch/riscv/Kconfig, 5.4, which also
    // selects ARCH_WANT_DEFAULT_TOPDOWN_MMAP_LAYOUT: mm/util.c's layout)
    public override Vmsplit.Kernel.Abi.ProcessLayout ProcessLayout => new(Kernel.Layout.TaskSize, 0x7ff, _sv32 ? 8 : 18);

    public override void MapEntry(VirtualAddress imageVa)
    {
        Kernel.EntryVa = imageVa; // handle_exception is in the image's text
        Kernel.EntryAreaVa = imageVa + Page;
    }

    // Sv39/48/57: the kernel half is the upper half of the sign-extended space.
    public override ulong KernelSpaceStart => _sv32 ? base.KernelSpaceStart : ~((1UL << (Format.VirtualAddressBits - 1)) - 1);

    public override ulong KernelSpaceEnd => _sv32 ? base.KernelSpaceEnd : ulong.MaxValue;

    private protected override void SetUserRoots(Process p, ushort asid, ushort userAsid)
    {
        MmuRegisters v = p.Tables.Registers;
        int shift = _sv32 ? 22 : 44;
        ulong mask = _sv32 ? 0x1FFUL : 0xFFFFUL;
        v.Satp = (v.Satp & ~(mask << shift)) | (((ulong)asid & mask) << shift);
        v.Sum = true; // the kernel may touch user pages unless the design's PAN clears SUM
        Mmu.Registers = v;
    }

    public override void SwitchMm(Process next, AsidSwitch sw)
    {
        // set_mm_asid (arch/riscv/mm/context.c): satp first, then the flush the allocator asked for
        CostCause flushCause = sw.Rollover ? KernelCostCause.AsidRollover : CostCause.TlbMaintenance;
        LoadUserRoots(next, sw.Asid, sw.UserAsid);
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.SatpWrite);
        if (sw.Flush == SwitchFlush.All)
        {
            Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaAll, flushCause);
            Mmu.SfenceVma(null, null);
        }
        else if (sw.Flush == SwitchFlush.Asid)
        {
            Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaAsid, flushCause);
            Mmu.SfenceVma(null, sw.Asid);
        }
    }

    /// <summary>local_flush_tlb_range_threshold_asid (arch/riscv/mm/tlbflush.c).</summary>
    public override bool RangeFlushesWholeMm(ulong pages) => pages > FlushAllThreshold;

    private protected override void FlushUserRange(VirtualAddress start, VirtualAddress end, ushort asid)
    {
        for (VirtualAddress va = start; va < end; va += Page)
        {
            Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaVaAsid);
            Mmu.SfenceVma(va, asid);
        }
    }

    private protected override void FlushUserMm(Process p, ushort asid)
    {
        Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaAsid);
        Mmu.SfenceVma(null, asid);
    }

    /// <summary>
    /// switch_mm (arch/riscv/mm/context.c, Linux 6.1): with the ASID allocator every hart the mm ran on stays in
    /// mm_cpumask (its entries keep the mm's ASID); without it the switch flushes and the bit is cleared.
    /// </summary>
    public override bool SwitchMmClearsPrevCpu => !_asids.UsesAllocator;

    /// <summary>
    /// __flush_tlb_range (arch/riscv/mm/tlbflush.c, Linux 6.6): other harts in mm_cpumask are reached by
    /// sbi_remote_sfence_vma_asid, an ecall into the SBI firmware, which sends its own IPIs and runs SFENCE.VMA on each
    /// target in M-mode (the target's kernel never runs). OpenSBI turns a range above tlb_range_flush_limit (one page by
    /// default, lib/sbi/sbi_tlb.c) into a flush of the ASID.
    /// </summary>
    private protected override void FlushOtherCpus(Process p, ulong targets, UserFlush f)
    {
        ushort asid = Kernel.UserAsid;
        Cpu.Charge(KernelCostCause.IpiSend, Cpu.Cycles(PrimitiveCost.ExceptionEntry) + Cpu.Cycles(PrimitiveCost.ExceptionExit) + Kernel.Software.SbiRemoteFence);
        RemoteCall(targets, _ => SbiLocalFence(f.WholeMm || (f.End - f.Start) > Page ? null : f.Start, asid), Kernel.Software.IpiSend, Kernel.Software.SbiRemoteFence, viaKernel: false);
    }

    private Action<int> FenceAll => _ => SbiLocalFence(null, null);

    private void SbiLocalFence(VirtualAddress? va, ushort? asid)
    {
        Cpu.ChargeMaintenance(va is null ? (asid is null ? TlbMaintenanceOp.RiscvSfenceVmaAll : TlbMaintenanceOp.RiscvSfenceVmaAsid) : (asid is null ? TlbMaintenanceOp.RiscvSfenceVmaVa : TlbMaintenanceOp.RiscvSfenceVmaVaAsid));
        Mmu.SfenceVma(va, asid);
    }

    /// <summary>flush_tlb_kernel_range is flush_tlb_all on RISC-V SMP: sbi_remote_sfence_vma of every hart (arch/riscv/mm/tlbflush.c).</summary>
    public override void FlushTlbKernelRange(VirtualAddress start, VirtualAddress end)
    {
        base.FlushTlbKernelRange(start, end);
        ulong others = OtherCpus;
        if (others != 0)
        {
            Cpu.Charge(KernelCostCause.IpiSend, Cpu.Cycles(PrimitiveCost.ExceptionEntry) + Cpu.Cycles(PrimitiveCost.ExceptionExit) + Kernel.Software.SbiRemoteFence);
            RemoteCall(others, FenceAll, Kernel.Software.IpiSend, Kernel.Software.SbiRemoteFence, viaKernel: false);
        }
    }

    /// <summary>tlb_flush() with freed_tables is flush_tlb_mm (arch/riscv/include/asm/tlb.h).</summary>
    public override void FlushFreedTables(Process p) => FlushTlbMm(p, freedTables: true);

    public override void FlushTlbKernelPage(VirtualAddress va)
    {
        Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaVa);
        Mmu.SfenceVma(va, null);
    }

    public override void FlushTlbAll()
    {
        Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaAll);
        Mmu.SfenceVma(null, null);
    }

    /// <summary>
    /// pmd_populate: virt_to_pfn(page_address(pte)), a __va then a __pa; pud_populate and p4d_populate:
    /// virt_to_pfn(table), one __pa (arch/riscv/include/asm/pgalloc.h, Linux 5.4 to 6.6).
    /// </summary>
    public override (int Va, int Pa) PopulateConversions(bool pteTable) => pteTable ? (1, 1) : (0, 1);
}
