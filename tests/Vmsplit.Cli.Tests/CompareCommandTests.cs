using System.Text.Json;

namespace Vmsplit.Cli.Tests;

public class CompareCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void ASmallComparisonPrintsEverySectionAndWritesJsonAndCsv()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string json = Path.Combine(dir, "r.json");
        string csv = Path.Combine(dir, "r.csv");
        (int code, string output, string err) = Run("compare", "--designs", "classic,4g4g+hybrid", "--workloads", "null,read4k", "--ops", "20", "--json", json, "--csv", csv);
        Assert.True(code == 0, err);
        Assert.Contains("Address budget", output);
        Assert.Contains("Time per operation", output);
        Assert.Contains("Top causes of overhead", output);
        Assert.Matches(@"4g4g\+hybrid: [a-z-]+ \+[0-9.]+", output);
        Assert.Contains("Isolation", output);

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = doc.RootElement;
        Assert.Equal("cortex-a15", root.GetProperty("machine").GetProperty("profile").GetString());
        Assert.Equal(2, root.GetProperty("budget").GetArrayLength());
        JsonElement first = root.GetProperty("results")[0];
        foreach (string field in new[] { "design", "workload", "nsPerOp", "opsPerSecond", "overheadPercent", "causes", "tlb" })
        {
            Assert.True(first.TryGetProperty(field, out _), field);
        }

        Assert.Equal(0.0, first.GetProperty("overheadPercent").GetDouble()); // classic against itself
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(5, lines.Length); // header + 2 designs × 2 workloads
        Assert.StartsWith("design,workload,ops,nsPerOp", lines[0]);
    }

    [Fact]
    public void TheSameSeedGivesTheSameJsonByteForByte()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string a = Path.Combine(dir, "a.json");
        string b = Path.Combine(dir, "b.json");
        Assert.Equal(0, Run("compare", "--preset", "kpti", "--workloads", "null,pipe", "--ops", "20", "--json", a).Code);
        Assert.Equal(0, Run("compare", "--preset", "kpti", "--workloads", "null,pipe", "--ops", "20", "--json", b, "--serial").Code);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
    }

    [Theory]
    [InlineData("--machine", "cortex-z9", "unknown CPU profile 'cortex-z9'")]
    [InlineData("--ram", "12Q", "--ram")]
    [InlineData("--ram", "16K", "out of range")]
    [InlineData("--designs", "classic,warp", "unknown base 'warp'")]
    [InlineData("--designs", "classic,kpti", "kpti exists for")]
    [InlineData("--baseline", "classic+pan", "baseline")]
    [InlineData("--workloads", "null,frob", "unknown")]
    [InlineData("--workloads", "missing.yaml", "cannot read")]
    [InlineData("--workloads", "null,wss:4G", "workload wss:4G: its regions need 4 GiB of user address space; classic on arm-lpae leaves")]
    [InlineData("--seed", "-3", "--seed")]
    [InlineData("--ops", "0", "--ops")]
    [InlineData("--preset", "nope", "unknown preset")]
    [InlineData("--randomize-va-space", "3", "--randomize-va-space: '3' is not 0, 1 or 2")]
    [InlineData("--cpus", "0", "--cpus: '0' is not a CPU count from 1 to 64")]
    [InlineData("--cpus", "65", "--cpus")]
    [InlineData("--cpus", "two", "--cpus")]
    [InlineData("--cpus", "Board", "--cpus: 'Board' is not a CPU count from 1 to 64 nor 'board' (the profile's board)")]
    [InlineData("--workloads", "munmap-mt:0", "the page count must be a whole number from 1 to 1024")]
    [InlineData("--arch", "vax", "--arch")]
    [InlineData("--json", "/nonexistent-dir/r.json", "directory does not exist")]
    public void BadInputIsOneLineAndExitCodeTwo(string option, string value, string fragment)
    {
        List<string> args = ["compare", "--workloads", "null", "--ops", "5"];
        int at = args.IndexOf(option);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.Add(option);
            args.Add(value);
        }

        (int code, string output, string err) = Run(args.ToArray());
        Assert.Equal(2, code);
        Assert.Contains(fragment, err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.DoesNotContain("   at ", err);
        _ = output;
    }

    [Theory]
    [InlineData("cortex-a15", ", arm-lpae, 2 GiB RAM, 3G with highmem, 2 CPUs")]
    [InlineData("skylake", ", x86-64, 2 GiB RAM, 4 CPUs")]
    public void CpusBoardRunsTheCoresOfTheProfilesBoard(string machine, string line)
    {
        (int code, string output, string err) = Run("compare", "--machine", machine, "--designs", "classic", "--workloads", "munmap-mt", "--ops", "10", "--cpus", "board", "--check");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Contains(line, output);
        Assert.Contains("stale 0", output);
    }

    [Fact]
    public void CpusAndCheckReportTheRemoteFlushCausesAndNoStaleTranslation()
    {
        (int code, string output, string err) = Run("compare", "--machine", "skylake", "--designs", "classic,kpti", "--workloads", "munmap-mt", "--ops", "10", "--cpus", "4", "--check");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Contains(", x86-64, 2 GiB RAM, 4 CPUs", output);
        Assert.Contains("CPUs (4): remote flush handlers, flushes skipped by lazy CPUs, lazy catch-up flushes per operation; stale translations found (--check)", output);
        Assert.Contains("munmap-mt 2 / 1 / 1; stale 0", output);
        Assert.Contains("kpti: remote-flush +", output);
    }

    [Theory]
    [InlineData("core2-e6600", "x86-64", "classic,classic+pan", "+pan needs SMAP, which the core2-e6600 CPU")]
    [InlineData("haswell", "x86-64", "classic,classic+pan", "+pan needs SMAP, which the haswell CPU")]
    [InlineData("cortex-a53", "aarch64", "classic,classic+pan", "+pan needs PAN, which the cortex-a53 CPU")]
    [InlineData("core2-e6600", "x86-64", "classic,kpti+pcid", "+pcid needs PCID, which the core2-e6600 CPU")]
    public void ADesignNeedingAFeatureTheCpuLacksIsRefusedInOneLine(string machine, string arch, string designs, string fragment)
    {
        (int code, string output, string err) = Run("compare", "--machine", machine, "--arch", arch, "--designs", designs, "--workloads", "null", "--ops", "5");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(fragment, err);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void AFallbackLinuxTakesSilentlyIsSaidInTheReport()
    {
        string json = Path.Combine(Directory.CreateTempSubdirectory().FullName, "r.json");
        (int code, string output, string err) = Run("compare", "--machine", "core2-e6600", "--arch", "x86-64", "--designs", "classic,kpti", "--workloads", "null", "--ops", "5", "--json", json);
        Assert.True(code == 0, err);
        Assert.Contains("Note: kpti: the core2-e6600 CPU has no PCID; Linux runs PTI without PCIDs", output);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(2, doc.RootElement.GetProperty("notes").GetArrayLength());
    }

    [Fact]
    public void ClassicPanCostsItsStacAndClacOnSkylake()
    {
        (int code, string output, string err) = Run("compare", "--machine", "skylake", "--arch", "x86-64", "--designs", "classic,classic+pan", "--workloads", "null,read1", "--ops", "20");
        Assert.True(code == 0, err);
        Assert.Matches(@"\n  null +[0-9.]+ +[0-9.]+ \(\+0\.0%\)\n", output); // SYSCALL masks AC: no instruction
        Assert.Matches(@"\n  read1 +115\.4 +125\.4 \(\+8\.7%\)\n", output); // one stac/clac pair, 40 cycles at 4 GHz (the mitigations in both)
        Assert.Contains("classic+pan: uaccess-control +10.0", output);
    }

    [Fact]
    public void TheMachineCanBeTheUsersOwnProfileFile()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string file = Path.Combine(dir, "a72-pan.yaml");
        string text = string.Join('\n', Vmsplit.Hardware.Profiles.CpuProfiles.ShippedText("cortex-a72")!.Split('\n').Select(l =>
            l.StartsWith("  pan:", StringComparison.Ordinal) ? "  pan: { value: true, source: \"an ARMv8.1 board\" }"
            : l.StartsWith("  isb:", StringComparison.Ordinal) ? "  msrPan: { value: 2, assumption: \"x\" }\n" + l
            : l));
        File.WriteAllText(file, text);
        (int code, string output, string err) = Run("compare", "--machine", file, "--arch", "aarch64", "--designs", "classic,classic+pan", "--workloads", "null", "--ops", "5");
        Assert.True(code == 0, err);
        Assert.Contains("Note: classic+pan: arm64 Linux copies user memory with LDTR/STTR since 5.11", output);

        File.WriteAllText(file, text.Replace("  pan: { value: true", "  pam: { value: true", StringComparison.Ordinal));
        (code, _, err) = Run("compare", "--machine", file, "--arch", "aarch64", "--workloads", "null", "--ops", "5");
        Assert.Equal(2, code);
        Assert.Matches(@"a72-pan\.yaml:\d+: features\.pam: unknown feature", err);
        Assert.Single(err.TrimEnd().Split('\n'));
    }
}
