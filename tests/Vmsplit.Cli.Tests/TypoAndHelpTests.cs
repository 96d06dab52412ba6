using System.CommandLine;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Cli.Tests;

/// <summary>Typos get a suggestion, a command group lists its subcommands, every --help ends with examples that run.</summary>
public class TypoAndHelpTests
{
    [Theory]
    [InlineData(new[] { "compre" }, "vmsplit: unknown command 'compre' for 'vmsplit'; did you mean 'compare'? ('vmsplit --help' lists them)")]
    [InlineData(new[] { "profile", "sohw", "skylake" }, "vmsplit: unknown command 'sohw' for 'vmsplit profile'; did you mean 'show'? ('vmsplit profile --help' lists them)")]
    [InlineData(new[] { "compare", "--desings", "classic" }, "vmsplit: unknown option '--desings' for 'vmsplit compare'; did you mean '--designs'? ('vmsplit compare --help' lists its options)")]
    [InlineData(new[] { "tlb", "--fromat", "json" }, "vmsplit: unknown option '--fromat' for 'vmsplit tlb'; did you mean '--format'? ('vmsplit tlb --help' lists its options)")]
    [InlineData(new[] { "compare", "--machine", "skylak" }, "vmsplit: --machine: unknown CPU profile 'skylak' (known: arm1136, atom-n270, core2-e6600, cortex-a15, cortex-a17, cortex-a53, cortex-a7, cortex-a72, cortex-a8, cortex-a9, haswell, pentium4-xeon, sifive-u74, skylake; or a profile file such as ./my-board.yaml); did you mean 'skylake'?")]
    [InlineData(new[] { "compare", "--designs", "clasic", "--workloads", "null" }, "vmsplit: design 'clasic': unknown base 'clasic' (use classic, kpti, 4g4g or x86-4g4g); did you mean 'classic'?")]
    [InlineData(new[] { "compare", "--preset", "kpit" }, "vmsplit: --preset: unknown preset 'kpit' (use seeds or kpti); did you mean 'kpti'?")]
    [InlineData(new[] { "compare", "--arch", "aarch46" }, "vmsplit: --arch: unknown architecture 'aarch46' (expected one of: arm, arm-lpae, aarch64, x86-32, x86-pae, x86-64, x86-64-la57, riscv-sv32, riscv-sv39, riscv-sv48, riscv-sv57); did you mean 'aarch64'?")]
    [InlineData(new[] { "profile", "show", "cortex-a51" }, "vmsplit: profile show: unknown profile 'cortex-a51' (known: arm1136, atom-n270, core2-e6600, cortex-a15, cortex-a17, cortex-a53, cortex-a7, cortex-a72, cortex-a8, cortex-a9, haswell, pentium4-xeon, sifive-u74, skylake); did you mean 'cortex-a15', 'cortex-a53' or 'cortex-a17'?")]
    [InlineData(new[] { "validate", "--only", "hansen-flush-3" }, "vmsplit: --only: no datapoint 'hansen-flush-3' (known: ")]
    public void ATypoGetsTheNearestNames(string[] args, string message)
    {
        (int code, string output, string err) = CliHarness.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith(message, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void WorkloadAndDesignOptionTyposGetSuggestionsToo()
    {
        Assert.EndsWith("; did you mean 'null'?\n", CliHarness.Run("compare", "--workloads", "nul").Err.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.EndsWith("; did you mean 'nopcid'?\n", CliHarness.Run("compare", "--preset", "kpti", "--designs", "classic,kpti+nopicd").Err.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("did you mean 'hansen-flush-1', 'hansen-flush-2' or 'hansen-flush-4'?", CliHarness.Run("validate", "--only", "hansen-flush-3").Err);
    }

    [Fact]
    public void ANameFarFromEveryKnownOneGetsNoSuggestion()
    {
        (_, _, string err) = CliHarness.Run("frobnicate");
        Assert.Equal("vmsplit: unknown command 'frobnicate' for 'vmsplit' ('vmsplit --help' lists them)\n", err.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("compre", "compare", 1)]
    [InlineData("ab", "ba", 1)]
    [InlineData("sohw", "show", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    public void DistanceCountsEditsAndAdjacentSwaps(string a, string b, int distance)
    {
        Assert.Equal(distance, Suggestions.Distance(a, b));
        Assert.Equal(distance, Suggestions.Distance(b, a));
    }

    [Fact]
    public void AGroupWithoutASubcommandListsItsSubcommands()
    {
        (int code, string output, string err) = CliHarness.Run("profile");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Equal(
            "vmsplit profile: CPU profiles: TLB geometry, ASID width and primitive costs, each with its source.\n\nSubcommands:\n"
            + "  list  List the shipped CPU profiles.\n"
            + "  show  Show one CPU profile: geometry, costs, and the source or assumption behind every number (--format yaml prints the file, to copy and edit).\n\n"
            + "Run 'vmsplit profile COMMAND --help' for a command's options.\n\nExamples:\n  vmsplit profile list\n  vmsplit profile show skylake\n",
            output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void VmsplitAloneListsItsCommands()
    {
        (int code, string output, _) = CliHarness.Run();
        Assert.Equal(0, code);
        foreach (string command in new[] { "compare", "audit", "validate", "walk", "layout", "tlb", "profile", "bench", "causes" })
        {
            Assert.Matches($"\n  {command} +[A-Z]", output);
        }
    }

    public static TheoryData<string> CommandPaths()
    {
        TheoryData<string> data = [];
        foreach (string path in AllPaths(VmsplitCli.Build(TextWriter.Null), ""))
        {
            data.Add(path);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void EveryHelpEndsWithTwoOrThreeExamples(string path)
    {
        (int code, string output, string err) = CliHarness.Run([.. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);
        Assert.True(code == 0, err);
        string[] examples = HelpExamples.ByCommand[path];
        Assert.InRange(examples.Length, 2, 3);
        Assert.EndsWith("Examples:\n" + string.Concat(examples.Select(e => $"  {e}\n")), output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    public static TheoryData<string> Examples()
    {
        TheoryData<string> data = [];
        foreach (string e in HelpExamples.ByCommand.Values.SelectMany(e => e).Distinct())
        {
            data.Add(e);
        }

        return data;
    }

    // Every example parses and runs. Simulations are shortened where the example leaves their length to the
    // defaults (compare: --ops 5, bench: the shortest budget); the command line is the example's otherwise.
    [Theory]
    [MemberData(nameof(Examples))]
    public void EveryExampleRuns(string example)
    {
        List<string> args = [.. example.Split(' ').Skip(1)];
        Assert.Equal("vmsplit", example.Split(' ')[0]);
        if (args[0] == "compare" && !args.Contains("--ops"))
        {
            args.AddRange(["--ops", "5"]);
        }

        if (args[0] == "bench")
        {
            int at = args.IndexOf("--seconds");
            if (at >= 0)
            {
                args.RemoveRange(at, 2);
            }

            args.AddRange(["--seconds", "0.05"]);
        }

        // sweep and merge read the repository's sweep files and write results/ under a temporary directory;
        // merge's shards are swept first
        string results = Path.Combine(Path.GetTempPath(), "vmsplit-example-" + Guid.NewGuid().ToString("N"));
        args = [.. args.Select(a => a.StartsWith("sweeps/", StringComparison.Ordinal) || a.StartsWith("tests/traces/", StringComparison.Ordinal) ? RepoFiles.PathOf(a) : a.StartsWith("results/", StringComparison.Ordinal) ? Path.Combine(results, a) : a)];
        if (args[0] == "merge")
        {
            for (int k = 0; k < 4; k++)
            {
                Directory.CreateDirectory(Path.Combine(results, "results"));
                Assert.Equal(0, CliHarness.Run("sweep", RepoFiles.PathOf("sweeps/smoke.yaml"), "--out", Path.Combine(results, "results", $"smoke-{k}"), "--shard", $"{k}/4").Code);
            }
        }

        if (args[0] == "report")
        {
            Directory.CreateDirectory(Path.Combine(results, "results"));
            Assert.Equal(0, CliHarness.Run("sweep", RepoFiles.PathOf("sweeps/smoke.yaml"), "--out", Path.Combine(results, "results", "smoke")).Code);
            Assert.Equal(0, CliHarness.Run("compare", "--ops", "5", "--workloads", "null,pipe", "--format", "json", "--output", Path.Combine(results, "results", "compare.json")).Code);
        }

        (int code, string output, string err) = CliHarness.Run([.. args]);
        if (Directory.Exists(results))
        {
            Directory.Delete(results, recursive: true);
        }

        Assert.True(code == 0, $"{example}: {err}");
        Assert.NotEqual("", output);
    }

    private static IEnumerable<string> AllPaths(Command command, string path)
    {
        yield return path;
        foreach (Command sub in command.Subcommands)
        {
            foreach (string p in AllPaths(sub, path.Length == 0 ? sub.Name : path + " " + sub.Name))
            {
                yield return p;
            }
        }
    }
}
