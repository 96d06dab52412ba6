using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;

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
    private PageTable? _ttbr0Part; // LPAE with a TTBR1 region: modules and pkmap below PAGE_OFFSET, shared into each process

    public ArmMm(SimKernel kernel)
        : base(kernel)
    {
        _lpae = kernel.Format.Id == MmuFormat.ArmLpae;
        _asids = new ArmAsidAllocator(_lpae ? ArmAsidFlavor.Arm32Lpae : ArmAsidFlavor.Arm32Classic, kernel.Cpus.Count, 8);
        CacheGeometry cache = kernel.Cpu.Profile.Cache;
        ViptAliasing = cache.ViptAliasing ? new ArmViptAliasingCache(kernel, this, cache) : null;
    }

    /// <summary>The aliasing data cache's maintenance (arch/arm/mm/flush.c), or null where the cache does not alias.</summary>
    public ArmViptAliasingCache? ViptAliasing { get; }

    public override void GupCacheMaintenance(PhysicalAddress frame, VirtualAddress user)
    {
        if (ViptAliasing is { } vipt)
        {
            vipt.FlushAnonPage(frame, user);
            vipt.FlushDcachePage(frame);
        }
        else if (!_lpae)
        {
            // __flush_anon_page returns at once ("VIPT non-aliasing caches need do nothing"), but flush_dcache_page of an
            // anonymous page (page_mapping NULL) still takes __flush_dcache_page in Linux 4.4 and in the 2020 tree the
            // vmsplit 4g/4g RFC was measured on (arch/arm/mm/flush.c): the whole page cleaned and invalidated by MVA.
            // Later releases return early for VIPT non-aliasing caches (only PG_dcache_clean is cleared).
            FlushKernelAliasNonAliasing(frame);
        }
    }

    /// <summary>Pages get_user_pages cleaned and invalidated from a non-aliasing data cache (<see cref="GupCacheMaintenance"/>).</summary>
    public long GupPagesFlushed { get; private set; }

    // __flush_dcache_page: __cpuc_flush_dcache_area(page_address(page), PAGE_SIZE), a highmem page through kmap_atomic;
    // v7_flush_kern_dcache_area (arch/arm/mm/cache-v7.S, 4.4): one DCCIMVAC (MCR p15, 0, r0, c7, c14, 1) per line to the
    // point of coherency, each priced at the profile's cleanInvalidateLineCycles, then DSB; the lines leave the L1D and L2
    private void FlushKernelAliasNonAliasing(PhysicalAddress frame)
    {
        VirtualAddress va = Kernel.KmapFrame(frame);
        CleanInvalidatePage(va);
        Kernel.KunmapFrame(frame, va);
        GupPagesFlushed++;
    }

    /// <summary>
    /// One page cleaned and invalidated by MVA to the point of coherency: the address through the MMU, one DCCIMVAC per
    /// line at the profile's cleanInvalidateLineCycles, the page's lines out of the L1D and L2, then the DSB; the lines.
    /// </summary>
    internal int CleanInvalidatePage(VirtualAddress va)
    {
        Translation t = Kernel.Cpu.Access(va, AccessType.Read, Privilege.Kernel);
        if (t.IsFault)
        {
            throw new InvalidOperationException($"cache maintenance of {va}: the address does not translate ({t.Fault})");
        }

        CacheGeometry cache = Kernel.Cpu.Profile.Cache;
        int lines = cache.LinesPerPage;
        Kernel.Cpu.Charge(CostCause.CacheFlush, lines * cache.CleanInvalidateLineCycles, lines);
        Kernel.Cpu.CleanInvalidateDataLines(new PhysicalAddress(t.Address.Value & ~(Page - 1)), Page);
        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        return lines;
    }

    public override void FlushDcachePage(PhysicalAddress frame) => ViptAliasing?.FlushDcachePage(frame);

    public override IAsidAllocator Asids => _asids;

    /// <summary>The allocator with its concrete type (generations, pinning).</summary>
    public ArmAsidAllocator ArmAsids => _asids;

    /// <summary>LPAE TTBCR.T1SZ: the TTBR1 region is the top 4 GiB >> T1SZ (0: TTBR0 covers everything).</summary>
    public int Ttbr1Size { get; internal set; }

    public override ulong ImageOffsetInRam => 0x8000; // TEXT_OFFSET (arch/arm/Makefile)

    public override ulong FixaddrTop => Kernel.Layout.FixaddrEnd - Page; // FIXADDR_TOP = FIXADDR_END - PAGE_SIZE (arch/arm/include/asm/fixmap.h)

    public override bool KmapFlushesAfterMap => true;

    public override bool KernelHasOwnRoot => _lpae && Ttbr1Size > 0;

    /// <summary>
    /// LPAE: TTBR1 covers PAGE_OFFSET and above (T1SZ = TTBR1_SIZE, arch/arm/include/asm/pgtable-3level-hwdef.h)
    /// and the kernel's part below it (modules, pkmap) is a TTBR0 tree of its own; a 1G split leaves T1SZ at 0.
    /// </summary>
    public override PageTable CreateSharedKernelTree()
    {
        if (!_lpae)
        {
            return base.CreateSharedKernelTree();
        }

        Ttbr1Size = (int)((Kernel.Layout.PageOffset >> 30) - 1);
        if (Ttbr1Size <= 0)
        {
            Ttbr1Size = 0;
            return base.CreateSharedKernelTree();
        }

        PageTable kernel = KeepEmpty(Kernel.NewTree(ArmLpaeFormat.GeometryFor(Ttbr1Size)));
        _ttbr0Part = KeepEmpty(Kernel.NewTree());
        return kernel;
    }

    public override PageTable SharedKernelTreeFor(VirtualAddress va, PageTable kernelTree) =>
        _ttbr0Part is not null && va.Value < Kernel.Layout.PageOffset ? _ttbr0Part : kernelTree;

    /// <summary>LPAE pgd_alloc(): the modules/pkmap PMD entries are copied into each process (arch/arm/mm/pgd.c).</summary>
    public override void PgdAlloc(PageTable user, PageTable kernelTree)
    {
        if (_ttbr0Part is not null)
        {
            Vmsplit.Kernel.Layout.KernelLayout l = Kernel.Layout;
            ulong modules = l.ModulesVaddr != 0 ? l.ModulesVaddr : l.PageOffset - (16UL << 20);
            SimKernel.ShareRange(user, _ttbr0Part, modules, l.PageOffset, 1);
            if (user.TableOf(new VirtualAddress(modules), 1) is { } pmd)
            {
                Kernel.VirtToPhys(Kernel.LinearAddress(pmd)); // pmd_alloc's pud_populate: __pa(pmd) (arch/arm/include/asm/pgalloc.h)
            }

            return;
        }

        base.PgdAlloc(user, kernelTree);
    }

    public override void SyncKernelEntry(Process p, VirtualAddress va, PageTable kernelTree)
    {
        if (_ttbr0Part is not null && va.Value < Kernel.Layout.PageOffset)
        {
            p.Tables.ShareEntry(_ttbr0Part, va, 1);
            return;
        }

        base.SyncKernelEntry(p, va, kernelTree);
    }

    /// <summary>TTBR0; with LPAE and a TTBR1 region also TTBR1, whose table spans the top of the 4 GiB space.</summary>
    public override IReadOnlyList<LiveRoot> LiveRoots(PageTable userTree, PageTable kernelTree)
    {
        if (!_lpae || kernelTree.Geometry == Format.Geometry)
        {
            return [new LiveRoot(userTree, "TTBR0", 0)];
        }

        ulong span = (ulong)kernelTree.Geometry[0].Entries * kernelTree.Geometry[0].EntrySpan;
        return [new LiveRoot(userTree, "TTBR0", 0), new LiveRoot(kernelTree, "TTBR1", (1UL << 32) - span)];
    }

    // 32-bit ARM Linux 4.4.34 (a Raspberry Pi 2 System.map), for LPAE kernels too
    public override KernelTextTable TextFootprint => KernelTextFootprint.Arm;

    // arch/arm/include/asm/elf.h (5.4): ELF_PLATFORM elf_platform, "v7l" (the processor's elf_name and 'l' for little
    // endian, arch/arm/kernel/setup.c; ARMv6 cores would give "v6l", of the same length), ELF_HWCAP2 elf_hwcap2,
    // ARCH_DLINFO AT_SYSINFO_EHDR with CONFIG_VDSO; arch_align_stack is the identity (arch/arm/include/asm/exec.h:
    // #define arch_align_stack(x) (x); arm's process.c has none), so only STACK_ROUND aligns the stack pointer
    public override Vmsplit.Kernel.Abi.ElfStack ElfStack { get; } = new("v7l", 1, Hwcap2: true, AlignsStack: false);

    // STACK_TOP = TASK_SIZE for an ELF32 task (arch/arm/include/asm/processor.h, 5.4); STACK_RND_MASK the generic 0x7ff
    // pages, 8 MiB (mm/util.c); mmap_rnd_bits: ARCH_MMAP_RND_BITS_MIN 8 (arch/arm/Kconfig). Since 5.4 arm uses the generic
    // top-down layout of mm/util.c (ARCH_WANT_DEFAULT_TOPDOWN_MMAP_LAYOUT) instead of arch/arm/mm/mmap.c's own mmap_base
    public override Vmsplit.Kernel.Abi.ProcessLayout ProcessLayout => new(Kernel.Layout.TaskSize, 0x7ff, 8);

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

    private protected override void SetUserRoots(Process p, ushort asid, ushort userAsid)
    {
        ref MmuRegisters r = ref Mmu.Registers;
        bool inKernel = Kernel.InKernel;
        IsolationPolicy isolation = Isolation;
        if (!_lpae)
        {
            // TTBCR.N = 0; a design with a kernel table of its own (4g4g) loads its reserved table in TTBR1
            PhysicalAddress ttbr1 = isolation.SeparatesKernelAddressSpace ? isolation.KernelHalfRoot(inKernel) : p.Tables.Root;
            r = ArmShortFormat.Registers(isolation.UserHalfRoot(p, inKernel), ttbr1, 0, DacrUserClient, isolation.RootAsid(asid, userAsid, inKernel));
            return;
        }

        r = ArmLpaeFormat.Registers(
            isolation.UserHalfRoot(p, inKernel),
            isolation.KernelHalfRoot(inKernel),
            ArmLpaeFormat.Ttbcr(0, Ttbr1Size),
            isolation.RootAsid(asid, userAsid, inKernel));
        r.HardwareAccessFlag = true;
    }

    public override void SwitchMm(Process next, AsidSwitch sw)
    {
        CostCause flushCause = sw.Rollover ? KernelCostCause.AsidRollover : CostCause.TlbMaintenance;
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

        if (Isolation.SwitchMmLoadsUserRoots)
        {
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

    // DSB, one TLBIMVA per page, DSB; an SMP kernel's TLBIMVAIS reaches every CPU (ALT_SMP in arch/arm/mm/tlb-v7.S)
    private protected override void FlushUserRange(VirtualAddress start, VirtualAddress end, ushort asid)
    {
        CostCause? saved = BeginBroadcast();
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        for (VirtualAddress va = start; va < end; va += Page)
        {
            Cpu.ChargeMaintenance(Mmu.TlbiMva(va, asid, innerShareable: Smp && !OmitRemoteFlush).Op);
        }

        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        EndBroadcast(saved);
    }

    // local_flush_tlb_mm: DSB, TLBIASID, DSB; flush_tlb_mm on SMP: TLBIASIDIS (arch/arm/include/asm/tlbflush.h)
    private protected override void FlushUserMm(Process p, ushort asid)
    {
        CostCause? saved = BeginBroadcast();
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Cpu.ChargeMaintenance(Mmu.TlbiAsid(asid, innerShareable: Smp && !OmitRemoteFlush).Op);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        EndBroadcast(saved);
    }

    /// <summary>
    /// flush_tlb_kernel_range on an SMP kernel: TLBIMVAAIS per page, or TLBIALLIS beyond the ceiling
    /// (v7wbi_flush_kern_tlb_range's ALT_SMP forms, arch/arm/mm/tlb-v7.S); one CPU keeps the local forms.
    /// </summary>
    public override void FlushTlbKernelRange(VirtualAddress start, VirtualAddress end)
    {
        if (!Smp)
        {
            base.FlushTlbKernelRange(start, end);
            return;
        }

        CostCause? saved = BeginBroadcast();
        if ((end - start) / Page > KernelRangeFlushCeiling)
        {
            Cpu.ChargeMaintenance(Mmu.TlbiAll(innerShareable: true).Op);
        }
        else
        {
            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
            for (VirtualAddress va = start; va < end; va += Page)
            {
                Cpu.ChargeMaintenance(Mmu.TlbiMvaa(va, innerShareable: true).Op);
            }
        }

        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        EndBroadcast(saved);
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
