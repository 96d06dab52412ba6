using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vmsplit.Cli.Tests;

public class ValidateCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vmsplit-validate-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void TheShippedDatapointsPrintPublishedModelAndErrorWithEveryMissExplained()
    {
        (int code, string output, string err) = Run("validate");
        Assert.True(code == 0, err);
        Assert.Equal("", err);

        // hansen-flush-1: Haswell, INVLPG 200 + flush_tlb_mm_range's own 50 cycles against the published 1276.
        Assert.Matches(@"\n  hansen-flush-1 +1276 cycles +250 cycles +-80\.4% +MISS +haswell x86-64 classic\+nopcid\+nomitigations: flush_tlb_mm_range\(1 page\)\n", output);
        Assert.Matches(@"\n  pti-page-tables-per-process +4096 bytes +4096 bytes +\+0\.0% +ok ", output);
        Assert.Contains("molnar-flush-tlb ", output);
        Assert.Contains("[calibration]", output);
        Assert.Contains("hansen-flush-1 (-80.4%), hansen-flush-2 (-70.1%)", output); // one shared explanation
        Match summary = Regex.Match(output, @"\n(\d+) of 18 within \+-25%, (\d+) beyond \(each explained above\)\.\n$");
        Assert.True(summary.Success, output);
        Assert.Equal(18, int.Parse(summary.Groups[1].Value) + int.Parse(summary.Groups[2].Value));
        Assert.DoesNotContain("no explanation recorded", output);
    }

    [Fact]
    public void CpusBoardRunsEachDatapointOnItsProfilesBoard()
    {
        // hansen-flush-33 is a Skylake row: board means its 4 cores, the same document as --cpus 4
        (int code, string board, string err) = Run("validate", "--only", "hansen-flush-33", "--cpus", "board", "--format", "json");
        Assert.True(code == 0, err);
        (int _, string four, string _) = Run("validate", "--only", "hansen-flush-33", "--cpus", "4", "--format", "json");
        (int _, string one, string _) = Run("validate", "--only", "hansen-flush-33", "--format", "json");
        Assert.Equal(four, board);
        Assert.NotEqual(one, board);
    }

    [Fact]
    public void OnlyToleranceDetailAndJson()
    {
        string dir = TempDir();
        string json = Path.Combine(dir, "v.json");
        (int code, string output, string err) = Run("validate", "--only", "hansen-flush-33,pti-page-tables-per-process", "--tolerance", "10", "--detail", "--json", json);
        Assert.True(code == 0, err);
        Assert.Contains("(validation/datapoints.yaml, 2 datapoints)", output);
        Assert.Contains("hansen-flush-33 (-22.1%):", output); // a miss at 10 %, within at 25 %
        Assert.Contains("  model by cause: tlb-maintenance 6650 cycles", output);
        Assert.Contains("  source:     [P] Dave Hansen", output);

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(10, doc.RootElement.GetProperty("tolerancePercent").GetDouble());
        JsonElement first = doc.RootElement.GetProperty("results")[0];
        Assert.Equal("hansen-flush-33", first.GetProperty("id").GetString());
        Assert.Equal("cycles", first.GetProperty("unit").GetString());
        Assert.Equal(8534, first.GetProperty("published").GetDouble());
        Assert.Equal(6650, first.GetProperty("model").GetDouble());
        Assert.Equal(-22.076, first.GetProperty("errorPercent").GetDouble()); // (6650 - 8534) / 8534, rounded to 3 places
        Assert.False(first.GetProperty("within").GetBoolean());
        Assert.Equal(6650, first.GetProperty("causes").GetProperty("tlb-maintenance").GetDouble());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("calibrates").ValueKind);
        Assert.Equal(JsonValueKind.Null, first.GetProperty("miss").ValueKind); // within 25 %: the file explains nothing
        Assert.Contains("(1 without an explanation).", output);
        Assert.Equal(4096, doc.RootElement.GetProperty("results")[1].GetProperty("model").GetDouble());
    }

    [Fact]
    public void AUsersDatapointFileRunsAndTheSameInputGivesTheSameJson()
    {
        string dir = TempDir();
        string data = Path.Combine(dir, "mine.yaml");
        File.WriteAllText(data, """
            datapoints:
              - id: my-null
                what: null syscall on my box
                published: 50 ns
                setup: a Skylake at 4 GHz
                source: my own lmbench run
                model: { machine: skylake, arch: x86-64, ram: 8G, measure: time-per-op, workload: "null", design: classic }
            """);
        string a = Path.Combine(dir, "a.json");
        string b = Path.Combine(dir, "b.json");
        (int code, string output, string err) = Run("validate", "--data", data, "--json", a);
        Assert.True(code == 0, err);
        Assert.Contains("my-null", output);
        Assert.Equal(0, Run("validate", "--data", data, "--json", b).Code);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
    }

    [Theory]
    [InlineData("--tolerance", "0", "--tolerance: '0' is not a percentage")]
    [InlineData("--tolerance", "lots", "--tolerance: 'lots' is not a percentage")]
    [InlineData("--only", "hansen-flush-3", "--only: no datapoint 'hansen-flush-3'")]
    [InlineData("--only", ",", "--only: no datapoint ids given")]
    [InlineData("--data", "/nonexistent-dir/d.yaml", "cannot read")]
    [InlineData("--json", "/nonexistent-dir/v.json", "directory does not exist")]
    [InlineData("--cpus", "boards", "--cpus: 'boards' is not a CPU count from 1 to 64 nor 'board'")]
    public void BadInputIsOneLineAndExitCodeTwo(string option, string value, string fragment)
    {
        (int code, string output, string err) = Run("validate", option, value);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(fragment, err);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void AMalformedDataFileNamesFileLineAndFieldAndWritesNoJson()
    {
        string dir = TempDir();
        string data = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(data, "datapoints:\n  - id: x\n    what: w\n    published: 3 furlongs\n");
        string json = Path.Combine(dir, "v.json");
        (int code, _, string err) = Run("validate", "--data", data, "--json", json);
        Assert.Equal(2, code);
        Assert.Equal($"vmsplit: {data}:4: published: unknown unit 'furlongs' (us, ns, cycles, bytes)\n", err.Replace("\r", ""));
        Assert.Empty(Directory.GetFiles(dir, "*.json*"));
    }
}
