using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Designs;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>Where the kernel image's text starts (virtual) and how many bytes it spans.</summary>
    public VirtualAddress ImageVa { get; private set; }

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
    public IReadOnlyDictionary<ulong, ulong>? ImagePermutation { get; private set; }

    internal ulong FixaddrTop => Arch.FixaddrTop;

    // FIX_KMAP_BEGIN follows FIX_EARLYCON_MEM_BASE on ARM (arch/arm/include/asm/fixmap.h)
    private static int FixKmapBegin => 1;

    private bool UsesTtbr1 => Arch.KernelHasOwnRoot;

    // LPAE TTBCR.T1SZ (kept by the ARM room, which loads TTBCR)
    private int LpaeT1sz
    {
        get => Arch is ArmMm arm ? arm.Ttbr1Size : 0;
        set => ((ArmMm)Arch).Ttbr1Size = value;
    }

    private (PageTable Kernel, PageTable? Low, PageTable? Ttbr0Part) CreateKernelTrees()
    {
        if (Design.Scheme == IsolationScheme.FourGFourG)
        {
            // TTBCR T0SZ=0, T1SZ=log2 of the TTBR1 region (256 MiB → 4): seeds 000/002
            LpaeT1sz = 32 - System.Numerics.BitOperations.Log2(0x1_0000_0000UL - Layout.KernelRootStart);
            return (
                NewTree(ArmLpaeFormat.GeometryFor(LpaeT1sz)),
                NewTree(),
                null);
        }

        if (Format.Id == MmuFormat.ArmLpae)
        {
            LpaeT1sz = (int)((Layout.PageOffset >> 30) - 1); // TTBR1_SIZE (arch/arm/include/asm/pgtable-3level-hwdef.h)
            if (LpaeT1sz <= 0)
            {
                LpaeT1sz = 0;
                return (NewTree(), null, null);
            }

            return (NewTree(ArmLpaeFormat.GeometryFor(LpaeT1sz)), null, NewTree());
        }

        return (NewTree(), null, null);
    }

    /// <summary>A page-table tree from lowmem frames, watched by the coherence checker when it is on.</summary>
    internal PageTable NewTree(PageTableGeometry? geometry = null, bool preallocateRootEntries = true)
    {
        PageTable t = PageTable.Create(Format, Memory, Lowmem, geometry, preallocateRootEntries);
        t.Observer = Checker;
        return t;
    }

    /// <summary>Which kernel tree holds a kernel virtual address.</summary>
    private PageTable KernelTreeFor(VirtualAddress va)
    {
        if (_kernelLowTree is not null && va.Value < Layout.KernelRootStart)
        {
            return _kernelLowTree;
        }

        if (_kernelTtbr0Part is not null && va.Value < Layout.PageOffset)
        {
            return _kernelTtbr0Part;
        }

        return _kernelTree;
    }

    /// <summary>
    /// Kernel mapping attributes: global unless the design makes kernel entries per-ASID (KPTI, the 4g4g
    /// low tree, x86-4g4g's kernel CR3) or the CPU has no global pages (_PAGE_GLOBAL left out of
    /// __supported_pte_mask without X86_FEATURE_PGE, arch/x86/mm/init.c).
    /// </summary>
    private PageAttributes KernelAttributes(VirtualAddress va, PagePermissions perms)
    {
        bool global = _setup.Profile.Has(CpuFeature.Global) && Design.Scheme switch
        {
            IsolationScheme.Classic => true,
            IsolationScheme.Kpti => IsGlobalEntryPage(va), // x86: __default_kernel_pte_mask &= ~_PAGE_GLOBAL under PTI; arm64: PTE_NG under KPTI
            IsolationScheme.FourGFourG => va.Value >= Layout.KernelRootStart,
            _ => va.Value >= X86FourGTrampolineBase,
        };
        return new PageAttributes(perms, User: false, Global: global);
    }

    /// <summary>x86-4g4g: the 16 MB trampoline at the top of the 4 GB space, present in both tables.</summary>
    public const ulong X86FourGTrampolineBase = 0xff000000;

    private void Boot()
    {
        ulong phys = Layout.Machine.PhysOffset.Value;
        PagePermissions rw = PagePermissions.Read | PagePermissions.Write;

        // The linear map of lowmem with the largest blocks the format allows.
        ulong lowBytes = Layout.LowmemBytes != 0 ? Layout.LowmemBytes : Layout.Machine.TotalRam;
        VirtualAddress linear = new(Layout.PageOffset);
        MapKernelRange(linear, new PhysicalAddress(phys), lowBytes, rw);

        // Kernel image: text at TEXT_OFFSET-like distance into RAM, in the linear map or in the vmalloc area.
        ImagePa = new PhysicalAddress(phys + ImageOffsetInRam());
        if (Design.ImagePlacement == KernelImagePlacement.LinearMap && Design.Scheme != IsolationScheme.FourGFourG)
        {
            // The image is part of the linear map; its range becomes executable (splitting blocks where needed).
            ImageVa = LinearAddress(ImagePa);
            PageTableResult r = KernelTreeFor(ImageVa).Protect(ImageVa, ImageBytes, KernelAttributes(ImageVa, PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute));
            if (!r.Succeeded)
            {
                throw new KernelSetupException($"cannot make the kernel image at {ImageVa} executable: {r.Message}");
            }
        }
        else
        {
            ImageVa = new VirtualAddress(ImageRegionStart());
            MapImageInVmallocArea();
        }

        // Entry: ARM vectors (two pages at 0xffff0000), x86 .entry.text (first text page) and cpu_entry_area.
        Arch.MapEntry(ImageVa);

        // Slab pages for the objects the paths touch (lowmem, through the linear map).
        foreach (string name in new[] { "file", "inode", "dentry0", "dentry1", "dentry2", "pipe", "runqueue", "mm" })
        {
            KernelObjects[name] = LinearAddress(AllocLowmem());
        }

        if (Design.Scheme == IsolationScheme.X86FourGFourG)
        {
            // The trampoline's top 16 MB (entry code, GDT/IDT/TSS, fixmap) is shared by the kernel and every user tree.
            EntryVa = new VirtualAddress(X86FourGTrampolineBase);
            EntryAreaVa = EntryVa + Page;
            MapKernelRange(EntryVa, AllocLowmem(), Page, PagePermissions.Read | PagePermissions.Execute);
            MapKernelRange(EntryAreaVa, AllocLowmem(), Page, rw);
        }
    }

    private ulong ImageOffsetInRam() => Arch.ImageOffsetInRam;

    private ulong ImageRegionStart()
    {
        foreach (Vmsplit.Kernel.Layout.LayoutRegion r in Layout.Regions)
        {
            if (r.Kind == Vmsplit.Kernel.Layout.RegionKind.KernelImage)
            {
                return r.Start;
            }
        }

        return Layout.VmallocStart;
    }

    private void MapImageInVmallocArea()
    {
        ulong bytes = ImageBytes;
        PagePermissions rwx = PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute;
        if (Design.ImagePlacement != KernelImagePlacement.VmallocPermuted)
        {
            MapKernelRange(ImageVa, ImagePa, bytes, rwx);
            return;
        }

        // A seeded Fisher–Yates permutation of the image's physical pages (deterministic per seed).
        ulong pages = bytes / Page;
        ulong[] order = new ulong[pages];
        for (ulong i = 0; i < pages; i++)
        {
            order[i] = i;
        }

        ulong state = _setup.Seed | 1;
        for (ulong i = pages - 1; i > 0; i--)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ulong j = state % (i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        Dictionary<ulong, ulong> map = new();
        for (ulong i = 0; i < pages; i++)
        {
            VirtualAddress va = ImageVa + (i * Page);
            PhysicalAddress pa = ImagePa + (order[i] * Page);
            map[va.Value] = pa.Value;
            MapKernelRange(va, pa, Page, rwx);
        }

        ImagePermutation = map;
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
        if (_kernelTtbr0Part is not null)
        {
            // LPAE pgd_alloc(): the modules/pkmap PMD entries are copied into each process (arch/arm/mm/pgd.c)
            ShareLevel(t, _kernelTtbr0Part, Layout.ModulesVaddr != 0 ? Layout.ModulesVaddr : Layout.PageOffset - (16UL << 20), Layout.PageOffset, 1);
        }
        else if (Design.Scheme == IsolationScheme.X86FourGFourG)
        {
            ShareLevel(t, _kernelTree, X86FourGTrampolineBase, 1UL << 32, KernelShareLevel);
        }
        else if (!UsesTtbr1 && Design.Scheme != IsolationScheme.FourGFourG)
        {
            // pgd_alloc: clone_pgd_range of the kernel part of swapper_pg_dir
            ShareLevel(t, _kernelTree, KernelSpaceStart, KernelSpaceEnd, KernelShareLevel);
        }

        return t;
    }

    private int KernelShareLevel => Arch.KernelShareLevel;

    private ulong KernelSpaceStart => Arch.KernelSpaceStart;

    private ulong KernelSpaceEnd => Arch.KernelSpaceEnd;

    // Shares every valid entry of `source` at level index `li` whose span lies in [start, end] into `target`.
    private static void ShareLevel(PageTable target, PageTable source, ulong start, ulong end, int li)
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
            if (_kernelTtbr0Part is not null && va.Value < Layout.PageOffset)
            {
                p.Tables.ShareEntry(_kernelTtbr0Part, va, 1);
            }
            else if (!UsesTtbr1 && _kernelLowTree is null && va.Value >= KernelSpaceStart)
            {
                p.Tables.ShareEntry(_kernelTree, va, KernelShareLevel);
            }
        }
    }

    /// <summary>
    /// x86 KPTI: the user PGD of a process whose kernel PGD is <paramref name="kernelCopy"/>. Its user half is the
    /// process's own (x86-64: the same top-level entries; 32-bit PAE: the same preallocated user PMDs, which
    /// native_set_pud copies through pti_set_user_pgtbl, arch/x86/include/asm/pgtable-3level.h); its kernel half
    /// copies the user-side init tables, which map only the cpu_entry_area and the entry text
    /// (x86-64: clone_pgd_range of the user copy, arch/x86/include/asm/pgtable.h; PAE: a PMD of its own filled by
    /// pgd_prepopulate_user_pmd, arch/x86/mm/pgtable.c, Linux 4.19+).
    /// </summary>
    private PageTable CreateKptiShadow(PageTable kernelCopy)
    {
        PageTable init = _ptiUserInit ??= CreatePtiUserInit();
        if (Format.Id == MmuFormat.X86Pae)
        {
            PageTable pae = NewTree(preallocateRootEntries: false);
            ulong span = pae.TopLevelEntrySpan;
            for (ulong va = 0; va + span <= Layout.PageOffset; va += span)
            {
                Require(pae.ShareEntry(kernelCopy, new VirtualAddress(va), 0), "the user PMDs");
            }

            foreach (VirtualAddress va in PtiClonedEntries)
            {
                Require(pae.ShareEntry(init, va, 1), "a cloned kernel PMD");
            }

            return pae;
        }

        PageTable shadow = NewTree();
        foreach (VirtualAddress va in PtiClonedEntries)
        {
            Require(shadow.ShareEntry(init, va, 0), "a cloned kernel PGD entry");
        }

        return shadow;

        static void Require(PageTableResult r, string what)
        {
            if (!r.Succeeded)
            {
                throw new InvalidOperationException($"KPTI user PGD: {what}: {r.Message}");
            }
        }
    }

    private PageTable? _ptiUserInit;

    // The addresses whose entries pti_init cloned into the user-side init tables.
    private VirtualAddress[] PtiClonedEntries => [EntryAreaVa, EntryVa];

    /// <summary>
    /// pti_init (arch/x86/mm/pti.c): the user-side copy of swapper_pg_dir. pti_clone_user_shared clones the
    /// CPU_ENTRY_AREA p4d on x86-64 and, on 32-bit, the PMDs covering the cpu_entry_area (one pgd covers the whole
    /// kernel there); pti_clone_entry_text clones __entry_text at PMD level on x86-64 and at PTE level on 32-bit
    /// (PTI_LEVEL_KERNEL_IMAGE, 16a3fe634f6a, v5.3), where a large PMD is still cloned whole.
    /// </summary>
    private PageTable CreatePtiUserInit()
    {
        PageTable t = NewTree();
        int levels = Format.Geometry.LevelCount;
        if (Format.Id == MmuFormat.X86Pae)
        {
            ulong ceaSize = Layout.CpuEntryAreaSize != 0 ? Layout.CpuEntryAreaSize : Page;
            PtiClonePgtable(t, EntryAreaVa, EntryAreaVa + ceaSize, pteLevel: false);
            PtiClonePgtable(t, EntryVa, EntryVa + Page, pteLevel: true);
        }
        else
        {
            // pti_clone_p4d: the p4d entry is the top level with 4-level paging, the second with LA57
            PageTableResult r = t.ShareEntry(_kernelTree, EntryAreaVa, levels - 4);
            if (!r.Succeeded)
            {
                throw new KernelSetupException($"KPTI: cloning the cpu_entry_area p4d: {r.Message}");
            }

            PtiClonePgtable(t, EntryVa, EntryVa + Page, pteLevel: false);
        }

        return t;
    }

    // pti_clone_pgtable: the populated PMDs covering [start, end) (or their PTEs when asked and the PMD is a table).
    private void PtiClonePgtable(PageTable target, VirtualAddress start, VirtualAddress end, bool pteLevel)
    {
        int pmdLevel = Format.Geometry.LevelCount - 2;
        ulong pmdSpan = Format.Geometry[pmdLevel].EntrySpan;
        for (ulong addr = start.Value; addr < end.Value;)
        {
            PageTableLookup l = _kernelTree.Lookup(new VirtualAddress(addr));
            bool large = l.Found && l.PageSize >= pmdSpan;
            if (l.Found && l.PageSize > pmdSpan)
            {
                throw new KernelSetupException($"KPTI: {ByteSize.Hex(addr)} is mapped by a block larger than a PMD; pti_clone_pgtable cannot clone it");
            }

            bool wholePmd = large || !pteLevel;
            int level = wholePmd ? pmdLevel : pmdLevel + 1;
            PageTableResult r = target.ShareEntry(_kernelTree, new VirtualAddress(addr), level);
            if (!r.Succeeded && r.Status != PageTableStatus.NotMapped)
            {
                throw new KernelSetupException($"KPTI: cloning the kernel entry for {ByteSize.Hex(addr)}: {r.Message}");
            }

            addr = wholePmd ? (addr & ~(pmdSpan - 1)) + pmdSpan : addr + Page;
        }
    }

    /// <summary>KPTI +global: the always-mapped entry pages (the entry text's 2 MiB block, cpu_entry_area) keep the global bit.</summary>
    private bool IsGlobalEntryPage(VirtualAddress va) =>
        Design.GlobalEntryPages && (va.Value >> 21 == ImageVa.Value >> 21 || va.Value >> 21 == EntryAreaVa.Value >> 21);

    /// <summary>After the process's tree gained user tables, the KPTI shadow shares the new top-level entries.</summary>
    private void SyncShadow(Process p, VirtualAddress va)
    {
        if (p.UserShadow is null)
        {
            return;
        }

        PageTableResult r = p.UserShadow.ShareEntry(p.Tables, va, 0);
        if (r.Status == PageTableStatus.Overlap)
        {
            // the shadow still holds an entry the kernel tree has since replaced: take the new one
            p.UserShadow.Unshare(va, 0);
            r = p.UserShadow.ShareEntry(p.Tables, va, 0);
        }

        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"KPTI user copy of {va} in {p}: {r.Message}");
        }
    }

    /// <summary>
    /// After user tables were freed in [<paramref name="start"/>, <paramref name="end"/>), the KPTI shadow
    /// drops top-level entries the kernel tree no longer has, as set_p4d/set_pgd keep the user copy in step
    /// (pti_set_user_pgtbl, arch/x86/mm/pti.c).
    /// </summary>
    private void ResyncShadow(Process p, VirtualAddress start, VirtualAddress end)
    {
        if (p.UserShadow is null)
        {
            return;
        }

        ulong span = p.Tables.TopLevelEntrySpan;
        for (ulong va = start.Value & ~(span - 1); va < end.Value; va += span)
        {
            if (!p.Tables.HasTopLevelEntry(new VirtualAddress(va)))
            {
                p.UserShadow.Unshare(new VirtualAddress(va), 0);
            }
        }
    }
}
