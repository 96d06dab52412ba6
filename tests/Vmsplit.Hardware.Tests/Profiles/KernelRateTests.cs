using Vmsplit.Hardware.Profiles;

namespace Vmsplit.Hardware.Tests.Profiles;

public class KernelRateTests
{
    private static readonly string s_a15 = CpuProfiles.ShippedText("cortex-a15")!;

    private static string WithoutKernel() => s_a15[..s_a15.IndexOf("kernel:", StringComparison.Ordinal)];

    [Theory]
    [InlineData("cortex-a15", 3, 1.5)]
    [InlineData("cortex-a17", 2, 1.0)]
    [InlineData("cortex-a53", 2, 1.0)]
    [InlineData("cortex-a72", 3, 1.5)]
    [InlineData("skylake", 4, 2.0)]
    [InlineData("sifive-u74", 2, 1.0)]
    public void ShippedProfilesRunKernelCodeAtHalfTheirIssueWidth(string id, int width, double ipc)
    {
        CpuProfile p = CpuProfiles.Find(id)!;
        Assert.Equal(new KernelRate(width, ipc), p.Kernel);
        Assert.True(p.Entry("kernel.ipc")!.IsAssumption);
        Assert.Equal(158 / ipc, p.Kernel.Cycles(158));
    }

    [Fact]
    public void EveryShippedProfileStatesItsKernelRate()
    {
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            Assert.Equal(p.Kernel.IssueWidth / 2.0, p.Kernel.Ipc);
            Assert.NotNull(p.Entry("kernel.issueWidth"));
        }
    }

    [Fact]
    public void AFileWithoutAKernelSectionRunsAtOneInstructionPerCycleAndSaysSo()
    {
        CpuProfile p = CpuProfileLoader.Parse(WithoutKernel(), "my-board.yaml");
        Assert.Equal(KernelRate.Default, p.Kernel);
        ProfileEntry e = p.Entry("kernel.ipc")!;
        Assert.True(e.IsAssumption);
        Assert.Equal("1", e.Value);
    }

    [Fact]
    public void AnIpcAboveTheIssueWidthIsRefusedWithItsLine()
    {
        string yaml = WithoutKernel() + "kernel:\n  issueWidth: { value: 2, source: \"x\" }\n  ipc: { value: 3, assumption: \"y\" }\n";
        string message = Assert.Throws<ProfileFormatException>(() => CpuProfileLoader.Parse(yaml, "b.yaml")).Message;
        Assert.Contains("kernel.ipc", message);
        Assert.Contains("exceeds the issue width 2", message);
        Assert.StartsWith("b.yaml:", message);
    }

    [Fact]
    public void AnUnknownKernelFieldIsRefused()
    {
        string yaml = WithoutKernel() + "kernel:\n  issueWidth: { value: 2, source: \"x\" }\n  ipc: { value: 1, assumption: \"y\" }\n  cpi: { value: 1, assumption: \"z\" }\n";
        string message = Assert.Throws<ProfileFormatException>(() => CpuProfileLoader.Parse(yaml, "b.yaml")).Message;
        Assert.Contains("kernel", message);
    }
}
