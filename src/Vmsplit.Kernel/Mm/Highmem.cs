using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Mm;

/// <summary>
/// Permanent kernel mappings (kmap/kunmap, mm/highmem.c): LAST_PKMAP slots from PKMAP_BASE with
/// reference counts; a slot whose count falls to 1 stays mapped until the allocation cursor wraps,
/// when flush_all_zero_pkmaps() clears every such slot and flushes the whole pkmap range once.
/// </summary>
public sealed class PkmapPool
{
    private const ulong PageSize = 4096;
    private readonly IKernelMapper _mapper;
    private readonly int[] _count;
    private readonly PhysicalAddress[] _frame;
    private readonly Dictionary<ulong, int> _slotOfFrame = new(); // page_address() for highmem pages
    private int _last;

    public PkmapPool(VirtualAddress pkmapBase, int lastPkmap, IKernelMapper mapper)
    {
        if (lastPkmap <= 0 || (lastPkmap & (lastPkmap - 1)) != 0)
        {
            throw new ArgumentException($"LAST_PKMAP must be a power of two, not {lastPkmap}");
        }

        Base = pkmapBase;
        LastPkmap = lastPkmap;
        _mapper = mapper;
        _count = new int[lastPkmap];
        _frame = new PhysicalAddress[lastPkmap];
    }

    public VirtualAddress Base { get; }

    public int LastPkmap { get; }

    /// <summary>Times the cursor wrapped and flush_all_zero_pkmaps ran.</summary>
    public long Wraps { get; private set; }

    /// <summary>Range flushes issued (a wrap with no stale slot flushes nothing).</summary>
    public long Flushes { get; private set; }

    /// <summary>Slots that had to be mapped anew (map_new_virtual), as opposed to reused mappings.</summary>
    public long NewMappings { get; private set; }

    public VirtualAddress SlotAddress(int nr) => Base + ((ulong)nr * PageSize); // PKMAP_ADDR(nr)

    public int Count(int nr) => _count[nr];

    /// <summary>kmap_high(): the page's existing pkmap address, or a new slot. Null when every slot is in use (Linux would sleep).</summary>
    public VirtualAddress? Kmap(PhysicalAddress frame)
    {
        if (!_slotOfFrame.TryGetValue(frame.Value, out int nr))
        {
            int? fresh = MapNewVirtual(frame);
            if (fresh is null)
            {
                return null;
            }

            nr = fresh.Value;
        }

        _count[nr]++;
        return SlotAddress(nr);
    }

    /// <summary>kunmap_high(): drops the reference; the mapping stays until the next wrap.</summary>
    public void Kunmap(VirtualAddress va)
    {
        ulong off = va.Value - Base.Value;
        int nr = (int)(off / PageSize);
        if (va < Base || nr >= LastPkmap || _count[nr] < 2)
        {
            throw new InvalidOperationException($"kunmap of {va}, which is not a live pkmap mapping");
        }

        _count[nr]--;
    }

    private int? MapNewVirtual(PhysicalAddress frame)
    {
        int count = LastPkmap;
        while (true)
        {
            _last = (_last + 1) & (LastPkmap - 1);
            if (_last == 0)
            {
                FlushAllZeroPkmaps();
                count = LastPkmap;
            }

            if (_count[_last] == 0)
            {
                break;
            }

            if (--count == 0)
            {
                return null;
            }
        }

        _mapper.MapKernelPage(SlotAddress(_last), frame);
        _count[_last] = 1;
        _frame[_last] = frame;
        _slotOfFrame[frame.Value] = _last;
        NewMappings++;
        return _last;
    }

    private void FlushAllZeroPkmaps()
    {
        Wraps++;
        bool needFlush = false;
        for (int i = 0; i < LastPkmap; i++)
        {
            if (_count[i] != 1)
            {
                continue;
            }

            _count[i] = 0;
            _mapper.UnmapKernelPage(SlotAddress(i));
            _slotOfFrame.Remove(_frame[i].Value);
            needFlush = true;
        }

        if (needFlush)
        {
            _mapper.FlushKernelRange(Base, SlotAddress(LastPkmap));
            Flushes++;
        }
    }
}

/// <summary>
/// kmap_local / kmap_atomic (mm/highmem.c __kmap_local_pfn_prot): a per-CPU stack of KM_MAX_IDX fixmap
/// slots; each map writes a PTE at __fix_to_virt(FIX_KMAP_BEGIN + idx + KM_MAX_IDX * cpu) and each unmap
/// clears it and invalidates that one page on the local CPU.
/// </summary>
public sealed class KmapLocal
{
    /// <summary>KM_MAX_IDX (include/asm-generic/kmap_size.h), without CONFIG_DEBUG_KMAP_LOCAL.</summary>
    public const int KmMaxIdx = 16;

    private const ulong PageSize = 4096;
    private readonly IKernelMapper _mapper;
    private readonly int[] _depth;
    private readonly bool _flushAfterMap;

    /// <param name="fixaddrTop">FIXADDR_TOP: __fix_to_virt(x) = FIXADDR_TOP - (x &lt;&lt; PAGE_SHIFT).</param>
    /// <param name="fixKmapBegin">The FIX_KMAP_BEGIN index in enum fixed_addresses (1 on ARM after FIX_EARLYCON_MEM_BASE).</param>
    /// <param name="flushAfterMap">ARM's arch_kmap_local_post_map also flushes the page (arch/arm/include/asm/highmem.h).</param>
    public KmapLocal(VirtualAddress fixaddrTop, int fixKmapBegin, int cpus, IKernelMapper mapper, bool flushAfterMap)
    {
        FixaddrTop = fixaddrTop;
        FixKmapBegin = fixKmapBegin;
        _mapper = mapper;
        _depth = new int[cpus];
        _flushAfterMap = flushAfterMap;
    }

    public VirtualAddress FixaddrTop { get; }

    public int FixKmapBegin { get; }

    public long Maps { get; private set; }

    public int Depth(int cpu) => _depth[cpu];

    public VirtualAddress SlotAddress(int cpu, int idx) =>
        FixaddrTop - ((ulong)(FixKmapBegin + idx + (KmMaxIdx * cpu)) * PageSize);

    /// <summary>Maps a highmem frame in the next slot of <paramref name="cpu"/>'s stack.</summary>
    public VirtualAddress Map(int cpu, PhysicalAddress frame)
    {
        int idx = _depth[cpu];
        if (idx >= KmMaxIdx)
        {
            throw new InvalidOperationException($"kmap_local stack overflow on CPU {cpu} (KM_MAX_IDX {KmMaxIdx})");
        }

        _depth[cpu] = idx + 1;
        VirtualAddress va = SlotAddress(cpu, idx);
        _mapper.MapKernelPage(va, frame);
        if (_flushAfterMap)
        {
            _mapper.FlushKernelPageLocal(va);
        }

        Maps++;
        return va;
    }

    /// <summary>kunmap_local: must unmap the most recent mapping (the stack discipline Linux enforces).</summary>
    public void Unmap(int cpu, VirtualAddress va)
    {
        int idx = _depth[cpu] - 1;
        if (idx < 0 || SlotAddress(cpu, idx) != va)
        {
            throw new InvalidOperationException($"kunmap_local of {va} out of order on CPU {cpu}");
        }

        _mapper.UnmapKernelPage(va);
        _mapper.FlushKernelPageLocal(va); // arch_kmap_local_post_unmap
        _depth[cpu] = idx;
    }
}
