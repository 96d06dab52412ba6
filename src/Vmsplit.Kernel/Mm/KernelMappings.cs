using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Mm;

/// <summary>
/// What vmalloc and kmap need from the rest of the kernel: writing kernel PTEs and flushing kernel
/// translations. The kernel core implements it on the real page tables and TLBs, charging costs.
/// </summary>
public interface IKernelMapper
{
    /// <summary>Installs a 4 KiB kernel PTE (set_pte_at on init_mm).</summary>
    void MapKernelPage(VirtualAddress va, PhysicalAddress frame);

    /// <summary>Clears a 4 KiB kernel PTE (pte_clear); no TLB maintenance.</summary>
    void UnmapKernelPage(VirtualAddress va);

    /// <summary>flush_tlb_kernel_range: every CPU, every translation of [start, end).</summary>
    void FlushKernelRange(VirtualAddress start, VirtualAddress end);

    /// <summary>local_flush_tlb_kernel_page: this CPU, one page.</summary>
    void FlushKernelPageLocal(VirtualAddress va);
}

/// <summary>A vmap area: its virtual range including the guard page, and the frames behind it.</summary>
public sealed record VmapArea(VirtualAddress Start, ulong Size, ulong GuardSize, PhysicalAddress[] Frames)
{
    public VirtualAddress End => Start + Size;

    /// <summary>The usable part, without the guard page.</summary>
    public ulong MappedSize => Size - GuardSize;
}

/// <summary>
/// The vmalloc address allocator (mm/vmalloc.c): first fit in [VMALLOC_START, VMALLOC_END) with a
/// guard page after every area, and lazy freeing — vfree clears the PTEs at once but the virtual range
/// and its TLB entries are reclaimed in batches by a purge that flushes one kernel range.
/// </summary>
public sealed class VmallocSpace
{
    private const ulong PageSize = 4096;
    private readonly IKernelMapper _mapper;
    private readonly List<VmapArea> _busy = new(); // sorted by start
    private readonly List<VmapArea> _lazy = new();
    private ulong _lazyPages;

    public VmallocSpace(VirtualAddress start, VirtualAddress end, IKernelMapper mapper, int onlineCpus = 1)
    {
        if (end <= start || !start.IsAligned(PageSize) || !end.IsAligned(PageSize))
        {
            throw new ArgumentException($"vmalloc range [{start}, {end}) is empty or not page-aligned");
        }

        Start = start;
        End = end;
        _mapper = mapper;
        // lazy_max_pages(): fls(num_online_cpus()) * 32 MiB worth of pages (mm/vmalloc.c)
        LazyMaxPages = (ulong)(32 - int.LeadingZeroCount(onlineCpus)) * (32UL * 1024 * 1024 / PageSize);
    }

    public VirtualAddress Start { get; }

    public VirtualAddress End { get; }

    public ulong LazyMaxPages { get; }

    public IReadOnlyList<VmapArea> Areas => _busy;

    /// <summary>Pages freed but not yet purged (vmap_lazy_nr).</summary>
    public ulong LazyPages => _lazyPages;

    public long Purges { get; private set; }

    /// <summary>Bytes of virtual space in use, lazily-freed areas included (they still hold their range).</summary>
    public ulong UsedBytes
    {
        get
        {
            ulong sum = 0;
            foreach (VmapArea a in _busy)
            {
                sum += a.Size;
            }

            foreach (VmapArea a in _lazy)
            {
                sum += a.Size;
            }

            return sum;
        }
    }

    /// <summary>
    /// vmap(): reserves a range for <paramref name="frames"/> plus a guard page and maps them. Returns null
    /// when no range fits even after purging the lazy areas (vmalloc returning NULL).
    /// </summary>
    public VmapArea? Map(PhysicalAddress[] frames, bool guard = true)
    {
        ulong size = ((ulong)frames.Length * PageSize) + (guard ? PageSize : 0);
        if (!TryFindFirstFit(size, out VirtualAddress va))
        {
            Purge(); // alloc_vmap_area retries after purge_vmap_area_lazy()
            if (!TryFindFirstFit(size, out va))
            {
                return null;
            }
        }

        VmapArea area = new(va, size, guard ? PageSize : 0, frames);
        InsertSorted(_busy, area);
        for (int i = 0; i < frames.Length; i++)
        {
            _mapper.MapKernelPage(va + ((ulong)i * PageSize), frames[i]);
        }

        return area;
    }

    /// <summary>
    /// vm_area_add_early(): a range mapped before vmalloc runs (a kernel image placed in the vmalloc area) is held
    /// as busy, without a guard page, so no vmap area is ever placed over it.
    /// </summary>
    public void Reserve(VirtualAddress start, ulong size)
    {
        if (size == 0 || !start.IsAligned(PageSize) || size % PageSize != 0 || start < Start || start.Value + size > End.Value || start.Value + size < start.Value)
        {
            throw new ArgumentException($"reserved range {start}+{size} is not page-aligned inside the vmalloc area [{Start}, {End})");
        }

        VmapArea area = new(start, size, 0, []);
        foreach (VmapArea a in _busy)
        {
            if (a.Start < area.End && start < a.End)
            {
                throw new InvalidOperationException($"reserved range {start}+{size} overlaps the vmap area at {a.Start}");
            }
        }

        InsertSorted(_busy, area);
    }

    /// <summary>vunmap()/vfree(): clears the PTEs now; the range waits on the lazy list until a purge flushes it.</summary>
    public void Unmap(VmapArea area)
    {
        if (!_busy.Remove(area))
        {
            throw new InvalidOperationException($"vunmap of {area.Start}, which is not a live vmap area");
        }

        for (ulong off = 0; off < area.MappedSize; off += PageSize)
        {
            _mapper.UnmapKernelPage(area.Start + off);
        }

        InsertSorted(_lazy, area);
        _lazyPages += area.Size / PageSize;
        if (_lazyPages > LazyMaxPages)
        {
            Purge(); // free_vmap_area_noflush → schedule_work(drain_vmap_work) past lazy_max_pages()
        }
    }

    /// <summary>__purge_vmap_area_lazy: one flush_tlb_kernel_range over all lazy areas, then their ranges are free.</summary>
    public void Purge()
    {
        if (_lazy.Count == 0)
        {
            return;
        }

        VirtualAddress lo = _lazy[0].Start;
        VirtualAddress hi = _lazy[^1].End;
        _mapper.FlushKernelRange(lo, hi);
        _lazy.Clear();
        _lazyPages = 0;
        Purges++;
    }

    public VmapArea? FindArea(VirtualAddress va)
    {
        foreach (VmapArea a in _busy)
        {
            if (va >= a.Start && va < a.End)
            {
                return a;
            }
        }

        return null;
    }

    private bool TryFindFirstFit(ulong size, out VirtualAddress va)
    {
        ulong cursor = Start.Value;
        int bi = 0;
        int li = 0;
        while (true)
        {
            // next occupied area in address order, from the busy or the lazy list
            VmapArea? next = null;
            if (bi < _busy.Count && (li >= _lazy.Count || _busy[bi].Start < _lazy[li].Start))
            {
                next = _busy[bi++];
            }
            else if (li < _lazy.Count)
            {
                next = _lazy[li++];
            }

            ulong gapEnd = next?.Start.Value ?? End.Value;
            if (gapEnd >= cursor && gapEnd - cursor >= size)
            {
                va = new VirtualAddress(cursor);
                return true;
            }

            if (next is null)
            {
                va = default;
                return false;
            }

            cursor = Math.Max(cursor, next.End.Value);
        }
    }

    private static void InsertSorted(List<VmapArea> list, VmapArea area)
    {
        int i = list.Count;
        while (i > 0 && list[i - 1].Start > area.Start)
        {
            i--;
        }

        list.Insert(i, area);
    }
}
