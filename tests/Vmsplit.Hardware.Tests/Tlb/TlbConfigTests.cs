using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Tlb;

public sealed class TlbConfigTests
{
    private static TlbLevelConfig Level(int entries, int ways, TlbReplacement replacement = TlbReplacement.Lru) =>
        new() { Name = "main", Entries = entries, Ways = ways, PageSizes = [4096], Replacement = replacement };

    [Fact]
    public void CortexA53MainTlbGeometryIsValid()
    {
        // Arm DDI0500: 512 entries, 4-way -> 128 sets.
        TlbLevelConfig main = Level(512, 4);
        Assert.Equal("", main.Validate());
        Assert.Equal(128, main.Sets);
    }

    [Fact]
    public void FullyAssociativeHasOneSet()
    {
        TlbLevelConfig micro = TlbLevelConfig.FullyAssociative("micro D", 10, [4096, 65536, 1 << 20]);
        Assert.Equal("", micro.Validate());
        Assert.Equal(1, micro.Sets);
    }

    [Theory]
    [InlineData(512, 3, "ways must divide entries")]
    [InlineData(96, 32, "must be a power of two")]
    [InlineData(0, 1, "entries must be in")]
    public void BadGeometryNamesTheField(int entries, int ways, string expected)
    {
        Assert.Contains(expected, Level(entries, ways).Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void PseudoLruNeedsPowerOfTwoWays()
    {
        // Cortex-A76's 1280-entry 5-way main TLB has 256 sets, fine for LRU but not a binary tree.
        Assert.Equal("", Level(1280, 5).Validate());
        Assert.Contains("pseudo-LRU", Level(1280, 5, TlbReplacement.PseudoLru).Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void PcidImpliesTwelveBitTags()
    {
        TlbHierarchyConfig bad = new() { Main = [Level(64, 4)], HasPcid = true, AsidBits = 8 };
        Assert.Contains("12 bits", bad.Validate(), StringComparison.Ordinal);
        TlbHierarchyConfig good = bad with { AsidBits = 12 };
        Assert.Equal("", good.Validate());
        Assert.Contains("no TLB arrays", new TlbHierarchyConfig().Validate(), StringComparison.Ordinal);
    }
}
