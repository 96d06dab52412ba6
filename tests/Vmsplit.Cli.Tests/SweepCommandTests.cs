namespace Vmsplit.Cli.Tests;

/// <summary><c>vmsplit sweep</c> and <c>vmsplit merge</c> on the command line: bad input is one line and exit 2.</summary>
public sealed class SweepCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vmsplit-sweepcli-" + Guid.NewGuid().ToString("N"));

    public SweepCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void ASweepWithTwoCpusIsRefusedUntilMultiCpuLands()
    {
        string f = Write("two.yaml", "machines: [skylake]\ndesigns: [classic]\nram: [2G]\nworkloads: [null]\ncpus: [2]\n");
        (int code, string output, string err) = CliHarness.Run("sweep", f, "--out", Path.Combine(_dir, "o"));
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: {f}:5: cpus: 2 CPUs: the model runs one CPU today (no SMP, no shootdown IPIs); only cpus: [1] is accepted until multi-CPU lands\n", err.ReplaceLineEndings("\n"));
        Assert.False(Directory.Exists(Path.Combine(_dir, "o")));
    }

    [Theory]
    [InlineData("--shard", "4/4", "--shard: '4/4' is not K/N with 0 <= K < N <= 100000")]
    [InlineData("--shard", "1", "--shard: '1' is not K/N")]
    [InlineData("--jobs", "0", "--jobs: '0' is not an integer in [1, 1024]")]
    [InlineData("--out", "-", "--out: give a directory ('-' is not one)")]
    public void BadOptionsAreOneLineAndExitTwo(string option, string value, string expected)
    {
        string f = Write("ok.yaml", "machines: [skylake]\ndesigns: [classic]\nram: [2G]\nworkloads: [null]\nops: [5]\n");
        List<string> args = ["sweep", f, option, value];
        if (option != "--out")
        {
            args.AddRange(["--out", Path.Combine(_dir, "o")]);
        }

        (int code, _, string err) = CliHarness.Run([.. args]);
        Assert.Equal(2, code);
        Assert.StartsWith("vmsplit: " + expected, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void AMissingSweepFileNamesIt()
    {
        (int code, _, string err) = CliHarness.Run("sweep", Path.Combine(_dir, "none.yaml"), "--out", Path.Combine(_dir, "o"));
        Assert.Equal(2, code);
        Assert.StartsWith($"vmsplit: {Path.Combine(_dir, "none.yaml")}: cannot read", err, StringComparison.Ordinal);
    }

    [Fact]
    public void SweepThenShardsThenMergeAreByteIdenticalThroughTheCommandLine()
    {
        string smoke = RepoFiles.PathOf("sweeps/smoke.yaml");
        Assert.Equal(0, CliHarness.Run("sweep", smoke, "--out", Path.Combine(_dir, "all"), "--jobs", "2").Code);
        List<string> merge = ["merge"];
        for (int k = 0; k < 3; k++)
        {
            (int code, string output, _) = CliHarness.Run("sweep", smoke, "--out", Path.Combine(_dir, $"s{k}"), "--shard", $"{k}/3", "--jobs", "1");
            Assert.Equal(0, code);
            Assert.Contains($"(shard {k}/3: runs ", output, StringComparison.Ordinal);
            merge.Add(Path.Combine(_dir, $"s{k}"));
        }

        Assert.Equal(0, CliHarness.Run([.. merge, "--out", Path.Combine(_dir, "m")]).Code);
        foreach (string f in new[] { "runs.csv", "runs.parquet", "sweep.json" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "all", f)), File.ReadAllBytes(Path.Combine(_dir, "m", f)));
        }

        (int c2, _, string e2) = CliHarness.Run("merge", Path.Combine(_dir, "s0"), "--out", Path.Combine(_dir, "m2"));
        Assert.Equal(2, c2);
        Assert.Equal("vmsplit: shard 1/3 is missing (give the directories of all 3 shards)\n", e2.ReplaceLineEndings("\n"));
    }
}

/// <summary>The shipped example sweeps parse and have the run counts docs/sweeps.md states.</summary>
public sealed class ExampleSweepTests
{
    [Theory]
    [InlineData("sweeps/4g4g-crossover.yaml", 147, "classic")]
    [InlineData("sweeps/kpti-wss.yaml", 45, "classic")]
    [InlineData("sweeps/4g4g-wss.yaml", 24, "classic")]
    [InlineData("sweeps/smoke.yaml", 12, "classic")]
    public void TheExampleSweepsParse(string file, long runs, string baseline)
    {
        Lab.Sweep.SweepSpec s = Lab.Sweep.SweepFile.Load(RepoFiles.PathOf(file));
        Assert.Equal(runs, s.Runs);
        Assert.Equal(baseline, s.Baseline);
        if (file != "sweeps/smoke.yaml")
        {
            Assert.Contains($"{runs} runs", RepoFiles.Read("docs/sweeps.md"), StringComparison.Ordinal);
        }
    }
}
