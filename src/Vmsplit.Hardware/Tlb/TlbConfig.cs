using System.Numerics;

namespace Vmsplit.Hardware.Tlb;

/// <summary>Which way of a full set a fill evicts.</summary>
public enum TlbReplacement : byte
{
    /// <summary>True least-recently-used order per set.</summary>
    Lru,

    /// <summary>Tree pseudo-LRU (one bit per internal node of a binary tree over the ways; ways must be a power of two).</summary>
    PseudoLru,

    /// <summary>A seeded pseudo-random way (deterministic for a given seed), as many ARM cores document.</summary>
    Random,
}

/// <summary>How a level holds a translation larger than every page size it stores natively.</summary>
public enum LargePageHolding : byte
{
    /// <summary>Only the page sizes listed are held; a larger translation bypasses the level.</summary>
    Native,

    /// <summary>
    /// A larger translation is held as one entry of the largest listed size that is smaller (the part
    /// around the accessed address), e.g. the Cortex-A15 micro TLBs hold 4 KiB granules.
    /// </summary>
    Splintered,
}

/// <summary>
/// One set-associative TLB array: a micro TLB, a main TLB, or one of the per-page-size arrays x86
/// cores look up in parallel. Fully associative is <c>Ways == Entries</c> (one set).
/// </summary>
public sealed record TlbLevelConfig
{
    /// <summary>A name for reports ("L1 DTLB", "main TLB", "STLB").</summary>
    public required string Name { get; init; }

    public required int Entries { get; init; }

    /// <summary>Associativity; <see cref="Entries"/> for fully associative.</summary>
    public required int Ways { get; init; }

    /// <summary>The page sizes (bytes, powers of two) this array holds natively.</summary>
    public required IReadOnlyList<ulong> PageSizes { get; init; }

    public LargePageHolding HowLargePagesAreHeld { get; init; } = LargePageHolding.Native;

    public TlbReplacement Replacement { get; init; } = TlbReplacement.Lru;

    /// <summary>Cycles a lookup in this array costs when it hits (charged by the kernel layer).</summary>
    public double LookupLatencyCycles { get; init; }

    /// <summary>Seed for <see cref="TlbReplacement.Random"/>; the same seed gives the same victims.</summary>
    public ulong RandomSeed { get; init; } = 0x9E3779B97F4A7C15UL;

    public int Sets => Ways <= 0 ? 0 : Entries / Ways;

    public static TlbLevelConfig FullyAssociative(string name, int entries, IReadOnlyList<ulong> pageSizes, TlbReplacement replacement = TlbReplacement.Lru) =>
        new() { Name = name, Entries = entries, Ways = entries, PageSizes = pageSizes, Replacement = replacement };

    /// <summary>Returns an empty string when the geometry is usable, otherwise one line naming the field.</summary>
    public string Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            return "TLB level: name is empty";
        }

        if (Entries <= 0 || Entries > 1 << 16)
        {
            return $"TLB level '{Name}': entries must be in [1, 65536], got {Entries}";
        }

        if (Ways <= 0 || Ways > Entries || Entries % Ways != 0)
        {
            return $"TLB level '{Name}': ways must divide entries ({Entries}), got {Ways}";
        }

        if (!BitOperations.IsPow2(Entries / Ways))
        {
            return $"TLB level '{Name}': sets (entries/ways = {Entries / Ways}) must be a power of two";
        }

        if (Ways > 64)
        {
            return $"TLB level '{Name}': at most 64 ways per set are modelled, got {Ways}";
        }

        if (Replacement == TlbReplacement.PseudoLru && !BitOperations.IsPow2(Ways))
        {
            return $"TLB level '{Name}': tree pseudo-LRU needs a power-of-two number of ways, got {Ways}";
        }

        if (PageSizes is null || PageSizes.Count == 0)
        {
            return $"TLB level '{Name}': page sizes are empty";
        }

        foreach (ulong size in PageSizes)
        {
            if (size < 1024 || !BitOperations.IsPow2(size))
            {
                return $"TLB level '{Name}': page size {size} is not a power of two of at least 1K";
            }
        }

        if (LookupLatencyCycles < 0)
        {
            return $"TLB level '{Name}': lookup latency is negative";
        }

        return "";
    }
}

/// <summary>
/// A cache of non-leaf descriptors (Cortex-A53 walk cache; x86 PML4E/PDPTE/PDE paging-structure
/// caches, Intel SDM Vol. 3A §4.10.3) so a TLB miss reads only the levels below the cached one.
/// </summary>
public sealed record WalkCacheConfig
{
    public required string Name { get; init; }

    public required int Entries { get; init; }

    public required int Ways { get; init; }

    /// <summary>
    /// Which table descriptors it holds, named by log2 of the VA range one descriptor maps: 39 = PML4E
    /// (or AArch64 level-0), 30 = PDPTE (level 1), 21 = PDE (level 2). Empty = every non-leaf level.
    /// </summary>
    public IReadOnlyList<int> CoverageShifts { get; init; } = [];

    public TlbReplacement Replacement { get; init; } = TlbReplacement.Lru;

    public double LookupLatencyCycles { get; init; }

    public ulong RandomSeed { get; init; } = 0xD1B54A32D192ED03UL;

    /// <summary>The same geometry as a TLB array, for the shared set-associative machinery.</summary>
    internal TlbLevelConfig AsArray() => new()
    {
        Name = Name,
        Entries = Entries,
        Ways = Ways,
        PageSizes = [4096],
        Replacement = Replacement,
        LookupLatencyCycles = LookupLatencyCycles,
        RandomSeed = RandomSeed,
    };

    public string Validate()
    {
        string e = AsArray().Validate();
        if (e.Length != 0)
        {
            return e.Replace("TLB level", "walk cache", StringComparison.Ordinal);
        }

        foreach (int s in CoverageShifts)
        {
            if (s < 12 || s > 63)
            {
                return $"walk cache '{Name}': coverage shift {s} is outside [12, 63]";
            }
        }

        return "";
    }
}

/// <summary>
/// A core's translation caches: micro instruction and data TLBs, the main (unified, second-level)
/// TLB, walk caches, and the address-space tag. Each of <see cref="MicroI"/>, <see cref="MicroD"/>
/// and <see cref="Main"/> is a list of arrays looked up in parallel (usually one; x86 cores keep
/// separate arrays per page size). An empty list means the core has no such level.
/// </summary>
public sealed record TlbHierarchyConfig
{
    public IReadOnlyList<TlbLevelConfig> MicroI { get; init; } = [];

    public IReadOnlyList<TlbLevelConfig> MicroD { get; init; } = [];

    public IReadOnlyList<TlbLevelConfig> Main { get; init; } = [];

    public IReadOnlyList<WalkCacheConfig> WalkCaches { get; init; } = [];

    /// <summary>Width of the ASID/PCID tag held in each entry (8 ARMv7, 16 AArch64, 12 x86 PCID, 0..16 RISC-V); 0 = untagged.</summary>
    public int AsidBits { get; init; }

    /// <summary>x86: CR4.PCIDE can be set (PCID in CR3[11:0], no-flush bit 63).</summary>
    public bool HasPcid { get; init; }

    /// <summary>x86: the INVPCID instruction exists (Haswell and later).</summary>
    public bool HasInvpcid { get; init; }

    /// <summary>Returns an empty string when usable, otherwise one line naming the field.</summary>
    public string Validate()
    {
        if (AsidBits < 0 || AsidBits > 16)
        {
            return $"TLB: asid bits must be in [0, 16], got {AsidBits}";
        }

        if (HasPcid && AsidBits != 12)
        {
            return $"TLB: a core with PCID tags entries with 12 bits (Intel SDM Vol. 3A §4.10.1), got asid bits {AsidBits}";
        }

        if (HasInvpcid && !HasPcid)
        {
            return "TLB: INVPCID without PCID support";
        }

        if (MicroI.Count + MicroD.Count + Main.Count == 0)
        {
            return "TLB: no TLB arrays (micro-i, micro-d and main are all empty)";
        }

        foreach (IReadOnlyList<TlbLevelConfig> stage in (IReadOnlyList<TlbLevelConfig>[])[MicroI, MicroD, Main])
        {
            foreach (TlbLevelConfig level in stage)
            {
                string e = level.Validate();
                if (e.Length != 0)
                {
                    return e;
                }
            }
        }

        foreach (WalkCacheConfig w in WalkCaches)
        {
            string e = w.Validate();
            if (e.Length != 0)
            {
                return e;
            }
        }

        return "";
    }
}
