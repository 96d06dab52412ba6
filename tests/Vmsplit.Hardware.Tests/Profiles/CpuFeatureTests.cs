using Vmsplit.Hardware.Profiles;

namespace Vmsplit.Hardware.Tests.Profiles;

public class CpuFeatureTests
{
    [Theory]
    [InlineData("skylake", "global,pcid,invpcid,smap,spectreV2,mds")]
    [InlineData("haswell", "global,pcid,invpcid,spectreV2,mds")]
    [InlineData("core2-e6600", "global,spectreV2,mds")]
    [InlineData("atom-n270", "global")] // ATOM_BONNELL is NO_SPECULATION in Linux's cpu_vuln_whitelist
    [InlineData("pentium4-xeon", "global,spectreV2,mds")]
    [InlineData("cortex-a7", "global,lpae,domains")]
    [InlineData("cortex-a8", "global,domains")]
    [InlineData("cortex-a9", "global,domains")]
    [InlineData("cortex-a15", "global,lpae,domains,spectreBhb")]
    [InlineData("cortex-a17", "global,lpae,domains")]
    [InlineData("cortex-a53", "global,lpae,domains")]
    [InlineData("cortex-a72", "global,lpae,domains,spectreBhb")]
    [InlineData("sifive-u74", "global,sum")]
    public void ShippedProfilesStateTheirFeatures(string id, string expected)
    {
        CpuProfile p = CpuProfiles.Find(id)!;
        Assert.Equal(expected, string.Join(",", CpuFeatureExtensions.For(p.Architecture).Where(p.Has).Select(f => f.Key())));
        foreach (CpuFeature f in CpuFeatureExtensions.For(p.Architecture))
        {
            ProfileEntry e = Assert.IsType<ProfileEntry>(p.Entry("features." + f.Key()));
            Assert.Equal(p.Has(f) ? "true" : "false", e.Value);
            Assert.False(string.IsNullOrWhiteSpace(e.Provenance));
        }

        // the TLB model's PCID switches follow the features
        Assert.Equal(p.Has(CpuFeature.Pcid), p.Tlb.HasPcid);
        Assert.Equal(p.Has(CpuFeature.Invpcid), p.Tlb.HasInvpcid);
    }

    /// <summary>The mitigations' costs are required exactly where the bugs are, with the shipped values.</summary>
    [Theory]
    [InlineData("skylake", 20.0, 100.0)]
    [InlineData("haswell", 20.0, 100.0)]
    [InlineData("core2-e6600", 15.0, 20.0)]
    [InlineData("pentium4-xeon", 20.0, 30.0)]
    public void MitigationCostsAreLoadedWhereTheCpuHasTheBugs(string id, double returnMispredict, double verw)
    {
        CpuProfile p = CpuProfiles.Find(id)!;
        Assert.Equal(returnMispredict, p.Cycles(PrimitiveCost.ReturnMispredict));
        Assert.Equal(verw, p.Cycles(PrimitiveCost.Verw));
        Assert.True(p.Entry("costs.verw")!.IsAssumption);
        Assert.True(p.Entry("costs.returnMispredict")!.IsAssumption);
    }

    [Fact]
    public void AnInOrderAtomNeedsNoMitigationCosts()
    {
        CpuProfile atom = CpuProfiles.Find("atom-n270")!;
        Assert.False(atom.Has(PrimitiveCost.ReturnMispredict));
        Assert.False(atom.Has(PrimitiveCost.Verw));
        Assert.DoesNotContain(PrimitiveCost.Verw, PrimitiveCostExtensions.Required(ProfileArchitecture.X86, atom.Features));
    }

    [Fact]
    public void FeaturesOfAnotherArchitectureAreNeverReported()
    {
        Assert.False(CpuProfiles.Find("skylake")!.Has(CpuFeature.Pan));
        Assert.False(CpuProfiles.Find("cortex-a15")!.Has(CpuFeature.Smap));
        Assert.False(CpuProfiles.Find("sifive-u74")!.Has(CpuFeature.Lpae));
    }
}

public class CpuFeatureMalformedTests
{
    private static readonly string s_a15 = CpuProfiles.ShippedText("cortex-a15")!;
    private static readonly string s_skl = CpuProfiles.ShippedText("skylake")!;

    private static string Error(string yaml, string file = "profiles/cortex-a15.yaml") =>
        Assert.Throws<ProfileFormatException>(() => CpuProfileLoader.Parse(yaml, file)).Message;

    // The text with `extra` inserted right after the "features:" line, and the 1-based line it lands on.
    private static (string Yaml, int Line) AfterFeatures(string text, string extra)
    {
        List<string> lines = [.. text.Split('\n')];
        int at = lines.IndexOf("features:") + 1;
        Assert.True(at > 0);
        lines.Insert(at, extra);
        return (string.Join('\n', lines), at + 1);
    }

    private static string Replace(string text, string line, string with)
    {
        Assert.Contains(line, text);
        return text.Replace(line, with, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownFeatureNamesTheFileAndLine()
    {
        (string yaml, int line) = AfterFeatures(s_a15, "  sme: { value: true, source: \"x\" }");
        Assert.Equal($"profiles/cortex-a15.yaml:{line}: features.sme: unknown feature (this arm profile states global, lpae, domains, pan, spectreBhb)", Error(yaml));
    }

    [Fact]
    public void FeatureOfAnotherArchitectureNamesTheLine()
    {
        (string yaml, int line) = AfterFeatures(s_a15, "  smap: { value: false, source: \"x\" }");
        Assert.StartsWith($"profiles/cortex-a15.yaml:{line}: features.smap: does not apply to this arm profile", Error(yaml));
    }

    [Fact]
    public void EveryFeatureMustBeStatedWithItsSource()
    {
        string missing = string.Join('\n', s_a15.Split('\n').Where(l => !l.StartsWith("  pan:", StringComparison.Ordinal)));
        Assert.Equal("profiles/cortex-a15.yaml:8: features.pan: missing", Error(missing));
        string bare = string.Join('\n', s_a15.Split('\n').Select(l => l.StartsWith("  pan:", StringComparison.Ordinal) ? "  pan: false" : l));
        Assert.StartsWith("profiles/cortex-a15.yaml:11: features.pan: missing source or assumption", Error(bare));
        string noSection = string.Join('\n', s_a15.Split('\n').Where(l => l != "features:" && !l.StartsWith("  global:", StringComparison.Ordinal)
            && !l.StartsWith("  lpae:", StringComparison.Ordinal) && !l.StartsWith("  domains:", StringComparison.Ordinal) && !l.StartsWith("  pan:", StringComparison.Ordinal)
            && !l.StartsWith("  spectreBhb:", StringComparison.Ordinal)));
        Assert.Equal("profiles/cortex-a15.yaml:3: features: missing", Error(noSection));
    }

    [Fact]
    public void NotABoolean()
    {
        string yaml = Replace(s_a15, "  pan: { value: false,", "  pan: { value: maybe,");
        Assert.Equal("profiles/cortex-a15.yaml:11: features.pan: 'maybe' is not true or false", Error(yaml));
    }

    [Fact]
    public void FeaturesMustAgreeWithTheMmuFormats()
    {
        string noLpae = Replace(s_a15, "  lpae: { value: true,", "  lpae: { value: false,");
        Assert.Matches(@"^profiles/cortex-a15\.yaml:\d+: features\.lpae: false, but mmuFormats lists ArmLpae$", Error(noLpae));
        string noDomains = Replace(s_a15, "  domains: { value: true,", "  domains: { value: false,");
        Assert.Matches(@"^profiles/cortex-a15\.yaml:\d+: features\.domains: false, but mmuFormats lists ArmShort", Error(noDomains));
        string atom = CpuProfiles.ShippedText("atom-n270")!;
        string atomPcid = Replace(atom, "  pcid: { value: false,", "  pcid: { value: true,");
        Assert.Matches(@"^profiles/atom-n270\.yaml:\d+: features\.pcid: true, but PCIDs exist only in IA-32e mode", Error(atomPcid, "profiles/atom-n270.yaml"));
        string invpcidAlone = Replace(s_skl, "  pcid: { value: true,", "  pcid: { value: false,");
        Assert.Matches(@"^profiles/skylake\.yaml:\d+: features\.invpcid: true without pcid$", Error(invpcidAlone, "profiles/skylake.yaml"));
    }

    [Fact]
    public void PcidInTheTlbSectionHasMoved()
    {
        string yaml = Replace(s_skl, "tlb:\n", "tlb:\n  pcid: { value: true, source: \"x\" }\n");
        Assert.Matches(@"^profiles/skylake\.yaml:\d+: tlb\.pcid: moved to features\.pcid", Error(yaml, "profiles/skylake.yaml"));
    }

    [Fact]
    public void AUserProfileCanDeclareAFeatureTheShippedCoreLacks()
    {
        // an ARMv8.1+ board described from the Cortex-A53 file: PAN true loads and is reported
        string a53 = CpuProfiles.ShippedText("cortex-a53")!;
        string yaml = a53.Split('\n').Select(l => l.StartsWith("  pan:", StringComparison.Ordinal) ? "  pan: { value: true, source: \"my board's ID_AA64MMFR1_EL1.PAN = 1\" }" : l)
            .Aggregate((a, b) => a + "\n" + b);

        // the feature brings its instruction's cost, which the file must then price
        Assert.Matches(@"^my-board\.yaml:\d+: costs\.msrPan: missing$", Error(yaml, "my-board.yaml"));
        yaml = yaml.Replace("  isb:", "  msrPan: { value: 2, assumption: \"no figure published\" }\n  isb:", StringComparison.Ordinal);
        CpuProfile p = CpuProfileLoader.Parse(yaml, "my-board.yaml");
        Assert.True(p.Has(CpuFeature.Pan));
        Assert.Equal("my board's ID_AA64MMFR1_EL1.PAN = 1", p.Entry("features.pan")!.Provenance);
        Assert.Equal(2, p.Cycles(PrimitiveCost.MsrPan));
    }

    [Fact]
    public void TheCostsOfAFeatureTheCpuLacksDoNotApply()
    {
        string haswell = CpuProfiles.ShippedText("haswell")!;
        string withStac = haswell.Replace("  walkStepCacheHit:", "  stac: { value: 20, assumption: \"x\" }\n  walkStepCacheHit:", StringComparison.Ordinal);
        Assert.Matches(@"^profiles/haswell\.yaml:\d+: costs\.stac: does not apply to this x86 profile \(check its features\)$", Error(withStac, "profiles/haswell.yaml"));
        string noClac = string.Join('\n', s_skl.Split('\n').Where(l => !l.StartsWith("  clac:", StringComparison.Ordinal)));
        Assert.Matches(@"^profiles/skylake\.yaml:\d+: costs\.clac: missing$", Error(noClac, "profiles/skylake.yaml"));
        Assert.Equal(20, CpuProfiles.Find("skylake")!.Cycles(PrimitiveCost.Stac));
        Assert.Equal(5, CpuProfiles.Find("sifive-u74")!.Cycles(PrimitiveCost.SstatusWrite));
        Assert.False(CpuProfiles.Find("cortex-a53")!.Has(PrimitiveCost.MsrPan));
    }
}
