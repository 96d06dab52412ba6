using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Profiles;

public class CpuProfileTests
{
    private static readonly string[] s_expectedIds =
    [
        "atom-n270", "core2-e6600", "cortex-a15", "cortex-a53", "cortex-a7", "cortex-a72", "cortex-a8", "cortex-a9",
        "haswell", "pentium4-xeon", "sifive-u74", "skylake",
    ];

    [Fact]
    public void EveryShippedProfileLoads()
    {
        Assert.Equal(s_expectedIds, CpuProfiles.Shipped.Select(p => p.Id).ToArray());
    }

    [Fact]
    public void EveryValueNamesItsSourceOrAssumption()
    {
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            Assert.NotEmpty(p.Entries);
            foreach (ProfileEntry e in p.Entries)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Provenance), $"{p.Id}: {e.Path}");
            }

            // Every cost the architecture needs is present and recorded with provenance.
            foreach (PrimitiveCost c in PrimitiveCostExtensions.Required(p.Architecture, p.Tlb.HasPcid, p.Tlb.HasInvpcid))
            {
                Assert.True(p.Has(c), $"{p.Id}: {c}");
                Assert.NotNull(p.Entry("costs." + c.Key()));
            }

            Assert.NotNull(p.Entry("clockMhz"));
            Assert.NotNull(p.Entry("tlb.asidBits"));
            Assert.NotNull(p.Entry("cache.viptAliasing"));
        }
    }

    [Fact]
    public void CortexA15MainTlbIs512EntriesFourWay()
    {
        CpuProfile a15 = CpuProfiles.Find("cortex-a15")!;
        TlbLevelConfig main = Assert.Single(a15.Tlb.Main);
        Assert.Equal(512, main.Entries);
        Assert.Equal(4, main.Ways);
        Assert.Equal(128, main.Sets);
        Assert.Equal(8, a15.Tlb.AsidBits);
        Assert.Equal(LargePageHolding.Splintered, a15.Tlb.MicroI[0].HowLargePagesAreHeld);
        Assert.Equal([MmuFormat.ArmShort, MmuFormat.ArmLpae], a15.MmuFormats);
        Assert.StartsWith("Cortex-A15 TRM", a15.Entry("tlb.main[0].entries")!.Provenance);
    }
}
