using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Designs;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>Where the kernel image's text starts (virtual) and how many bytes it spans.</summary>
    public VirtualAddress ImageVa { get; internal set; }

    public PhysicalAddress ImagePa { get; private set; }

    /// <summary>The image size the layout reserved (<see cref="KernelLayout.ImageBytes"/>), rounded up to pages.</summary>
    public ulong ImageBytes => (Layout.ImageBytes + Page - 1) & ~(Page - 1);

    /// <summary>The page the exception vectors / entry code run from (ARM vectors page, x86 .entry.text).</summary>
    public VirtualAddress EntryVa { get; internal set; }

    /// <summary>x86 cpu_entry_area (entry stack, TSS); ARM: the second vectors page (stubs).</summary>
    public VirtualAddress EntryAreaVa { get; internal set; }

    /// <summary>Slab objects the kernel paths touch (file, inode, dentries, pipe, runqueue), by name.</summary>
    public Dictionary<string, VirtualAddress> KernelObjects { get; } = new();

    /// <summary>Image pages permuted under the image (Arnd Bergmann's idea): virtual page → physical page.</summary>
    public IReadOnlyDictionary<ulong, ulong>? ImagePermutation { get; internal set; }

    internal ulong FixaddrTop => Arch.FixaddrTop;

    // FIX_KMAP_BEGIN follows FIX_EARLYCON_MEM_BASE on ARM (arch/arm/include/asm/fixmap.h)
    private static int FixKmapBegin => 1;

    /// <summary>A page-table tree from lowmem frames, watched by the coherence checker when it is on.</summary>
    internal PageTable NewTree(PageTableGeometry? geometry = null, bool preallocateRootEntries = true)
    {
        if (!PageTable.TryCreate(Format, Memory, Lowmem, out PageTable? created, geometry, preallocateRootEntries))
        {
            throw new KernelOutOfMemoryException("out of lowmem for a page-table root");
        }

        PageTable t = created!;
        t.Observer = Checker;
        return t;
    }

    /// <summary>Which kernel tree holds a kernel virtual address.</summary>
    internal PageTable KernelTreeFor(VirtualAddress va) => Isolation.KernelTreeFor(va);

    /// <summary>
    /// Kernel mapping attributes: global unless the design makes kernel entries per-ASID (KPTI, the 4g4g
    /// low tree, x86-4g4g's kernel CR3) or the CPU has no global pages (_PAGE_GLOBAL left out of
    /// __supported_pte_mask without X86_FEATURE_PGE, arch/x86/mm/init.c).
    /// </summary>
    internal PageAttributes KernelAttributes(VirtualAddress va, PagePermissions perms)
    {
        bool global = _setup.Profile.Has(CpuFeature.Global) && Isolation.IsGlobal(va);
        return new PageAttributes(perms, User: false, Global: global);
    }

    private void Boot()
    {
        ulong phys = Layout.Machine.PhysOffset.Value;
        PagePermissions rw = PagePermissions.Read | PagePermissions.Write;

        // The linear map of lowmem with the largest blocks the format allows.
        ulong lowBytes = Layout.LowmemBytes != 0 ? Layout.LowmemBytes : Layout.Machine.TotalRam;
        VirtualAddress linear = new(Layout.PageOffset);
        MapKernelRange(linear, new PhysicalAddress(phys), lowBytes, rw);

        // A vmemmap (64-bit kernels) in PMD blocks at VMEMMAP_START; a 32-bit mem_map is already in the linear map.
        if (MemMap is { } map && map.Va != LinearAddress(map.Start))
        {
            MapKernelRange(map.Va, map.Start, (map.Bytes + (2 * ByteSize.MiB) - 1) & ~((2 * ByteSize.MiB) - 1), rw);
        }

        // Kernel image: text at TEXT_OFFSET-like distance into RAM, in the linear map or in the vmalloc area.
        ImagePa = new PhysicalAddress(phys + ImageOffsetInRam());
        Image.Map();

        // Entry: ARM vectors (two pages at 0xffff0000), x86 .entry.text (first text page) and cpu_entry_area.
        Arch.MapEntry(ImageVa);

        // Slab pages for the objects the paths touch (lowmem, through the linear map).
        foreach (string name in new[] { "file", "inode", "dentry0", "dentry1", "dentry2", "pipe", "runqueue", "mm" })
        {
            KernelObjects[name] = LinearAddress(AllocLowmem());
        }

        _slab = new SlabObjects(KernelObjects["file"], KernelObjects["inode"], KernelObjects["dentry0"], KernelObjects["dentry1"], KernelObjects["dentry2"], KernelObjects["pipe"], KernelObjects["runqueue"], KernelObjects["mm"]);

        Isolation.MapEntryTrampoline();
    }

    private ulong ImageOffsetInRam() => Arch.ImageOffsetInRam;

    /// <summary>
    /// The page tables under the kmap_local slots of the fixmap and under the pkmap range exist from boot, so the
    /// first kmap of a highmem page writes a PTE and allocates nothing (arch/x86/mm/init_32.c, Linux 5.4:
    /// early_ioremap_page_table_range_init and permanent_kmaps_init call page_table_range_init; arch/arm/mm/mmu.c
    /// kmap_init: early_pte_alloc for PKMAP_BASE and FIXADDR_START). Without highmem nothing is kmapped.
    /// </summary>
    private void PopulateHighmemTables(int cpus)
    {
        if (Highmem is null)
        {
            return;
        }

        VirtualAddress lowest = KmapLocal.SlotAddress(cpus - 1, Vmsplit.Kernel.Mm.KmapLocal.KmMaxIdx - 1);
        PopulateKernelTables(lowest, KmapLocal.SlotAddress(0, 0) + Page - lowest);
        if (Pkmap is { } pkmap)
        {
            PopulateKernelTables(pkmap.Base, (ulong)pkmap.LastPkmap * Page);
        }
    }

    private void PopulateKernelTables(VirtualAddress va, ulong size)
    {
        PageTableResult r = KernelTreeFor(va).PopulateTables(va, size, KernelAttributes(va, PagePermissions.Read | PagePermissions.Write));
        if (!r.Succeeded)
        {
            throw new KernelSetupException($"cannot build the page tables of {va}+{ByteSize.Format(size)}: {r.Message}");
        }

        SyncKernelEntries(va);
    }

    /// <summary>
    /// An image mapped inside [VMALLOC_START, VMALLOC_END) holds its range as a vm_struct, so vmalloc never hands it
    /// out (vm_area_add_early from map_kernel_segment, arch/arm64/mm/mmu.c): the layout's image region, or the image.
    /// </summary>
    private void ReserveImageInVmalloc()
    {
        if (ImageVa.Value < Layout.VmallocStart || ImageVa.Value >= Layout.VmallocEnd)
        {
            return;
        }

        ulong size = ImageBytes;
        foreach (Vmsplit.Kernel.Layout.LayoutRegion r in Layout.Regions)
        {
            if (r.Kind == Vmsplit.Kernel.Layout.RegionKind.KernelImage && r.Start == ImageVa.Value)
            {
                size = Math.Max(size, r.Size);
            }
        }

        Vmalloc.Reserve(ImageVa, Math.Min(size, Layout.VmallocEnd - ImageVa.Value));
    }

    internal void MapKernelRange(VirtualAddress va, PhysicalAddress pa, ulong size, PagePermissions perms)
    {
        PageTable tree = KernelTreeFor(va);
        PageTableResult r = tree.Map(va, pa, size, KernelAttributes(va, perms));
        if (!r.Succeeded)
        {
            throw new KernelSetupException($"cannot map kernel range {va}+{ByteSize.Format(size)}: {r.Message}");
        }

        SyncKernelEntries(va);
    }

    // ---- user trees ---------------------------------------------------------------------------

    private PageTable CreateUserTree()
    {
        PageTable t = NewTree();
        Isolation.PgdAlloc(t);
        return t;
    }

    // Shares every valid entry of `source` at level index `li` whose span lies in [start, end] into `target`.
    internal static void ShareRange(PageTable target, PageTable source, ulong start, ulong end, int li)
    {
        ulong span = source.Geometry[li].EntrySpan;
        for (ulong va = start & ~(span - 1); va <= end - 1 && va >= (start & ~(span - 1)); va += span)
        {
            PageTableResult r = target.ShareEntry(source, new VirtualAddress(va), li);
            if (!r.Succeeded && r.Status != PageTableStatus.NotMapped)
            {
                throw new KernelSetupException($"sharing the kernel entry for {ByteSize.Hex(va)}: {r.Message}");
            }

            if (va > ulong.MaxValue - span)
            {
                break;
            }
        }
    }

    /// <summary>A new kernel top-level entry is copied into every process that shares the kernel part (the vmalloc_sync / check_vmalloc_seq job).</summary>
    private void SyncKernelEntries(VirtualAddress va)
    {
        if (_processes.Count == 0)
        {
            return;
        }

        foreach (Process p in _processes)
        {
            Isolation.SyncKernelEntry(p, va);
        }
    }
}
