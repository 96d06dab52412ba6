using System.Text;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Tlb;

public sealed class TlbLevelTests
{
    private const ulong Page = 4096;

    private static TlbEntry Entry(ulong va, ushort asid = 1, bool global = false, ulong pa = 0x100000)
    {
        WalkResult w = new(FaultKind.None, 1, new VirtualAddress(va & ~(Page - 1)), new PhysicalAddress(pa), Page,
            AccessRights.KernelRead | AccessRights.UserRead, true, global, MemoryType.Normal, 0, 2, 0);
        return TlbEntry.FromWalk(in w, new VirtualAddress(va), 12, asid);
    }

    /// <summary>Runs the page sequence through the level (fill on miss) and returns the H/M string.</summary>
    private static string Run(TlbLevel level, params ulong[] pages)
    {
        StringBuilder sb = new();
        foreach (ulong vpn in pages)
        {
            ulong va = vpn * Page;
            if (level.Lookup(va, 1) >= 0)
            {
                sb.Append('H');
            }
            else
            {
                sb.Append('M');
                level.Fill(Entry(va));
            }
        }

        return sb.ToString();
    }

    [Fact]
    public void SetAssociativeLruSequence()
    {
        // 4 entries, 2 ways -> 2 sets, set = VPN & 1. A=0, B=2, C=4 all index set 0.
        // A M (way0) | B M (way1) | A H | C M evicts B (LRU) | B M evicts A | A M evicts C.
        TlbLevel level = new(new TlbLevelConfig { Name = "t", Entries = 4, Ways = 2, PageSizes = [Page] });
        Assert.Equal("MMHMMM", Run(level, 0, 2, 0, 4, 2, 0));

        // The other set is untouched: VPN 1 and 3 both miss once then hit, never evicting set 0.
        Assert.Equal("MMHH", Run(level, 1, 3, 1, 3));
        Assert.Equal("HH", Run(level, 2, 0));
    }

    [Fact]
    public void FullyAssociativeTrueLruSequence()
    {
        // 4 ways, one set; A..E = VPN 0..4. A B C D fill; A hits; E evicts B (oldest); C hits; A hits;
        // B evicts D (recency C, D, A, E, C, A -> D oldest); D evicts E.
        TlbLevel level = new(TlbLevelConfig.FullyAssociative("t", 4, [Page]));
        Assert.Equal("MMMMHMHHMM", Run(level, 0, 1, 2, 3, 0, 4, 2, 0, 1, 3));
    }

    [Fact]
    public void TreePseudoLruSequence()
    {
        // 4 ways, tree nodes n1 (root), n2 (ways 0/1), n3 (ways 2/3); bit set = victim goes right.
        // Fill A..D into ways 0..3 -> n1=0 n2=0 n3=0. A hit (way0) -> n1=1 n2=1.
        // E: n1=1 -> n3=0 -> way2 (C) evicted; touch way2 -> n1=0 n3=1.
        // C: n1=0 -> n2=1 -> way1 (B) evicted; touch way1 -> n1=1 n2=0.
        // A hits (way0) -> n1=1 n2=1. B: n1=1 -> n3=1 -> way3 (D) evicted; touch -> n1=0 n3=0.
        // D: n1=0 -> n2=1 -> way1 (C) evicted.
        // True LRU would give MMMMHMHHMM for the same sequence (C survives the E fill there).
        TlbLevel level = new(TlbLevelConfig.FullyAssociative("t", 4, [Page], TlbReplacement.PseudoLru));
        Assert.Equal("MMMMHMMHMM", Run(level, 0, 1, 2, 3, 0, 4, 2, 0, 1, 3));
    }

    [Fact]
    public void PlruTreeArithmetic()
    {
        // 8 ways (depth 3): touching way 5 (binary 101) goes right, left, right: n1 cleared, n3 set, n6 cleared.
        ulong bits = TlbLevel.PlruTouch(0, 5, 3);
        Assert.Equal(1UL << 3, bits);

        // From all-zero bits the victim is way 0; after touching way 0 it is way 4 (n1 points right, n3 left, n6 left).
        Assert.Equal(0, TlbLevel.PlruVictim(0, 3));
        Assert.Equal(4, TlbLevel.PlruVictim(TlbLevel.PlruTouch(0, 0, 3), 3));
    }

    [Fact]
    public void RandomReplacementIsDeterministicForASeed()
    {
        ulong[] pages = new ulong[200];
        for (int i = 0; i < pages.Length; i++)
        {
            pages[i] = (ulong)((i * 7) % 23);
        }

        TlbLevelConfig config = TlbLevelConfig.FullyAssociative("t", 8, [Page], TlbReplacement.Random) with { RandomSeed = 42 };
        TlbLevel a = new(config);
        TlbLevel b = new(config);
        string first = Run(a, pages);
        Assert.Equal(first, Run(b, pages));

        // Reset restarts the random sequence, so the same run gives the same string again.
        a.Reset();
        Assert.Equal(first, Run(a, pages));

        // Another seed picks other victims: over 200 accesses to 23 pages the strings differ.
        TlbLevel c = new(config with { RandomSeed = 7 });
        Assert.NotEqual(first, Run(c, pages));
        Assert.Equal(8, a.Occupancy);
    }

    [Fact]
    public void NonGlobalEntriesMatchOnlyTheirAsidGlobalOnesAny()
    {
        TlbLevel level = new(TlbLevelConfig.FullyAssociative("t", 8, [Page]));
        level.Fill(Entry(0x1000, asid: 1));
        level.Fill(Entry(0x2000, asid: 1, global: true));
        Assert.True(level.Lookup(0x1234, 1) >= 0);
        Assert.Equal(-1, level.Lookup(0x1234, 2));
        Assert.True(level.Lookup(0x2fff, 2) >= 0);
        Assert.True(level.Lookup(0x2000, 300) >= 0);
    }

    [Fact]
    public void MixedSizesProbeTheirOwnSets()
    {
        // A 2 MiB entry at 0x40000000 and a 4 KiB entry; 16 sets of 2 ways.
        TlbLevel level = new(new TlbLevelConfig { Name = "t", Entries = 32, Ways = 2, PageSizes = [Page, 2UL << 20] });
        WalkResult big = new(FaultKind.None, 2, new VirtualAddress(0x4000_0000), new PhysicalAddress(0x8000_0000), 2UL << 20,
            AccessRights.KernelRead, false, false, MemoryType.Normal, 0, 3, 0);
        level.Fill(TlbEntry.FromWalk(in big, new VirtualAddress(0x4001_2345), 21, 3));
        int i = level.Lookup(0x401F_FFF8, 3);
        Assert.True(i >= 0);
        Assert.Equal(new PhysicalAddress(0x801F_FFF8), level.Entry(i).Translate(new VirtualAddress(0x401F_FFF8)));
        Assert.Equal(-1, level.Lookup(0x4020_0000, 3));
    }

    [Fact]
    public void SplinteredHoldingIsTheLargestSmallerSize()
    {
        // Cortex-A15 micro TLBs hold 4 KiB granules of larger pages (Cortex-A15 TRM 5.2.2: 4 KB granularity).
        TlbLevel micro = new(TlbLevelConfig.FullyAssociative("uD", 32, [Page]) with { HowLargePagesAreHeld = LargePageHolding.Splintered });
        Assert.Equal(12, micro.HoldingShift(21));
        Assert.Equal(12, micro.HoldingShift(12));
        TlbLevel native = new(TlbLevelConfig.FullyAssociative("uD", 32, [Page, 1UL << 20]));
        Assert.Equal(20, native.HoldingShift(20));
        Assert.Equal(-1, native.HoldingShift(21));
    }
}
