using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Vmsplit.Hardware.Caches;

/// <summary>
/// A set-associative, LRU cache of physical lines: which data and descriptor reads hit and which go to
/// memory. The model behind "a walk step that hits or misses the data cache": page-table lines compete
/// with the program's working set and the kernel's footprint for the same capacity, so refill costs grow
/// with the working set without any formula.
/// </summary>
public sealed class LineCache
{
    private readonly ulong[] _tags;
    private readonly long[] _stamps;
    private readonly int _ways;
    private readonly int _setMask;
    private readonly int _lineShift;
    private readonly int[] _hint; // line -> the slot it was last found or filled in (a guess, checked)
    private readonly int _hintMask;
    private readonly bool _vectorScan; // ways in groups of four, at most 64 (one bit per way of a ulong mask)
    private readonly bool _hinted; // more than four ways: the hint's two loads cost less than the scan
    private long _clock;
    private long _hits;
    private long _misses;

    public LineCache(ulong capacityBytes, int ways, int lineBytes)
    {
        if (lineBytes <= 0 || !BitOperations.IsPow2(lineBytes) || ways <= 0)
        {
            throw new ArgumentException($"cache line {lineBytes} B and {ways} ways must be positive, the line a power of two");
        }

        int lines = (int)(capacityBytes / (ulong)lineBytes);
        int sets = Math.Max(1, lines / ways);
        if (!BitOperations.IsPow2(sets))
        {
            throw new ArgumentException($"a {capacityBytes}-byte {ways}-way cache of {lineBytes}-byte lines has {sets} sets, not a power of two");
        }

        CapacityBytes = capacityBytes;
        Ways = ways;
        LineBytes = lineBytes;
        _ways = ways;
        _setMask = sets - 1;
        _lineShift = BitOperations.Log2((uint)lineBytes);
        _vectorScan = ways % 4 == 0 && ways <= 64 && Vector256.IsHardwareAccelerated;

        // up to four ways the set scan is one load of tags, cheaper than the hint's load and the tag it names; skipping the
        // hint is exact, as the scan finds the slot the hint would have named (a line is held in at most one slot)
        _hinted = ways > 4;
        _tags = new ulong[sets * ways];
        _stamps = new long[sets * ways];
        Array.Fill(_tags, ulong.MaxValue);

        // one hint per slot the cache has (at least 1024): lines that are resident together rarely share a hint
        int hints = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1024, sets * ways));
        _hint = new int[hints];
        _hintMask = hints - 1;
    }

    public ulong CapacityBytes { get; }

    public int Ways { get; }

    public int LineBytes { get; }

    public long Hits => _hits;

    public long Misses => _misses;

    /// <summary>Looks the line holding <paramref name="physicalAddress"/> up and fills it on a miss; true on a hit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Access(ulong physicalAddress) => AccessLine(physicalAddress >> _lineShift);

    /// <summary>Looks line number <paramref name="line"/> (the physical address shifted by the line size) up and fills it on a miss; true on a hit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool AccessLine(ulong line)
    {
        long now = ++_clock;
        if (_hinted)
        {
            // HintHit, written out: the one test most accesses end at
            int hinted = _hint[(int)line & _hintMask];
            if (_tags[hinted] == line)
            {
                _stamps[hinted] = now;
                _hits++;
                return true;
            }
        }

        bool hit = Scan(line, now);
        if (hit)
        {
            _hits++;
        }
        else
        {
            _misses++;
        }

        return hit;
    }

    /// <summary>
    /// <see cref="AccessLine"/> of line numbers <paramref name="first"/> + i for each bit i set in <paramref name="which"/>, in
    /// increasing i (a run of at most 64 lines, e.g. those of one copy): the same hits, misses, fills and LRU order as
    /// that many calls, in one loop. Bit i of the result is set when line <paramref name="first"/> + i hit.
    /// </summary>
    public ulong AccessLines(ulong first, ulong which)
    {
        long now = _clock;
        ulong hits = 0;
        for (ulong m = which; m != 0; m &= m - 1)
        {
            int i = BitOperations.TrailingZeroCount(m);
            ulong line = first + (ulong)i;
            now++;
            if ((_hinted && HintHit(line, now)) || Find(line, now))
            {
                hits |= 1UL << i;
            }
        }

        _clock = now;
        int hit = BitOperations.PopCount(hits);
        _hits += hit;
        _misses += BitOperations.PopCount(which) - hit;
        return hits;
    }

    /// <summary>
    /// <see cref="AccessLine"/> of lines <paramref name="first"/>, <paramref name="first"/> + 1, ... up to <paramref name="last"/>
    /// while each is where its hint says (a hit there is the hit the set scan would find: stamped, counted); stops before the
    /// first line the hint does not hold, which is left untouched, clock included, for <see cref="AccessLineWithoutHint"/>.
    /// Returns how many lines hit.
    /// </summary>
    public int HintedHits(ulong first, ulong last)
    {
        ref ulong tags = ref MemoryMarshal.GetArrayDataReference(_tags);
        ref long stamps = ref MemoryMarshal.GetArrayDataReference(_stamps);
        ref int hint = ref MemoryMarshal.GetArrayDataReference(_hint);
        long now = _clock;
        ulong line = first;
        while (line <= last)
        {
            // a hint is a slot index (0 until set), inside the arrays
            int hinted = Unsafe.Add(ref hint, (int)line & _hintMask);
            if (Unsafe.Add(ref tags, hinted) != line)
            {
                break;
            }

            Unsafe.Add(ref stamps, hinted) = ++now;
            line++;
        }

        int hits = (int)(line - first);
        _clock = now;
        _hits += hits;
        return hits;
    }

    /// <summary>
    /// <see cref="AccessLine"/> of a line whose hint was just found not to hold it (<see cref="HintedHits"/> stopped there):
    /// the set scan alone, as <see cref="AccessLine"/> would run it after the same failed hint test.
    /// </summary>
    public bool AccessLineWithoutHint(ulong line)
    {
        long now = ++_clock;
        bool hit = Scan(line, now);
        if (hit)
        {
            _hits++;
        }
        else
        {
            _misses++;
        }

        return hit;
    }

    // A line is held in at most one slot, and only in its own set: if the slot the hint names holds this line's tag,
    // that is the slot the set scan would find, and the hit is the same (stamp) without the scan.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool HintHit(ulong line, long now)
    {
        int hinted = _hint[(int)line & _hintMask];
        if (_tags[hinted] != line)
        {
            return false;
        }

        _stamps[hinted] = now;
        return true;
    }

    // The set scan behind AccessLine's hint, kept out of line so that callers of AccessLine inline only the hint test.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Scan(ulong line, long now) => Find(line, now);

    // The set scan: the line's slot (stamped) on a hit, else the LRU victim filled with it; the hint remembers the slot.
    // Counts neither (the callers do).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Find(ulong line, long now)
    {
        int baseIndex = (int)(line & (ulong)_setMask) * _ways;
        if (_vectorScan)
        {
            return ScanVector(line, now, baseIndex);
        }

        int victim = baseIndex;
        long oldest = long.MaxValue;
        for (int w = 0; w < _ways; w++)
        {
            int i = baseIndex + w;
            if (_tags[i] == line)
            {
                _stamps[i] = now;
                _hint[(int)line & _hintMask] = i;
                return true;
            }

            if (_stamps[i] < oldest)
            {
                oldest = _stamps[i];
                victim = i;
            }
        }

        _tags[victim] = line;
        _stamps[victim] = now;
        _hint[(int)line & _hintMask] = victim;
        return false;
    }

    /// <summary>
    /// Takes the line holding <paramref name="physicalAddress"/> out (a clean and invalidate by address: the next access
    /// misses); true when it was held. Counts neither a hit nor a miss.
    /// </summary>
    public bool Invalidate(ulong physicalAddress) => InvalidateLine(physicalAddress >> _lineShift);

    /// <summary><see cref="Invalidate"/> by line number (the address shifted right by the line size's log2).</summary>
    public bool InvalidateLine(ulong line)
    {
        int baseIndex = (int)(line & (ulong)_setMask) * _ways;
        for (int i = baseIndex; i < baseIndex + _ways; i++)
        {
            if (_tags[i] == line)
            {
                _tags[i] = ulong.MaxValue;
                _stamps[i] = 0; // the set's next victim
                return true;
            }
        }

        return false;
    }

    // Scan four ways at a time: the slot holding the line (a line is in at most one slot of its set), else the first
    // slot with the smallest stamp, as the scalar scan picks (stamps are distinct once set; unused and invalidated
    // slots hold 0 and the first of them is taken).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool ScanVector(ulong line, long now, int baseIndex)
    {
        ref ulong tags = ref MemoryMarshal.GetArrayDataReference(_tags);
        ref long stamps = ref MemoryMarshal.GetArrayDataReference(_stamps);
        Vector256<ulong> key = Vector256.Create(line);
        Vector256<long> min = Vector256.Create(long.MaxValue);
        for (int w = 0; w < _ways; w += 4)
        {
            nuint at = (nuint)(baseIndex + w);
            uint match = Vector256.Equals(Vector256.LoadUnsafe(ref tags, at), key).ExtractMostSignificantBits();
            if (match != 0)
            {
                int i = baseIndex + w + BitOperations.TrailingZeroCount(match);
                _stamps[i] = now;
                _hint[(int)line & _hintMask] = i;
                return true;
            }

            min = Vector256.Min(min, Vector256.LoadUnsafe(ref stamps, at));
        }

        // the smallest stamp in every lane, without branches (which lane holds it is data the host cannot predict)
        min = Vector256.Min(min, Vector256.Shuffle(min, Vector256.Create(2L, 3, 0, 1)));
        Vector256<long> want = Vector256.Min(min, Vector256.Shuffle(min, Vector256.Create(1L, 0, 3, 2)));

        // the first way holding it: every group's matches in one mask, lowest way in bit 0, without a branch per group
        // (which group holds the least recent line is data too); some way holds the minimum, so the mask is not empty
        ulong eq = 0;
        for (int w = 0; w < _ways; w += 4)
        {
            eq |= (ulong)Vector256.Equals(Vector256.LoadUnsafe(ref stamps, (nuint)(baseIndex + w)), want).ExtractMostSignificantBits() << w;
        }

        int victim = baseIndex + BitOperations.TrailingZeroCount(eq);
        _tags[victim] = line;
        _stamps[victim] = now;
        _hint[(int)line & _hintMask] = victim;
        return false;
    }

    public void Clear()
    {
        Array.Fill(_tags, ulong.MaxValue);
        Array.Clear(_stamps);
        _clock = 0;
    }
}
