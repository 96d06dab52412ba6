using System.Text;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Mmu;

/// <summary>How a TLB hit disagreed with the page tables.</summary>
public enum StaleKind : byte
{
    /// <summary>The tables no longer translate the address.</summary>
    Unmapped,

    /// <summary>The tables translate it to another physical address.</summary>
    Remapped,

    /// <summary>The cached entry grants an access the tables no longer grant.</summary>
    PermissionsReduced,

    /// <summary>The cached entry is global but the tables' mapping is no longer global (it leaks into other address spaces).</summary>
    NoLongerGlobal,

    /// <summary>The entry was filled from another address space's tables under the same ASID (tag reused without a flush).</summary>
    AsidReused,
}

/// <summary>One stale translation: a TLB hit that a fresh walk of the current tables contradicts.</summary>
public sealed record StaleTranslation(
    int Cpu,
    VirtualAddress Va,
    ushort Asid,
    StaleKind Kind,
    TlbHitLevel Level,
    TlbEntry Cached,
    WalkResult Current,
    PageTableWrite? Change,
    long ChangeSequence,
    string Explanation)
{
    public override string ToString()
    {
        string now = Current.IsFault
            ? $"{Current.Fault} fault"
            : $"{Current.Translate(Va)} {ByteSize.Format(Current.PageSize)} {(Current.Global ? "global" : "non-global")} {Current.Rights.Describe()}";
        return $"stale translation on CPU {Cpu} at {Va} (ASID {Asid}, {Kind}): TLB ({Level}) gives {Cached.Translate(Va)} "
            + $"{ByteSize.Format(Cached.PageSize)} {(Cached.Global ? "global" : "non-global")} {Cached.Rights.Describe()}; tables now give {now}; {Explanation}";
    }
}

/// <summary>
/// The optional coherence mode: on every TLB hit the MMU calls <see cref="OnHit"/>, which walks the
/// current tables without counting and reports a <see cref="StaleTranslation"/> when they disagree.
/// It keeps a log of page-table writes (as an <see cref="IPageTableObserver"/>), of fills (to tell
/// ASID reuse from a missed invalidation) and of maintenance operations, so each report names the
/// change that was not followed by a matching invalidation. Architecturally allowed staleness is
/// not reported: a TLB entry that grants less than the tables (a spurious fault resolves it).
/// </summary>
public sealed class CoherenceChecker : IPageTableObserver
{
    private readonly List<StaleTranslation> _reports = new();
    private readonly List<(long Sequence, PageTableWrite Write)> _changes = new();
    private readonly List<(long Sequence, int Cpu, TlbMaintenanceOp Op, VirtualAddress Va, ushort Asid)> _invalidations = new();
    private readonly Dictionary<(int Cpu, ushort Asid, bool Global, ulong Page), (ulong Root, long Sequence)> _fills = new();
    private readonly HashSet<(int Cpu, ushort Asid, ulong Page, long Change, StaleKind Kind)> _reported = new();
    private long _sequence;

    /// <summary>Reports, one per distinct (CPU, ASID, page, cause); repeats are counted in <see cref="StaleHits"/>.</summary>
    public IReadOnlyList<StaleTranslation> Reports => _reports;

    /// <summary>Every stale hit, repeats included.</summary>
    public long StaleHits { get; private set; }

    /// <summary>Hits compared with a fresh walk.</summary>
    public long HitsChecked { get; private set; }

    /// <summary>Throw <see cref="StaleTranslationException"/> at the first stale hit instead of collecting reports.</summary>
    public bool ThrowOnStale { get; set; }

    /// <summary>Records a page-table write (the editor's observer hook, or a test that writes tables by hand).</summary>
    public void DescriptorWritten(in PageTableWrite write) => _changes.Add((++_sequence, write));

    /// <summary>Attaches the checker to an MMU (several CPUs may share one checker).</summary>
    public void Attach(MemoryManagementUnit mmu) => mmu.Checker = this;

    internal void OnFill(MemoryManagementUnit mmu, VirtualAddress va, ushort asid, in WalkResult walk)
    {
        ulong page = walk.PageBase.Value;
        _fills[(mmu.Cpu, walk.Global ? (ushort)0 : asid, walk.Global, page)] = (RootKey(mmu), ++_sequence);
    }

    internal void OnInvalidate(MemoryManagementUnit mmu, TlbMaintenanceOp op, VirtualAddress va, ushort asid) =>
        _invalidations.Add((++_sequence, mmu.Cpu, op, va, asid));

    internal void OnHit(MemoryManagementUnit mmu, VirtualAddress va, AccessType access, Privilege privilege, ushort asid, in TlbEntry entry, TlbHitLevel level)
    {
        HitsChecked++;
        WalkResult now = mmu.WalkUncounted(va, access, privilege);
        bool tlbAllows = mmu.Format.CheckAccess(entry.Rights, entry.User, entry.Domain, access, privilege, in mmu.Registers) == FaultKind.None;
        StaleKind kind;
        if (now.IsFault)
        {
            if (now.Fault == FaultKind.Permission || now.Fault == FaultKind.Domain)
            {
                if (!tlbAllows)
                {
                    return;
                }

                kind = StaleKind.PermissionsReduced;
            }
            else
            {
                kind = StaleKind.Unmapped;
            }
        }
        else if (now.Translate(va) != entry.Translate(va))
        {
            kind = StaleKind.Remapped;
        }
        else if ((entry.Rights & ~now.Rights) != 0)
        {
            kind = StaleKind.PermissionsReduced;
        }
        else if (entry.Global && !now.Global)
        {
            kind = StaleKind.NoLongerGlobal;
        }
        else
        {
            return;
        }

        StaleHits++;
        mmu.Counters.StaleTranslations++;
        ulong sourcePage = va.Value & ~((1UL << entry.SourcePageShift) - 1);
        ulong root = RootKey(mmu);
        long fillSequence = 0;
        string explanation;
        PageTableWrite? change = null;
        long changeSequence = 0;
        if (_fills.TryGetValue((mmu.Cpu, entry.Global ? (ushort)0 : asid, entry.Global, sourcePage), out (ulong Root, long Sequence) fill))
        {
            fillSequence = fill.Sequence;
        }

        if (!entry.Global && fillSequence != 0 && fill.Root != root)
        {
            kind = StaleKind.AsidReused;
            explanation = $"the entry was filled from the tables at {ByteSize.Hex(fill.Root)} under ASID {asid}; the current tables at {ByteSize.Hex(root)} "
                + $"reuse that ASID without the flush a reuse (rollover) requires";
        }
        else
        {
            // The most specific change since the fill (the leaf rather than the table freed after it), latest first.
            for (int i = _changes.Count - 1; i >= 0 && _changes[i].Sequence > fillSequence; i--)
            {
                if (_changes[i].Write.Covers(va.Value) && (change is null || _changes[i].Write.Size < change.Value.Size))
                {
                    change = _changes[i].Write;
                    changeSequence = _changes[i].Sequence;
                }
            }

            explanation = change is { } c
                ? $"page-table change #{changeSequence} ({c}) was not followed by an invalidation of {va} for "
                    + (entry.Global ? "global entries (INVLPG, TLBIMVA(A), INVPCID 2, SFENCE.VMA va, or a full flush)" : $"ASID {asid}")
                    + $" on CPU {mmu.Cpu}{InvalidationsSince(mmu.Cpu, changeSequence)}"
                : "no recorded page-table change covers it (were the tables written without the checker observing them?)";
        }

        if (!_reported.Add((mmu.Cpu, asid, sourcePage, changeSequence, kind)))
        {
            return;
        }

        StaleTranslation report = new(mmu.Cpu, va, asid, kind, level, entry, now, change, changeSequence, explanation);
        _reports.Add(report);
        if (ThrowOnStale)
        {
            throw new StaleTranslationException(report);
        }
    }

    /// <summary>
    /// Checks every valid user entry <paramref name="mmu"/> holds for its current address space (its ASID, or global)
    /// against a fresh walk, as a hit on it would be checked: after a change of user mappings every CPU must have
    /// dropped (a shootdown), a stale entry is found even if no access happens to hit it. Kernel entries are left to the
    /// hit checks: a CPU in user mode may hold kernel entries of an ASID its current roots do not walk (arm64 KPTI's
    /// pair). Returns the new reports.
    /// </summary>
    public int Sweep(MemoryManagementUnit mmu)
    {
        int before = _reports.Count;
        ushort asid = mmu.CurrentAsid;
        ushort mask = mmu.Tlb.AsidMask;
        List<(TlbEntry Entry, TlbHitLevel Level)> held = new();
        Collect(mmu.Tlb.MicroI, TlbHitLevel.MicroI);
        Collect(mmu.Tlb.MicroD, TlbHitLevel.MicroD);
        Collect(mmu.Tlb.Main, TlbHitLevel.Main);
        foreach ((TlbEntry e, TlbHitLevel level) in held)
        {
            OnHit(mmu, e.PageBase, AccessType.Read, Privilege.User, asid, e, level);
        }

        return _reports.Count - before;

        void Collect(IReadOnlyList<TlbLevel> levels, TlbHitLevel level)
        {
            foreach (TlbLevel l in levels)
            {
                foreach (TlbEntry e in l.Entries)
                {
                    if (e.Valid && e.User && (e.Global || (e.Asid & mask) == (asid & mask)))
                    {
                        held.Add((e, level));
                    }
                }
            }
        }
    }

    private string InvalidationsSince(int cpu, long sequence)
    {
        StringBuilder sb = new();
        int shown = 0;
        for (int i = 0; i < _invalidations.Count; i++)
        {
            (long seq, int c, TlbMaintenanceOp op, VirtualAddress v, ushort a) = _invalidations[i];
            if (seq > sequence && (c == cpu || op.IsBroadcast()))
            {
                sb.Append(shown == 0 ? "; since then: " : ", ");
                sb.Append(op.Mnemonic());
                if (TlbHierarchy.Rule(op).Tlb is not (TlbMatch.All or TlbMatch.AllNonGlobal))
                {
                    sb.Append(" (").Append(v).Append(", ASID ").Append(a).Append(')');
                }

                if (++shown == 6)
                {
                    sb.Append(", ...");
                    break;
                }
            }
        }

        return shown == 0 ? "; no maintenance operation since" : sb.ToString();
    }

    /// <summary>The table base the current address space is walked from, without the ASID bits.</summary>
    private static ulong RootKey(MemoryManagementUnit mmu)
    {
        ref MmuRegisters r = ref mmu.Registers;
        return mmu.Format.Id switch
        {
            MmuFormat.ArmShort => r.Ttbr0 & ~0x3FFFUL,
            MmuFormat.ArmLpae or MmuFormat.AArch64Va39 or MmuFormat.AArch64Va48 => r.Ttbr0 & 0x0000_FFFF_FFFF_FFFEUL,
            MmuFormat.X86_32 or MmuFormat.X86Pae or MmuFormat.X86_64 or MmuFormat.X86_64La57 => r.Cr3 & 0x000F_FFFF_FFFF_F000UL,
            MmuFormat.RiscvSv32 => r.Satp & 0x003F_FFFFUL,
            _ => r.Satp & 0x0000_0FFF_FFFF_FFFFUL,
        };
    }

    /// <summary>Forgets reports and logs (the TLB contents are not touched).</summary>
    public void Clear()
    {
        _reports.Clear();
        _changes.Clear();
        _invalidations.Clear();
        _fills.Clear();
        _reported.Clear();
        StaleHits = HitsChecked = 0;
    }
}

/// <summary>Thrown by a checker in <see cref="CoherenceChecker.ThrowOnStale"/> mode.</summary>
public sealed class StaleTranslationException(StaleTranslation report) : Exception(report.ToString())
{
    public StaleTranslation Report { get; } = report;
}
