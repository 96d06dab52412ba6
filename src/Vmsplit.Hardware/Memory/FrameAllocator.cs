namespace Vmsplit.Hardware.Memory;

/// <summary>A bank of RAM: a physically contiguous range that the allocator manages.</summary>
public readonly record struct RamBank(PhysicalAddress Base, ulong Size)
{
    public PhysicalAddress End => Base + Size;

    public override string ToString() => $"{Base}+{ByteSize.Format(Size)}";
}

/// <summary>Outcome of an allocation: failure is a value, as in the kernel (alloc_pages returning NULL).</summary>
public readonly record struct FrameAllocation(bool Succeeded, PhysicalAddress Address, int Order)
{
    public static FrameAllocation Failed(int order) => new(false, default, order);

    public ulong Bytes => (ulong)PhysicalMemory.PageSize << Order;
}

/// <summary>
/// Binary buddy allocator over 4 KiB frames, orders 0 to <see cref="MaxOrder"/> (10, as Linux's
/// MAX_PAGE_ORDER: mm/page_alloc.c). Blocks are naturally aligned; a freed block merges with its free
/// buddy while both lie in the same bank. Free lists hand out the lowest address first, so runs are
/// deterministic.
/// </summary>
public sealed class FrameAllocator
{
    public const int MaxOrder = 10;

    private readonly RamBank[] _banks;
    private readonly SortedSet<ulong>[] _free; // free block start PFNs per order
    private readonly Dictionary<ulong, int> _allocated = new(); // start PFN -> order

    public FrameAllocator(params RamBank[] banks)
    {
        if (banks.Length == 0)
        {
            throw new ArgumentException("at least one RAM bank is needed", nameof(banks));
        }

        _banks = banks.OrderBy(b => b.Base.Value).ToArray();
        for (int i = 0; i < _banks.Length; i++)
        {
            RamBank b = _banks[i];
            if (!b.Base.IsAligned(PhysicalMemory.PageSize) || b.Size % PhysicalMemory.PageSize != 0 || b.Size == 0)
            {
                throw new ArgumentException($"RAM bank {b} is not a whole number of 4 KiB pages", nameof(banks));
            }

            // Compare sizes, not ends: Base + Size can wrap around 2^64.
            if (b.Base.Value >= PhysicalAddress.Limit || b.Size > PhysicalAddress.Limit - b.Base.Value)
            {
                throw new ArgumentException($"RAM bank {b} ends beyond 2^52", nameof(banks));
            }

            if (i > 0 && b.Base < _banks[i - 1].End)
            {
                throw new ArgumentException($"RAM banks {_banks[i - 1]} and {b} overlap", nameof(banks));
            }
        }

        _free = new SortedSet<ulong>[MaxOrder + 1];
        for (int o = 0; o <= MaxOrder; o++)
        {
            _free[o] = new SortedSet<ulong>();
        }

        foreach (RamBank b in _banks)
        {
            ulong pfn = b.Base.FrameNumber;
            ulong end = b.End.FrameNumber;
            while (pfn < end)
            {
                int order = MaxOrder;
                while (order > 0 && ((pfn & ((1UL << order) - 1)) != 0 || pfn + (1UL << order) > end))
                {
                    order--;
                }

                _free[order].Add(pfn);
                pfn += 1UL << order;
            }

            TotalPages += b.Size / PhysicalMemory.PageSize;
        }

        FreePages = TotalPages;
    }

    public IReadOnlyList<RamBank> Banks => _banks;

    public ulong TotalPages { get; }

    public ulong FreePages { get; private set; }

    public ulong UsedPages => TotalPages - FreePages;

    public ulong UsedBytes => UsedPages * PhysicalMemory.PageSize;

    public ulong FreeBytes => FreePages * PhysicalMemory.PageSize;

    /// <summary>Allocations that succeeded and failed since construction.</summary>
    public long Allocations { get; private set; }

    public long Failures { get; private set; }

    /// <summary>Number of free blocks of each order, as /proc/buddyinfo prints them.</summary>
    public int FreeBlocks(int order) => _free[order].Count;

    /// <summary>
    /// Linux's unusable free space index for <paramref name="order"/> (mm/vmstat.c unusable_free_index):
    /// the share of free memory that lies in blocks too small to satisfy that order, 0 to 1.
    /// </summary>
    public double Fragmentation(int order)
    {
        if (FreePages == 0)
        {
            return 0;
        }

        ulong suitable = 0;
        for (int o = order; o <= MaxOrder; o++)
        {
            suitable += (ulong)_free[o].Count << o;
        }

        return (double)(FreePages - suitable) / FreePages;
    }

    /// <summary>Allocates 2^order contiguous frames, naturally aligned.</summary>
    public FrameAllocation Allocate(int order = 0)
    {
        if ((uint)order > MaxOrder)
        {
            throw new ArgumentOutOfRangeException(nameof(order), $"order {order} is outside 0..{MaxOrder}");
        }

        int o = order;
        while (o <= MaxOrder && _free[o].Count == 0)
        {
            o++;
        }

        if (o > MaxOrder)
        {
            Failures++;
            return FrameAllocation.Failed(order);
        }

        ulong pfn = _free[o].Min;
        _free[o].Remove(pfn);
        while (o > order)
        {
            o--;
            _free[o].Add(pfn + (1UL << o)); // the upper half goes back, as expand() in mm/page_alloc.c
        }

        _allocated.Add(pfn, order);
        FreePages -= 1UL << order;
        Allocations++;
        return new FrameAllocation(true, PhysicalAddress.FromFrame(pfn), order);
    }

    /// <summary>Frames taken out by <see cref="Reserve"/>: never free, never allocated.</summary>
    public ulong ReservedPages { get; private set; }

    /// <summary>
    /// Takes [<paramref name="start"/>, <paramref name="start"/> + <paramref name="bytes"/>) out of the free lists for
    /// good, splitting the free blocks that hold it, as memblock_reserve keeps the kernel image from ever reaching
    /// the buddy allocator (mm/memblock.c). Throws when a frame of the range is not free.
    /// </summary>
    public void Reserve(PhysicalAddress start, ulong bytes)
    {
        if (!start.IsAligned(PhysicalMemory.PageSize) || bytes % PhysicalMemory.PageSize != 0)
        {
            throw new ArgumentException($"reserved range {start}+{bytes} is not whole 4 KiB pages");
        }

        ulong first = start.FrameNumber;
        ulong end = first + (bytes / PhysicalMemory.PageSize);
        for (ulong pfn = first; pfn < end;)
        {
            if (!TakeFreeRun(pfn, end, out pfn))
            {
                throw new InvalidOperationException($"reserving {PhysicalAddress.FromFrame(pfn)}, which is not a free frame");
            }
        }

        FreePages -= end - first;
        ReservedPages += end - first;
    }

    // Removes frames from pfn on (below end) out of the free lists: the free block holding pfn is split along pfn's
    // path, the halves without it going back free, until the block left starts at pfn and ends at or below end; that
    // block is taken whole. The free lists end as taking the frames one at a time would leave them (a half inside the
    // range would be split down and taken frame by frame; one outside it stays free), in far fewer set operations.
    // Returns false (next = pfn) when pfn is not free.
    private bool TakeFreeRun(ulong pfn, ulong end, out ulong next)
    {
        for (int o = 0; o <= MaxOrder; o++)
        {
            ulong block = pfn & ~((1UL << o) - 1);
            if (!_free[o].Remove(block))
            {
                continue;
            }

            while (block != pfn || block + (1UL << o) > end)
            {
                o--;
                ulong half = 1UL << o;
                if ((pfn & half) != 0)
                {
                    _free[o].Add(block);
                    block += half;
                }
                else
                {
                    _free[o].Add(block + half);
                }
            }

            next = block + (1UL << o);
            return true;
        }

        next = pfn;
        return false;
    }

    /// <summary>Frees a block returned by <see cref="Allocate"/>; freeing anything else is a bug and throws.</summary>
    public void Free(PhysicalAddress address)
    {
        ulong pfn = address.FrameNumber;
        if (!address.IsAligned(PhysicalMemory.PageSize) || !_allocated.Remove(pfn, out int order))
        {
            throw new InvalidOperationException($"free of {address}, which is not an allocated block");
        }

        FreePages += 1UL << order;
        RamBank bank = BankOf(pfn);
        ulong bankStart = bank.Base.FrameNumber;
        ulong bankEnd = bank.End.FrameNumber;
        while (order < MaxOrder)
        {
            ulong buddy = pfn ^ (1UL << order);
            if (buddy < bankStart || buddy + (1UL << order) > bankEnd || !_free[order].Remove(buddy))
            {
                break;
            }

            pfn = Math.Min(pfn, buddy);
            order++;
        }

        _free[order].Add(pfn);
    }

    /// <summary>Whether <paramref name="address"/> is the start of an allocated block, and its order.</summary>
    public bool IsAllocated(PhysicalAddress address, out int order) => _allocated.TryGetValue(address.FrameNumber, out order);

    /// <summary>Whether the frame lies in one of the banks.</summary>
    public bool Contains(PhysicalAddress address)
    {
        foreach (RamBank b in _banks)
        {
            if (address >= b.Base && address < b.End)
            {
                return true;
            }
        }

        return false;
    }

    private RamBank BankOf(ulong pfn)
    {
        foreach (RamBank b in _banks)
        {
            if (pfn >= b.Base.FrameNumber && pfn < b.End.FrameNumber)
            {
                return b;
            }
        }

        throw new InvalidOperationException($"frame {pfn:x} is in no bank");
    }
}
