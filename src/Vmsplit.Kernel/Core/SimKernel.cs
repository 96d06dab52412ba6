using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Cpus;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Isolation;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Core;

/// <summary>What the simulated kernel boots: a layout (machine + configuration), a design and a CPU profile.</summary>
public sealed record KernelSetup(KernelLayout Layout, DesignSpec Design, CpuProfile Profile)
{
    public KernelSoftwareCosts Software { get; init; } = new();

    /// <summary>Check every TLB hit against a fresh walk (slow; for tests and audits).</summary>
    public bool CoherenceCheck { get; init; }

    /// <summary>Seed for everything random (the permuted kernel image, random TLB replacement).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// The kernel.randomize_va_space sysctl (Documentation/admin-guide/sysctl/kernel.rst): 2, the default, and 1 randomize
    /// what exec places (PF_RANDOMIZE: the mmap base, the stack top, arch_align_stack's offsets; the model has no brk heap,
    /// which only 2 randomizes); 0, as the norandmaps boot option sets, does not.
    /// </summary>
    public int RandomizeVaSpace { get; init; } = 2;

    /// <summary>Simulated CPUs over the one physical memory (each its own TLBs, walk caches, root registers, current task and ASID state).</summary>
    public int Cpus { get; init; } = 1;
}

/// <summary>Thrown when a design cannot be booted on a machine (a one-line reason).</summary>
public sealed class KernelSetupException(string message) : Exception(message);

/// <summary>
/// The machine ran out of page frames: lowmem (page tables, stacks, slab, and user pages once highmem is gone)
/// or a page table could not be allocated. Not a defect of the model: the workload does not fit the machine.
/// </summary>
public sealed class KernelOutOfMemoryException(string message) : InvalidOperationException(message);

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
    private readonly MmContext _kernelContext = new(2, "kernel");
    private readonly Cpu[] _cpus;
    private readonly Process?[] _current;
    private readonly bool[] _inKernel;
    private readonly ushort[] _userAsid;
    private readonly bool[] _lazy;
    private int _this;
    private ulong _nextCtx = 3;
    private int _nextPid = 1;

    public SimKernel(KernelSetup setup)
    {
        _setup = setup;
        Layout = setup.Layout;
        Design = setup.Design;
        Format = PageTableFormat.Get(FormatOf(Layout));
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
        if (setup.Cpus < 1 || setup.Cpus > MaxCpus)
        {
            throw new KernelSetupException($"{setup.Cpus} CPUs: the model runs 1 to {MaxCpus}");
        }

        _cpus = new Cpu[setup.Cpus];
        _current = new Process?[setup.Cpus];
        _inKernel = new bool[setup.Cpus];
        _userAsid = new ushort[setup.Cpus];
        _lazy = new bool[setup.Cpus];
        Checker = setup.CoherenceCheck ? new CoherenceChecker() : null;
        ShareabilityDomain? domain = setup.Cpus > 1 ? new ShareabilityDomain() : null;
        for (int i = 0; i < setup.Cpus; i++)
        {
            // every CPU shares the one ledger: a run's cycles are the CPU time all CPUs spent on it
            MemoryManagementUnit mmu = new(Format, Memory, setup.Profile.Tlb, i);
            _cpus[i] = new Cpu(i, mmu, setup.Profile, Ledger);
            Checker?.Attach(mmu);
            domain?.Add(mmu);
        }

        CompiledDesign policies = DesignCompiler.Compile(this);
        policies.Pan.RequireRelease();
        Arch = policies.Arch;
        Isolation = policies.Isolation;
        Pan = policies.Pan;
        Image = policies.Image;
        UserPages = policies.UserPages;
        Uaccess = new UserAccess(Layout.TaskSize, policies.UserPages);
        _mmapRandom = new(Seed ^ 0x4d4d_4150_5241_4e44UL); // "MMAPRAND"
        _stackRandom = new(Seed ^ 0x5354_4b54_4f50_524eUL); // "STKTOPRN"
        (MmapBase, StackTop) = PickProcessLayout(ref _mmapRandom, ref _stackRandom);
        ReserveImageFrames();
        MemMap = Layout.Arch.Is32Bit() ? ReserveMemMap() : ReserveVmemmap();
        Gup = new Gup(this);
        Isolation.CreateKernelTrees();
        Boot();
        Vmalloc = new VmallocSpace(new VirtualAddress(Layout.VmallocStart), new VirtualAddress(Layout.VmallocEnd), this);
        ReserveImageInVmalloc();
        Pkmap = Layout.PkmapBase != 0 && Highmem is not null ? new PkmapPool(new VirtualAddress(Layout.PkmapBase), (int)(Layout.PkmapSize / Page), this) : null;
        KmapLocal = new KmapLocal(new VirtualAddress(FixaddrTop), FixKmapBegin, setup.Cpus, this, flushAfterMap: Arch.KmapFlushesAfterMap);
        PopulateHighmemTables(setup.Cpus);
        BootLedger = Ledger.Clone();
        Ledger.Reset();
    }

    public KernelLayout Layout { get; }

    public DesignSpec Design { get; }

    public PageTableFormat Format { get; }

    /// <summary>The architecture's memory-management code (arch/*/mm): switch_mm, the flush family, the ASID allocator.</summary>
    public ArchMm Arch { get; }

    /// <summary>The isolation scheme (the kernel's trees, the global bit, entry and exit, the roots live in user mode).</summary>
    public IsolationPolicy Isolation { get; }

    /// <summary>Where the kernel image is mapped (linear map, vmalloc area, permuted pages) and what __pa costs.</summary>
    public KernelImageMapping Image { get; }

    /// <summary>The design's PAN mechanism (what entry, exit and each uaccess window do to user access).</summary>
    public PanPolicy Pan { get; }

    /// <summary>The design's user-access strategy (how uaccess reaches a user page).</summary>
    public IUserPageAccess UserPages { get; }

    /// <summary>The uaccess API of the running process, over the design's user-access strategy.</summary>
    public UserAccess Uaccess { get; }

    public CpuProfile Profile => _setup.Profile;

    public PhysicalMemory Memory { get; }

    public FrameAllocator Lowmem { get; }

    public FrameAllocator? Highmem { get; }

    /// <summary>The CPU the kernel is executing on (<see cref="RunOn"/> chooses it).</summary>
    public Cpu Cpu => _cpus[_this];

    /// <summary>Every simulated CPU, by id.</summary>
    public IReadOnlyList<Cpu> Cpus => _cpus;

    /// <summary>The most CPUs a kernel boots with (mm_cpumask is one 64-bit word here).</summary>
    public const int MaxCpus = 64;

    /// <summary>
    /// Makes <paramref name="cpu"/> the executing CPU: what follows (accesses, system calls, flushes) runs there.
    /// The CPUs never run at the same time; the caller's order of RunOn calls is the interleaving.
    /// </summary>
    public void RunOn(int cpu)
    {
        if ((uint)cpu >= (uint)_cpus.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"the kernel runs {_cpus.Length} CPU(s)");
        }

        _this = cpu;
    }

    public CostLedger Ledger { get; }

    /// <summary>What booting cost (kept apart: workloads are measured from a reset ledger).</summary>
    public CostLedger BootLedger { get; }

    public CoherenceChecker? Checker { get; }

    public VmallocSpace Vmalloc { get; }

    public PkmapPool? Pkmap { get; }

    public KmapLocal KmapLocal { get; }

    /// <summary>The struct page array: a 32-bit kernel's FLATMEM mem_map in lowmem, a 64-bit kernel's vmemmap.</summary>
    public MemMap? MemMap { get; }

    /// <summary>get_user_pages / pin_user_pages and unpin, executed on the simulated tables and mem_map.</summary>
    public Gup Gup { get; }

    public IReadOnlyList<Process> Processes => _processes;

    public KernelSoftwareCosts Software => _setup.Software;

    /// <summary>Seed for everything random in the kernel (the permuted image).</summary>
    internal ulong Seed => _setup.Seed;

    /// <summary>The process whose tables are loaded on the executing CPU (user context), or null before the first switch.</summary>
    public Process? Current
    {
        get => _current[_this];
        private set => _current[_this] = value;
    }

    /// <summary>The process current on <paramref name="cpu"/>.</summary>
    public Process? CurrentOn(int cpu) => _current[cpu];

    /// <summary>Whether the executing CPU is in the kernel (after entry, before exit).</summary>
    public bool InKernel
    {
        get => _inKernel[_this];
        private set => _inKernel[_this] = value;
    }

    /// <summary>Whether <paramref name="cpu"/> is in the kernel.</summary>
    public bool InKernelOn(int cpu) => _inKernel[cpu];

    /// <summary>Whether <paramref name="cpu"/> runs its idle task with the last mm still loaded (lazy TLB mode).</summary>
    public bool IsLazy(int cpu) => _lazy[cpu];

    /// <summary>The tree holding the global kernel mappings (TTBR1 or swapper_pg_dir).</summary>
    public PageTable KernelTree => Isolation.KernelTree;

    /// <summary>The ASID allocator the design runs (Linux's, per architecture).</summary>
    public IAsidAllocator Asids => Arch.Asids;

    /// <summary>The ASID user space runs with on the executing CPU, as the last switch_mm loaded it.</summary>
    internal ushort UserAsid
    {
        get => _userAsid[_this];
        set => _userAsid[_this] = value;
    }

    /// <summary>The user ASID loaded on <paramref name="cpu"/>.</summary>
    internal ushort UserAsidOn(int cpu) => _userAsid[cpu];

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

    // memblock_reserve of the kernel image (arm_memblock_init, setup_arch): its frames never reach the page allocator.
    private void ReserveImageFrames()
    {
        PhysicalAddress start = new(Layout.Machine.PhysOffset.Value + Arch.ImageOffsetInRam);
        try
        {
            Lowmem.Reserve(start, ImageBytes);
        }
        catch (InvalidOperationException)
        {
            throw new KernelSetupException($"the {ByteSize.Human(ImageBytes)} kernel image at {start} does not lie in lowmem");
        }
    }

    // alloc_node_mem_map (mm/mm_init.c): memblock_alloc of the struct pages of every RAM frame, top-down
    // below the lowmem limit (memblock's default direction; arm_lowmem_limit / max_low_pfn).
    private MemMap ReserveMemMap()
    {
        (ulong first, ulong end) = MemMap.PfnRange(Layout);
        ulong bytes = MemMap.BytesFor(Layout);
        ulong top = 0;
        foreach (RamBank b in Lowmem.Banks)
        {
            top = Math.Max(top, b.End.Value);
        }

        PhysicalAddress start = new(top - bytes);
        try
        {
            Lowmem.Reserve(start, bytes);
        }
        catch (InvalidOperationException)
        {
            throw new KernelSetupException($"mem_map ({ByteSize.Human(bytes)}) does not fit at the top of lowmem ({start})");
        }

        return new MemMap(start, LinearAddress(start), first, end - first);
    }

    // A 64-bit kernel's struct pages (SPARSEMEM_VMEMMAP): vmemmap_populate_hugepages (mm/sparse-vmemmap.c, used by
    // x86-64, arm64 with 4 KiB pages and RISC-V) backs the array with PMD-sized blocks from memblock, top-down, and
    // maps them at VMEMMAP_START; pfn_to_page(pfn) = vmemmap + pfn, where vmemmap is VMEMMAP_START less the first RAM
    // frame's share on arm64 (memstart_addr) and RISC-V (phys_ram_base), so the first RAM frame's struct page is at
    // VMEMMAP_START; on x86-64 RAM starts at frame 0, which gives the same address. Mapped in Boot().
    private MemMap? ReserveVmemmap()
    {
        LayoutRegion? region = Layout.Regions.FirstOrDefault(r => r.Name == "vmemmap");
        if (region is null)
        {
            return null;
        }

        const ulong pmd = 2 * ByteSize.MiB;
        (ulong first, ulong end) = MemMap.PfnRange(Layout);
        ulong bytes = (((end - first) * MemMap.StructPageBytes64) + pmd - 1) & ~(pmd - 1);
        ulong top = 0;
        foreach (RamBank b in Lowmem.Banks)
        {
            top = Math.Max(top, b.End.Value);
        }

        PhysicalAddress start = new((top - bytes) & ~(pmd - 1));
        try
        {
            Lowmem.Reserve(start, bytes);
        }
        catch (InvalidOperationException)
        {
            throw new KernelSetupException($"the vmemmap ({ByteSize.Human(bytes)}) does not fit at the top of RAM ({start})");
        }

        return new MemMap(start, new VirtualAddress(region.Start), first, end - first, MemMap.StructPageBytes64, MemMap.RefcountOffset64, highmemConfigured: false);
    }

    /// <summary>A lowmem frame (GFP_KERNEL): page tables, stacks, slab pages.</summary>
    public PhysicalAddress AllocLowmem()
    {
        FrameAllocation a = Lowmem.Allocate(0);
        return a.Succeeded ? a.Address : throw new KernelOutOfMemoryException("out of lowmem");
    }

    /// <summary>
    /// A page-table edit that must succeed: no frame for a table is the machine running out of lowmem
    /// (<see cref="KernelOutOfMemoryException"/>), anything else a defect of the model.
    /// </summary>
    internal static void Require(PageTableResult r, string what)
    {
        if (r.Status == PageTableStatus.NoMemory)
        {
            throw new KernelOutOfMemoryException($"out of lowmem for a page table ({what})");
        }

        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"{what}: {r.Message}");
        }
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

    /// <summary>__va() of a lowmem physical address (not charged: callers that model the conversion charge it).</summary>
    public VirtualAddress PhysToLinear(PhysicalAddress pa) => new(Layout.PageOffset + (pa.Value - Layout.Machine.PhysOffset.Value));

    /// <summary>page_address() of a lowmem frame: its linear-map address.</summary>
    public VirtualAddress LinearAddress(PhysicalAddress frame) =>
        new(Layout.PageOffset + (frame.Value - Layout.Machine.PhysOffset.Value));

    // ---- processes ----------------------------------------------------------------------------

    /// <summary>Creates a process with an empty user address space (its kernel part per the design).</summary>
    public Process CreateProcess()
    {
        PageTable tables = CreateUserTree();
        MmContext ctx = new(_nextCtx++);
        Process p = new(_nextPid++, tables, ctx, AllocLowmem(), AllocLowmem()) { MmapBase = MmapBase, StackTop = StackTop };
        Isolation.OnProcessCreated(p);

        _processes.Add(p);
        return p;
    }

    // mm_alloc for execve: a new mm (tables, context) for the task of task, which keeps its pid, kernel stack and task_struct
    private Process NewMm(Process task)
    {
        PageTable tables = CreateUserTree();
        MmContext ctx = new(_nextCtx++);
        Process p = new(task.Pid, tables, ctx, task.KernelStack, task.TaskStruct);
        Isolation.OnExecMmCreated(p);
        _processes.Add(p);
        return p;
    }

    /// <summary>mmap of an anonymous (or file) region, top-down below the process's mmap_base (and TASK_SIZE).</summary>
    public VirtualAddress MapRegion(Process p, ulong size, VmFlags flags, PageCacheFile? file = null)
    {
        ulong bottom = UserFloor;
        ulong top = Math.Min(Layout.TaskSize, p.MmapBase);
        if (!p.Vmas.TryFindFree(size, new VirtualAddress(bottom), new VirtualAddress(top), out VirtualAddress at))
        {
            throw new InvalidOperationException($"no room for {ByteSize.Human(size)} in {p}'s address space");
        }

        p.Vmas.Insert(new Vma(at, at + size, flags, file));
        return at;
    }

    /// <summary>The lowest user address a region is placed at (above the NULL-pointer guard, mmap_min_addr).</summary>
    public const ulong UserFloor = 0x10000;

    /// <summary>
    /// The mmap_base of the processes the kernel did not exec (<see cref="CreateProcess"/>): the layout's first draw at
    /// boot, as arch_pick_mmap_layout sets mm->mmap_base at exec (mm/util.c and arch/x86/mm/mmap.c, Linux 5.4): STACK_TOP
    /// minus the stack's gap and arch_mmap_rnd's random pages (<see cref="PickProcessLayout"/>). Each execve draws its
    /// own (<see cref="Process.MmapBase"/>).
    /// </summary>
    public ulong MmapBase { get; }

    /// <summary>
    /// The stack top of the processes the kernel did not exec, from the same first draw: randomize_stack_top(STACK_TOP)
    /// as load_elf_binary passes it to setup_arg_pages, which applies arch_align_stack and PAGE_ALIGN (fs/binfmt_elf.c,
    /// fs/exec.c, Linux 5.4); page aligned. Each execve draws its own (<see cref="Process.StackTop"/>).
    /// </summary>
    public ulong StackTop { get; }

    /// <summary>A program's stack VMA as setup_arg_pages leaves it (<see cref="ExecStackBytes"/> below the process's <see cref="Process.StackTop"/>), for a process the kernel did not exec; returns its lowest address.</summary>
    public VirtualAddress MapStack(Process p)
    {
        VirtualAddress low = new(p.StackTop - ExecStackBytes);
        p.Vmas.Insert(new Vma(low, new VirtualAddress(p.StackTop), VmFlags.Read | VmFlags.Write));
        return low;
    }

    // the streams of the layout's random numbers: arch_mmap_rnd's and randomize_stack_top's (with arch_align_stack's)
    private SplitMix64 _mmapRandom;
    private SplitMix64 _stackRandom;

    // The layout exec gives a program, drawn at boot (the processes the kernel did not exec) and at each execve
    // (setup_new_exec → arch_pick_mmap_layout, setup_arg_pages(randomize_stack_top(STACK_TOP)); fs/exec.c,
    // fs/binfmt_elf.c 5.4): with randomize_va_space >= 1 (PF_RANDOMIZE, load_elf_binary) arch_mmap_rnd's
    // get_random_long() and randomize_stack_top's, each the next of a SplitMix64 stream of its own over the run's seed,
    // then setup_arg_pages' arch_align_stack (its get_random_int() from the stack stream) and PAGE_ALIGN; with 0
    // (norandmaps) Linux's fixed values. A layout with no room for a stack above the mmap area is refused.
    private (ulong MmapBase, ulong StackTop) PickProcessLayout(ref SplitMix64 mmapRandom, ref SplitMix64 stackRandom)
    {
        Vmsplit.Kernel.Abi.ProcessLayout pl = Arch.ProcessLayout;
        bool randomize = _setup.RandomizeVaSpace > 0;
        ulong rnd = randomize ? pl.MmapRnd(mmapRandom.Next()) : 0;
        ulong gap = pl.Gap(randomize);
        if (pl.StackTop <= gap + rnd + UserFloor + ExecStackBytes)
        {
            throw new KernelSetupException($"{Layout.Arch.Name()}: a user space of {ByteSize.Human(pl.StackTop)} leaves no room below the stack's gap of {ByteSize.Human(gap)} (mmap_base, mm/util.c)");
        }

        ulong mmapBase = pl.MmapBase(randomize, rnd);
        ulong top = pl.RandomizeStackTop(randomize, randomize ? stackRandom.Next() : 0);
        Vmsplit.Kernel.Abi.ElfStack elf = Arch.ElfStack;
        if (elf.AlignRandomBytes > 0 && randomize)
        {
            top -= stackRandom.NextInt() % elf.AlignRandomBytes; // setup_arg_pages' arch_align_stack (fs/exec.c, 5.4)
        }

        top = Vmsplit.Kernel.Abi.ProcessLayout.PageAlign(elf.AlignsStack ? top & ~15UL : top);
        return (mmapBase, top);
    }

    /// <summary>
    /// munmap: removes VMAs and their pages. As mm/mmu_gather.c does, the PTEs are cleared first, the TLB
    /// is flushed for the range they covered, then the anonymous pages are freed, so no TLB entry ever
    /// points at a freed frame. x86 merges the VMAs into one flush (MMU_GATHER_MERGE_VMAS); the other
    /// architectures flush at the end of each VMA (tlb_end_vma). Page-cache pages stay in the cache.
    /// </summary>
    public void UnmapRegion(Process p, VirtualAddress start, ulong size)
    {
        List<PhysicalAddress> gathered = new();
        bool merge = Arch.GatherMergesVmas;
        long tablesBefore = p.Tables.TableBytes;
        (ulong Low, ulong High) range = (ulong.MaxValue, 0);
        List<(ulong Low, ulong High)> flushes = new();
        foreach (Vma v in p.Vmas.Remove(start, start + size))
        {
            ZapPtes(p, v, v.Start, v.End, gathered, ref range);
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
            // free_pgtables ran after the VMAs' flushes: tlb_finish_mmu flushes once more for the freed tables
            // where the architecture does (RISC-V); arm/arm64's non-last-level range flush over the freed
            // tables is not modelled (docs/designs.md).
            Arch.FlushFreedTables(p);

            foreach ((ulong low, ulong high) in flushes)
            {
                Isolation.OnUserTablesFreed(p, new VirtualAddress(low), new VirtualAddress(high));
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
        ReleaseMm(p, exec: false);
        Lowmem.Free(p.KernelStack);
        Lowmem.Free(p.TaskStruct);
    }

    // exit_mmap of an mm no CPU runs any more (exit, or execve's old mm): its pages and tables freed; the process it
    // was is gone from every CPU
    private void ReleaseMm(Process p, bool exec)
    {
        foreach ((ulong va, PhysicalAddress frame) in p.AnonPages)
        {
            FreeFrame(frame);
        }

        p.AnonPages.Clear(); // no flush here: Linux's ASID generations guarantee one before the ASID is reused
        if (exec)
        {
            Isolation.OnExecMmReleased(p);
        }
        else
        {
            Isolation.OnProcessDestroyed(p);
        }

        p.Tables.Release();
        p.Exited = true;
        _processes.Remove(p);
        for (int cpu = 0; cpu < _current.Length; cpu++)
        {
            if (_current[cpu] == p)
            {
                _current[cpu] = null;
            }
        }
    }

    // ---- IKernelMapper: kernel PTEs for vmalloc, pkmap and kmap_local ----------------------------

    public void MapKernelPage(VirtualAddress va, PhysicalAddress frame)
    {
        Require(KernelTreeFor(va).Map(va, frame, Page, KernelAttributes(va, PagePermissions.Read | PagePermissions.Write), Page), $"kernel map of {va}");

        SyncKernelEntries(va);
    }

    /// <summary>Points the kernel page at <paramref name="va"/>, already mapped, at <paramref name="frame"/>: one PTE rewritten in place.</summary>
    public void ReplaceKernelPage(VirtualAddress va, PhysicalAddress frame) =>
        Require(KernelTreeFor(va).Replace(va, frame, KernelAttributes(va, PagePermissions.Read | PagePermissions.Write)), $"kernel remap of {va}");

    public void UnmapKernelPage(VirtualAddress va)
    {
        Require(KernelTreeFor(va).Unmap(va, Page), $"kernel unmap of {va}");
    }

    public void FlushKernelRange(VirtualAddress start, VirtualAddress end) => Arch.FlushTlbKernelRange(start, end);

    public void FlushKernelPageLocal(VirtualAddress va) => Arch.FlushTlbKernelPage(va);
}
