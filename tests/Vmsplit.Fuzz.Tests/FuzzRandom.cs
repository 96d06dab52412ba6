namespace Vmsplit.Fuzz.Tests;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
/// the same seed gives the same inputs on every machine and .NET version, so a failing iteration can be
/// replayed from its number alone.
/// </summary>
internal sealed class FuzzRandom(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The generator for iteration <paramref name="iteration"/> of the campaign <paramref name="campaign"/> under <paramref name="seed"/>.</summary>
    public static FuzzRandom For(ulong seed, string campaign, long iteration)
    {
        ulong h = seed;
        foreach (char c in campaign)
        {
            h = (h ^ c) * 0x100000001B3UL; // FNV-1a step
        }

        FuzzRandom mix = new(h ^ ((ulong)iteration * 0x9E3779B97F4A7C15UL));
        return new FuzzRandom(mix.Next());
    }

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, <paramref name="n"/>).</summary>
    public int Below(int n) => n <= 1 ? 0 : (int)(Next() % (ulong)n);

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Between(int min, int max) => min + Below(max - min + 1);

    public bool Chance(int percent) => Below(100) < percent;

    public T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];
}
