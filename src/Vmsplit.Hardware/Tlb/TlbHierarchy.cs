using System.Numerics;
using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Hardware.Tlb;

/// <summary>Where a translation came from.</summary>
public enum TlbHitLevel : byte
{
    /// <summary>No TLB held it: the walker was used (or the walk faulted).</summary>
    Walk,

    MicroI,
    MicroD,
    Main,
}

/// <summary>
/// One CPU's translation caches: micro I-TLB and D-TLB, the main TLB and the walk caches.
/// Fill policy: a walk fills the main TLB and the micro TLB of the access's side (inclusive); a main
/// hit refills that micro TLB. A translation larger than every size an array holds is splintered
/// into the largest smaller size when the array splinters, otherwise it bypasses that array.
/// Maintenance operations apply the architecture's rules to every array and walk cache.
/// </summary>
public sealed class TlbHierarchy
{
    private readonly TlbLevel[] _microI;
    private readonly TlbLevel[] _microD;
    private readonly TlbLevel[] _main;
    private readonly WalkCache[] _walkCaches;

    /// <param name="config">The core's geometry.</param>
    /// <param name="formatTableShifts">log2 spans of the non-leaf levels of the MMU format in use (for the walk caches).</param>
    public TlbHierarchy(TlbHierarchyConfig config, ReadOnlySpan<int> formatTableShifts = default)
    {
        string error = config.Validate();
        if (error.Length != 0)
        {
            throw new ArgumentException(error, nameof(config));
        }

        Config = config;
        _microI = Build(config.MicroI);
        _microD = Build(config.MicroD);
        _main = Build(config.Main);
        _walkCaches = new WalkCache[config.WalkCaches.Count];
        for (int i = 0; i < _walkCaches.Length; i++)
        {
            _walkCaches[i] = new WalkCache(config.WalkCaches[i], formatTableShifts);
        }

        AsidMask = (ushort)((1 << config.AsidBits) - 1);
    }

    private static TlbLevel[] Build(IReadOnlyList<TlbLevelConfig> configs)
    {
        TlbLevel[] levels = new TlbLevel[configs.Count];
        for (int i = 0; i < levels.Length; i++)
        {
            levels[i] = new TlbLevel(configs[i]);
        }

        return levels;
    }

    public TlbHierarchyConfig Config { get; }

    /// <summary>Mask applied to every ASID before tagging (0 for an untagged TLB).</summary>
    public ushort AsidMask { get; }

    public IReadOnlyList<TlbLevel> MicroI => _microI;

    public IReadOnlyList<TlbLevel> MicroD => _microD;

    public IReadOnlyList<TlbLevel> Main => _main;

    public IReadOnlyList<WalkCache> WalkCaches => _walkCaches;

    /// <summary>Every TLB array (not the walk caches), micro first.</summary>
    public IEnumerable<TlbLevel> AllLevels => _microI.Concat(_microD).Concat(_main);

    /// <summary>Looks the VA up: the micro TLB of the access's side, then the main TLB (refilling the micro TLB on a main hit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TlbHitLevel Lookup(ulong va, AccessType access, ushort asid, out TlbEntry entry)
    {
        asid &= AsidMask;
        bool fetch = access == AccessType.Execute;
        TlbLevel[] micro = fetch ? _microI : _microD;
        for (int i = 0; i < micro.Length; i++)
        {
            int index = micro[i].Lookup(va, asid);
            if (index >= 0)
            {
                entry = micro[i].Entry(index);
                return fetch ? TlbHitLevel.MicroI : TlbHitLevel.MicroD;
            }
        }

        return LookupMain(va, asid, micro, out entry);
    }

    private TlbHitLevel LookupMain(ulong va, ushort asid, TlbLevel[] micro, out TlbEntry entry)
    {
        for (int i = 0; i < _main.Length; i++)
        {
            int index = _main[i].Lookup(va, asid);
            if (index >= 0)
            {
                entry = _main[i].Entry(index);
                FillStage(micro, in entry, va);
                return TlbHitLevel.Main;
            }
        }

        entry = default;
        return TlbHitLevel.Walk;
    }

    /// <summary>Caches a successful walk of <paramref name="va"/> in the main TLB and the micro TLB of the access's side.</summary>
    public void Fill(in WalkResult walk, VirtualAddress va, AccessType access, ushort asid)
    {
        if (walk.IsFault)
        {
            return;
        }

        asid &= AsidMask;
        int pageShift = BitOperations.Log2(walk.PageSize);
        TlbEntry entry = TlbEntry.FromWalk(in walk, va, pageShift, asid);
        FillStage(_main, in entry, va.Value);
        FillStage(access == AccessType.Execute ? _microI : _microD, in entry, va.Value);
    }

    /// <summary>Puts <paramref name="entry"/> into the array of the stage that holds its size (natively first, else splintered).</summary>
    private static void FillStage(TlbLevel[] stage, in TlbEntry entry, ulong va)
    {
        TlbLevel? target = null;
        int shift = -1;
        for (int i = 0; i < stage.Length; i++)
        {
            int s = stage[i].HoldingShift(entry.Shift);
            if (s == entry.Shift)
            {
                target = stage[i];
                shift = s;
                break;
            }

            if (s > shift)
            {
                target = stage[i];
                shift = s;
            }
        }

        if (target is null)
        {
            return;
        }

        if (shift == entry.Shift)
        {
            target.Fill(in entry);
        }
        else
        {
            target.Fill(entry.Splinter(va, shift));
        }
    }

    /// <summary>
    /// For a walk of <paramref name="tableSteps"/> table descriptors whose spans are
    /// <paramref name="stepShifts"/> (top first), returns how many leading reads the walk caches make
    /// unnecessary, then caches those descriptors.
    /// </summary>
    public int ConsultWalkCaches(ulong va, ushort asid, ReadOnlySpan<int> stepShifts, int tableSteps)
    {
        if (_walkCaches.Length == 0 || tableSteps <= 0)
        {
            return 0;
        }

        asid &= AsidMask;
        int saved = 0;
        for (int j = tableSteps - 1; j >= 0 && saved == 0; j--)
        {
            int shift = stepShifts[j];
            foreach (WalkCache cache in _walkCaches)
            {
                if (cache.Holds(shift) && cache.Lookup(va, shift, asid))
                {
                    saved = j + 1;
                    break;
                }
            }
        }

        for (int j = 0; j < tableSteps; j++)
        {
            int shift = stepShifts[j];
            foreach (WalkCache cache in _walkCaches)
            {
                if (cache.Holds(shift))
                {
                    cache.Fill(va, shift, asid, 0);
                }
            }
        }

        return saved;
    }

    /// <summary>Removes matching entries from every TLB array; returns how many were valid.</summary>
    public int InvalidateTlb(TlbMatch match, ulong va, ushort asid)
    {
        asid &= AsidMask;
        int removed = 0;
        foreach (TlbLevel l in _microI)
        {
            removed += l.Invalidate(match, va, asid);
        }

        foreach (TlbLevel l in _microD)
        {
            removed += l.Invalidate(match, va, asid);
        }

        foreach (TlbLevel l in _main)
        {
            removed += l.Invalidate(match, va, asid);
        }

        return removed;
    }

    public int InvalidateWalkCaches(TlbMatch match, ulong va, ushort asid)
    {
        asid &= AsidMask;
        int removed = 0;
        foreach (WalkCache w in _walkCaches)
        {
            removed += w.Invalidate(match, va, asid);
        }

        return removed;
    }

    /// <summary>
    /// Executes one maintenance operation on this CPU. <paramref name="asid"/> is the operation's
    /// ASID/PCID operand (for a CR3 write: the new PCID; for INVLPG: the current PCID).
    /// Inner-shareable operations act locally here; <c>Mmu</c> broadcasts them.
    /// </summary>
    public TlbFlushResult Execute(TlbMaintenanceOp op, ulong va, ushort asid)
    {
        (TlbMatch? tlb, TlbMatch? walk) = Rule(op);
        int removed = tlb is { } t ? InvalidateTlb(t, va, asid) : 0;
        int removedWalk = walk is { } w ? InvalidateWalkCaches(w, va, asid) : 0;
        return new TlbFlushResult(op, removed, removedWalk, 1);
    }

    /// <summary>Which TLB entries and which walk-cache entries an operation removes.</summary>
    public static (TlbMatch? Tlb, TlbMatch? WalkCache) Rule(TlbMaintenanceOp op) => op.Local() switch
    {
        // ARM ARM (DDI 0406C) B4.2.2 / DDI 0487 D8.13: TLBIALL removes everything, walk caches included.
        TlbMaintenanceOp.ArmTlbiAll => (TlbMatch.All, TlbMatch.All),

        // TLBIASID: non-global entries of the ASID; global entries survive.
        TlbMaintenanceOp.ArmTlbiAsid => (TlbMatch.Asid, TlbMatch.Asid),

        // TLBIMVA: the VA for the ASID, and any global entry for the VA.
        TlbMaintenanceOp.ArmTlbiMva => (TlbMatch.VaAsidOrGlobal, TlbMatch.VaAsidOrGlobal),

        // TLBIMVAA: the VA for every ASID.
        TlbMaintenanceOp.ArmTlbiMvaa => (TlbMatch.VaAnyAsid, TlbMatch.VaAnyAsid),

        // Intel SDM Vol. 3A §4.10.4.1: MOV to CR3 with PCIDE=0 invalidates all non-global TLB entries and all paging-structure caches.
        TlbMaintenanceOp.X86Cr3Write => (TlbMatch.AllNonGlobal, TlbMatch.All),

        // PCIDE=1, CR3[63]=0: non-global entries and paging-structure caches of the new PCID.
        TlbMaintenanceOp.X86Cr3WritePcidFlush => (TlbMatch.Asid, TlbMatch.Asid),

        // PCIDE=1, CR3[63]=1: no invalidation at all.
        TlbMaintenanceOp.X86Cr3WriteNoFlush => (null, null),

        // INVLPG: the page for the current PCID plus global entries for it; all paging-structure caches of the current PCID.
        TlbMaintenanceOp.X86Invlpg => (TlbMatch.VaAsidOrGlobal, TlbMatch.Asid),

        // INVPCID type 0 (individual address): that PCID's non-global entry for the VA; its paging-structure caches.
        TlbMaintenanceOp.X86InvpcidAddress => (TlbMatch.VaAsidNonGlobal, TlbMatch.Asid),

        // INVPCID type 1 (single context): non-global entries of the PCID.
        TlbMaintenanceOp.X86InvpcidSingleContext => (TlbMatch.Asid, TlbMatch.Asid),

        // INVPCID type 2 (all contexts including globals).
        TlbMaintenanceOp.X86InvpcidAllIncludingGlobal => (TlbMatch.All, TlbMatch.All),

        // INVPCID type 3 (all contexts, retaining globals).
        TlbMaintenanceOp.X86InvpcidAllNonGlobal => (TlbMatch.AllNonGlobal, TlbMatch.All),

        // §4.10.4.1: a change to CR4.PGE invalidates all TLB entries, global ones included.
        TlbMaintenanceOp.X86Cr4PgeToggle => (TlbMatch.All, TlbMatch.All),

        // RISC-V privileged spec §4.2.1 (SFENCE.VMA): rs1=x0, rs2=x0 orders and invalidates everything.
        TlbMaintenanceOp.RiscvSfenceVmaAll => (TlbMatch.All, TlbMatch.All),

        // rs1=va, rs2=x0: leaf entries for the VA in all address spaces, global ones included; non-leaf caches untouched.
        TlbMaintenanceOp.RiscvSfenceVmaVa => (TlbMatch.VaAnyAsid, null),

        // rs1=x0, rs2=asid: every entry of the ASID except global mappings.
        TlbMaintenanceOp.RiscvSfenceVmaAsid => (TlbMatch.Asid, TlbMatch.Asid),

        // rs1=va, rs2=asid: leaf entries for the VA in the ASID, except global mappings.
        TlbMaintenanceOp.RiscvSfenceVmaVaAsid => (TlbMatch.VaAsidNonGlobal, null),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>Empties everything (CPU reset).</summary>
    public void Reset()
    {
        foreach (TlbLevel l in AllLevels)
        {
            l.Reset();
        }

        foreach (WalkCache w in _walkCaches)
        {
            w.Reset();
        }
    }

    /// <summary>Valid entries across all TLB arrays.</summary>
    public int Occupancy
    {
        get
        {
            int n = 0;
            foreach (TlbLevel l in AllLevels)
            {
                n += l.Occupancy;
            }

            return n;
        }
    }
}
