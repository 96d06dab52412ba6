using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Designs;

namespace Vmsplit.Kernel.Tests.Designs;

public class DesignSpecTests
{
    [Fact]
    public void ClassicIsDirectUaccessWithTheImageInTheLinearMap()
    {
        DesignSpec d = DesignSpec.Parse("classic", MmuFormat.ArmLpae);
        Assert.Equal(IsolationScheme.Classic, d.Scheme);
        Assert.Equal(UaccessStrategy.Direct, d.Uaccess);
        Assert.Equal(KernelImagePlacement.LinearMap, d.ImagePlacement);
        Assert.Equal(PanKind.None, d.Pan);
    }

    [Fact]
    public void ClassicPinKmapIsExpressible()
    {
        DesignSpec d = DesignSpec.Parse("classic+pin-kmap", MmuFormat.ArmShort);
        Assert.Equal(IsolationScheme.Classic, d.Scheme);
        Assert.Equal(UaccessStrategy.PinKmap, d.Uaccess);
        Assert.Equal("classic+pin-kmap", d.Name);
    }

    [Theory]
    [InlineData("4g4g", UaccessStrategy.PinKmap)]
    [InlineData("4g4g+pin-kmap", UaccessStrategy.PinKmap)]
    [InlineData("4g4g+ttbr0-switch", UaccessStrategy.Ttbr0Switch)]
    [InlineData("4g4g+hybrid", UaccessStrategy.Hybrid)]
    [InlineData("4g4g+trampoline", UaccessStrategy.Trampoline)]
    [InlineData("4g4g+pmd-copy", UaccessStrategy.PmdCopy)]
    public void FourGFourGUaccessStrategies(string name, UaccessStrategy expected)
    {
        DesignSpec d = DesignSpec.Parse(name, MmuFormat.ArmLpae);
        Assert.Equal(IsolationScheme.FourGFourG, d.Scheme);
        Assert.Equal(expected, d.Uaccess);
        Assert.Equal(KernelImagePlacement.Vmalloc, d.ImagePlacement); // the image lives in the TTBR1 region
    }

    [Theory]
    [InlineData(MmuFormat.ArmShort, PanKind.ArmDomain)]
    [InlineData(MmuFormat.ArmLpae, PanKind.ArmTtbr0)]
    [InlineData(MmuFormat.AArch64Va48, PanKind.ArmHardware)]
    [InlineData(MmuFormat.X86_64, PanKind.X86Smap)]
    [InlineData(MmuFormat.RiscvSv39, PanKind.RiscvSum)]
    public void PanMeansTheArchitecturesMechanism(MmuFormat format, PanKind expected) =>
        Assert.Equal(expected, DesignSpec.Parse("classic+pan", format).Pan);

    [Theory]
    [InlineData("classic+nomitigations", MmuFormat.X86_64)]
    [InlineData("kpti+nopcid+nomitigations", MmuFormat.X86_64)]
    [InlineData("x86-4g4g+nomitigations", MmuFormat.X86Pae)]
    public void NoMitigationsTurnsOffTheSpeculationWorkOnX86(string name, MmuFormat format)
    {
        Assert.True(DesignSpec.Parse(name.Split('+')[0], format).SpeculationMitigations);
        DesignSpec d = DesignSpec.Parse(name, format);
        Assert.False(d.SpeculationMitigations);
        Assert.Equal(name, d.Name);
    }

    [Theory]
    [InlineData(MmuFormat.ArmLpae)]
    [InlineData(MmuFormat.ArmShort)]
    [InlineData(MmuFormat.RiscvSv39)]
    public void NoMitigationsIsRefusedOffX86AndArm64InOneLine(MmuFormat format)
    {
        Assert.False(DesignSpec.TryParse("classic+nomitigations", format, out _, out string error));
        Assert.Equal("design 'classic+nomitigations': option '+nomitigations' applies only to x86 and arm64 (the mitigations=off boot option; no other architecture's mitigations are modelled)", error);
    }

    [Theory]
    [InlineData("classic+nomitigations")]
    [InlineData("kpti+nomitigations")]
    public void NoMitigationsParsesOnArm64(string name)
    {
        Assert.True(DesignSpec.TryParse(name, MmuFormat.AArch64Va48, out DesignSpec? d, out string error), error);
        Assert.False(d!.SpeculationMitigations);
    }

    [Fact]
    public void KptiSwitches()
    {
        Assert.True(DesignSpec.Parse("kpti", MmuFormat.X86_64).Pcid);
        Assert.False(DesignSpec.Parse("kpti+nopcid", MmuFormat.X86_64).Pcid);
        Assert.True(DesignSpec.Parse("kpti+global", MmuFormat.X86_64).GlobalEntryPages);
        Assert.True(DesignSpec.Parse("kpti+kaiser-v1+nopcid", MmuFormat.X86_64).KaiserV1);
        // Dave Hansen's first KAISER posting already used PCIDs when present (LKML 2017-10-31 cover letter)
        Assert.True(DesignSpec.Parse("kpti+kaiser-v1", MmuFormat.X86_64).Pcid);
        Assert.True(DesignSpec.Parse("kpti+kaiser-v1+pcid", MmuFormat.X86_64).Pcid);
        Assert.False(DesignSpec.Parse("kpti", MmuFormat.AArch64Va48).Pcid);

        // Linux 4.14+ uses PCID for mm switches without PTI too; nopcid turns it off for either design.
        Assert.True(DesignSpec.Parse("classic", MmuFormat.X86_64).Pcid);
        Assert.False(DesignSpec.Parse("classic+nopcid", MmuFormat.X86_64).Pcid);
        Assert.False(DesignSpec.Parse("classic", MmuFormat.X86Pae).Pcid);
        Assert.False(DesignSpec.Parse("classic", MmuFormat.ArmLpae).Pcid);
    }

    [Theory]
    [InlineData("4g4g", MmuFormat.X86_64, "4g4g is a 32-bit ARM design (LPAE or short descriptors)")]
    [InlineData("4g4g", MmuFormat.RiscvSv32, "4g4g is a 32-bit ARM design (LPAE or short descriptors)")]
    [InlineData("kpti", MmuFormat.ArmLpae, "kpti exists for x86-64")]
    [InlineData("classic+nopcid", MmuFormat.X86Pae, "applies only to classic or kpti on x86-64")]
    [InlineData("4g4g+nopcid", MmuFormat.ArmLpae, "applies only to classic or kpti on x86-64")]
    [InlineData("kpti+ttbr0-switch", MmuFormat.X86_64, "applies only to 4g4g")]
    [InlineData("4g4g+hybrid+trampoline", MmuFormat.ArmLpae, "conflicts with another uaccess strategy")]
    [InlineData("classic+pmd-copy", MmuFormat.ArmLpae, "applies only to 4g4g")]
    [InlineData("4g4g+pmd-copy+trampoline", MmuFormat.ArmLpae, "conflicts with another uaccess strategy")]
    [InlineData("kpti+global+kaiser-v1", MmuFormat.X86_64, "cannot be combined with +global")]
    [InlineData("classic+warp", MmuFormat.X86_64, "unknown option '+warp'")]
    [InlineData("nested", MmuFormat.X86_64, "unknown base 'nested'")]
    [InlineData("classic+pan+pan", MmuFormat.X86_64, "given twice")]
    [InlineData("kpti+pcid+nopcid", MmuFormat.X86_64, "contradicts")]
    [InlineData("kpti+kaiser-v1", MmuFormat.X86Pae, "the 2017 KAISER patches were x86-64 only")]
    [InlineData("x86-4g4g", MmuFormat.ArmLpae, "x86-4g4g is the 2003 x86-32 design")]
    [InlineData("classic+kimage-vmalloc", MmuFormat.X86_64, "not modelled on x86")]
    public void NonsenseGetsAOneLineError(string name, MmuFormat format, string fragment)
    {
        Assert.False(DesignSpec.TryParse(name, format, out DesignSpec? d, out string error));
        Assert.Null(d);
        Assert.Contains(fragment, error);
        Assert.DoesNotContain('\n', error);
    }
}
