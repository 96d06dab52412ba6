using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary>One output convention: every command takes --format and --output PATH|-, older spellings are aliases.</summary>
public class OutputConventionTests
{
    public static TheoryData<string[]> JsonCommands => new()
    {
        new[] { "compare", "--designs", "classic,4g4g", "--workloads", "null", "--ops", "2" },
        new[] { "audit", "--arch", "x86-64", "--designs", "classic,kpti" },
        new[] { "validate", "--only", "molnar-flush-tlb" },
        new[] { "bench", "--seconds", "0.05" },
        new[] { "walk", "--example" },
        new[] { "layout", "--arch", "arm", "--ram", "1G" },
        new[] { "tlb", "--arch", "riscv-sv39" },
        new[] { "profile", "list" },
        new[] { "profile", "show", "skylake" },
        new[] { "causes" },
    };

    [Theory]
    [MemberData(nameof(JsonCommands))]
    public void EveryCommandWritesJsonToStandardOutputWithFormatAndOutputDash(string[] args)
    {
        (int code, string output, string err) = CliHarness.Run([.. args, "--format", "json", "--output", "-"]);
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output); // one document, nothing else
    }

    [Theory]
    [MemberData(nameof(JsonCommands))]
    public void EveryCommandWritesItsOutputToAFileAndNothingToStandardOutput(string[] args)
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "out.json");
        (int code, string output, string err) = CliHarness.Run([.. args, "--format", "json", "--output", file]);
        Assert.True(code == 0, err);
        Assert.Equal("", output);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
    }

    [Theory]
    [InlineData("audit", "--arch", "x86-64", "--designs", "classic", "--json")]
    [InlineData("audit", "--arch", "x86-64", "--design", "classic", "--json")]
    [InlineData("profile", "list", "--json")]
    [InlineData("profile", "show", "skylake", "--json")]
    [InlineData("walk", "--example", "--json")]
    public void TheOlderJsonSwitchIsAnAliasOfFormatJson(params string[] args)
    {
        (int code, string switched, string err) = CliHarness.Run(args);
        Assert.True(code == 0, err);
        string[] formatted = [.. args.Where(a => a != "--json"), "--format", "json"];
        Assert.Equal(CliHarness.Run(formatted).Out, switched);
    }

    [Fact]
    public void ProfileListJsonListsEveryProfileWithTheArchitectureItImplies()
    {
        (int code, string output, string err) = CliHarness.Run("profile", "list", "--json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement a8 = doc.RootElement.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "cortex-a8");
        Assert.Equal("arm", a8.GetProperty("defaultArch").GetString());
        JsonElement a15 = doc.RootElement.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "cortex-a15");
        Assert.Equal(["arm", "arm-lpae"], a15.GetProperty("arches").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void CompareWritesCsvWithFormatAndKeepsJsonAndCsvAsExtraOutputs()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string json = Path.Combine(dir, "r.json");
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic,4g4g", "--workloads", "null", "--ops", "2", "--format", "csv", "--json", json);
        Assert.True(code == 0, err);
        Assert.StartsWith("design,workload,ops,nsPerOp", output, StringComparison.Ordinal);
        Assert.Equal(3, output.TrimEnd().Split('\n').Length);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
    }

    [Fact]
    public void ProfileShowYamlIsTheFileACopyStartsFrom()
    {
        (int code, string output, string err) = CliHarness.Run("profile", "show", "cortex-a15", "--format", "yaml");
        Assert.True(code == 0, err);
        Assert.Equal(RepoFiles.Read("profiles/cortex-a15.yaml").ReplaceLineEndings("\n"), output.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData(new[] { "compare", "--format", "jsn" }, "vmsplit: --format: unknown format 'jsn' (use text, json, csv); did you mean 'json'?")]
    [InlineData(new[] { "audit", "--format", "text", "--json" }, "vmsplit: --format text and --json ask for different formats; give one of them")]
    [InlineData(new[] { "tlb", "--format", "svg" }, "vmsplit: --format: unknown format 'svg' (use text, json)")]
    [InlineData(new[] { "compare", "--output", "-", "--json", "-", "--workloads", "null" }, "vmsplit: --output and --json both write to standard output ('-'); give one of them a file")]
    public void AFormatThatDoesNotFitIsOneLine(string[] args, string message)
    {
        (int code, string output, string err) = CliHarness.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith(message, err, StringComparison.Ordinal);
    }

    [Fact]
    public void LayoutAndTlbStillTakeTableAsTheTextFormat()
    {
        Assert.Equal(CliHarness.Run("tlb", "--arch", "arm").Out, CliHarness.Run("tlb", "--arch", "arm", "--format", "table").Out);
        Assert.Equal(CliHarness.Run("tlb", "--arch", "arm").Out, CliHarness.Run("tlb", "--arch", "arm", "--format", "text").Out);
        Assert.Equal(CliHarness.Run("layout", "--arch", "arm", "--ram", "1G").Out, CliHarness.Run("layout", "--arch", "arm", "--ram", "1G", "--format", "text").Out);
    }

    [Fact]
    public void WalkStillReadsAnMmuFormatGivenToFormat()
    {
        string[] old = ["walk", "--format", "x86-32", "--map", "0xc0000000=0:4M:r,w,global", "--va", "0xc0123456"];
        (int code, string output, string err) = CliHarness.Run(old);
        Assert.True(code == 0, err);
        Assert.Equal(CliHarness.Run("walk", "--mmu", "x86-32", "--map", "0xc0000000=0:4M:r,w,global", "--va", "0xc0123456").Out, output);
    }
}
