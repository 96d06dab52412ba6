using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Caches;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Profiles;

/// <summary>
/// One value of a profile with where it comes from: a named source (a row of the calibration set, a
/// TRM section, an optimization-manual table, a Linux comment) or an assumption with its reasoning.
/// </summary>
public sealed record ProfileEntry(string Path, string Value, string Provenance, bool IsAssumption)
{
    /// <summary>"source" or "assumption", as the YAML key.</summary>
    public string Kind => IsAssumption ? "assumption" : "source";
}

/// <summary>
/// The data-cache facts the uaccess and kmap paths need; <paramref name="IcacheInvalidateAllCycles"/> prices the
/// instruction-cache invalidation flush_anon_page adds on an aliasing cache (0 where nothing runs it).
/// </summary>
public sealed record CacheGeometry(int LineBytes, bool ViptAliasing, ulong WayBytes, double CleanInvalidateLineCycles, double IcacheInvalidateAllCycles = 0)
{
    /// <summary>Lines a clean+invalidate of one 4 KiB page touches (flush_dcache_page).</summary>
    public int LinesPerPage => (int)(4096 / (ulong)LineBytes);
}

/// <summary>
/// The rate at which the CPU runs kernel code: the instructions it can issue per cycle and the instructions per
/// cycle assumed for the entry, exit and system-call paths (stores of the register frame, system-register moves,
/// short dependent chains). Kernel paths are instruction counts; their cycles are the count divided by <see cref="Ipc"/>.
/// </summary>
public sealed record KernelRate(int IssueWidth, double Ipc)
{
    /// <summary>What a profile without a <c>kernel:</c> section runs at: one instruction per cycle.</summary>
    public static KernelRate Default { get; } = new(1, 1);

    /// <summary>Cycles <paramref name="instructions"/> take at this rate.</summary>
    public double Cycles(double instructions) => instructions / Ipc;
}

/// <summary>
/// A named CPU: architecture and MMU formats, clock, TLB geometry, and the primitive costs the
/// simulation charges. Every number carries its source or its assumption (<see cref="Entries"/>).
/// </summary>
public sealed class CpuProfile
{
    private readonly double[] _costs;
    private readonly bool[] _hasCost;
    private readonly HashSet<CpuFeature> _features;

    internal CpuProfile(
        string id,
        string name,
        string file,
        ProfileArchitecture architecture,
        IReadOnlyList<MmuFormat> mmuFormats,
        IReadOnlySet<CpuFeature> features,
        double clockMhz,
        TlbHierarchyConfig tlb,
        CacheGeometry cache,
        double[] costs,
        bool[] hasCost,
        IReadOnlyList<ProfileEntry> entries)
    {
        Id = id;
        Name = name;
        File = file;
        Architecture = architecture;
        MmuFormats = mmuFormats;
        _features = [.. features];
        ClockMhz = clockMhz;
        Tlb = tlb;
        Cache = cache;
        _costs = costs;
        _hasCost = hasCost;
        Entries = entries;
    }

    /// <summary>Short name used on the command line (<c>cortex-a15</c>).</summary>
    public string Id { get; }

    public string Name { get; }

    /// <summary>Where it was loaded from (<c>profiles/cortex-a15.yaml</c> or the user's path).</summary>
    public string File { get; }

    public ProfileArchitecture Architecture { get; }

    public IReadOnlyList<MmuFormat> MmuFormats { get; }

    public double ClockMhz { get; }

    /// <summary>The cores of the board the profile describes (<c>--cpus board</c>; 1 when the file states none).</summary>
    public int BoardCores { get; init; } = 1;

    /// <summary>The features of <see cref="CpuFeatureExtensions.For"/> this architecture the CPU has.</summary>
    public IReadOnlySet<CpuFeature> Features => _features;

    /// <summary>Whether the CPU has <paramref name="feature"/> (false for a feature of another architecture).</summary>
    public bool Has(CpuFeature feature) => _features.Contains(feature);

    /// <summary>The TLB geometry in the shape the TLB model builds from.</summary>
    public TlbHierarchyConfig Tlb { get; }

    public CacheGeometry Cache { get; }

    /// <summary>The L1 instruction, L1 data and L2 caches kernel text and copied lines go through; null when the file states none.</summary>
    public CacheHierarchyConfig? Caches { get; init; }

    /// <summary>The rate kernel code runs at (issue width and IPC, sourced or assumed in the profile's <c>kernel:</c> section).</summary>
    public KernelRate Kernel { get; init; } = KernelRate.Default;

    /// <summary>Every value in file order with its source or assumption.</summary>
    public IReadOnlyList<ProfileEntry> Entries { get; }

    /// <summary>Entries marked as assumptions: what the output must call out as not measured.</summary>
    public IEnumerable<ProfileEntry> Assumptions => Entries.Where(e => e.IsAssumption);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Has(PrimitiveCost cost) => _hasCost[(int)cost];

    /// <summary>The cost in its unit (cycles, bytes per cycle); throws if this profile's architecture has no such cost.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Cycles(PrimitiveCost cost)
    {
        if (!_hasCost[(int)cost])
        {
            ThrowMissing(cost);
        }

        return _costs[(int)cost];
    }

    /// <summary>The cost of one TLB maintenance operation.</summary>
    public double Cycles(TlbMaintenanceOp op) => Cycles(op.CostOf());

    /// <summary>Cycles to copy <paramref name="bytes"/> with memcpy.</summary>
    public double MemcpyCycles(ulong bytes) => bytes / Cycles(PrimitiveCost.MemcpyBytesPerCycle);

    public double Nanoseconds(double cycles) => cycles * 1000.0 / ClockMhz;

    /// <summary>The entry for a path such as <c>costs.isb</c> or <c>tlb.main[0].entries</c>.</summary>
    public ProfileEntry? Entry(string path)
    {
        foreach (ProfileEntry e in Entries)
        {
            if (e.Path == path)
            {
                return e;
            }
        }

        return null;
    }

    public override string ToString() => Id;

    private void ThrowMissing(PrimitiveCost cost) =>
        throw new InvalidOperationException($"profile {Id} ({Architecture}) has no cost '{cost.Key()}'");
}
