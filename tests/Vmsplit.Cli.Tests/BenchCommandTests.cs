using System.Globalization;
using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary><c>vmsplit bench</c> on a tiny budget: the rows, the JSON's fields and types, and every bad input. No timing assertions.</summary>
public sealed class BenchCommandTests
{
    private static readonly string[] s_rows =
    [
        "tlb-lookup-hit",
        "mmu-translate-hit",
        "walk-x86-64",
        "walk-arm-lpae",
        "mmu-translate-miss-walk",
        "mmu-translate-miss-walk-traced",
        "syscall-null-classic-skylake",
        "syscall-null-kpti-skylake",
        "syscall-null-classic-cortex-a15",
        "syscall-null-4g4g+pin-kmap-cortex-a15",
    ];

    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vmsplit-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void TextAndJsonReportTheSameRows()
    {
        string dir = TempDir();
        try
        {
            string json = Path.Combine(dir, "bench.json");
            (int code, string output, string err) = CliHarness.Run("bench", "--seconds", "0.2", "--json", json);
            Assert.Equal(0, code);
            Assert.Equal("", err);
            Assert.StartsWith("vmsplit bench: 10 measurements in a 0.2 s budget, one thread\nHost: ", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
            Assert.Contains("These are wall-clock figures of this host, single thread", output, StringComparison.Ordinal);
            Assert.Contains("how they compare with the figures in docs/performance.md is up to the reader.", output, StringComparison.Ordinal);
            Assert.Single(Directory.GetFiles(dir)); // the atomic write left no temporary file

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement root = doc.RootElement;
            JsonElement host = root.GetProperty("host");
            Assert.True(host.GetProperty("processorCount").GetInt32() >= 1);
            Assert.Equal(JsonValueKind.String, host.GetProperty("osDescription").ValueKind);
            Assert.StartsWith(".NET ", host.GetProperty("dotnetVersion").GetString(), StringComparison.Ordinal);
            Assert.Equal(JsonValueKind.String, host.GetProperty("architecture").ValueKind);
            Assert.Contains(host.GetProperty("cpuModel").ValueKind, new[] { JsonValueKind.String, JsonValueKind.Null });
            Assert.Contains(host.GetProperty("optimizedBuild").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
            Assert.Equal(0.2, root.GetProperty("seconds").GetDouble());

            JsonElement[] results = root.GetProperty("results").EnumerateArray().ToArray();
            Assert.Equal(s_rows, results.Select(x => x.GetProperty("name").GetString()));
            string[] lines = output.ReplaceLineEndings("\n").Split('\n');
            foreach (JsonElement x in results)
            {
                string name = x.GetProperty("name").GetString()!;
                Assert.Equal(["name", "unit", "operations", "elapsedSeconds", "opsPerSecond", "nsPerOp"], x.EnumerateObject().Select(p => p.Name));
                Assert.Equal(name.StartsWith("syscall", StringComparison.Ordinal) ? "syscall" : name.StartsWith("walk", StringComparison.Ordinal) ? "walk" : name == "tlb-lookup-hit" ? "lookup" : "translation", x.GetProperty("unit").GetString());
                Assert.True(x.GetProperty("operations").TryGetInt64(out long ops) && ops > 0, name);
                double elapsed = x.GetProperty("elapsedSeconds").GetDouble();
                double perSecond = x.GetProperty("opsPerSecond").GetDouble();
                Assert.True(elapsed > 0, name);
                Assert.Equal(ops / elapsed, perSecond, 1e-9 * perSecond);
                Assert.Equal(elapsed * 1e9 / ops, x.GetProperty("nsPerOp").GetDouble(), 1e-9 * elapsed * 1e9 / ops);

                // The table row names the same measurement with the same operation count.
                string row = Assert.Single(lines, l => l.StartsWith("  " + name + " ", StringComparison.Ordinal));
                Assert.Contains(" " + ops.ToString("N0", CultureInfo.InvariantCulture) + " ", row, StringComparison.Ordinal);
                Assert.Single(lines, l => l.StartsWith("  " + name + ": ", StringComparison.Ordinal)); // its description
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void HelpSaysTheFiguresAreNotDeterministic()
    {
        (int code, string output, _) = CliHarness.Run("bench", "--help");
        Assert.Equal(0, code);
        Assert.Contains("differ from run to run", output, StringComparison.Ordinal);
        Assert.Contains("--seconds", output, StringComparison.Ordinal);
        Assert.Contains("--json", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", "--seconds: 0 is not positive")]
    [InlineData("-1", "--seconds: -1 is not positive")]
    [InlineData("abc", "--seconds: 'abc' is not a number")]
    [InlineData("NaN", "--seconds: 'NaN' is not a number")]
    [InlineData("Infinity", "--seconds: 'Infinity' is not a number")]
    [InlineData("1,5", "--seconds: '1,5' is not a number")]
    [InlineData("0.01", "--seconds: 0.01 is outside 0.05 to 600")]
    [InlineData("600.5", "--seconds: 600.5 is outside 0.05 to 600")]
    public void BadSecondsIsOneLineWithExitTwoAndNoFile(string seconds, string message)
    {
        string dir = TempDir();
        try
        {
            string json = Path.Combine(dir, "bench.json");
            (int code, string output, string err) = CliHarness.Run("bench", "--seconds", seconds, "--json", json);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Equal("vmsplit: " + message + "\n", err.ReplaceLineEndings("\n"));
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void BadJsonPathIsOneLineWithExitTwoAndNoFile()
    {
        string dir = TempDir();
        try
        {
            string missing = Path.Combine(dir, "no-such-dir", "bench.json");
            (int code, string output, string err) = CliHarness.Run("bench", "--seconds", "0.05", "--json", missing);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Equal($"vmsplit: --json: cannot write {missing}: directory does not exist\n", err.ReplaceLineEndings("\n"));

            (code, output, err) = CliHarness.Run("bench", "--seconds", "0.05", "--json", dir);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Equal($"vmsplit: --json: {dir} is a directory\n", err.ReplaceLineEndings("\n"));
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void UnknownOptionIsAUsageError()
    {
        (int code, string output, string err) = CliHarness.Run("bench", "--secs", "1");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(err.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
    }
}
