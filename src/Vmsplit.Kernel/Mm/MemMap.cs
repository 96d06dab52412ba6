using Vmsplit.Hardware;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Mm;

/// <summary>
/// The FLATMEM <c>mem_map</c> of a 32-bit kernel: one <c>struct page</c> per page frame from the first RAM
/// frame to the last, highmem frames included, allocated at boot from lowmem (alloc_node_mem_map in
/// mm/mm_init.c, memblock_alloc top-down below the lowmem limit) and reached through the linear map.
/// <c>pfn_to_page(pfn) = mem_map + (pfn - ARCH_PFN_OFFSET)</c> (include/asm-generic/memory_model.h).
/// The counters live in simulated memory: a reference is a load and a store of <c>_refcount</c>.
/// A 64-bit kernel's is the SPARSEMEM_VMEMMAP array instead (see <c>SimKernel.ReserveVmemmap</c>).
/// </summary>
public sealed class MemMap
{
    /// <summary>
    /// sizeof(struct page) on a 32-bit kernel: flags, the five-word union, _mapcount, _refcount — eight words
    /// (include/linux/mm_types.h, 4.18 to 6.x) — without CONFIG_MEMCG's memcg_data and WANT_PAGE_VIRTUAL's
    /// virtual (neither is set by multi_v7_defconfig or i386_defconfig); the pre-4.18 layouts are eight words too.
    /// </summary>
    public const int StructPageBytes32 = 32;

    /// <summary>
    /// offsetof(struct page, _refcount) on 32-bit since 4.18 (after flags, the five-word union and _mapcount).
    /// Older layouts put it elsewhere in the same 32 bytes, which fall in one cache line either way.
    /// </summary>
    public const int RefcountOffset32 = 28;

    /// <summary>GUP_PIN_COUNTING_BIAS (include/linux/mm.h, 5.7+): what pin_user_pages adds to a small page's _refcount.</summary>
    public const uint PinCountingBias = 1u << 10;

    private const ulong PageSize = 4096;

    /// <summary>
    /// sizeof(struct page) on a 64-bit kernel: flags, the five-word union, _mapcount, _refcount and memcg_data —
    /// eight 8-byte words (include/linux/mm_types.h, 5.x and 6.x with CONFIG_MEMCG, which every distribution sets;
    /// CONFIG_HAVE_ALIGNED_STRUCT_PAGE keeps it at 64 without it on x86-64).
    /// </summary>
    public const int StructPageBytes64 = 64;

    /// <summary>offsetof(struct page, _refcount) on 64-bit: after flags (8), the union (40) and _mapcount (4).</summary>
    public const int RefcountOffset64 = 52;

    /// <summary>A 32-bit FLATMEM mem_map in lowmem, reached through the linear map.</summary>
    public MemMap(PhysicalAddress start, VirtualAddress va, ulong firstPfn, ulong pages)
        : this(start, va, firstPfn, pages, StructPageBytes32, RefcountOffset32, highmemConfigured: true)
    {
    }

    /// <summary>
    /// Any mem_map: <paramref name="structPageBytes"/> per frame at <paramref name="va"/>, backed contiguously from
    /// <paramref name="start"/>; <paramref name="highmemConfigured"/> when the kernel has CONFIG_HIGHMEM, so that
    /// kmap_local_page tests PageHighMem (without it, kmap_local_page is page_address: include/linux/highmem-internal.h).
    /// </summary>
    public MemMap(PhysicalAddress start, VirtualAddress va, ulong firstPfn, ulong pages, int structPageBytes, int refcountOffset, bool highmemConfigured)
    {
        Start = start;
        Va = va;
        FirstPfn = firstPfn;
        Pages = pages;
        StructPageBytes = structPageBytes;
        RefcountOffset = refcountOffset;
        HighmemConfigured = highmemConfigured;
    }

    /// <summary>sizeof(struct page) of this kernel.</summary>
    public int StructPageBytes { get; }

    /// <summary>offsetof(struct page, _refcount) of this kernel.</summary>
    public int RefcountOffset { get; }

    /// <summary>The kernel has CONFIG_HIGHMEM (the model's 32-bit kernels): kmap_local_page loads page-&gt;flags for PageHighMem.</summary>
    public bool HighmemConfigured { get; }

    /// <summary>Where mem_map starts in physical memory (page-aligned).</summary>
    public PhysicalAddress Start { get; }

    /// <summary>Its linear-map address: the value of the <c>mem_map</c> pointer.</summary>
    public VirtualAddress Va { get; }

    /// <summary>ARCH_PFN_OFFSET: the frame number of the first struct page.</summary>
    public ulong FirstPfn { get; }

    /// <summary>Struct pages (frames from the first to the last RAM frame, holes included).</summary>
    public ulong Pages { get; }

    /// <summary>Bytes of struct page.</summary>
    public ulong Bytes => Pages * (ulong)StructPageBytes;

    /// <summary>Lowmem it occupies: whole pages, as memblock hands out here.</summary>
    public ulong ReservedBytes => (Bytes + PageSize - 1) & ~(PageSize - 1);

    /// <summary>
    /// Lowmem a 32-bit kernel reserves for mem_map under <paramref name="layout"/> (0 on 64-bit kernels, whose
    /// vmemmap lies outside the linear map): every frame from the first RAM frame to the last one the kernel
    /// keeps, RAM it ignores beyond its limits excluded.
    /// </summary>
    public static ulong BytesFor(KernelLayout layout)
    {
        if (!layout.Arch.Is32Bit())
        {
            return 0;
        }

        (ulong first, ulong end) = PfnRange(layout);
        return (((end - first) * StructPageBytes32) + PageSize - 1) & ~(PageSize - 1);
    }

    /// <summary>First and one-past-last frame numbers of the RAM the kernel keeps (memblock after the limits are applied).</summary>
    public static (ulong First, ulong End) PfnRange(KernelLayout layout)
    {
        ulong first = ulong.MaxValue;
        ulong end = 0;
        foreach (Hardware.Memory.RamBank b in layout.Machine.Banks)
        {
            first = Math.Min(first, b.Base.Value / PageSize);
            end = Math.Max(end, b.End.Value);
        }

        if (layout.HighmemBytes == 0 && layout.LowmemPhysLimit != 0)
        {
            end = Math.Min(end, layout.LowmemPhysLimit); // no highmem: RAM above the lowmem limit is removed
        }
        else
        {
            end -= Math.Min(end, layout.IgnoredBytes); // RAM beyond the addressable limit is removed
        }

        return (first, end / PageSize);
    }

    /// <summary>pfn_to_page(): the struct page of <paramref name="frame"/> (kernel virtual address).</summary>
    public VirtualAddress PageOf(PhysicalAddress frame)
    {
        ulong pfn = frame.Value / PageSize;
        if (pfn < FirstPfn || pfn - FirstPfn >= Pages)
        {
            throw new InvalidOperationException($"pfn_to_page of {frame}, outside mem_map");
        }

        return Va + ((pfn - FirstPfn) * (ulong)StructPageBytes);
    }

    /// <summary>&amp;page-&gt;_refcount of <paramref name="frame"/>.</summary>
    public VirtualAddress RefcountOf(PhysicalAddress frame) => PageOf(frame) + (ulong)RefcountOffset;

    /// <summary>The physical address behind a struct page field (mem_map's backing is one contiguous block).</summary>
    public PhysicalAddress PhysOf(VirtualAddress field) => Start + (field.Value - Va.Value);
}
