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
    private readonly short[] _microITargets;
    private readonly short[] _microDTargets;
    private readonly short[] _mainTargets;

    // The last lookup that hit, per page, for each side (fetch, data): which array and slot it found. Valid while
    // no array that lookup probes has changed since (a fill, an invalidation or a reset bumps the side's version),
    // for then the same probes find the same slot; a memo hit only skips the probes that would miss.
    private const int MemoSlots = 64;
    private readonly LookupMemo[] _memoI = new LookupMemo[MemoSlots];
    private readonly LookupMemo[] _memoD = new LookupMemo[MemoSlots];
    private readonly int _memoShift;
    private ulong _versionI = 1;
    private ulong _versionD = 1;
    private bool _memoOff;
    private bool _remember = true;
    private readonly ushort _asidMask;

    /// <summary>Whether lookups use the memos (on by default; off only to check that they change nothing).</summary>
    internal bool RememberLookups
    {
        get => _remember;
        set => _remember = value;
    }

    /// <summary>Which lookups an array takes part in.</summary>
    internal enum Side : byte
    {
        Fetch,
        Data,
        Both,
    }

    private struct LookupMemo
    {
        public ulong Page;
        public ulong Version;
        public TlbLevel? Holder; // the array the slot is in
        public int Slot;
        public int Set;
        public int Way;
        public ushort Asid;
        public TlbHitLevel Level;
    }

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

        _asidMask = (ushort)((1 << config.AsidBits) - 1);
        int memoShift = 63;
        foreach (TlbLevel l in _microI.Concat(_microD).Concat(_main))
        {
            memoShift = Math.Min(memoShift, l.SmallestShift);
        }

        _memoShift = memoShift;
        _microITargets = StageTargets(_microI);
        _microDTargets = StageTargets(_microD);
        _mainTargets = StageTargets(_main);
        Array.ForEach(_microI, l => l.Attach(this, Side.Fetch));
        Array.ForEach(_microD, l => l.Attach(this, Side.Data));
        Array.ForEach(_main, l => l.Attach(this, Side.Both));
    }

    /// <summary>An entry of an array on <paramref name="side"/> changed (filled at <paramref name="filledShift"/>, or invalidated): the memos of its side are stale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void OnLevelChanged(Side side, int filledShift)
    {
        if (filledShift < _memoShift)
        {
            _memoOff = true; // an entry smaller than every listed size: pages no longer key the lookups
        }

        if (side != Side.Data)
        {
            _versionI++;
        }

        if (side != Side.Fetch)
        {
            _versionD++;
        }
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
    public ushort AsidMask => _asidMask;

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
        entry = LookupRef(va, access, asid, out TlbHitLevel level);
        return level;
    }

    private static readonly TlbEntry s_noEntry;

    /// <summary>
    /// <see cref="Lookup"/> returning the slot that hit instead of a copy of it (a default entry on a miss). The slot
    /// holds what <see cref="Lookup"/> would have copied until the next change to its array.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref readonly TlbEntry LookupRef(ulong va, AccessType access, ushort asid, out TlbHitLevel level)
    {
        asid &= _asidMask;
        bool fetch = access == AccessType.Execute;
        ulong version = fetch ? _versionI : _versionD;
        ulong page = va >> _memoShift;
        // the ASID is hashed in so that one page under two ASIDs (the kernel and user PCIDs of PTI) takes two slots
        ref LookupMemo memo = ref (fetch ? _memoI : _memoD)[(int)((page ^ asid ^ ((ulong)asid >> 6)) & (MemoSlots - 1))];
        if (memo.Version == version && memo.Page == page && memo.Asid == asid && !_memoOff && _remember)
        {
            // The lookup the memo stands for: the slot it found is used again. A main hit also refilled the micro TLB, but a
            // remembered main hit never does: the memo was taken before that refill, and a refill that fills changes the
            // side's version (OnLevelChanged), which ends the memo; so the memo outlives only a refill that found no array for
            // the entry's size (FillStage's early return), and the entry's size and the arrays' geometry being what they were,
            // the refill would find none again.
            level = memo.Level;
            return ref memo.Holder!.UseRef(memo.Slot, memo.Set, memo.Way);
        }

        TlbLevel[] micro = fetch ? _microI : _microD;
        for (int i = 0; i < micro.Length; i++)
        {
            TlbLevel l = micro[i];
            int index = l.Find(va, asid, out int set);
            if (index >= 0)
            {
                level = fetch ? TlbHitLevel.MicroI : TlbHitLevel.MicroD;
                memo = Memo(page, version, asid, level, index, set, l);
                return ref l.UseRef(index, set, index - (set * l.Ways));
            }
        }

        return ref LookupMain(va, asid, micro, page, version, ref memo, out level);
    }

    private static LookupMemo Memo(ulong page, ulong version, ushort asid, TlbHitLevel level, int slot, int set, TlbLevel l) =>
        new() { Page = page, Version = version, Asid = asid, Level = level, Holder = l, Slot = slot, Set = set, Way = slot - (set * l.Ways) };

    private ref readonly TlbEntry LookupMain(ulong va, ushort asid, TlbLevel[] micro, ulong page, ulong version, ref LookupMemo memo, out TlbHitLevel level)
    {
        for (int i = 0; i < _main.Length; i++)
        {
            TlbLevel l = _main[i];
            int index = l.Find(va, asid, out int set);
            if (index >= 0)
            {
                ref TlbEntry e = ref l.UseRef(index, set, index - (set * l.Ways));
                // remembered before the refill: a refill that fills the micro TLB changes the version, and the next
                // lookup then hits there
                memo = Memo(page, version, asid, TlbHitLevel.Main, index, set, l);
                FillStage(micro, in e, va); // a micro array, never the main one: e stays as it is
                level = TlbHitLevel.Main;
                return ref e;
            }
        }

        level = TlbHitLevel.Walk;
        return ref s_noEntry;
    }

    /// <summary>Caches a successful walk of <paramref name="va"/> in the main TLB and the micro TLB of the access's side.</summary>
    public void Fill(in WalkResult walk, VirtualAddress va, AccessType access, ushort asid)
    {
        if (walk.IsFault)
        {
            return;
        }

        asid &= _asidMask;
        int pageShift = BitOperations.Log2(walk.PageSize);
        TlbEntry entry = TlbEntry.FromWalk(in walk, va, pageShift, asid);
        FillStage(_main, in entry, va.Value);
        FillStage(access == AccessType.Execute ? _microI : _microD, in entry, va.Value);
    }

    /// <summary>Puts <paramref name="entry"/> into the array of the stage that holds its size (natively first, else splintered).</summary>
    private void FillStage(TlbLevel[] stage, in TlbEntry entry, ulong va)
    {
        // which array and size take each page shift depends on the stage's geometry only: chosen once, in StageTargets
        Side side = stage == _main ? Side.Both : stage == _microI ? Side.Fetch : Side.Data;
        short[] targets = side == Side.Both ? _mainTargets : side == Side.Fetch ? _microITargets : _microDTargets;
        int target = targets[entry.Shift & 63];
        if (target < 0)
        {
            return;
        }

        int shift = target & 0xFF;
        if (shift == entry.Shift)
        {
            stage[target >> 8].FillSilently(in entry);
        }
        else
        {
            stage[target >> 8].FillSilently(entry.Splinter(va, shift));
        }

        OnLevelChanged(side, shift);
    }

    /// <summary>
    /// For each page shift, the array of <paramref name="stage"/> that holds a translation of that size (the first
    /// holding it natively, else the one holding it at the largest splinter) and the shift it is held at, as
    /// <c>index &lt;&lt; 8 | shift</c>; -1 when no array holds it.
    /// </summary>
    private static short[] StageTargets(TlbLevel[] stage)
    {
        short[] targets = new short[64];
        for (int pageShift = 0; pageShift < targets.Length; pageShift++)
        {
            int index = -1;
            int shift = -1;
            for (int i = 0; i < stage.Length; i++)
            {
                int s = stage[i].HoldingShift(pageShift);
                if (s == pageShift)
                {
                    index = i;
                    shift = s;
                    break;
                }

                if (s > shift)
                {
                    index = i;
                    shift = s;
                }
            }

            targets[pageShift] = index < 0 ? (short)-1 : (short)((index << 8) | shift);
        }

        return targets;
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

        asid &= _asidMask;
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

    /// <summary>
    /// Removes matching entries from every TLB array; returns how many were valid. With a non-zero
    /// <paramref name="rangeBytes"/> a by-VA match selects every entry whose translation overlaps
    /// [<paramref name="va"/>, <paramref name="va"/> + <paramref name="rangeBytes"/>).
    /// </summary>
    public int InvalidateTlb(TlbMatch match, ulong va, ushort asid, ulong rangeBytes = 0)
    {
        asid &= _asidMask;
        int removed = 0;
        foreach (TlbLevel l in _microI)
        {
            removed += Invalidate(l, match, va, asid, rangeBytes);
        }

        foreach (TlbLevel l in _microD)
        {
            removed += Invalidate(l, match, va, asid, rangeBytes);
        }

        foreach (TlbLevel l in _main)
        {
            removed += Invalidate(l, match, va, asid, rangeBytes);
        }

        return removed;
    }

    public int InvalidateWalkCaches(TlbMatch match, ulong va, ushort asid, ulong rangeBytes = 0)
    {
        asid &= _asidMask;
        int removed = 0;
        foreach (WalkCache w in _walkCaches)
        {
            removed += Invalidate(w.Array, match, va, asid, rangeBytes);
        }

        return removed;
    }

    private static int Invalidate(TlbLevel level, TlbMatch match, ulong va, ushort asid, ulong rangeBytes) =>
        rangeBytes == 0 ? level.Invalidate(match, va, asid)
            : level.InvalidateRange(match, va, rangeBytes > ulong.MaxValue - va ? ulong.MaxValue : va + rangeBytes, asid);

    /// <summary>
    /// Executes one maintenance operation on this CPU. <paramref name="asid"/> is the operation's
    /// ASID/PCID operand (for a CR3 write: the new PCID; for INVLPG: the current PCID).
    /// Inner-shareable operations act locally here; <c>Mmu</c> broadcasts them.
    /// </summary>
    public TlbFlushResult Execute(TlbMaintenanceOp op, ulong va, ushort asid)
    {
        if (op.IsRange())
        {
            throw new ArgumentException($"{op.Mnemonic()} takes a range: use the overload with a TlbiRange", nameof(op));
        }

        return Execute(op, va, asid, 0);
    }

    /// <summary>Executes an ARMv8.4 range operation over <paramref name="range"/> granules from <paramref name="va"/>.</summary>
    public TlbFlushResult Execute(TlbMaintenanceOp op, ulong va, ushort asid, TlbiRange range)
    {
        if (!op.IsRange())
        {
            throw new ArgumentException($"{op.Mnemonic()} takes no range", nameof(op));
        }

        return Execute(op, va & ~((1UL << range.GranuleShift) - 1), asid, range.Bytes);
    }

    private TlbFlushResult Execute(TlbMaintenanceOp op, ulong va, ushort asid, ulong rangeBytes)
    {
        (TlbMatch? tlb, TlbMatch? walk) = Rule(op);
        int removed = tlb is { } t ? InvalidateTlb(t, va, asid, rangeBytes) : 0;
        int removedWalk = walk is { } w ? InvalidateWalkCaches(w, va, asid, rangeBytes) : 0;
        return new TlbFlushResult(op, removed, removedWalk, 1);
    }

    /// <summary>
    /// Which TLB entries and which walk-cache entries an operation removes. Walk-cache entries are cached
    /// table descriptors, tagged with the ASID of the walk that read them (Cortex-A15 TRM 5.6 and
    /// Cortex-A57 TRM 5.6: "Cached entries are associated with an ASID"; Intel SDM 3A 4.10.3 for PCIDs).
    /// </summary>
    public static (TlbMatch? Tlb, TlbMatch? WalkCache) Rule(TlbMaintenanceOp op) => op.Local() switch
    {
        // ARM ARM (DDI 0406C) B4.2.2: TLBIALL removes everything, walk caches included.
        TlbMaintenanceOp.ArmTlbiAll => (TlbMatch.All, TlbMatch.All),

        // TLBIASID: non-global entries of the ASID; global entries survive.
        TlbMaintenanceOp.ArmTlbiAsid => (TlbMatch.Asid, TlbMatch.Asid),

        // TLBIMVA: the VA for the ASID, and any global entry for the VA.
        TlbMaintenanceOp.ArmTlbiMva => (TlbMatch.VaAsidOrGlobal, TlbMatch.VaAsidOrGlobal),

        // TLBIMVAA: the VA for every ASID.
        TlbMaintenanceOp.ArmTlbiMvaa => (TlbMatch.VaAnyAsid, TlbMatch.VaAnyAsid),

        // DDI 0487F D5.10.2: TLBI VMALLE1 removes every stage-1 EL1&0 entry of any level, global ones included.
        TlbMaintenanceOp.Arm64TlbiVmalle1 => (TlbMatch.All, TlbMatch.All),

        // TLBI ASIDE1: entries of any level that are non-global and of the ASID.
        TlbMaintenanceOp.Arm64TlbiAside1 => (TlbMatch.Asid, TlbMatch.Asid),

        // TLBI VAE1 / RVAE1: entries of any level for the VA (range) that are global or of the ASID.
        TlbMaintenanceOp.Arm64TlbiVae1 or TlbMaintenanceOp.Arm64TlbiRvae1 => (TlbMatch.VaAsidOrGlobal, TlbMatch.VaAsidOrGlobal),

        // TLBI VALE1 / RVALE1: the same, "from the final level of the translation table walk" only: walk caches kept.
        TlbMaintenanceOp.Arm64TlbiVale1 or TlbMaintenanceOp.Arm64TlbiRvale1 => (TlbMatch.VaAsidOrGlobal, null),

        // TLBI VAAE1 / RVAAE1: entries of any level for the VA (range), whatever their ASID.
        TlbMaintenanceOp.Arm64TlbiVaae1 or TlbMaintenanceOp.Arm64TlbiRvaae1 => (TlbMatch.VaAnyAsid, TlbMatch.VaAnyAsid),

        // TLBI VAALE1 / RVAALE1: last level only, whatever the ASID.
        TlbMaintenanceOp.Arm64TlbiVaale1 or TlbMaintenanceOp.Arm64TlbiRvaale1 => (TlbMatch.VaAnyAsid, null),

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
