using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware.Caches;
using Vmsplit.Hardware.Profiles;

namespace Vmsplit.Hardware.Tests.Caches;

/// <summary>
/// The batched line paths (<see cref="LineCache.AccessLines"/>, <see cref="LineCache.HintedHits"/>, and
/// <see cref="CacheHierarchy.Data"/> and <see cref="CacheHierarchy.Fetch"/> built on them) against the per-line path they replace: every result, counter and
/// later hit or miss the same.
/// </summary>
public class BatchedLinesTests
{
    // one operation: 0 = Data load, 1 = Data store, 2 = Fetch, 3 = CleanInvalidateData
    private static readonly Gen<(int Kind, int Address, int Bytes)[]> Operations =
        Gen.ArrayOf(
            from kind in Gen.Frequency((4, Gen.Constant(0)), (4, Gen.Constant(1)), (3, Gen.Constant(2)), (1, Gen.Constant(3)))
            from address in Gen.Choose(0, 1 << 20)
            from bytes in Gen.Frequency((1, Gen.Constant(0)), (2, Gen.Choose(1, 200)), (3, Gen.Choose(1, 9000)), (1, Gen.Constant(4096)))
            select (kind, address, bytes));

    [Fact]
    public void AccessLinesIsAccessLineOfEachChosenLineInOrder()
    {
        Gen<(int Ways, int SetsLog, (int First, ulong Which)[] Runs)> gen =
            from ways in Gen.Choose(1, 16)
            from setsLog in Gen.Choose(0, 6)
            from runs in Gen.ArrayOf(
                from first in Gen.Choose(0, 3000)
                from lo in Gen.Choose(int.MinValue, int.MaxValue)
                from hi in Gen.Choose(int.MinValue, int.MaxValue)
                select (first, ((ulong)(uint)hi << 32) | (uint)lo))
            select (ways, setsLog, runs);
        PropertyCheck.ForAll(gen, t =>
        {
            ulong bytes = (ulong)((1 << t.SetsLog) * t.Ways * 64);
            LineCache batched = new(bytes, t.Ways, 64);
            LineCache perLine = new(bytes, t.Ways, 64);
            foreach ((int first, ulong which) in t.Runs)
            {
                ulong expected = 0;
                for (int i = 0; i < 64; i++)
                {
                    if (((which >> i) & 1) != 0 && perLine.AccessLine((ulong)first + (ulong)i))
                    {
                        expected |= 1UL << i;
                    }
                }

                if (batched.AccessLines((ulong)first, which) != expected)
                {
                    return false;
                }
            }

            // the same lines are held: a sweep over every line touched hits and misses alike
            for (ulong line = 0; line < 3064; line++)
            {
                if (batched.AccessLine(line) != perLine.AccessLine(line))
                {
                    return false;
                }
            }

            return batched.Hits == perLine.Hits && batched.Misses == perLine.Misses;
        });
    }

    [Fact]
    public void HintedHitsThenAccessLineWithoutHintIsAccessLineOfEachLineInOrder()
    {
        Gen<(int Ways, int SetsLog, (int First, int Count)[] Runs)> gen =
            from ways in Gen.Choose(1, 16)
            from setsLog in Gen.Choose(0, 6)
            from runs in Gen.ArrayOf(
                from first in Gen.Choose(0, 3000)
                from count in Gen.Choose(1, 70)
                select (first, count))
            select (ways, setsLog, runs);
        PropertyCheck.ForAll(gen, t =>
        {
            ulong bytes = (ulong)((1 << t.SetsLog) * t.Ways * 64);
            LineCache hinted = new(bytes, t.Ways, 64);
            LineCache perLine = new(bytes, t.Ways, 64);
            foreach ((int first, int count) in t.Runs)
            {
                // CacheHierarchy.Fetch's loop over one run
                ulong last = (ulong)(first + count - 1);
                for (ulong line = (ulong)first; line <= last; line++)
                {
                    int hits = hinted.HintedHits(line, last);
                    for (int i = 0; i < hits; i++, line++)
                    {
                        if (!perLine.AccessLine(line))
                        {
                            return false;
                        }
                    }

                    if (line <= last && hinted.AccessLineWithoutHint(line) != perLine.AccessLine(line))
                    {
                        return false;
                    }
                }

                if ((hinted.Hits, hinted.Misses) != (perLine.Hits, perLine.Misses))
                {
                    return false;
                }
            }

            for (ulong line = 0; line < 3070; line++)
            {
                if (hinted.AccessLine(line) != perLine.AccessLine(line))
                {
                    return false;
                }
            }

            return (hinted.Hits, hinted.Misses) == (perLine.Hits, perLine.Misses);
        });
    }

    [Fact]
    public void DataAndFetchGiveThePerLineCyclesAndCountersOnEveryShippedProfile()
    {
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            CacheHierarchyConfig config = p.Caches!;
            PropertyCheck.ForAll(Operations, ops =>
            {
                CacheHierarchy batched = new(config);
                PerLine perLine = new(config);
                foreach ((int kind, int address, int bytes) in ops)
                {
                    ulong pa = 0x4000_0000UL + (ulong)address;
                    bool same = kind switch
                    {
                        0 or 1 => batched.Data(pa, (ulong)bytes, kind == 1).Equals(perLine.Data(pa, (ulong)bytes, kind == 1)),
                        2 => batched.Fetch(pa, (ulong)bytes).Equals(perLine.Fetch(pa, (ulong)bytes)),
                        _ => batched.CleanInvalidateData(pa, (ulong)bytes) == perLine.CleanInvalidateData(pa, (ulong)bytes),
                    };
                    if (!same)
                    {
                        return false;
                    }
                }

                return (batched.L2Hits, batched.L2Misses) == (perLine.L2Hits, perLine.L2Misses)
                    && (batched.L1I.Hits, batched.L1I.Misses, batched.L1D.Hits, batched.L1D.Misses, batched.L2.Hits, batched.L2.Misses)
                    == (perLine.L1I.Hits, perLine.L1I.Misses, perLine.L1D.Hits, perLine.L1D.Misses, perLine.L2.Hits, perLine.L2.Misses);
            }, maxTest: 40);
        }
    }

    [Fact]
    public void AFourKibCopyOfACachedPageCostsNothingAndOfAColdPageOneStreamedRun()
    {
        // Skylake: 64-byte lines, L2 miss 42 cycles, memory streams 15.24 bytes a cycle: 64 cold lines are one run of
        // 4096 / 15.24 cycles (less than 64 x 42, more than one miss)
        CacheHierarchy h = new(CpuProfiles.Find("skylake")!.Caches!);
        Assert.Equal(64 * 64.0 / 15.24, h.Data(0x10_0000, 4096));
        Assert.Equal((0L, 64L), (h.L2Hits, h.L2Misses));
        Assert.Equal(0, h.Data(0x10_0000, 4096, store: true));
        Assert.Equal((64L, 64L), (h.L1D.Hits, h.L1D.Misses));
    }

    /// <summary>The hierarchy's per-line path as it was before the batched one: each line through the L1, then the L2 on a miss.</summary>
    private sealed class PerLine(CacheHierarchyConfig config)
    {
        private readonly CacheHierarchy _caches = new(config); // its three LineCaches, driven a line at a time

        public LineCache L1I => _caches.L1I;

        public LineCache L1D => _caches.L1D;

        public LineCache L2 => _caches.L2;

        public long L2Hits { get; private set; }

        public long L2Misses { get; private set; }

        public int CleanInvalidateData(ulong pa, ulong bytes) => _caches.CleanInvalidateData(pa, bytes);

        public double Fetch(ulong pa, ulong bytes)
        {
            double cycles = 0;
            for (ulong line = pa / (ulong)config.LineBytes; bytes > 0 && line <= (pa + bytes - 1) / (ulong)config.LineBytes; line++)
            {
                if (!L1I.AccessLine(line))
                {
                    cycles += MissL2(line) == 1 ? config.L2HitCycles : config.L2MissCycles;
                }
            }

            return cycles;
        }

        public double Data(ulong pa, ulong bytes, bool store)
        {
            if (bytes == 0)
            {
                return 0;
            }

            double cycles = 0;
            ulong end = pa + bytes;
            ulong lineBytes = (ulong)config.LineBytes;
            int runSource = 0;
            long run = 0;
            for (ulong line = pa / lineBytes; line <= (end - 1) / lineBytes; line++)
            {
                int s = L1D.AccessLine(line) ? 0 : MissL2(line);
                bool whole = store && config.WriteStreaming && line * lineBytes >= pa && (line + 1) * lineBytes <= end;
                if (whole || s != runSource)
                {
                    cycles += Price(runSource, run);
                    runSource = whole ? 0 : s;
                    run = whole || s == 0 ? 0 : 1;
                    continue;
                }

                if (s != 0)
                {
                    run++;
                }
            }

            return cycles + Price(runSource, run);
        }

        private double Price(int source, long lines) => source switch
        {
            1 => CacheHierarchy.StreamCycles(lines, config.LineBytes, config.L2HitCycles, config.L2BytesPerCycle),
            2 => CacheHierarchy.StreamCycles(lines, config.LineBytes, config.L2MissCycles, config.MemoryBytesPerCycle),
            _ => 0,
        };

        // 1 when the L2 held the line, 2 when it came from memory
        private int MissL2(ulong line)
        {
            if (L2.AccessLine(line))
            {
                L2Hits++;
                return 1;
            }

            L2Misses++;
            return 2;
        }
    }
}
