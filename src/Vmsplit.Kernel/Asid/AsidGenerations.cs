using System.Numerics;

namespace Vmsplit.Kernel.Asid;

/// <summary>
/// The generation-based ASID allocator shared by arch/arm/mm/context.c, arch/arm64/mm/context.c and
/// arch/riscv/mm/context.c: a global generation counter above the ASID bits, a bitmap of the ASIDs
/// handed out in the current generation, per-CPU active and reserved ASIDs, and a rollover that bumps
/// the generation, rebuilds the bitmap from what each CPU is running and queues a local TLB flush on
/// every CPU. Works on context indices so that arm64 KPTI's even/odd pairs use the same code
/// (asid2idx/idx2asid).
/// </summary>
internal sealed class AsidGenerations
{
    private readonly int _asidBits;
    private readonly int _asidsPerContext;
    private readonly int _indexCount;
    private readonly ulong[] _map;
    private readonly ulong[]? _pinnedMap;
    private readonly ulong[] _active;
    private readonly ulong[] _reserved;
    private readonly bool[] _flushPending;
    private readonly int _maxPinned;
    private ulong _generation;
    private int _curIdx = 1;
    private int _pinned;

    public AsidGenerations(int cpus, int asidBits, int asidsPerContext, bool pinning)
    {
        if (cpus < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(cpus), cpus, "at least one CPU");
        }

        if (asidBits is < 1 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(asidBits), asidBits, "ASIDs are 1 to 16 bits wide");
        }

        _asidBits = asidBits;
        _asidsPerContext = asidsPerContext;
        _indexCount = (1 << asidBits) / asidsPerContext;
        if (_indexCount - 1 <= cpus)
        {
            // arch/arm64/mm/context.c asids_update_limit(): allocation after rollover needs more ASIDs than CPUs.
            throw new ArgumentException($"{_indexCount - 1} usable ASIDs cannot serve {cpus} CPUs: a rollover could find none free");
        }

        _map = new ulong[(_indexCount + 63) / 64];
        _active = new ulong[cpus];
        _reserved = new ulong[cpus];
        _flushPending = new bool[cpus];
        _generation = 1UL << asidBits;
        if (pinning)
        {
            _pinnedMap = new ulong[_map.Length];

            // asids_update_limit(): even with every CPU holding a reserved ASID and the maximum pinned, one slot stays free.
            _maxPinned = _indexCount - cpus - 2;
        }
    }

    public int CpuCount => _active.Length;

    public int AsidBits => _asidBits;

    /// <summary>Contexts one generation can hand out (index 0 is init_mm's reserved ASID).</summary>
    public int UsableContexts => _indexCount - 1;

    /// <summary>Generation number, 1 after boot.</summary>
    public ulong Generation => _generation >> _asidBits;

    public long Rollovers { get; private set; }

    public long FlushCount { get; private set; }

    public int PinnedCount => _pinned;

    public int MaxPinned => _maxPinned;

    /// <summary>The hardware ASID of a context id (the low bits).</summary>
    public ushort HardwareAsid(ulong contextId) => (ushort)(contextId & AsidMask);

    public ulong GenerationOf(ulong contextId) => contextId >> _asidBits;

    private ulong AsidMask => (1UL << _asidBits) - 1;

    private int AsidToIndex(ulong contextId) => (int)((contextId & AsidMask) / (ulong)_asidsPerContext);

    private ulong IndexToAsid(int index) => (ulong)index * (ulong)_asidsPerContext;

    /// <summary>asid_gen_match(): the context id belongs to the current generation.</summary>
    public bool GenerationMatches(ulong contextId) => ((contextId ^ _generation) >> _asidBits) == 0;

    /// <summary>check_and_switch_context() / set_mm_asid(): the fast path when this CPU already runs something and the mm's ASID is current, else the locked path.</summary>
    public (ulong ContextId, bool Flush, bool Rollover, bool SlowPath) Switch(int cpu, MmContext mm)
    {
        ulong asid = mm.ContextId;
        if (_active[cpu] != 0 && GenerationMatches(asid))
        {
            _active[cpu] = asid;
            return (asid, false, false, false);
        }

        bool rollover = false;
        if (!GenerationMatches(asid))
        {
            long before = Rollovers;
            asid = NewContext(mm);
            mm.ContextId = asid;
            rollover = Rollovers != before;
        }

        bool flush = false;
        if (_flushPending[cpu])
        {
            _flushPending[cpu] = false;
            flush = true;
            FlushCount++;
        }

        _active[cpu] = asid;
        return (asid, flush, rollover, true);
    }

    /// <summary>arm64_mm_context_get(): pin the mm's ASID so that no rollover takes it away; returns the ASID or 0 when the pin budget is spent.</summary>
    public ulong Pin(MmContext mm)
    {
        if (_pinnedMap is null)
        {
            return 0;
        }

        if (mm.PinCount > 0)
        {
            mm.PinCount++;
            return mm.ContextId;
        }

        if (_pinned >= _maxPinned)
        {
            return 0;
        }

        if (!GenerationMatches(mm.ContextId))
        {
            mm.ContextId = NewContext(mm);
        }

        _pinned++;
        SetBit(_pinnedMap, AsidToIndex(mm.ContextId));
        mm.PinCount = 1;
        return mm.ContextId;
    }

    /// <summary>arm64_mm_context_put().</summary>
    public void Unpin(MmContext mm)
    {
        if (_pinnedMap is null || mm.PinCount == 0)
        {
            return;
        }

        if (--mm.PinCount == 0)
        {
            ClearBit(_pinnedMap, AsidToIndex(mm.ContextId));
            _pinned--;
        }
    }

    /// <summary>The context id a CPU would be treated as running at the next rollover (active, else reserved).</summary>
    public ulong ActiveOrReserved(int cpu) => _active[cpu] != 0 ? _active[cpu] : _reserved[cpu];

    private ulong NewContext(MmContext mm)
    {
        ulong asid = mm.ContextId;
        ulong generation = _generation;
        if (asid != 0)
        {
            ulong newAsid = generation | (asid & AsidMask);

            // Active during a rollover: keep it, only the generation changes.
            if (CheckUpdateReserved(asid, newAsid))
            {
                return newAsid;
            }

            // Pinned ASIDs are already marked in the map rebuilt from the pinned map.
            if (mm.PinCount > 0)
            {
                return newAsid;
            }

            // Had an ASID in an earlier generation: take it back if nobody has it now.
            if (!TestAndSetBit(_map, AsidToIndex(asid)))
            {
                return newAsid;
            }
        }

        int index = FindNextZero(_map, _indexCount, _curIdx);
        if (index == _indexCount)
        {
            // Out of ASIDs: new generation, rebuild the map from what the CPUs run, flush every TLB.
            _generation += 1UL << _asidBits;
            generation = _generation;
            FlushContext();
            index = FindNextZero(_map, _indexCount, 1);
        }

        SetBit(_map, index);
        _curIdx = index;
        return IndexToAsid(index) | generation;
    }

    private void FlushContext()
    {
        Rollovers++;
        if (_pinnedMap is not null)
        {
            Array.Copy(_pinnedMap, _map, _map.Length);
        }
        else
        {
            Array.Clear(_map);
        }

        for (int i = 0; i < _active.Length; i++)
        {
            ulong asid = _active[i];
            _active[i] = 0;

            // A CPU that has not switched since the last rollover still runs its reserved ASID.
            if (asid == 0)
            {
                asid = _reserved[i];
            }

            SetBit(_map, AsidToIndex(asid));
            _reserved[i] = asid;
        }

        Array.Fill(_flushPending, true);
    }

    private bool CheckUpdateReserved(ulong asid, ulong newAsid)
    {
        // No early exit: every CPU's copy must move to the new generation.
        bool hit = false;
        for (int cpu = 0; cpu < _reserved.Length; cpu++)
        {
            if (_reserved[cpu] == asid)
            {
                hit = true;
                _reserved[cpu] = newAsid;
            }
        }

        return hit;
    }

    private static void SetBit(ulong[] map, int bit) => map[bit >> 6] |= 1UL << (bit & 63);

    private static void ClearBit(ulong[] map, int bit) => map[bit >> 6] &= ~(1UL << (bit & 63));

    private static bool TestAndSetBit(ulong[] map, int bit)
    {
        ulong mask = 1UL << (bit & 63);
        bool was = (map[bit >> 6] & mask) != 0;
        map[bit >> 6] |= mask;
        return was;
    }

    /// <summary>find_next_zero_bit(): the first clear bit at or after <paramref name="start"/>, or <paramref name="size"/>.</summary>
    private static int FindNextZero(ulong[] map, int size, int start)
    {
        if (start >= size)
        {
            return size;
        }

        int word = start >> 6;
        ulong inverted = ~map[word] & (ulong.MaxValue << (start & 63));
        while (true)
        {
            if (inverted != 0)
            {
                int bit = (word << 6) + BitOperations.TrailingZeroCount(inverted);
                return bit < size ? bit : size;
            }

            word++;
            if (word >= map.Length)
            {
                return size;
            }

            inverted = ~map[word];
        }
    }
}
