using System.Text;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Vmsplit.Lab.Replay;
using Vmsplit.Workloads;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// The replay under fuzzed traces that still parse: lines of the repository's strace and lackey traces picked in any
/// order, their numbers (pids, descriptors, sizes, results, addresses) replaced by edge values, then replayed on a
/// booted kernel. Every input must end in a report or in a one-line <see cref="WorkloadException"/> or
/// <see cref="LabException"/> (a trace that does not fit the machine), never another exception.
/// </summary>
public partial class ReplayFuzzTests
{
    private const ulong Seed = 0x4E_7A1A_2026;

    private static readonly Lazy<string[]> s_strace = new(() =>
        [.. new[] { "tests/traces/strace/gzip.strace.gz", "tests/traces/strace/pipeline.strace.gz", "tests/traces/strace/perl.strace.zst", "tests/traces/hand/small.strace" }.SelectMany(LinesOf)]);

    private static readonly Lazy<string[]> s_lackey = new(() => [.. LinesOf("tests/traces/hand/small.lackey").Where(l => !l.StartsWith("==", StringComparison.Ordinal))]);

    private static readonly string[] Numbers =
    [
        "0", "1", "2", "3", "-1", "4096", "4097", "65536", "1048576", "1048577", "2147483647", "2147483648", "4294967295", "4294967296",
        "9223372036854775807", "-9223372036854775808", "0x0", "0x1", "0x7fffffffffff", "0xffffffffffffffff", "0x8000000000000000", "0x1fff000000",
        "99999999", "100", "101", "102",
    ];

    [GeneratedRegex("-?(0x[0-9a-fA-F]+|[0-9]+)")]
    private static partial Regex NumberPattern();

    private static Gen<string> Case(Lazy<string[]> corpus) =>
        from count in Gen.Choose(1, 40)
        from picks in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), count)
        from edits in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), count)
        from values in Gen.ArrayOf(Gen.Choose(0, Numbers.Length - 1), count)
        select Build(corpus.Value, picks, edits, values);

    // each picked line has, one time in three, one of its numbers replaced by an edge value
    private static string Build(string[] corpus, int[] picks, int[] edits, int[] values)
    {
        StringBuilder sb = new();
        for (int i = 0; i < picks.Length; i++)
        {
            string line = corpus[picks[i] % corpus.Length];
            MatchCollection numbers = NumberPattern().Matches(line);
            if (edits[i] % 3 == 0 && numbers.Count > 0)
            {
                Match m = numbers[edits[i] / 3 % numbers.Count];
                line = line[..m.Index] + Numbers[values[i]] + line[(m.Index + m.Length)..];
            }

            sb.Append(line).Append('\n');
        }

        return sb.ToString();
    }

    [Fact]
    public void FuzzedStraceTracesReplayOrFailInOneLine() => ForAll(Case(s_strace), text => Holds(text, "fuzz.strace", TraceFormat.Strace), 120);

    [Fact]
    public void FuzzedLackeyTracesReplayOrFailInOneLine() => ForAll(Case(s_lackey), text => Holds(text, "fuzz.lackey", TraceFormat.Lackey), 120);

    private static bool Holds(string text, string name, TraceFormat format)
    {
        string dir = Directory.CreateTempSubdirectory("vmsplit-replay-fuzz").FullName;
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        try
        {
            ReplayReport r = TraceReplay.Run(new ReplayOptions(MachineSpec.SkylakeX86(), ["classic", "kpti"], "classic", path, format) { Parallel = false, UserWss = 8192 });
            return r.Runs.Count == 2;
        }
        catch (Exception e) when (e is WorkloadException or LabException)
        {
            return e.Message.Length > 0 && !e.Message.Contains('\n');
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // FUZZ_ITERATIONS and FUZZ_SEED as in the fuzz harness (docs/fuzzing.md): more cases per property, other cases
    private static void ForAll<T>(Gen<T> generator, Func<T, bool> property, int maxTest)
    {
        FsCheck.Replay replay = new(new Rnd(Seed ^ (ulong.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out ulong seed) ? seed : 0), 0x9E37_79B9_7F4A_7C15UL), FSharpOption<int>.None);
        Config config = Config.QuickThrowOnFailure.WithMaxTest(int.TryParse(Environment.GetEnvironmentVariable("FUZZ_ITERATIONS"), out int n) && n > 0 ? n : maxTest).WithReplay(FSharpOption<FsCheck.Replay>.Some(replay));
        Check.One(config, Prop.ForAll(generator.ToArbitrary(), property));
    }

    private static IEnumerable<string> LinesOf(string relative)
    {
        string path = RepoPath(relative);
        (Stream data, _, _) = TraceFile.Open(path);
        using StreamReader reader = new(data, Encoding.Latin1);
        while (reader.ReadLine() is string line)
        {
            yield return line;
        }
    }

    private static string RepoPath(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Vmsplit.slnx")))
            {
                return Path.Combine(d.FullName, relative);
            }
        }

        throw new InvalidOperationException("Vmsplit.slnx not found");
    }
}
