using System.Numerics;
using System.Runtime.CompilerServices;

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
    private readonly int[] _hint = new int[HintSlots]; // line -> the slot it was last found or filled in (a guess, checked)
    private long _clock;

    private const int HintSlots = 1024;

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
        _tags = new ulong[sets * ways];
        _stamps = new long[sets * ways];
        Array.Fill(_tags, ulong.MaxValue);
    }

    public ulong CapacityBytes { get; }

    public int Ways { get; }

    public int LineBytes { get; }

    public long Hits { get; private set; }

    public long Misses { get; private set; }

    /// <summary>Looks the line holding <paramref name="physicalAddress"/> up and fills it on a miss; true on a hit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Access(ulong physicalAddress)
    {
        ulong line = physicalAddress >> _lineShift;
        int set = (int)(line & (ulong)_setMask);
        int baseIndex = set * _ways;
        long now = ++_clock;

        // A line is held in at most one slot, and only in its own set: if the slot the hint names holds this line's
        // tag, that is the slot the scan below would find, and the hit is the same (stamp, count) without the scan.
        int hinted = _hint[(int)line & (HintSlots - 1)];
        if (_tags[hinted] == line)
        {
            _stamps[hinted] = now;
            Hits++;
            return true;
        }

        int victim = baseIndex;
        long oldest = long.MaxValue;
        for (int w = 0; w < _ways; w++)
        {
            int i = baseIndex + w;
            if (_tags[i] == line)
            {
                _stamps[i] = now;
                _hint[(int)line & (HintSlots - 1)] = i;
                Hits++;
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
        _hint[(int)line & (HintSlots - 1)] = victim;
        Misses++;
        return false;
    }

    public void Clear()
    {
        Array.Fill(_tags, ulong.MaxValue);
        Array.Clear(_stamps);
        _clock = 0;
    }
}
