using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Core;

/// <summary>What the simulated kernel boots: a layout (machine + configuration), a design and a CPU profile.</summary>
public sealed record KernelSetup(KernelLayout Layout, DesignSpec Design, CpuProfile Profile)
{
    public KernelSoftwareCosts Software { get; init; } = new();

    /// <summary>Check every TLB hit against a fresh walk (slow; for tests and audits).</summary>
    public bool CoherenceCheck { get; init; }

    /// <summary>Seed for everything random (the permuted kernel image, random TLB replacement).</summary>
    public ulong Seed { get; init; } = 1;
}

/// <summary>Thrown when a design cannot be booted on a machine (a one-line reason).</summary>
public sealed class KernelSetupException(string message) : Exception(message);

/// <summary>
/// The imitation kernel: boots the design's page tables into simulated physical memory (linear map,
/// kernel image, vectors/entry area, pkmap and fixmap), runs processes, and executes system calls,
/// faults and context switches as the design prescribes, charging every hardware operation and
/// every TLB refill to the CPU's cost ledger.
/// </summary>
public sealed partial class SimKernel : IKernelMapper
{
    private const ulong Page = 4096;
    private readonly List<Process> _processes = new();
    private readonly KernelSetup _setup;
    private readonly PageTable _kernelTree;       // TTBR1 tree, or swapper_pg_dir for single-root formats
    private readonly PageTable? _kernelLowTree;   // 4g4g / x86-4g4g: the kernel's own TTBR0/CR3 tree (linear map)
    private readonly PageTable? _kernelTtbr0Part; // LPAE classic: modules/pkmap below PAGE_OFFSET, shared into each process
    private readonly IAsidAllocator _asids;
    private readonly MmContext _kernelContext = new(2, "kernel");
    private ulong _nextCtx = 3;
    private int _nextPid = 1;

    public SimKernel(KernelSetup setup)
    {
        _setup = setup;
        Layout = setup.Layout;
        Design = setup.Design;
        Format = PageTableFormat.Get(FormatOf(Layout));
        Family = Format.Id.Family();
        Memory = new PhysicalMemory();
        ulong lowLimit = Layout.LowmemPhysLimit != 0 ? Layout.LowmemPhysLimit : ulong.MaxValue;
        List<RamBank> low = new();
        List<RamBank> high = new();
        foreach (RamBank b in Layout.Machine.Banks)
        {
            SplitBank(b, lowLimit, Layout.HighmemBytes > 0, low, high);
        }

        Lowmem = new FrameAllocator(low.ToArray());
        Highmem = high.Count > 0 ? new FrameAllocator(high.ToArray()) : null;
        Ledger = new CostLedger();
        MemoryManagementUnit mmu = new(Format, Memory, setup.Profile.Tlb);
        Cpu = new Cpu(0, mmu, setup.Profile, Ledger);
        if (setup.CoherenceCheck)
        {
            Checker = new CoherenceChecker();
            Checker.Attach(mmu);
        }

        _asids = CreateAsidAllocator();
        (_kernelTree, _kernelLowTree, _kernelTtbr0Part) = CreateKernelTrees();
        foreach (PageTable? t in new[] { _kernelTree, _kernelLowTree, _kernelTtbr0Part })
        {
            if (t is not null)
            {
                t.KeepEmptyTables = true; // other trees share entries that point at kernel tables
            }
        }
        Boot();
        Vmalloc = new VmallocSpace(new VirtualAddress(Layout.VmallocStart), new VirtualAddress(Layout.VmallocEnd), this);
        ReserveImageInVmalloc();
        Pkmap = Layout.PkmapBase != 0 && Highmem is not null ? new PkmapPool(new VirtualAddress(Layout.PkmapBase), (int)(Layout.PkmapSize / Page), this) : null;
        KmapLocal = new KmapLocal(new VirtualAddress(FixaddrTop), FixKmapBegin, 1, this, flushAfterMap: Family == ArchFamily.Arm32);
        BootLedger = Ledger.Clone();
        Ledger.Reset();
    }

    public KernelLayout Layout { get; }

    public DesignSpec Design { get; }

    public PageTableFormat Format { get; }

    public ArchFamily Family { get; }

    public PhysicalMemory Memory { get; }

    public FrameAllocator Lowmem { get; }

    public FrameAllocator? Highmem { get; }

    public Cpu Cpu { get; }

    public CostLedger Ledger { get; }

    /// <summary>What booting cost (kept apart: workloads are measured from a reset ledger).</summary>
    public CostLedger BootLedger { get; }

    public CoherenceChecker? Checker { get; }

    public VmallocSpace Vmalloc { get; }

    public PkmapPool? Pkmap { get; }

    public KmapLocal KmapLocal { get; }

    public IReadOnlyList<Process> Processes => _processes;

    public KernelSoftwareCosts Software => _setup.Software;

    /// <summary>The process whose tables are loaded (user context), or null before the first switch.</summary>
    public Process? Current { get; private set; }

    /// <summary>Whether the CPU is in the kernel (after entry, before exit).</summary>
    public bool InKernel { get; private set; }

    /// <summary>The tree holding the global kernel mappings (TTBR1 or swapper_pg_dir).</summary>
    public PageTable KernelTree => _kernelTree;

    /// <summary>4g4g designs: the kernel's own low tree (linear map, kernel ASID).</summary>
    public PageTable? KernelLowTree => _kernelLowTree;

    /// <summary>The ASID allocator the design runs (Linux's, per architecture).</summary>
    public IAsidAllocator Asids => _asids;

    private static MmuFormat FormatOf(KernelLayout l) => l.Arch.MmuFormatOf(l.Config.VaBits);

    private static void SplitBank(RamBank b, ulong limit, bool highmem, List<RamBank> low, List<RamBank> high)
    {
        ulong start = b.Base.Value;
        ulong end = b.End.Value;
        if (end <= limit)
        {
            low.Add(b);
            return;
        }

        if (start < limit)
        {
            low.Add(new RamBank(b.Base, limit - start));
            start = limit;
        }

        if (highmem)
        {
            high.Add(new RamBank(new PhysicalAddress(start), end - start));
        }
    }

    // ---- frames -------------------------------------------------------------------------------

    /// <summary>A lowmem frame (GFP_KERNEL): page tables, stacks, slab pages.</summary>
    public PhysicalAddress AllocLowmem()
    {
        FrameAllocation a = Lowmem.Allocate(0);
        return a.Succeeded ? a.Address : throw new InvalidOperationException("out of lowmem");
    }

    /// <summary>A user or page-cache frame (GFP_HIGHUSER): highmem first when there is any.</summary>
    public PhysicalAddress AllocUserFrame()
    {
        if (Highmem is not null)
        {
            FrameAllocation h = Highmem.Allocate(0);
            if (h.Succeeded)
            {
                return h.Address;
            }
        }

        return AllocLowmem();
    }

    public void FreeFrame(PhysicalAddress frame)
    {
        if (Highmem is not null && Highmem.Contains(frame))
        {
            Highmem.Free(frame);
        }
        else
        {
            Lowmem.Free(frame);
        }
    }

    public bool IsHighmem(PhysicalAddress frame) => Highmem is not null && Highmem.Contains(frame);

    /// <summary>page_address() of a lowmem frame: its linear-map address.</summary>
    public VirtualAddress LinearAddress(PhysicalAddress frame) =>
        new(Layout.PageOffset + (frame.Value - Layout.Machine.PhysOffset.Value));

    // ---- processes ----------------------------------------------------------------------------

    /// <summary>Creates a process with an empty user address space (its kernel part per the design).</summary>
    public Process CreateProcess()
    {
        PageTable tables = CreateUserTree();
        MmContext ctx = new(_nextCtx++);
        Process p = new(_nextPid++, tables, ctx, AllocLowmem(), AllocLowmem());
        if (Design.Scheme == IsolationScheme.Kpti && Family == ArchFamily.X86)
        {
            p.UserShadow = CreateKptiShadow(tables);
        }

        _processes.Add(p);
        return p;
    }

    /// <summary>mmap of an anonymous (or file) region, top-down below TASK_SIZE; prefault when asked (setup work).</summary>
    public VirtualAddress MapRegion(Process p, ulong size, VmFlags flags, PageCacheFile? file = null)
    {
        ulong bottom = UserFloor;
        ulong top = Math.Min(Layout.TaskSize, MmapBase);
        if (!p.Vmas.TryFindFree(size, new VirtualAddress(bottom), new VirtualAddress(top), out VirtualAddress at))
        {
            throw new InvalidOperationException($"no room for {ByteSize.Human(size)} in {p}'s address space");
        }

        p.Vmas.Insert(new Vma(at, at + size, flags, file));
        return at;
    }

    /// <summary>The lowest user address a region is placed at (above the NULL-pointer guard, mmap_min_addr).</summary>
    public const ulong UserFloor = 0x10000;

    /// <summary>Below this the mmap area grows down (TASK_SIZE minus a stack gap, as mmap_base()).</summary>
    public ulong MmapBase => Layout.TaskSize - (Layout.TaskSize >= (1UL << 32) ? 1UL << 30 : 128UL << 20);

    /// <summary>
    /// munmap: removes VMAs and their pages. As mm/mmu_gather.c does, the PTEs are cleared first, the TLB
    /// is flushed for the range they covered, then the anonymous pages are freed, so no TLB entry ever
    /// points at a freed frame. x86 merges the VMAs into one flush (MMU_GATHER_MERGE_VMAS); the other
    /// architectures flush at the end of each VMA (tlb_end_vma). Page-cache pages stay in the cache.
    /// </summary>
    public void UnmapRegion(Process p, VirtualAddress start, ulong size)
    {
        List<PhysicalAddress> gathered = new();
        bool merge = Family == ArchFamily.X86;
        long tablesBefore = p.Tables.TableBytes;
        (ulong Low, ulong High) range = (ulong.MaxValue, 0);
        List<(ulong Low, ulong High)> flushes = new();
        foreach (Vma v in p.Vmas.Remove(start, start + size))
        {
            for (VirtualAddress va = v.Start; va < v.End; va += Page)
            {
                bool anon = p.AnonPages.Remove(va.Value, out PhysicalAddress frame);
                if (!anon && (v.File is null || !p.Tables.Lookup(va).Found))
                {
                    continue; // never faulted in
                }

                PageTableResult r = p.Tables.Unmap(va, Page);
                if (!r.Succeeded)
                {
                    throw new InvalidOperationException(r.Message);
                }

                if (anon)
                {
                    gathered.Add(frame);
                }

                range = (Math.Min(range.Low, va.Value), Math.Max(range.High, va.Value + Page));
            }

            if (!merge && range.High != 0)
            {
                flushes.Add(range); // tlb_end_vma
                range = (ulong.MaxValue, 0);
            }
        }

        if (range.High != 0)
        {
            flushes.Add(range);
        }

        foreach ((ulong low, ulong high) in flushes)
        {
            FlushTlbMmRange(p, new VirtualAddress(low), new VirtualAddress(high));
        }

        if (p.Tables.TableBytes < tablesBefore)
        {
            // free_pgtables ran after the VMAs' flushes: tlb_finish_mmu flushes once more for the freed tables.
            // RISC-V: tlb_flush() with freed_tables is flush_tlb_mm (arch/riscv/include/asm/tlb.h); arm/arm64's
            // non-last-level range flush over the freed tables is not modelled (docs/designs.md).
            if (Family == ArchFamily.Riscv)
            {
                FlushTlbMm(p);
            }

            foreach ((ulong low, ulong high) in flushes)
            {
                ResyncShadow(p, new VirtualAddress(low), new VirtualAddress(high));
            }
        }

        foreach (PhysicalAddress frame in gathered)
        {
            FreeFrame(frame);
        }
    }

    /// <summary>Destroys a process: every page, every table, its ASID context stays dead.</summary>
    public void DestroyProcess(Process p)
    {
        foreach ((ulong va, PhysicalAddress frame) in p.AnonPages)
        {
            FreeFrame(frame);
        }

        p.AnonPages.Clear(); // no flush here: Linux's ASID generations guarantee one before the ASID is reused
        p.UserShadow?.Release();
        p.Tables.Release();
        Lowmem.Free(p.KernelStack);
        Lowmem.Free(p.TaskStruct);
        p.Exited = true;
        _processes.Remove(p);
        if (Current == p)
        {
            Current = null;
        }
    }

    // ---- IKernelMapper: kernel PTEs for vmalloc, pkmap and kmap_local ----------------------------

    public void MapKernelPage(VirtualAddress va, PhysicalAddress frame)
    {
        PageTableResult r = KernelTreeFor(va).Map(va, frame, Page, KernelAttributes(va, PagePermissions.Read | PagePermissions.Write), Page);
        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"kernel map of {va}: {r.Message}");
        }

        SyncKernelEntries(va);
    }

    public void UnmapKernelPage(VirtualAddress va)
    {
        PageTableResult r = KernelTreeFor(va).Unmap(va, Page);
        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"kernel unmap of {va}: {r.Message}");
        }
    }

    public void FlushKernelRange(VirtualAddress start, VirtualAddress end)
    {
        // flush_tlb_kernel_range: per page below a ceiling, else everything (arch/arm/kernel/smp_tlb.c,
        // arch/x86/mm/tlb.c tlb_single_page_flush_ceiling = 33)
        ulong pages = (end - start) / Page;
        if (Family == ArchFamily.Arm64)
        {
            // arm64: beyond MAX_TLBI_OPS pages flush_tlb_all, else DSB, TLBI VAALE1IS per page, DSB, ISB
            // (arch/arm64/include/asm/tlbflush.h, Linux 5.4)
            if (pages > Arm64MaxTlbiOps)
            {
                FlushAllKernel();
                return;
            }

            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
            for (VirtualAddress va = start; va < end; va += Page)
            {
                Cpu.ChargeMaintenance(Cpu.Mmu.TlbiVaae1(va, lastLevel: true, innerShareable: true).Op);
            }

            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
            return;
        }

        if (pages > 33)
        {
            FlushAllKernel();
            return;
        }

        for (VirtualAddress va = start; va < end; va += Page)
        {
            FlushKernelPageLocal(va);
        }
    }

    public void FlushKernelPageLocal(VirtualAddress va)
    {
        MemoryManagementUnit m = Cpu.Mmu;
        switch (Family)
        {
            case ArchFamily.Arm32:
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
                Cpu.ChargeMaintenance(TlbMaintenanceOp.ArmTlbiMvaa);
                m.TlbiMvaa(va);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case ArchFamily.Arm64:
                // flush_tlb_kernel_range of one page: TLBI VAALE1IS (arch/arm64/include/asm/tlbflush.h, Linux 5.4)
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
                Cpu.ChargeMaintenance(m.TlbiVaae1(va, lastLevel: true, innerShareable: true).Op);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case ArchFamily.X86:
                Cpu.ChargeMaintenance(TlbMaintenanceOp.X86Invlpg);
                m.Invlpg(va);
                if (Design.Scheme == IsolationScheme.Kpti && m.Tlb.Config.HasPcid && Design.Pcid)
                {
                    // flush_tlb_one_kernel under PTI also invalidates the user PCID's copy (invalidate_user_asid)
                    Cpu.ChargeMaintenance(TlbMaintenanceOp.X86InvpcidAddress);
                    m.Invpcid(0, (ushort)(m.CurrentAsid | (1 << X86PcidAllocator.PtiUserPcidBit)), va);
                }

                break;
            default:
                Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaVa);
                m.SfenceVma(va, null);
                break;
        }
    }

    private void FlushAllKernel()
    {
        MemoryManagementUnit m = Cpu.Mmu;
        switch (Family)
        {
            case ArchFamily.Arm32:
            case ArchFamily.Arm64:
                // arm64 flush_tlb_all: TLBI VMALLE1IS (arch/arm64/include/asm/tlbflush.h)
                Cpu.ChargeMaintenance((Family == ArchFamily.Arm64 ? m.TlbiVmalle1(innerShareable: true) : m.TlbiAll()).Op);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
                Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
                break;
            case ArchFamily.X86:
                if (m.Tlb.Config.HasInvpcid)
                {
                    Cpu.ChargeMaintenance(TlbMaintenanceOp.X86InvpcidAllIncludingGlobal);
                    m.Invpcid(2, 0);
                }
                else
                {
                    // CR4.PGE toggled and restored (cr4 ^ X86_CR4_PGE, then cr4): __native_flush_tlb_global
                    // without INVPCID (arch/x86/mm/tlb.c); any change of PGE flushes everything
                    Cpu.Charge(CostCause.TlbMaintenance, PrimitiveCost.Cr4PgeToggle);
                    Cr4Flags cr4 = m.Registers.Cr4;
                    m.WriteCr4(cr4 ^ Cr4Flags.Pge);
                    m.WriteCr4(cr4);
                }

                break;
            default:
                Cpu.ChargeMaintenance(TlbMaintenanceOp.RiscvSfenceVmaAll);
                m.SfenceVma(null, null);
                break;
        }
    }
}
