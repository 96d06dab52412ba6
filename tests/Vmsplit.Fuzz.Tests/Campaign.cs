using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Vmsplit.Fuzz.Tests;

/// <summary>A property the fuzz harness requires of every input and that this input broke.</summary>
internal sealed class FuzzFinding(string message) : Exception(message);

/// <summary>
/// Runs one fuzz campaign: makes each input from its own seeded generator (so iteration N can be replayed
/// alone), checks it, and collects findings — any exception the check lets through, or a
/// <see cref="FuzzFinding"/> — instead of stopping at the first. The normal test run uses the counts the
/// tests give; <c>FUZZ_ITERATIONS=N</c> runs N inputs per parser (and N/10 per command-line campaign),
/// <c>FUZZ_SEED=S</c> starts from another seed, <c>FUZZ_ARTIFACTS=DIR</c> saves each failing input there.
/// </summary>
internal static partial class Campaign
{
    /// <summary>The longest a single input may take before it counts as unbounded work (Debug build, a loaded machine).</summary>
    public static readonly TimeSpan SlowInput = TimeSpan.FromSeconds(10);

    public static ulong Seed { get; } = ulong.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong s) ? s : 0x5EED_F022UL;

    private static readonly int? s_iterations = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : null;

    /// <summary>Inputs for a parser campaign: <paramref name="normal"/> in the normal test run, or FUZZ_ITERATIONS.</summary>
    public static int Parser(int normal) => s_iterations ?? normal;

    /// <summary>Inputs for a command-line campaign (each runs vmsplit): <paramref name="normal"/>, or FUZZ_ITERATIONS / 10.</summary>
    public static int CommandLine(int normal) => s_iterations is int n ? Math.Max(1, n / 10) : normal;

    public static void Run<T>(ITestOutputHelper output, string name, int iterations, Func<FuzzRandom, T> make, Func<T, string> check, Func<T, string> describe)
    {
        List<string> findings = [];
        Dictionary<string, int> outcomes = new(StringComparer.Ordinal);
        TimeSpan slowest = TimeSpan.Zero;
        long slowestAt = -1;
        Stopwatch all = Stopwatch.StartNew();
        for (long i = 0; i < iterations; i++)
        {
            T input = make(FuzzRandom.For(Seed, name, i));
            Stopwatch one = Stopwatch.StartNew();
            string? problem = null;
            try
            {
                string outcome = check(input);
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
            catch (FuzzFinding f)
            {
                problem = f.Message;
            }
            catch (Exception e)
            {
                problem = $"{e.GetType().Name} escaped: {Flat(e.Message)} at {Flat(e.StackTrace ?? "").Split(" at ").Skip(1).FirstOrDefault()}";
            }

            one.Stop();
            if (one.Elapsed > slowest)
            {
                (slowest, slowestAt) = (one.Elapsed, i);
            }

            if (problem is null && one.Elapsed > SlowInput)
            {
                problem = $"took {one.Elapsed.TotalSeconds:F1} s";
            }

            if (problem is not null)
            {
                findings.Add($"{name} #{i}: {problem} -- input: {Show(describe(input))}");
                Save(name, i, input);
            }
        }

        output.WriteLine($"{name}: {iterations} inputs in {all.Elapsed.TotalSeconds:F1} s (seed {Seed}); " +
            string.Join(", ", outcomes.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value}")) +
            $"; slowest #{slowestAt} {slowest.TotalMilliseconds:F0} ms; findings {findings.Count}");
        if (findings.Count > 0)
        {
            Assert.Fail($"{findings.Count} finding(s) in {iterations} inputs (FUZZ_SEED={Seed}):\n" + string.Join('\n', findings.Take(12)));
        }
    }

    /// <summary>
    /// The outcome of one parse: "accepted", or "refused" when the loader threw its own exception type
    /// with a one-line message that starts with the source (and the line, for everything but whole-file
    /// problems). Anything else escapes to <see cref="Run"/> as a finding.
    /// </summary>
    public static string Parse<TError>(string source, Action parse)
        where TError : Exception
    {
        try
        {
            parse();
            return "accepted";
        }
        catch (TError e)
        {
            Located(e.Message, source);
            return "refused";
        }
    }

    public static void Located(string message, string source)
    {
        if (message.Contains('\n') || message.Contains('\r') || message.Contains('\u2028') || message.Contains('\u0085'))
        {
            throw new FuzzFinding($"the error spans lines: {Show(message)}");
        }

        if (!message.StartsWith(source + ":", StringComparison.Ordinal))
        {
            throw new FuzzFinding($"the error does not start with '{source}:': {Show(message)}");
        }

        string rest = message[(source.Length + 1)..];
        if (!LinePattern().IsMatch(rest) && !rest.StartsWith(" larger than", StringComparison.Ordinal) && !rest.StartsWith(" invalid UTF-", StringComparison.Ordinal))
        {
            throw new FuzzFinding($"the error names no line: {Show(message)}");
        }

        if (message.Length > 1200)
        {
            throw new FuzzFinding($"the error is {message.Length} characters long: {Show(message)}");
        }
    }

    /// <summary>Checks one command line's result: exit 0, or 2 with one line on standard error; never 1 (internal error) or an escaped exception.</summary>
    public static string Exit((int Code, string Out, string Err) result)
    {
        (int code, _, string err) = result;
        if (code == 0)
        {
            return "exit 0";
        }

        if (code != 2)
        {
            throw new FuzzFinding($"exit {code}: {Show(err)}");
        }

        string line = err.EndsWith('\n') ? err[..^1] : err;
        if (!line.StartsWith("vmsplit: ", StringComparison.Ordinal) || line.Contains('\n') || line.Contains('\r'))
        {
            throw new FuzzFinding($"exit 2 without one 'vmsplit: ' line: {Show(err)}");
        }

        return "exit 2";
    }

    public static string Show(string s)
    {
        string flat = Flat(s);
        return flat.Length <= 300 ? flat : flat[..300] + $"... ({s.Length} characters)";
    }

    private static string Flat(string s)
    {
        StringBuilder b = new(Math.Min(s.Length, 2000));
        foreach (char c in s.Length > 2000 ? s[..2000] : s)
        {
            b.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return b.ToString();
    }

    private static void Save<T>(string name, long i, T input)
    {
        if (Environment.GetEnvironmentVariable("FUZZ_ARTIFACTS") is not string dir || dir.Length == 0)
        {
            return;
        }

        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"{name}-{i}");
        switch (input)
        {
            case FuzzInput f:
                File.WriteAllBytes(path + ".yaml", f.ToBytes());
                break;
            case string[] args:
                File.WriteAllLines(path + ".args", args);
                break;
            default:
                File.WriteAllText(path + ".txt", input?.ToString() ?? "");
                break;
        }
    }

    [GeneratedRegex(@"^\d+: ")]
    private static partial Regex LinePattern();
}
