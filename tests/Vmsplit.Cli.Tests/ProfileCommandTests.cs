using System.Text.Json;

namespace Vmsplit.Cli.Tests;

public sealed class ProfileCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void ListShowsEveryShippedProfileWithItsGeometry()
    {
        (int code, string output, string err) = Run("profile", "list");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        string a15 = output.Split('\n').Single(l => l.StartsWith("cortex-a15 ", StringComparison.Ordinal));
        Assert.Contains("1700 MHz", a15);
        Assert.Contains("8 bits", a15);
        Assert.Contains("512x4w", a15);
        string skl = output.Split('\n').Single(l => l.StartsWith("skylake ", StringComparison.Ordinal));
        Assert.Contains(" PCID,INVPCID,SMAP,Spectre-v2,MDS ", skl);
        Assert.Contains("1536x6w", skl);
        Assert.Equal(14, output.Split('\n').Count(l => l.Contains(" MHz", StringComparison.Ordinal)));
    }

    [Fact]
    public void ShowPrintsEveryValueWithItsSource()
    {
        (int code, string output, _) = Run("profile", "show", "cortex-a53");
        Assert.Equal(0, code);
        Assert.Contains("cortex-a53: ARM Cortex-A53 MPCore (RK3399 little cluster)", output);
        Assert.Contains("file: profiles/cortex-a53.yaml", output);
        string walk = output.Split('\n').Single(l => l.StartsWith("tlb.walkCaches[0].entries", StringComparison.Ordinal));
        Assert.Contains(" 64 ", walk);
        Assert.Contains(" source ", walk);
        Assert.Contains("Cortex-A53 TRM 5.1", walk);
        string ttbr = output.Split('\n').Single(l => l.StartsWith("costs.ttbr0Write", StringComparison.Ordinal));
        Assert.Contains("5 cycles", ttbr);
        Assert.Contains(" assumption ", ttbr);
        Assert.Contains("assumptions (docs/profiles.md", output);
    }

    [Fact]
    public void ShowJsonCarriesProvenance()
    {
        (int code, string output, _) = Run("profile", "show", "skylake", "--json");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        Assert.Equal("skylake", root.GetProperty("id").GetString());
        Assert.Equal(12, root.GetProperty("asidBits").GetInt32());
        Assert.True(root.GetProperty("invpcid").GetBoolean());
        JsonElement invlpg = root.GetProperty("values").EnumerateArray().Single(v => v.GetProperty("field").GetString() == "costs.invlpg");
        Assert.Equal("200 cycles", invlpg.GetProperty("value").GetString());
        Assert.Contains("Hansen", invlpg.GetProperty("source").GetString());
        foreach (JsonElement v in root.GetProperty("values").EnumerateArray())
        {
            Assert.True(v.TryGetProperty("source", out _) || v.TryGetProperty("assumption", out _));
        }
    }

    [Fact]
    public void UnknownProfileIsAUsageError()
    {
        (int code, string output, string err) = Run("profile", "show", "cortex-a99");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("vmsplit: profile show: unknown profile 'cortex-a99' (known: arm1136, atom-n270, ", err);
        Assert.Equal(1, err.Count(c => c == '\n'));
    }

    [Fact]
    public void MalformedUserFileGivesOneLineNamingTheField()
    {
        string path = Path.Combine(Path.GetTempPath(), "vmsplit-cli-profile-" + Environment.ProcessId + ".yaml");
        string yaml = Hardware.Profiles.CpuProfiles.ShippedText("cortex-a15")!;
        yaml = string.Join('\n', yaml.Split('\n').Select(l => l.StartsWith("  ttbr0Write:", StringComparison.Ordinal) ? "  ttbr0Write: { value: 10 }" : l));
        File.WriteAllText(path, yaml);
        try
        {
            (int code, _, string err) = Run("profile", "show", "--file", path);
            Assert.Equal(2, code);
            Assert.Equal($"vmsplit: {path}:46: costs.ttbr0Write: missing source or assumption\n", err.Replace("\r\n", "\n", StringComparison.Ordinal));

            File.WriteAllText(path, Hardware.Profiles.CpuProfiles.ShippedText("cortex-a15")!.Replace("id: cortex-a15", "id: my-board", StringComparison.Ordinal));
            (int ok, string output, _) = Run("profile", "show", "--file", path);
            Assert.Equal(0, ok);
            Assert.StartsWith("my-board: ARM Cortex-A15", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NameAndFileTogetherOrNeitherAreUsageErrors()
    {
        Assert.Equal(2, Run("profile", "show").Code);
        (int code, _, string err) = Run("profile", "show", "skylake", "--file", "x.yaml");
        Assert.Equal(2, code);
        Assert.Contains("not both", err);
    }
}
