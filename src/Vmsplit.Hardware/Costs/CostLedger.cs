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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Charge(CostCause cause, double cycles, long events = 1)
    {
        _cycles[cause.Slot] += cycles;
        _events[cause.Slot] += events;
    }

    public double Cycles(CostCause cause) => _cycles[cause.Slot];

    public long Events(CostCause cause) => _events[cause.Slot];

    public double TotalCycles
    {
        get
        {
            double sum = 0;
            foreach (double c in _cycles)
            {
                sum += c;
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
    }

    public void Reset()
    {
        Array.Clear(_cycles);
        Array.Clear(_events);
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

        return d;
    }
}
