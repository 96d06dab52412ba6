using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;

namespace Vmsplit.Kernel.Arch.Arm64;

/// <summary>
/// arm64 (arch/arm64/mm): TTBR0 for user space, TTBR1 for the kernel with the ASID in TTBR1 (TCR_EL1.A1),
/// the ASID allocator of context.c (8 or 16 bits, KPTI pairs), __flush_tlb_range with its MAX_TLBI_OPS
/// ceiling and __tlbi_user for the KPTI pair (arch/arm64/include/asm/tlbflush.h).
/// </summary>
public sealed class Arm64Mm : ArchMm
{
    /// <summary>arm64 MAX_TLBI_OPS (PTRS_PER_PTE with 4 KiB pages): from this many pages on, flush_tlb_mm instead.</summary>
    public const int MaxTlbiOps = 512;

    private readonly ArmAsidAllocator _asids;
    private readonly bool _kpti;
    private readonly bool _spectreMitigations;

    /// <param name="kpti">arm64_kernel_unmapped_at_el0(): the ASIDs come in pairs and user TLBIs are issued for both.</param>
    /// <param name="mitigations">The Spectre-v2 and Spectre-BHB mitigations Linux v5.17 applies where the core needs them (false: mitigations=off).</param>
    public Arm64Mm(SimKernel kernel, bool kpti, bool mitigations = true)
        : base(kernel)
    {
        _spectreMitigations = Arm64Mitigations.Applies(kernel.Profile, mitigations);
        int bits = kernel.Profile.Tlb.AsidBits;
        _kpti = kpti;
        _asids = new ArmAsidAllocator(ArmAsidFlavor.Arm64, kernel.Cpus.Count, bits is 8 or 16 ? bits : 16, _kpti);
    }

    public override IAsidAllocator Asids => _asids;

    /// <summary>
    /// The Spectre-BHB loop of the vectors this_cpu_set_vectors(EL1_VECTOR_BHB_LOOP) installed, on every exception from
    /// EL0 on a Cortex-A57/A72 (arch/arm64/kernel/entry.S tramp_ventry, v5.17): its instructions, DSB NSH and ISB.
    /// With KPTI the trampoline vectors run the loop too, the rest of the trampoline being KPTI's own.
    /// </summary>
    public override void EntryFromUser()
    {
        if (_spectreMitigations)
        {
            int instructions = _kpti ? Arm64Mitigations.BhbLoopInstructions : Arm64Mitigations.BhbVectorInstructions;
            Cpu.Charge(KernelCostCause.SpeculationMitigation, Kernel.Profile.Kernel.Cycles(instructions) + Cpu.Cycles(PrimitiveCost.Dsb) + Cpu.Cycles(PrimitiveCost.Isb));
        }
    }

    /// <summary>
    /// arm64_apply_bp_hardening in check_and_switch_context (arch/arm64/mm/context.c, v5.17) on a core whose Spectre-v2
    /// mitigation is the firmware's: the call, the SMC into EL3 and back (the profile's exception entry and return, an
    /// assumption: no SMC round trip was found measured on these cores), the firmware's workaround with its two ISBs.
    /// </summary>
    private void ApplyBpHardening()
    {
        double instructions = Kernel.Profile.Kernel.Cycles(Arm64Mitigations.BpHardeningCallInstructions + Arm64Mitigations.FirmwareWorkaround1Instructions);
        Cpu.Charge(KernelCostCause.SpeculationMitigation, instructions + Cpu.Cycles(PrimitiveCost.ExceptionEntry) + Cpu.Cycles(PrimitiveCost.ExceptionExit) + (2 * Cpu.Cycles(PrimitiveCost.Isb)));
    }

    /// <summary>The allocator with its concrete type (generations, KPTI pairs, pinning).</summary>
    public ArmAsidAllocator ArmAsids => _asids;

    public override ulong ImageOffsetInRam => 0x200000;

    public override bool KernelHasOwnRoot => true;

    /// <summary>
    /// arm64 uaccess uses LDTR/STTR, which make EL0 permission checks and so ignore PSTATE.PAN, since Linux 5.11
    /// unconditionally (uaccess_ttbr0_enable alone around __arch_copy_*_user, arch/arm64/include/asm/uaccess.h);
    /// before, only with ARMv8.2 UAO, which no profile describes.
    /// </summary>
    public override bool UaccessUnprivileged => Kernel.Layout.Config.Linux >= new Vmsplit.Kernel.Layout.LinuxVersion(5, 11);

    // arm64 Linux 4.19.76 (the Raspberry Pi 3 System.map)
    public override KernelTextTable TextFootprint => KernelTextFootprint.Arm64;

    // arch/arm64/include/asm/elf.h (5.4): ELF_PLATFORM "aarch64", ELF_HWCAP2; ARCH_DLINFO AT_SYSINFO_EHDR and
    // AT_MINSIGSTKSZ; arch_align_stack subtracts get_random_int() & ~PAGE_MASK (below 4096) and rounds down to 16
    // (arch/arm64/kernel/process.c)
    public override Vmsplit.Kernel.Abi.ElfStack ElfStack { get; } = new("aarch64", 2, Hwcap2: true, AlignsStack: true, AlignRandomBytes: 4096);

    // STACK_TOP = STACK_TOP_MAX = DEFAULT_MAP_WINDOW_64, TASK_SIZE_64 below 52-bit VAs (arch/arm64/include/asm/processor.h,
    // 5.4); STACK_RND_MASK 0x3ffff pages with 4 KiB pages, 1 GiB (arch/arm64/include/asm/elf.h); mmap_rnd_bits:
    // ARCH_MMAP_RND_BITS_MIN, 18 with 4 KiB pages (arch/arm64/Kconfig); the layout is mm/util.c's generic one (5.4)
    public override Vmsplit.Kernel.Abi.ProcessLayout ProcessLayout => new(Kernel.Layout.TaskSize, 0x3ffff, 18);

    public override void MapEntry(VirtualAddress imageVa)
    {
        Kernel.EntryVa = imageVa; // the vectors are in the image's text
        Kernel.EntryAreaVa = imageVa + Page;
    }

    /// <summary>A TTBR1 write with the ASID in bits 63:48 (TCR_EL1.A1), then ISB: KPTI's trampoline switches.</summary>
    public void WriteTtbr1(PhysicalAddress root, ushort asid)
    {
        Mmu.WriteTtbr1(root.Value | ((ulong)asid << 48));
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr1Write);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }

    /// <summary>TTBR1 translates the top 2^VA_BITS bytes: its tree's index bits are the address below bit VA_BITS.</summary>
    public override IReadOnlyList<LiveRoot> LiveRoots(PageTable userTree, PageTable kernelTree) =>
        [new LiveRoot(userTree, "TTBR0", 0), new LiveRoot(kernelTree, "TTBR1", ~((1UL << Format.VirtualAddressBits) - 1))];

    /// <summary>
    /// SW PAN's __uaccess_ttbr0_enable: TTBR1 gets the task's ASID back, TTBR0 its tables, one ISB
    /// (arch/arm64/include/asm/asm-uaccess.h and asm/uaccess.h, CONFIG_ARM64_SW_TTBR0_PAN, Linux 4.10+).
    /// </summary>
    public void UaccessTtbr0Enable(Process p, ushort userAsid)
    {
        Mmu.WriteTtbr1(Kernel.KernelTree.Root.Value | ((ulong)userAsid << 48));
        Mmu.WriteTtbr0(p.Tables.Root.Value);
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr1Write);
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }

    /// <summary>SW PAN's __uaccess_ttbr0_disable: TTBR0 := reserved_pg_dir, TTBR1 := the reserved ASID 0, one ISB.</summary>
    public void UaccessTtbr0Disable()
    {
        Mmu.WriteTtbr0(ReservedTree.Root.Value);
        Mmu.WriteTtbr1(Kernel.KernelTree.Root.Value);
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr1Write);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }

    /// <summary>reserved_pg_dir: an empty table TTBR0 points at while SW PAN keeps user memory out of reach.</summary>
    private PageTable ReservedTree => _reservedTree ??= Kernel.NewTree();

    private PageTable? _reservedTree;

    private protected override void SetUserRoots(Process p, ushort asid, ushort userAsid)
    {
        ref MmuRegisters r = ref Mmu.Registers;
        MmuRegisters baseRegs = p.Tables.Registers;
        r = baseRegs;
        r.Ttbr0 = p.Tables.Root.Value;
        r.Ttbr1 = Isolation.KernelHalfRoot(Kernel.InKernel).Value | ((ulong)userAsid << 48);
        r.Ttbcr |= AArch64Format.TcrA1; // Linux arm64 takes the ASID from TTBR1 (TCR_A1)
        r.HardwareAccessFlag = true;
    }

    public override void SwitchMm(Process next, AsidSwitch sw)
    {
        CostCause flushCause = sw.Rollover ? KernelCostCause.AsidRollover : CostCause.TlbMaintenance;
        if (_spectreMitigations)
        {
            ApplyBpHardening(); // before cpu_switch_mm, on every path through check_and_switch_context
        }

        if (sw.Flush == SwitchFlush.All)
        {
            // local_flush_tlb_all after a rollover: TLBI VMALLE1 (arch/arm64/mm/context.c)
            Cpu.ChargeMaintenance(Mmu.TlbiVmalle1().Op, flushCause);
            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        }
        else if (sw.Flush == SwitchFlush.Asid)
        {
            Cpu.ChargeMaintenance(Mmu.TlbiAside1(sw.Asid).Op, flushCause);
        }

        if (Kernel.Pan.DefersUserTablesToUaccess)
        {
            // SW PAN defers TTBR0 to uaccess_enable and the exit: check_and_switch_context only calls
            // cpu_switch_mm when !system_uses_ttbr0_pan() (arch/arm64/mm/context.c)
            return;
        }

        if (sw.ReservedRootFirst)
        {
            Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        }

        // cpu_do_switch_mm: TTBR1 (ASID) and TTBR0, ISB
        LoadUserRoots(next, sw.Asid, sw.UserAsid);
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }

    /// <summary>__flush_tlb_range (arch/arm64/include/asm/tlbflush.h): MAX_TLBI_OPS pages or more flush the ASID.</summary>
    public override bool RangeFlushesWholeMm(ulong pages) => pages >= MaxTlbiOps;

    // DSB, one TLBI by VA and ASID per page, DSB; munmap's gather flushes before free_pgtables, so
    // tlb_flush passes last_level = !freed_tables = true (arch/arm64/include/asm/tlb.h, Linux 5.4). The IS forms
    // reach every CPU; the DSB ISH waits for them all (no IPI, and mm_cpumask is not consulted).
    private protected override void FlushUserRange(VirtualAddress start, VirtualAddress end, ushort asid)
    {
        CostCause? saved = BeginBroadcast();
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        for (VirtualAddress va = start; va < end; va += Page)
        {
            TlbiUser(va, asid);
        }

        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        EndBroadcast(saved);
    }

    // flush_tlb_mm: DSB, TLBI ASIDE1IS, DSB
    private protected override void FlushUserMm(Process p, ushort asid)
    {
        CostCause? saved = BeginBroadcast();
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        TlbiUser(null, asid);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        EndBroadcast(saved);
    }

    // One TLBI VALE1IS (or ASIDE1IS when va is null) for the user ASID (__flush_tlb_range with last_level,
    // flush_tlb_mm); KPTI repeats it for the other ASID of the pair (__tlbi_user, arch/arm64/include/asm/tlbflush.h, Linux 5.4).
    private void TlbiUser(VirtualAddress? va, ushort asid)
    {
        int copies = _kpti ? 2 : 1;
        for (int i = 0; i < copies; i++)
        {
            ushort a = i == 0 ? asid : (ushort)(asid & ~1);
            TlbFlushResult r = va is VirtualAddress v
                ? Mmu.TlbiVae1(v, a, lastLevel: true, innerShareable: !OmitRemoteFlush)
                : Mmu.TlbiAside1(a, innerShareable: !OmitRemoteFlush);
            Cpu.ChargeMaintenance(r.Op);
        }
    }

    /// <summary>
    /// flush_tlb_kernel_range: beyond MAX_TLBI_OPS pages flush_tlb_all, else DSB, TLBI VAALE1IS per page, DSB, ISB
    /// (arch/arm64/include/asm/tlbflush.h, Linux 5.4).
    /// </summary>
    public override void FlushTlbKernelRange(VirtualAddress start, VirtualAddress end)
    {
        ulong pages = (end - start) / Page;
        if (pages > MaxTlbiOps)
        {
            FlushTlbAll();
            return;
        }

        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        for (VirtualAddress va = start; va < end; va += Page)
        {
            Cpu.ChargeMaintenance(Mmu.TlbiVaae1(va, lastLevel: true, innerShareable: true).Op);
        }

        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }

    /// <summary>flush_tlb_kernel_range of one page: TLBI VAALE1IS (arch/arm64/include/asm/tlbflush.h, Linux 5.4).</summary>
    public override void FlushTlbKernelPage(VirtualAddress va)
    {
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Cpu.ChargeMaintenance(Mmu.TlbiVaae1(va, lastLevel: true, innerShareable: true).Op);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }

    /// <summary>flush_tlb_all: TLBI VMALLE1IS (arch/arm64/include/asm/tlbflush.h).</summary>
    public override void FlushTlbAll()
    {
        Cpu.ChargeMaintenance(Mmu.TlbiVmalle1(innerShareable: true).Op);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }
}
