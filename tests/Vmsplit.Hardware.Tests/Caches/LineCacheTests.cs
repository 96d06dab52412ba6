using Vmsplit.Hardware.Caches;

namespace Vmsplit.Hardware.Tests.Caches;

public class LineCacheTests
{
    // A line cache is LRU per set: whatever slot a line lands in (the hint, the vector scan of 4-way multiples up to 64, the
    // scalar scan), the sequence of hits and misses must be that of a list per set ordered by recency, capacity the ways.
    [Theory]
    [InlineData(1, 8)]
    [InlineData(2, 16)]
    [InlineData(4, 8)]
    [InlineData(8, 64)]
    [InlineData(12, 4)]
    [InlineData(16, 32)]
    [InlineData(16, 1)]
    [InlineData(32, 4)]
    [InlineData(64, 2)]
    [InlineData(68, 2)]
    public void HitsAndMissesAreThoseOfAnLruListPerSet(int ways, int sets)
    {
        const int lineBytes = 64;
        Random rng = new(ways * 1000 + sets);
        for (int round = 0; round < 20; round++)
        {
            LineCache c = new((ulong)(ways * sets * lineBytes), ways, lineBytes);
            List<ulong>[] lru = [.. Enumerable.Range(0, sets).Select(_ => new List<ulong>())];

            // a pool a little larger than the cache, spread so that hints collide (line numbers 2^14 apart share a hint)
            int poolSize = (ways * sets) + rng.Next(1, (ways * sets) + 2);
            ulong[] pool = [.. Enumerable.Range(0, poolSize).Select(_ => (ulong)rng.Next(0, 1 << 22))];
            long hits = 0;
            for (int i = 0; i < 3000; i++)
            {
                ulong line = pool[rng.Next(pool.Length)];
                List<ulong> set = lru[(int)(line % (ulong)sets)];
                bool expected = set.Remove(line);
                set.Insert(0, line);
                if (set.Count > ways)
                {
                    set.RemoveAt(ways);
                }

                hits += expected ? 1 : 0;
                Assert.Equal(expected, c.Access(line * lineBytes));
            }

            Assert.Equal(hits, c.Hits);
            Assert.Equal(3000 - hits, c.Misses);
        }
    }
}
