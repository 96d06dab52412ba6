using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vmsplit.Hardware.Tlb;

/// <summary>Which entries a VA-based or ASID-based invalidation removes.</summary>
public enum TlbMatch : byte
{
    /// <summary>Every entry, global ones included.</summary>
    All,

    /// <summary>Every non-global entry of every ASID.</summary>
    AllNonGlobal,

    /// <summary>Non-global entries tagged with the ASID.</summary>
    Asid,

    /// <summary>Entries translating the VA that are global or tagged with the ASID (ARM TLBIMVA, x86 INVLPG).</summary>
    VaAsidOrGlobal,

    /// <summary>Entries translating the VA whatever their ASID, global ones included (TLBIMVAA, SFENCE.VMA va, x0).</summary>
    VaAnyAsid,

    /// <summary>Non-global entries translating the VA tagged with the ASID (INVPCID type 0, SFENCE.VMA va, asid).</summary>
    VaAsidNonGlobal,
}

/// <summary>
/// One set-associative TLB array. The set is chosen by the VA bits just above the entry's page size, so
/// an array that holds several sizes probes one set per size (the indexing of mixed sizes is
/// implementation defined; this is the usual choice). Entries live in one struct array; a lookup
/// allocates nothing and makes no virtual call.
/// </summary>
public sealed class TlbLevel
{
    private readonly TlbEntry[] _entries;
    private readonly ulong[] _plru;
    private readonly byte[] _shifts;
    private readonly int _ways;
    private readonly int _wayBits;
    private readonly ulong _setMask;
    private readonly TlbReplacement _replacement;
    private readonly int _largestShift;
    private readonly ulong _seed;
    private ulong _clock;
    private ulong _random;
    private TlbHierarchy? _owner;
    private TlbHierarchy.Side _side;

    public TlbLevel(TlbLevelConfig config)
    {
        string error = config.Validate();
        if (error.Length != 0)
        {
            throw new ArgumentException(error, nameof(config));
        }

        Config = config;
        _ways = config.Ways;
        _wayBits = BitOperations.Log2((uint)config.Ways);
        _setMask = (ulong)(config.Sets - 1);
        _entries = new TlbEntry[config.Entries];
        _plru = new ulong[config.Sets];
        _replacement = config.Replacement;
        _seed = config.RandomSeed == 0 ? 1 : config.RandomSeed;
        _random = _seed;
        SortedSet<byte> shifts = new();
        foreach (ulong size in config.PageSizes)
        {
            shifts.Add((byte)BitOperations.Log2(size));
        }

        _shifts = [.. shifts];
        _largestShift = _shifts[^1];
    }

    public TlbLevelConfig Config { get; }

    /// <summary>Called by the hierarchy that holds this array: every change of an entry is reported to it (see <see cref="TlbHierarchy.Lookup"/>).</summary>
    internal void Attach(TlbHierarchy owner, TlbHierarchy.Side side)
    {
        _owner = owner;
        _side = side;
    }

    /// <summary>Entries per set.</summary>
    internal int Ways => _ways;

    /// <summary>The smallest page shift this array holds natively.</summary>
    internal int SmallestShift => _shifts[0];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Changed(int filledShift = int.MaxValue) => _owner?.OnLevelChanged(_side, filledShift);

    public string Name => Config.Name;

    public int Capacity => _entries.Length;

    /// <summary>log2 of the page sizes held natively, smallest first.</summary>
    public ReadOnlySpan<byte> PageShifts => _shifts;

    /// <summary>Valid entries now held.</summary>
    public int Occupancy
    {
        get
        {
            int n = 0;
            foreach (ref readonly TlbEntry e in _entries.AsSpan())
            {
                n += e.Flags & TlbEntry.ValidFlag;
            }

            return n;
        }
    }

    /// <summary>Every slot, valid or not, for inspection and the coherence checker.</summary>
    public ReadOnlySpan<TlbEntry> Entries => _entries;

    /// <summary>
    /// The shift at which this array holds a translation of <paramref name="pageShift"/>: that size when
    /// listed, the largest smaller listed size when splintering, or -1 when it is not held here.
    /// </summary>
    public int HoldingShift(int pageShift)
    {
        int best = -1;
        foreach (byte s in _shifts)
        {
            if (s == pageShift)
            {
                return s;
            }

            if (s < pageShift)
            {
                best = s;
            }
        }

        return Config.HowLargePagesAreHeld == LargePageHolding.Splintered ? best : -1;
    }

    /// <summary>Finds the entry translating <paramref name="va"/> for <paramref name="asid"/> and marks it used; -1 on a miss.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup(ulong va, ushort asid)
    {
        // The probe loop of Find with the touch inside it: the hot lookup of the TLB benchmarks and the MMU
        // keeps the entry's reference instead of re-indexing the array after the search.
        ref TlbEntry first = ref MemoryMarshal.GetArrayDataReference(_entries);
        if (_setMask == 0)
        {
            int w = FindFullyAssociative(ref first, va, asid);
            if (w >= 0)
            {
                Touch(ref Unsafe.Add(ref first, w), 0, w);
            }

            return w;
        }

        byte[] shifts = _shifts;
        int ways = _ways;
        for (int s = 0; s < shifts.Length; s++)
        {
            int shift = shifts[s];
            ulong key = TlbEntry.MakeKey(va, shift);
            int set = (int)((va >> shift) & _setMask);
            int baseIndex = set * ways;
            for (int w = 0; w < ways; w++)
            {
                ref TlbEntry e = ref Unsafe.Add(ref first, baseIndex + w);
                if (e.Key == key && ((e.Flags & TlbEntry.GlobalFlag) != 0 || e.AsidTag == asid))
                {
                    Touch(ref e, set, w);
                    return baseIndex + w;
                }
            }
        }

        return -1;
    }

    /// <summary>Marks slot <paramref name="index"/> (way <paramref name="way"/> of <paramref name="set"/>) used, as a lookup that found it does, and copies it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Use(int index, int set, int way, out TlbEntry entry) => entry = UseRef(index, set, way);

    /// <summary><see cref="Use"/> without the copy: the slot itself, valid until this array is next changed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref TlbEntry UseRef(int index, int set, int way)
    {
        ref TlbEntry e = ref _entries[index];
        if (_replacement == TlbReplacement.Lru)
        {
            e.Stamp = ++_clock;
        }
        else if (_replacement == TlbReplacement.PseudoLru)
        {
            _plru[set] = PlruTouch(_plru[set], way, _wayBits);
        }

        return ref e;
    }

    // The slot a lookup finds (the first match in probe order), without marking it used; -1 on a miss.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Find(ulong va, ushort asid, out int set)
    {
        ref TlbEntry first = ref MemoryMarshal.GetArrayDataReference(_entries);
        if (_setMask == 0)
        {
            set = 0;
            return FindFullyAssociative(ref first, va, asid);
        }

        byte[] shifts = _shifts;
        int ways = _ways;
        for (int s = 0; s < shifts.Length; s++)
        {
            int shift = shifts[s];
            ulong key = TlbEntry.MakeKey(va, shift);
            set = (int)((va >> shift) & _setMask);
            int baseIndex = set * ways;

            for (int w = 0; w < ways; w++)
            {
                ref TlbEntry e = ref Unsafe.Add(ref first, baseIndex + w);
                if (e.Key == key && ((e.Flags & TlbEntry.GlobalFlag) != 0 || e.AsidTag == asid))
                {
                    return baseIndex + w;
                }
            }
        }

        set = 0;
        return -1;
    }

    // One set: a single pass compares each entry at its own page size instead of one pass per size.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindFullyAssociative(ref TlbEntry first, ulong va, ushort asid)
    {
        int ways = _ways;
        if (_shifts.Length == 1)
        {
            ulong key = TlbEntry.MakeKey(va, _largestShift);
            for (int w = 0; w < ways; w++)
            {
                ref TlbEntry e = ref Unsafe.Add(ref first, w);
                if (e.Key == key && ((e.Flags & TlbEntry.GlobalFlag) != 0 || e.AsidTag == asid))
                {
                    return w;
                }
            }

            return -1;
        }

        for (int w = 0; w < ways; w++)
        {
            ref TlbEntry e = ref Unsafe.Add(ref first, w);
            if (e.Key == TlbEntry.MakeKey(va, e.Shift) && ((e.Flags & TlbEntry.GlobalFlag) != 0 || e.AsidTag == asid))
            {
                return w;
            }
        }

        return -1;
    }

    /// <summary>Finds without touching the replacement state (for inspection and the checker).</summary>
    public int Probe(ulong va, ushort asid)
    {
        foreach (byte shift in _shifts)
        {
            ulong key = TlbEntry.MakeKey(va, shift);
            int baseIndex = (int)((va >> shift) & _setMask) * _ways;
            for (int w = 0; w < _ways; w++)
            {
                ref readonly TlbEntry e = ref _entries[baseIndex + w];
                if (e.Key == key && (e.Global || e.AsidTag == asid))
                {
                    return baseIndex + w;
                }
            }
        }

        return -1;
    }

    /// <summary>Looks up at one held shift only (walk caches probe one descriptor level at a time); -1 on a miss.</summary>
    public int LookupAt(ulong va, int shift, ushort asid)
    {
        ulong key = TlbEntry.MakeKey(va, shift);
        int set = (int)((va >> shift) & _setMask);
        int baseIndex = set * _ways;
        for (int w = 0; w < _ways; w++)
        {
            ref TlbEntry e = ref _entries[baseIndex + w];
            if (e.Key == key && (e.Global || e.AsidTag == asid))
            {
                Touch(ref e, set, w);
                return baseIndex + w;
            }
        }

        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly TlbEntry Entry(int index) => ref _entries[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Touch(ref TlbEntry e, int set, int way)
    {
        if (_replacement == TlbReplacement.Lru)
        {
            e.Stamp = ++_clock;
        }
        else if (_replacement == TlbReplacement.PseudoLru)
        {
            _plru[set] = PlruTouch(_plru[set], way, _wayBits);
        }
    }

    /// <summary>Sets every node on the path to <paramref name="way"/> to point away from it (tree PLRU, heap-numbered nodes 1..ways-1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong PlruTouch(ulong bits, int way, int depth)
    {
        int node = 1;
        for (int k = depth - 1; k >= 0; k--)
        {
            int right = (way >> k) & 1;
            // Bit set = the victim search goes right; point away from the half just used.
            bits = right == 0 ? bits | (1UL << node) : bits & ~(1UL << node);
            node = (node << 1) | right;
        }

        return bits;
    }

    internal static int PlruVictim(ulong bits, int depth)
    {
        int node = 1;
        for (int k = 0; k < depth; k++)
        {
            node = (node << 1) | (int)((bits >> node) & 1);
        }

        return node - (1 << depth);
    }

    /// <summary>
    /// Inserts <paramref name="entry"/> (its shift must be one this array holds). An entry for the same
    /// page and ASID is replaced in place; otherwise the first invalid way of the set, otherwise the
    /// replacement policy's victim. Returns the slot used.
    /// </summary>
    public int Fill(in TlbEntry entry)
    {
        int index = FillSilently(in entry);
        Changed(entry.Shift);
        return index;
    }

    /// <summary>
    /// <see cref="Fill"/> without telling the hierarchy: for the hierarchy's own fills, which mark its lookup memos
    /// stale themselves (one call fewer on every miss).
    /// </summary>
    internal int FillSilently(in TlbEntry entry)
    {
        int shift = entry.Shift;
        ulong va = entry.PageBase.Value;
        int set = (int)((va >> shift) & _setMask);
        int baseIndex = set * _ways;
        // One pass over the set: an entry for the same page and address space is replaced in place, else the
        // first invalid way is taken, else the replacement policy's victim (for LRU the first way with the
        // oldest stamp, found in the same pass).
        int victim = -1;
        int oldest = 0;
        ulong oldestStamp = ulong.MaxValue;
        ref TlbEntry first = ref _entries[baseIndex];
        int ways = _ways;
        for (int w = 0; w < ways; w++)
        {
            ref TlbEntry e = ref Unsafe.Add(ref first, w);
            if (e.Key == entry.Key && (e.Global || entry.Global || e.AsidTag == entry.AsidTag))
            {
                victim = w;
                break;
            }

            if (victim < 0 && !e.Valid)
            {
                victim = w;
            }

            if (e.Stamp < oldestStamp)
            {
                oldestStamp = e.Stamp;
                oldest = w;
            }
        }

        if (victim < 0)
        {
            victim = _replacement switch
            {
                TlbReplacement.Lru => oldest,
                TlbReplacement.PseudoLru => PlruVictim(_plru[set], _wayBits),
                _ => NextRandomWay(),
            };
        }

        ref TlbEntry slot = ref _entries[baseIndex + victim];
        slot = entry;
        Touch(ref slot, set, victim);
        return baseIndex + victim;
    }

    private int NextRandomWay()
    {
        // xorshift64*: deterministic for a seed, good enough to spread victims over the ways.
        _random ^= _random >> 12;
        _random ^= _random << 25;
        _random ^= _random >> 27;
        return (int)(((_random * 0x2545F4914F6CDD1DUL) >> 32) % (ulong)_ways);
    }

    /// <summary>Removes the entries <paramref name="match"/> selects and returns how many were valid.</summary>
    public int Invalidate(TlbMatch match, ulong va = 0, ushort asid = 0)
    {
        Changed();
        int removed = 0;
        switch (match)
        {
            case TlbMatch.All:
            case TlbMatch.AllNonGlobal:
            case TlbMatch.Asid:
                foreach (ref TlbEntry e in _entries.AsSpan())
                {
                    if (e.Valid && Selected(in e, match, asid))
                    {
                        e = default;
                        removed++;
                    }
                }

                break;
            default:
                if (Config.HowLargePagesAreHeld == LargePageHolding.Splintered)
                {
                    // Invalidating any VA of a large page removes all of it (ARM ARM B3.10.1, SDM §4.10.4.1 INVLPG), splinters included.
                    foreach (ref TlbEntry e in _entries.AsSpan())
                    {
                        if (e.Valid && (va >> e.SourceShift) == (e.PageBase.Value >> e.SourceShift) && Selected(in e, match, asid))
                        {
                            e = default;
                            removed++;
                        }
                    }

                    break;
                }

                foreach (byte shift in _shifts)
                {
                    ulong key = TlbEntry.MakeKey(va, shift);
                    int baseIndex = (int)((va >> shift) & _setMask) * _ways;
                    for (int w = 0; w < _ways; w++)
                    {
                        ref TlbEntry e = ref _entries[baseIndex + w];
                        if (e.Key == key && Selected(in e, match, asid))
                        {
                            e = default;
                            removed++;
                        }
                    }
                }

                break;
        }

        return removed;
    }

    /// <summary>
    /// Removes the entries <paramref name="match"/> selects whose translation overlaps [<paramref name="start"/>,
    /// <paramref name="end"/>) (a splinter counts with the whole translation it came from) and returns how many were valid.
    /// </summary>
    public int InvalidateRange(TlbMatch match, ulong start, ulong end, ushort asid = 0)
    {
        if (match is TlbMatch.All or TlbMatch.AllNonGlobal or TlbMatch.Asid)
        {
            return Invalidate(match, start, asid);
        }

        Changed();
        int removed = 0;
        foreach (ref TlbEntry e in _entries.AsSpan())
        {
            if (!e.Valid)
            {
                continue;
            }

            ulong first = (e.PageBase.Value >> e.SourceShift) << e.SourceShift;
            ulong last = first + ((1UL << e.SourceShift) - 1);
            if (first < end && last >= start && Selected(in e, match, asid))
            {
                e = default;
                removed++;
            }
        }

        return removed;
    }

    private static bool Selected(in TlbEntry e, TlbMatch match, ushort asid) => match switch
    {
        TlbMatch.All or TlbMatch.VaAnyAsid => true,
        TlbMatch.AllNonGlobal => !e.Global,
        TlbMatch.Asid or TlbMatch.VaAsidNonGlobal => !e.Global && e.AsidTag == asid,
        TlbMatch.VaAsidOrGlobal => e.Global || e.AsidTag == asid,
        _ => false,
    };

    /// <summary>Empties the array and restarts the replacement state (and the random sequence) as at reset.</summary>
    public void Reset()
    {
        Changed();
        Array.Clear(_entries);
        Array.Clear(_plru);
        _clock = 0;
        _random = _seed;
    }
}
