using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware.Caches;
using Vmsplit.Hardware.Profiles;

namespace Vmsplit.Hardware.Tests.Caches;

public class CacheHierarchyTests
{
    // 1 KiB, 2-way, 64-byte lines: 8 sets; the set of a line is (address / 64) mod 8, so addresses 512 bytes apart share a set.
    [Fact]
    public void LinesOfOneSetAreEvictedLeastRecentlyUsedFirst()
    {
        LineCache c = new(1024, 2, 64);
        Assert.False(c.Access(0x0000));  // set 0, way A
        Assert.False(c.Access(0x0200));  // set 0, way B
        Assert.True(c.Access(0x0000));   // 0x0000 is now the most recent of set 0
        Assert.False(c.Access(0x0400));  // set 0 full: evicts 0x0200, the least recently used
        Assert.True(c.Access(0x0000));
        Assert.False(c.Access(0x0200));  // gone; refilled over 0x0400 (least recent now)
        Assert.True(c.Access(0x0000));
        Assert.False(c.Access(0x0400));
        Assert.False(c.Access(0x0040));  // set 1: another set
        Assert.Equal(3, c.Hits);
        Assert.Equal(6, c.Misses);
    }

    [Fact]
    public void TheSetIndexIsTheLineNumberModuloTheSets()
    {
        LineCache c = new(1024, 2, 64);
        // eight lines in eight different sets all stay, although the cache holds only two per set
        for (ulong a = 0; a < 8 * 64; a += 64)
        {
            Assert.False(c.Access(a));
        }

        for (ulong a = 0; a < 8 * 64; a += 64)
        {
            Assert.True(c.Access(a + 7)); // any byte of the line
        }

        // three lines of set 3 (0x0c0, 0x2c0, 0x4c0) in a two-way set: the first is evicted
        Assert.False(c.Access(0x2c0));
        Assert.False(c.Access(0x4c0));
        Assert.False(c.Access(0x0c0));
        Assert.True(c.Access(0x000)); // set 0 untouched
    }

    private static CacheHierarchy Small() => new(new CacheHierarchyConfig(
        new CacheLevelConfig("L1I", 1024, 2), new CacheLevelConfig("L1D", 1024, 2), new CacheLevelConfig("L2", 4096, 4), 64, L2HitCycles: 10, L2MissCycles: 100));

    [Fact]
    public void AnL1MissPaysTheL2AndAnL2MissPaysMemory()
    {
        CacheHierarchy h = Small();
        Assert.Equal(2 * 100, h.Data(0x1000, 128));   // two cold lines: both levels miss
        Assert.Equal(0, h.Data(0x1000, 128));          // both in the L1D now
        Assert.Equal(0, h.Data(0x1010, 8));            // a few bytes inside a held line
        Assert.Equal(100, h.Data(0x107f, 2));          // straddles from the held 0x1040 into the cold 0x1080
        // 0x1000, 0x1200 and 0x1400 share L1D set 0 (line numbers 64, 72, 80; eight sets): the third evicts the first
        Assert.Equal(200, h.Data(0x1200, 1) + h.Data(0x1400, 1));
        Assert.Equal(10, h.Data(0x1000, 1));           // evicted from the two-way L1D, still in the 16-set, 4-way L2
        Assert.Equal(1, h.L2Hits);
        Assert.Equal(5, h.L2Misses);
    }

    [Fact]
    public void InstructionAndDataLinesHaveTheirOwnL1AndShareTheL2()
    {
        CacheHierarchy h = Small();
        Assert.Equal(100, h.Fetch(0x2000, 4));  // cold: memory
        Assert.Equal(10, h.Data(0x2000, 4));    // the data L1 does not hold it, the unified L2 does
        Assert.Equal(0, h.Fetch(0x2000, 4));
        Assert.Equal(0, h.Data(0x2000, 4));
    }

    [Fact]
    public void AWholeFootprintThatFitsTheL1DMissesOnlyOnce()
    {
        // the dd boundary in miniature: a buffer of the L1D's size copied again hits; one line more than a set holds misses again
        CacheHierarchy h = Small();
        Assert.Equal(16 * 100, h.Data(0x8000, 1024));
        Assert.Equal(0, h.Data(0x8000, 1024));
        Assert.Equal(24 * 100, h.Data(0x10000, 1536)); // 1.5 KiB: more than the 1 KiB L1D, 24 lines
        Assert.Equal(24 * 10, h.Data(0x10000, 1536));  // LRU over a stream larger than the cache misses every line, in the L2 now
    }

    [Fact]
    public void AFourKibCopyMissingToMemoryStreamsAtTheBoardsBandwidthOnTheCortexA8()
    {
        // AM335x: 64 lines of 64 bytes, 110 cycles to memory, 1.6 bytes per cycle: max(110, min(64 x 110, 64 x 64 / 1.6)) = 2560
        CacheHierarchyConfig a8 = CpuProfiles.Find("cortex-a8")!.Caches!;
        Assert.Equal((110.0, 1.6, false), (a8.L2MissCycles, a8.MemoryBytesPerCycle, a8.WriteStreaming));
        CacheHierarchy h = new(a8);
        Assert.Equal(2560, h.Data(0x100000, 4096), 9);                // the source page, cold
        Assert.Equal(2560, h.Data(0x200000, 4096, store: true), 9);   // the destination: no write streaming, every line filled
        Assert.Equal(0, h.Data(0x100000, 4096));
        Assert.Equal(128, h.L2Misses);
        Assert.Equal(128, h.L1D.Misses);
    }

    private static CacheHierarchy Streaming(bool writeStreaming) => new(new CacheHierarchyConfig(
        new CacheLevelConfig("L1I", 1024, 2), new CacheLevelConfig("L1D", 1024, 2), new CacheLevelConfig("L2", 4096, 4), 64, L2HitCycles: 10, L2MissCycles: 100)
    {
        L2BytesPerCycle = 32,
        MemoryBytesPerCycle = 16,
        WriteStreaming = writeStreaming,
    });

    [Fact]
    public void AFullLineClearPaysNoFillOnlyWhereTheCoreStreamsWrites()
    {
        CacheHierarchy with = Streaming(true);
        Assert.Equal(0, with.Data(0x4000, 1024, store: true));    // clear_page in miniature: 16 whole lines, no fill
        Assert.Equal(16, with.L1D.Misses);                         // the lines still enter the caches and count as misses
        Assert.Equal(0, with.Data(0x4000, 1024));                  // and are held: loading them back hits
        // a store that covers only part of its first and last lines fills those two (each its own run of one miss)
        Assert.Equal(2 * 100, with.Data(0x8020, 128, store: true));
        // the same shape loaded: three consecutive misses, one run: max(100, min(300, 3 x 64 / 16)) = 100
        Assert.Equal(100, with.Data(0xc020, 128));

        CacheHierarchy without = Streaming(false);
        // 16 lines from memory in one run: max(100, min(1600, 16 x 64 / 16)) = 100, the first miss's latency
        Assert.Equal(100, without.Data(0x4000, 1024, store: true));
        Assert.Equal(16, without.L1D.Misses);
    }

    [Fact]
    public void StreamingNeverCostsMoreThanSerialMissesNorLessThanTheFirstMiss()
    {
        Gen<(int Lines, int Latency, int BandwidthTenths, int LineLog)> gen =
            from lines in Gen.Choose(1, 600)
            from latency in Gen.Choose(1, 400)
            from bw in Gen.Choose(0, 1000)
            from lineLog in Gen.Choose(4, 7)
            select (lines, latency, bw, lineLog);
        PropertyCheck.ForAll(gen, t =>
        {
            int line = 1 << t.LineLog;
            double bw = t.BandwidthTenths / 10.0;
            double price = CacheHierarchy.StreamCycles(t.Lines, line, t.Latency, bw);

            // the same run through the caches: a cold sequential load of t.Lines lines from memory, in an L1D and an L2 that hold them all
            ulong bytes = (ulong)(t.Lines * line);
            CacheHierarchy h = new(new CacheHierarchyConfig(
                new CacheLevelConfig("L1I", 1024, 1), new CacheLevelConfig("L1D", bytes * 2, (int)(bytes * 2 / (ulong)line)), new CacheLevelConfig("L2", bytes * 4, (int)(bytes * 4 / (ulong)line)), line, L2HitCycles: 1, L2MissCycles: t.Latency)
            { MemoryBytesPerCycle = bw });
            double throughCaches = h.Data((ulong)line * 3, bytes);
            return price <= (double)t.Lines * t.Latency && price >= t.Latency && throughCaches == price && h.L2Misses == t.Lines;
        });
    }

    [Fact]
    public void ACacheLargerThanTheFootprintNeverMissesAfterWarmUp()
    {
        Gen<(int Ways, int SetsLog, int[] Lines)> gen =
            from ways in Gen.Choose(1, 8)
            from setsLog in Gen.Choose(0, 6)
            from lines in Gen.ListOf(Gen.Choose(0, 4095))
            select (ways, setsLog, lines.ToArray());
        PropertyCheck.ForAll(gen, t =>
        {
            // a cache with as many ways as the footprint has distinct lines never has to evict one of them
            int distinct = t.Lines.Distinct().Count();
            int sets = 1 << t.SetsLog;
            LineCache c = new((ulong)(sets * Math.Max(t.Ways, distinct) * 64), Math.Max(t.Ways, distinct), 64);
            foreach (int l in t.Lines)
            {
                c.Access((ulong)l * 64);
            }

            long missesAfterWarmUp = c.Misses;
            foreach (int l in Enumerable.Reverse(t.Lines))
            {
                c.Access((ulong)l * 64 + 5);
            }

            return c.Misses == missesAfterWarmUp && missesAfterWarmUp == distinct;
        });
    }

    [Fact]
    public void EveryShippedProfileStatesItsCachesAndTheCortexA8HasTheAm335xGeometry()
    {
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            CacheHierarchyConfig c = p.Caches ?? throw new Xunit.Sdk.XunitException($"{p.Id} states no caches");
            Assert.Equal("", c.Validate());
            Assert.True(c.L2.CapacityBytes > c.L1D.CapacityBytes, p.Id);
            Assert.True(c.L2MissCycles > c.L2HitCycles, p.Id);
        }

        CacheHierarchyConfig a8 = CpuProfiles.Find("cortex-a8")!.Caches!;
        Assert.Equal((32UL * 1024, 4), (a8.L1I.CapacityBytes, a8.L1I.Ways));
        Assert.Equal((32UL * 1024, 4), (a8.L1D.CapacityBytes, a8.L1D.Ways));
        Assert.Equal((256UL * 1024, 8), (a8.L2.CapacityBytes, a8.L2.Ways));
        Assert.Equal(64, a8.LineBytes);
    }

    [Fact]
    public void InvalidatingALineMakesItsNextAccessMissAndLeavesTheRestOfTheSet()
    {
        LineCache c = new(1024, 2, 64);
        Assert.False(c.Access(0x0c0));
        Assert.False(c.Access(0x2c0)); // the same set
        Assert.True(c.Invalidate(0x0ff)); // any byte of the line
        Assert.False(c.Invalidate(0x0c0)); // no longer held
        Assert.True(c.Access(0x2c0));
        Assert.Equal((1L, 2L), (c.Hits, c.Misses)); // invalidation counts neither
        Assert.False(c.Access(0x0c0));
    }

    [Fact]
    public void CleaningAndInvalidatingToThePointOfCoherencyEmptiesBothDataLevels()
    {
        CacheHierarchy h = Small();
        Assert.Equal(2 * 100, h.Data(0x1000, 128));
        Assert.Equal(0, h.Fetch(0x3000, 64) - 100); // an instruction line elsewhere, cold

        // the two held lines and one never loaded: two were held; both levels lose them, the L1I keeps its line
        Assert.Equal(2, h.CleanInvalidateData(0x1000, 192));
        Assert.Equal(3 * 100, h.Data(0x1000, 192)); // every line from memory again, none from the L2
        Assert.Equal(0, h.Fetch(0x3000, 64));
        Assert.Equal(0, h.CleanInvalidateData(0x9000, 0));
    }
}
