using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Profiles;

public class CpuProfileTests
{
    private static readonly string[] s_expectedIds =
    [
        "arm1136", "atom-n270", "core2-e6600", "cortex-a15", "cortex-a17", "cortex-a53", "cortex-a7", "cortex-a72", "cortex-a8", "cortex-a9",
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
            foreach (PrimitiveCost c in PrimitiveCostExtensions.Required(p.Architecture, p.Features))
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

public class CpuProfilePinnedValueTests
{
    [Fact]
    public void CortexA53WalkCacheIs64EntriesFourWayAndAsidsAre16Bits()
    {
        CpuProfile a53 = CpuProfiles.Find("CORTEX-A53")!;
        WalkCacheConfig walk = Assert.Single(a53.Tlb.WalkCaches);
        Assert.Equal(64, walk.Entries);
        Assert.Equal(4, walk.Ways);
        Assert.Equal(16, a53.Tlb.AsidBits);
        Assert.Equal(10, a53.Tlb.MicroI[0].Entries);
        Assert.Equal(10, a53.Tlb.MicroD[0].Ways);
        Assert.Equal(1416, a53.ClockMhz);
    }

    [Theory]
    [InlineData("cortex-a7", 8, false)]
    [InlineData("cortex-a15", 8, false)]
    [InlineData("cortex-a72", 16, false)]
    [InlineData("core2-e6600", 0, false)]
    [InlineData("atom-n270", 0, false)]
    [InlineData("pentium4-xeon", 0, false)]
    [InlineData("haswell", 12, true)]
    [InlineData("skylake", 12, true)]
    public void AsidWidthsAndPcid(string id, int bits, bool pcid)
    {
        CpuProfile p = CpuProfiles.Find(id)!;
        Assert.Equal(bits, p.Tlb.AsidBits);
        Assert.Equal(pcid, p.Tlb.HasPcid);
    }

    [Fact]
    public void SkylakeCostsComeFromHansensMeasurement()
    {
        CpuProfile s = CpuProfiles.Find("skylake")!;
        Assert.Equal(200, s.Cycles(PrimitiveCost.Invlpg));
        Assert.Equal(350, s.Cycles(TlbMaintenanceOp.X86InvpcidAddress));
        Assert.Equal(100, s.Cycles(TlbMaintenanceOp.X86Cr3WritePcidFlush));
        Assert.Contains("Hansen", s.Entry("costs.invlpg")!.Provenance);
        Assert.False(s.Entry("costs.invlpg")!.IsAssumption);
        Assert.True(s.Entry("costs.cr3WriteNoFlush")!.IsAssumption);
        Assert.Equal(1536, s.Tlb.Main[0].Entries);

        // 4096 bytes at 32 bytes per cycle.
        Assert.Equal(128, s.MemcpyCycles(4096));

        // 200 cycles at 4000 MHz = 50 ns.
        Assert.Equal(50, s.Nanoseconds(200), 9);
    }

    [Fact]
    public void ArchitectureDecidesWhichCostsExist()
    {
        CpuProfile a15 = CpuProfiles.Find("cortex-a15")!;
        Assert.True(a15.Has(PrimitiveCost.Isb));
        Assert.False(a15.Has(PrimitiveCost.Cr3Write));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => a15.Cycles(PrimitiveCost.Cr3Write));
        Assert.Contains("cr3Write", e.Message);
        CpuProfile core2 = CpuProfiles.Find("core2-e6600")!;
        Assert.False(core2.Has(PrimitiveCost.Cr3WriteNoFlush));
        Assert.False(core2.Has(PrimitiveCost.InvpcidAddress));
        Assert.Equal(208, a15.Cycles(PrimitiveCost.WalkStepCacheMiss));
        Assert.Equal(64, a15.Cache.LinesPerPage);
        Assert.Equal(128, CpuProfiles.Find("cortex-a9")!.Cache.LinesPerPage);
    }

    [Theory]
    [InlineData("skylake", 4)]
    [InlineData("core2-e6600", 2)]
    [InlineData("cortex-a8", 1)]
    [InlineData("cortex-a15", 2)]
    [InlineData("cortex-a72", 2)]
    [InlineData("cortex-a53", 4)]
    [InlineData("sifive-u74", 4)]
    [InlineData("arm1136", 1)]
    public void BoardCoresAreThoseOfTheProfilesBoard(string id, int cores)
    {
        CpuProfile p = CpuProfiles.Find(id)!;
        Assert.Equal(cores, p.BoardCores);
        Assert.Equal(cores.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Entries.Single(e => e.Path == "boardCores").Value);
    }

    [Fact]
    public void ShippedTextIsTheEmbeddedFile()
    {
        string? text = CpuProfiles.ShippedText("cortex-a8");
        Assert.NotNull(text);
        Assert.Contains("id: cortex-a8", text);
        Assert.Null(CpuProfiles.ShippedText("cortex-a99"));
        Assert.Null(CpuProfiles.Find("cortex-a99"));
    }
}

public class CpuProfileMalformedTests
{
    private static readonly string s_a15 = CpuProfiles.ShippedText("cortex-a15")!;

    private static string Error(string yaml) =>
        Assert.Throws<ProfileFormatException>(() => CpuProfileLoader.Parse(yaml, "profiles/cortex-a15.yaml")).Message;

    private static string Replace(string line, string with)
    {
        Assert.Contains(line, s_a15);
        return s_a15.Replace(line, with, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileWithoutBoardCoresRunsOneCoreAsAnAssumption()
    {
        string yaml = string.Join('\n', s_a15.Split('\n').Where(l => !l.StartsWith("boardCores:", StringComparison.Ordinal)));
        CpuProfile p = CpuProfileLoader.Parse(yaml, "profiles/cortex-a15.yaml");
        Assert.Equal(1, p.BoardCores);
        Assert.True(p.Entries.Single(e => e.Path == "boardCores").IsAssumption);
    }

    [Fact]
    public void BoardCoresBeyondWhatTheKernelBoots()
    {
        string yaml = string.Join('\n', s_a15.Split('\n').Select(l => l.StartsWith("boardCores:", StringComparison.Ordinal) ? "boardCores: { value: 65, source: \"x\" }" : l));
        Assert.EndsWith("boardCores: 65 is out of range [1, 64]", Error(yaml));
    }

    [Fact]
    public void ValueWithoutProvenance()
    {
        string yaml = Replace(
            "  ttbr0Write: { value: 10, assumption: \"no published cycle count for a TTBR0 write on any Cortex-A; an MCR/MCRR to CP15 on an out-of-order core, its synchronisation charged to the ISB that follows\" }",
            "  ttbr0Write: { value: 10 }");
        Assert.Equal("profiles/cortex-a15.yaml:46: costs.ttbr0Write: missing source or assumption", Error(yaml));
    }

    [Fact]
    public void BareNumberWithoutMapping()
    {
        string yaml = string.Join('\n', s_a15.Split('\n').Select(l => l.StartsWith("  isb:", StringComparison.Ordinal) ? "  isb: 15" : l));
        Assert.StartsWith("profiles/cortex-a15.yaml:50: costs.isb: missing source or assumption", Error(yaml));
    }

    [Fact]
    public void MissingCost()
    {
        string yaml = string.Join('\n', s_a15.Split('\n').Where(l => !l.StartsWith("  dsb:", StringComparison.Ordinal)));
        Assert.Equal("profiles/cortex-a15.yaml:46: costs.dsb: missing", Error(yaml));
    }

    [Fact]
    public void BothSourceAndAssumption()
    {
        string yaml = Replace("clockMhz: { value: 1700, source:", "clockMhz: { value: 1700, assumption: \"x\", source:");
        Assert.Equal("profiles/cortex-a15.yaml:13: clockMhz: has both source and assumption; give one", Error(yaml));
    }

    [Fact]
    public void EmptySource()
    {
        string yaml = Replace("clockMhz: { value: 1700, source: \"7-cpu.com/cpu/Cortex-A15.html: Samsung Exynos 5250 1.7 GHz\" }", "clockMhz: { value: 1700, source: \"\" }");
        Assert.Equal("profiles/cortex-a15.yaml:13: clockMhz: empty source", Error(yaml));
    }

    [Fact]
    public void NotANumber()
    {
        string yaml = Replace("clockMhz: { value: 1700,", "clockMhz: { value: fast,");
        Assert.Equal("profiles/cortex-a15.yaml:13: clockMhz: 'fast' is not a number", Error(yaml));
    }

    [Fact]
    public void NegativeCost()
    {
        string yaml = Replace("  isb: { value: 15,", "  isb: { value: -1,");
        Assert.Equal("profiles/cortex-a15.yaml:50: costs.isb: -1 must not be negative", Error(yaml));
    }

    [Fact]
    public void CostOfAnotherArchitecture()
    {
        string yaml = Replace("  isb: { value: 15,", "  cr3Write: { value: 1, source: \"x\" }\n  isb: { value: 15,");
        Assert.Equal("profiles/cortex-a15.yaml:50: costs.cr3Write: does not apply to this arm profile (check its features)", Error(yaml));
    }

    [Fact]
    public void UnknownCostAndUnknownField()
    {
        Assert.Equal(
            "profiles/cortex-a15.yaml:50: costs.isbb: unknown cost",
            Error(Replace("  isb: { value: 15,", "  isbb: { value: 1, source: \"x\" }\n  isb: { value: 15,")));
        Assert.StartsWith(
            "profiles/cortex-a15.yaml:36: tlb.main[0].colour: unknown field",
            Error(Replace("      ways: { value: 4, source: \"Cortex-A15 TRM 5.2.3\" }", "      ways: { value: 4, source: \"Cortex-A15 TRM 5.2.3\" }\n      colour: red")));
    }

    [Fact]
    public void GeometryThatCannotBeBuilt()
    {
        string yaml = Replace("      ways: { value: 4, source: \"Cortex-A15 TRM 5.2.3\" }", "      ways: { value: 3, source: \"Cortex-A15 TRM 5.2.3\" }");
        Assert.Equal("profiles/cortex-a15.yaml:33: tlb.main[0]: TLB level 'L2 TLB': ways must divide entries (512), got 3", Error(yaml));
    }

    [Fact]
    public void AsidWidthOutOfRange()
    {
        string yaml = Replace("  asidBits: { value: 8,", "  asidBits: { value: 17,");
        Assert.Equal("profiles/cortex-a15.yaml:15: tlb.asidBits: 17 is out of range [0, 16]", Error(yaml));
    }

    [Fact]
    public void WrongMmuFormatAndArchitecture()
    {
        Assert.StartsWith("profiles/cortex-a15.yaml:6: mmuFormats[1]: 'X86_64' is not an arm MMU format", Error(Replace("mmuFormats: [ArmShort, ArmLpae]", "mmuFormats: [ArmShort, X86_64]")));
        Assert.Equal("profiles/cortex-a15.yaml:5: architecture: 'mips' is not one of arm, x86, riscv", Error(Replace("architecture: arm", "architecture: mips")));
    }

    [Fact]
    public void BrokenYamlNamesTheLine()
    {
        string message = Error("id: x\nname: [unclosed\n");
        Assert.StartsWith("profiles/cortex-a15.yaml:3: malformed YAML: ", message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void EmptyDocument()
    {
        Assert.StartsWith("profiles/cortex-a15.yaml:1: empty; expected a mapping", Error(""));
    }

    [Fact]
    public void MissingFileIsOneLine()
    {
        ProfileFormatException e = Assert.Throws<ProfileFormatException>(() => CpuProfileLoader.LoadFile(Path.Combine(Path.GetTempPath(), "no-such-profile-7c1.yaml")));
        Assert.Contains("cannot read", e.Message);
    }

    [Fact]
    public void UserFileLoadsFromDisk()
    {
        string path = Path.Combine(Path.GetTempPath(), "vmsplit-profile-test-" + Environment.ProcessId + ".yaml");
        File.WriteAllText(path, s_a15.Replace("id: cortex-a15", "id: my-a15", StringComparison.Ordinal));
        try
        {
            CpuProfile p = CpuProfileLoader.LoadFile(path);
            Assert.Equal("my-a15", p.Id);
            Assert.Equal(path, p.File);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class AliasingCacheProfileTests
{
    private static readonly string s_arm1136 = CpuProfiles.ShippedText("arm1136")!;

    [Fact]
    public void AnAliasingCacheCarriesItsInstructionCacheInvalidationCost()
    {
        CpuProfile p = CpuProfiles.Find("arm1136")!;
        Assert.Equal(10, p.Cache.IcacheInvalidateAllCycles);
        Assert.True(p.Entry("cache.icacheInvalidateAllCycles")!.IsAssumption);
        Assert.Equal(0, CpuProfiles.Find("cortex-a8")!.Cache.IcacheInvalidateAllCycles);
    }

    [Fact]
    public void AnAliasingCacheWithoutTheInstructionCacheCostIsRefusedAtItsSection()
    {
        string line = s_arm1136.Split('\n').Single(l => l.Contains("icacheInvalidateAllCycles", StringComparison.Ordinal));
        string yaml = s_arm1136.Replace(line + "\n", "", StringComparison.Ordinal);
        int cacheLine = 1 + yaml.Split('\n').TakeWhile(l => !l.StartsWith("cache:", StringComparison.Ordinal)).Count();
        string message = Assert.Throws<ProfileFormatException>(() => CpuProfileLoader.Parse(yaml, "my-board.yaml")).Message;
        Assert.Equal($"my-board.yaml:{cacheLine + 1}: cache.icacheInvalidateAllCycles: an aliasing data cache needs the cost of invalidating the instruction cache (flush_anon_page runs it)", message);
    }
}
