namespace Vmsplit.Cli.Tests;

/// <summary><c>vmsplit report</c> and <c>compare --report</c>: one deterministic, self-contained HTML file.</summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vmsplit-reportcli-" + Guid.NewGuid().ToString("N"));

    public ReportCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void CompareReportEqualsTheReportOfItsJsonAndIsSelfContained()
    {
        string json = Path.Combine(_dir, "c.json");
        string direct = Path.Combine(_dir, "direct.html");
        Assert.Equal(0, CliHarness.Run("compare", "--ops", "5", "--designs", "classic,4g4g+hybrid", "--workloads", "null,pipe", "--json", json, "--report", direct).Code);
        (int code, string output, _) = CliHarness.Run("report", json, "--out", Path.Combine(_dir, "later.html"));
        Assert.Equal(0, code);
        Assert.Contains("wrote the report of", output, StringComparison.Ordinal);
        string html = File.ReadAllText(direct);
        Assert.Equal(html, File.ReadAllText(Path.Combine(_dir, "later.html")));
        Assert.DoesNotContain("src=\"http", html, StringComparison.Ordinal); // plotly.js is inside, nothing is fetched
        Assert.Contains("Plotly.newPlot('overhead'", html, StringComparison.Ordinal);
        Assert.Contains("\"barmode\":\"stack\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ASweepReportNamesItsCrossoversAndRefusals()
    {
        string sweep = Path.Combine(_dir, "x.yaml");
        File.WriteAllText(sweep, "name: x\nmachines: [cortex-a15]\ndesigns: [classic, 4g4g+hybrid, kpti]\nram: [1G, 2G]\nworkloads: [null]\nops: [20]\n");
        Assert.Equal(0, CliHarness.Run("sweep", sweep, "--out", Path.Combine(_dir, "r")).Code);
        Assert.Equal(0, CliHarness.Run("report", Path.Combine(_dir, "r"), "--out", Path.Combine(_dir, "r.html")).Code);
        string html = File.ReadAllText(Path.Combine(_dir, "r.html"));
        Assert.Contains("<h1>vmsplit sweep: x</h1>", html, StringComparison.Ordinal);
        Assert.Contains("refused 2 runs: design &#39;kpti&#39;", html, StringComparison.Ordinal);
        Assert.Contains("no crossover along RAM (bytes): 4g4g+hybrid is slower than classic at every point", html, StringComparison.Ordinal);
    }

    [Fact]
    public void BadResultsAreOneLineAndExitTwo()
    {
        string bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, "{\"x\": 1}");
        (int code, _, string err) = CliHarness.Run("report", bad, "--out", Path.Combine(_dir, "o.html"));
        Assert.Equal(2, code);
        Assert.Equal($"vmsplit: {bad}: not the JSON of vmsplit compare (no results and budget)\n", err.ReplaceLineEndings("\n"));
        Assert.False(File.Exists(Path.Combine(_dir, "o.html")));
    }
}
