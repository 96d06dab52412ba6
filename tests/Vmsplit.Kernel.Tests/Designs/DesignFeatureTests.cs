using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Designs;

namespace Vmsplit.Kernel.Tests.Designs;

/// <summary>A design needing a feature the CPU lacks is refused in one line; Linux's silent fallbacks run and are reported.</summary>
public class DesignFeatureTests
{
    private static CpuProfile Cpu(string id) => CpuProfiles.Find(id)!;

    private static string Refusal(string design, MmuFormat format, string cpu)
    {
        Assert.False(DesignSpec.TryParse(design, format, Cpu(cpu), out DesignSpec? d, out string error));
        Assert.Null(d);
        Assert.DoesNotContain('\n', error);
        return error;
    }

    [Theory]
    [InlineData("classic+pan", MmuFormat.X86_64, "core2-e6600", "SMAP")]
    [InlineData("classic+pan", MmuFormat.X86_64, "haswell", "SMAP")]
    [InlineData("classic+pan", MmuFormat.X86Pae, "atom-n270", "SMAP")]
    [InlineData("classic+pan", MmuFormat.X86Pae, "pentium4-xeon", "SMAP")]
    [InlineData("classic+pan", MmuFormat.AArch64Va48, "cortex-a53", "PAN")]
    [InlineData("classic+pan", MmuFormat.AArch64Va39, "cortex-a72", "PAN")]
    [InlineData("kpti+pcid", MmuFormat.X86_64, "core2-e6600", "PCID")]
    [InlineData("classic+pcid", MmuFormat.X86_64, "core2-e6600", "PCID")]
    [InlineData("4g4g", MmuFormat.ArmLpae, "cortex-a9", "LPAE")]
    public void AnOptionAskingForAMissingFeatureIsRefusedNamingItAndTheCpu(string design, MmuFormat format, string cpu, string feature)
    {
        string error = Refusal(design, format, cpu);
        Assert.StartsWith($"design '{design}': ", error);
        Assert.Contains($" needs {feature}, which the {cpu} CPU (", error);
    }

    [Theory]
    [InlineData("classic+pan", MmuFormat.X86_64, "skylake", PanKind.X86Smap)]
    [InlineData("classic+pan", MmuFormat.ArmShort, "cortex-a9", PanKind.ArmDomain)]
    [InlineData("classic+pan", MmuFormat.ArmLpae, "cortex-a15", PanKind.ArmTtbr0)]
    [InlineData("classic+pan", MmuFormat.RiscvSv39, "sifive-u74", PanKind.RiscvSum)]
    public void TheFeatureIsThereSoTheDesignRuns(string design, MmuFormat format, string cpu, PanKind pan)
    {
        Assert.True(DesignSpec.TryParse(design, format, Cpu(cpu), out DesignSpec? d, out string error), error);
        Assert.Equal(pan, d!.Pan);
        Assert.Empty(d.Notes);
    }

    [Fact]
    public void WithoutPcidKptiAndClassicRunWithoutItAndSaySo()
    {
        DesignSpec kpti = DesignSpec.Parse("kpti", MmuFormat.X86_64, Cpu("core2-e6600"));
        Assert.False(kpti.Pcid);
        Assert.Equal("kpti", kpti.Name);
        string note = Assert.Single(kpti.Notes);
        Assert.StartsWith("kpti: the core2-e6600 CPU has no PCID; Linux runs PTI without PCIDs", note);
        Assert.False(DesignSpec.Parse("classic", MmuFormat.X86_64, Cpu("core2-e6600")).Pcid);
        Assert.Single(DesignSpec.Parse("classic", MmuFormat.X86_64, Cpu("core2-e6600")).Notes);

        // with PCID nothing falls back and the design keeps it
        DesignSpec skl = DesignSpec.Parse("kpti", MmuFormat.X86_64, Cpu("skylake"));
        Assert.True(skl.Pcid);
        Assert.Empty(skl.Notes);
        Assert.Empty(DesignSpec.Parse("kpti+nopcid", MmuFormat.X86_64, Cpu("core2-e6600")).Notes);
    }

    [Fact]
    public void PcidWithoutInvpcidIsReported()
    {
        CpuProfile noInvpcid = CpuProfileLoader.Parse(
            CpuProfiles.ShippedText("skylake")!.Replace("invpcid: { value: true", "invpcid: { value: false", StringComparison.Ordinal)
                .Split('\n').Where(l => !l.TrimStart().StartsWith("invpcid", StringComparison.Ordinal) || l.StartsWith("  invpcid: { value: false", StringComparison.Ordinal))
                .Aggregate((a, b) => a + "\n" + b),
            "westmere.yaml");
        Assert.False(noInvpcid.Has(CpuFeature.Invpcid));
        DesignSpec d = DesignSpec.Parse("kpti", MmuFormat.X86_64, noInvpcid);
        Assert.True(d.Pcid);
        Assert.Contains("has PCID but no INVPCID", Assert.Single(d.Notes));
    }

    [Fact]
    public void WithoutGlobalPagesGlobalEntryPagesAreRefused()
    {
        CpuProfile noPge = CpuProfileLoader.Parse(
            CpuProfiles.ShippedText("skylake")!.Replace("  global: { value: true,", "  global: { value: false,", StringComparison.Ordinal), "no-pge.yaml");
        Assert.False(DesignSpec.TryParse("kpti+global", MmuFormat.X86_64, noPge, out _, out string error));
        Assert.Contains("+global needs global pages", error);
        Assert.Contains("no global pages", Assert.Single(DesignSpec.Parse("classic", MmuFormat.X86_64, noPge).Notes));
    }

    [Fact]
    public void Arm64WithoutHardwarePanIsPointedAtSoftwarePan()
    {
        Assert.EndsWith("Linux emulates it there with CONFIG_ARM64_SW_TTBR0_PAN: use +sw-pan", Refusal("classic+pan", MmuFormat.AArch64Va48, "cortex-a53"));
        DesignSpec sw = DesignSpec.Parse("classic+sw-pan", MmuFormat.AArch64Va48, Cpu("cortex-a53"));
        Assert.Equal(PanKind.Arm64Ttbr0, sw.Pan);
        Assert.Empty(sw.Notes);
        Assert.False(DesignSpec.TryParse("classic+sw-pan", MmuFormat.X86_64, out _, out string x86));
        Assert.Contains("applies only to classic on aarch64", x86);
        Assert.False(DesignSpec.TryParse("classic+pan+sw-pan", MmuFormat.AArch64Va48, out _, out string both));
        Assert.Contains("conflicts with +pan", both);
        Assert.False(DesignSpec.TryParse("kpti+sw-pan", MmuFormat.AArch64Va48, out _, out _));
    }
}
