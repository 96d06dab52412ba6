using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Tlb;

/// <summary>
/// The hierarchy remembers which slot each page's last lookup found; random programs of lookups, fills and
/// invalidations give the same hit levels, the same entries (stamps included) and the same final arrays with the
/// memos as without them.
/// </summary>
public sealed class TlbLookupMemoTests
{
    /// <summary>One step: kind, page, page size, ASID, flags.</summary>
    public readonly record struct Step(int Kind, int Page, int Size, int Asid, bool Global, int Match);

    private static readonly Gen<Step> s_step =
        from kind in Gen.Choose(0, 9)
        from page in Gen.Choose(0, 40)
        from size in Gen.Choose(0, 2)
        from asid in Gen.Choose(0, 3)
        from global in Gen.Elements(false, true)
        from match in Gen.Choose(0, 5)
        select new Step(kind, page, size, asid, global, match);

    // Mixed geometry: a non-splintering 4K micro I-TLB, per-size micro D-TLBs with each replacement policy, a
    // splintering main TLB holding two sizes.
    private static TlbHierarchy NewHierarchy(bool remember) => new(new TlbHierarchyConfig
    {
        MicroI = [new TlbLevelConfig { Name = "uI", Entries = 8, Ways = 4, PageSizes = [4096], Replacement = TlbReplacement.PseudoLru }],
        MicroD =
        [
            new TlbLevelConfig { Name = "uD 4K", Entries = 8, Ways = 2, PageSizes = [4096], Replacement = TlbReplacement.Lru },
            TlbLevelConfig.FullyAssociative("uD 2M", 4, [2UL << 20], TlbReplacement.Random),
        ],
        Main = [new TlbLevelConfig { Name = "main", Entries = 24, Ways = 6, PageSizes = [4096, 2UL << 20], HowLargePagesAreHeld = LargePageHolding.Splintered }],
        AsidBits = 2,
    })
    { RememberLookups = remember };

    private static ulong Va(int page) => 0x4000_0000UL + ((ulong)(page % 8) << 21) + ((ulong)page << 12) + (ulong)(page * 24);

    private static bool SameRun(Step[] steps)
    {
        TlbHierarchy with = NewHierarchy(remember: true);
        TlbHierarchy without = NewHierarchy(remember: false);
        foreach (Step s in steps)
        {
            ulong va = Va(s.Page);
            ushort asid = (ushort)s.Asid;
            switch (s.Kind)
            {
                case <= 5:
                    AccessType access = s.Kind % 2 == 0 ? AccessType.Execute : AccessType.Read;
                    TlbHitLevel a = with.Lookup(va, access, asid, out TlbEntry ea);
                    TlbHitLevel b = without.Lookup(va, access, asid, out TlbEntry eb);
                    if (a != b || !ea.Equals(eb))
                    {
                        return false;
                    }

                    if (a == TlbHitLevel.Walk)
                    {
                        ulong size = s.Size switch { 0 => 4096, 1 => 2UL << 20, _ => 1UL << 30 };
                        WalkResult w = new(FaultKind.None, 2, new VirtualAddress(va & ~(size - 1)), new PhysicalAddress(0x1_0000_0000UL + ((ulong)s.Page << 30)),
                            size, AccessRights.KernelRead | AccessRights.KernelExecute, false, s.Global, MemoryType.Normal, 0, 3, 0);
                        with.Fill(in w, new VirtualAddress(va), access, asid);
                        without.Fill(in w, new VirtualAddress(va), access, asid);
                    }

                    break;
                case <= 8:
                    TlbMatch match = (TlbMatch)s.Match;
                    if (with.InvalidateTlb(match, va, asid) != without.InvalidateTlb(match, va, asid))
                    {
                        return false;
                    }

                    break;
                default:
                    with.Reset();
                    without.Reset();
                    break;
            }
        }

        return with.AllLevels.Zip(without.AllLevels).All(p => p.First.Entries.SequenceEqual(p.Second.Entries));
    }

    [Fact]
    public void MemosChangeNoLookup() =>
        PropertyCheck.ForAll(Gen.ArrayOf(s_step, 200), SameRun, maxTest: 500);

    [Fact]
    public void RepeatedLookupsOfOnePageHitTheSameSlotAsAFreshLookup()
    {
        TlbHierarchy h = NewHierarchy(remember: true);
        WalkResult w = new(FaultKind.None, 2, new VirtualAddress(0x4020_0000), new PhysicalAddress(0x8020_0000), 2UL << 20,
            AccessRights.KernelRead | AccessRights.KernelExecute, false, true, MemoryType.Normal, 0, 3, 0);
        h.Fill(in w, new VirtualAddress(0x4020_1000), AccessType.Execute, 1);

        // the micro I-TLB holds 4K only and does not splinter: every fetch hits the main TLB
        Assert.Equal(TlbHitLevel.Main, h.Lookup(0x4020_1000, AccessType.Execute, 1, out _));
        Assert.Equal(TlbHitLevel.Main, h.Lookup(0x4020_1008, AccessType.Execute, 1, out TlbEntry e));
        Assert.Equal(0x8020_1008UL, e.Translate(new VirtualAddress(0x4020_1008)).Value);

        // a data access refills the micro D-TLB from the main entry; the next one hits there
        Assert.Equal(TlbHitLevel.Main, h.Lookup(0x4020_1000, AccessType.Read, 1, out _));
        Assert.Equal(TlbHitLevel.MicroD, h.Lookup(0x4020_1000, AccessType.Read, 1, out _));

        // an invalidation is seen by the next lookup
        h.InvalidateTlb(TlbMatch.All, 0, 0);
        Assert.Equal(TlbHitLevel.Walk, h.Lookup(0x4020_1000, AccessType.Execute, 1, out _));
    }
}
