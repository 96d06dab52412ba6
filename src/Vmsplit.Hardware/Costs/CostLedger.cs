using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Costs;

/// <summary>
/// Cycles and event counts per <see cref="CostCause"/>. A plain accumulator with fixed arrays so that
/// charging is allocation-free on the hot path.
/// </summary>
public sealed class CostLedger
{
    public const int CauseCount = CostCause.Slots;

    private readonly double[] _cycles = new double[CauseCount];
    private readonly long[] _events = new long[CauseCount];

    // the slots charged since the last reset: TotalCycles adds only these (a slot never charged holds +0.0, and adding
    // +0.0 leaves a sum unchanged, so the total is the same number as the sum over every slot, in the same order)
    private uint _charged;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Charge(CostCause cause, double cycles, long events = 1)
    {
        _cycles[cause.Slot] += cycles;
        _events[cause.Slot] += events;
        _charged |= 1u << cause.Slot;
    }

    public double Cycles(CostCause cause) => _cycles[cause.Slot];

    public long Events(CostCause cause) => _events[cause.Slot];

    public double TotalCycles
    {
        get
        {
            double sum = 0;
            for (uint m = _charged; m != 0; m &= m - 1)
            {
                sum += _cycles[BitOperations.TrailingZeroCount(m)];
            }

            return sum;
        }
    }

    public void Add(CostLedger other)
    {
        for (int i = 0; i < CauseCount; i++)
        {
            _cycles[i] += other._cycles[i];
            _events[i] += other._events[i];
        }

        _charged |= other._charged;
    }

    public void Reset()
    {
        Array.Clear(_cycles);
        Array.Clear(_events);
        _charged = 0;
    }

    /// <summary>A copy, for taking a snapshot before a measured phase.</summary>
    public CostLedger Clone()
    {
        CostLedger c = new();
        c.Add(this);
        return c;
    }

    /// <summary>This ledger minus <paramref name="before"/>: what a phase cost.</summary>
    public CostLedger Since(CostLedger before)
    {
        CostLedger d = new();
        for (int i = 0; i < CauseCount; i++)
        {
            d._cycles[i] = _cycles[i] - before._cycles[i];
            d._events[i] = _events[i] - before._events[i];
        }

        d._charged = _charged | before._charged;
        return d;
    }
}
