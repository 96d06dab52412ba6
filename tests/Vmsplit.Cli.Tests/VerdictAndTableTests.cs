using System.Globalization;
using System.Text.Json;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;

namespace Vmsplit.Cli.Tests;

/// <summary>compare's verdict and trust line come from its numbers; its tables fit the width.</summary>
public class VerdictAndTableTests
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    [Fact]
    public void TheVerdictSaysWhatTheNumbersSay()
    {
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic,4g4g+pin-kmap", "--workloads", "null,read1,pipe,fork-exit", "--ops", "20", "--format", "json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        Dictionary<(string, string), double> ns = root.GetProperty("results").EnumerateArray()
            .ToDictionary(r => (r.GetProperty("design").GetString()!, r.GetProperty("workload").GetString()!), r => r.GetProperty("nsPerOp").GetDouble());
        string[] workloads = ["null", "read1", "pipe", "fork-exit"];
        List<(string W, double P)> overhead = [.. workloads.Select(w => (w, 100 * (ns[("4g4g+pin-kmap", w)] - ns[("classic", w)]) / ns[("classic", w)]))];
        string P(double p) => (p >= 0 ? "+" : "") + p.ToString("F1", s_inv) + " %";
        List<string> pays = [.. overhead.Where(o => o.P > 1).OrderByDescending(o => o.P).Select(o => $"{o.W} ({P(o.P)})")];
        List<string> wins = [.. overhead.Where(o => o.P < -1).OrderBy(o => o.P).Select(o => $"{o.W} ({P(o.P)})")];
        Assert.Equal(2, pays.Count); // null and read1 pay, pipe and fork-exit gain: the seeds' picture
        Assert.Equal(2, wins.Count);

        JsonElement budget0 = root.GetProperty("budget")[0];
        JsonElement budget1 = root.GetProperty("budget")[1];
        ulong userDelta = budget1.GetProperty("userBytes").GetUInt64() - budget0.GetProperty("userBytes").GetUInt64();
        JsonElement v = root.GetProperty("verdicts")[1];
        string text = v.GetProperty("text").GetString()!;
        Assert.StartsWith($"4g4g+pin-kmap buys {ByteSize.Human(userDelta)} more user address space (3.75 GiB), all 2 GiB of RAM as lowmem (no highmem), ", text, StringComparison.Ordinal);
        Assert.Contains($"It costs {P(overhead.Min(o => o.P))} to {P(overhead.Max(o => o.P))} per operation, most on {pays[0]} and {pays[1]}, chiefly pinning; it wins on {wins[0]} and {wins[1]}.", text);
        Assert.Equal((long)userDelta, v.GetProperty("userBytesDelta").GetInt64());
        Assert.Equal(-(long)budget0.GetProperty("highmemBytes").GetUInt64(), v.GetProperty("highmemBytesDelta").GetInt64());
        Assert.Equal("pinning", v.GetProperty("mainCause").GetString());
        Assert.True(root.GetProperty("verdicts")[0].GetProperty("baseline").GetBoolean());
        Assert.StartsWith("classic is the baseline: 2.98 GiB of user address space, 768 MiB of lowmem and 1.25 GiB of highmem", root.GetProperty("verdicts")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheTrustLineCountsTheAssumedValuesBehindTheOverheadsAndSummarisesValidate()
    {
        (int code, string output, string err) = CliHarness.Run("compare", "--machine", "skylake", "--designs", "classic,kpti", "--workloads", "null,pipe", "--ops", "20", "--format", "json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement trust = doc.RootElement.GetProperty("trust");
        Assert.Contains("root-register-write", trust.GetProperty("drivers").EnumerateArray().Select(d => d.GetString()));

        // each value's kind is the profile's own
        using JsonDocument profile = JsonDocument.Parse(CliHarness.Run("profile", "show", "skylake", "--format", "json").Out);
        Dictionary<string, bool> assumed = profile.RootElement.GetProperty("values").EnumerateArray()
            .ToDictionary(e => e.GetProperty("field").GetString()!, e => e.TryGetProperty("assumption", out _));
        List<JsonElement> values = [.. trust.GetProperty("values").EnumerateArray()];
        Assert.Contains(values, x => x.GetProperty("field").GetString() == "costs.cr3WriteNoFlush");
        Assert.All(values, x => Assert.Equal(assumed[x.GetProperty("field").GetString()!], x.GetProperty("assumption").GetBoolean()));
        int count = values.Count(x => x.GetProperty("assumption").GetBoolean());
        Assert.Equal(count, trust.GetProperty("assumed").GetInt32());

        // the validation part is what validate --arch x86-64 says
        using JsonDocument validate = JsonDocument.Parse(CliHarness.Run("validate", "--arch", "x86-64", "--format", "json").Out);
        List<JsonElement> results = [.. validate.RootElement.GetProperty("results").EnumerateArray()];
        JsonElement v = trust.GetProperty("validation");
        Assert.Equal(results.Count, v.GetProperty("datapoints").GetInt32());
        int within = results.Count(r => r.GetProperty("within").GetBoolean());
        Assert.Equal(within, v.GetProperty("within").GetInt32());
        string text = trust.GetProperty("text").GetString()!;
        Assert.Contains($"{count} of the {values.Count} profile values that can price them {(count == 1 ? "is an assumption" : "are assumptions")}", text);
        Assert.Contains($"vmsplit validate on x86-64: {within} of {results.Count} published measurements within ±25 %", text);
    }

    [Fact]
    public void TheTextReportEndsWithVerdictsAndTheTrustLine()
    {
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic,4g4g+hybrid", "--workloads", "null", "--ops", "5");
        Assert.True(code == 0, err);
        string text = output.ReplaceLineEndings("\n");
        int verdict = text.IndexOf("\nVerdict\n  classic is the baseline: ", StringComparison.Ordinal);
        int trust = text.IndexOf("\nTrust\n  The largest overheads come from ", StringComparison.Ordinal);
        Assert.True(verdict > 0 && trust > verdict, text);
        Assert.Contains("\n  4g4g+hybrid buys ", text[verdict..trust]);
        Assert.EndsWith("vmsplit validate has no published measurement for arm-lpae to check the model against.\n", text.Replace("\n    ", " ", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void ManyDesignsFitAHundredColumnsWithoutATerminal()
    {
        string designs = "classic,classic+pan,classic+kimage-vmalloc,4g4g,4g4g+pin-kmap,4g4g+hybrid,4g4g+trampoline,4g4g+ttbr0-switch";
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", designs, "--workloads", "null,pipe", "--ops", "2");
        Assert.True(code == 0, err);
        string[] lines = output.ReplaceLineEndings("\n").Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= TextTable.DefaultWidth, $"{l.Length} columns: {l}"));
        foreach (string d in designs.Split(','))
        {
            Assert.Contains(lines, l => l.StartsWith("  workload", StringComparison.Ordinal) && l.Contains($" {d}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AValueTheSameForEveryDesignIsSaidOnce()
    {
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic,4g4g", "--workloads", "null", "--ops", "2");
        Assert.True(code == 0, err);
        Assert.Contains("\n  Same for every design: RAM ignored 0 B", output.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("\n  RAM ignored ", output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AFittedTableWrapsColumnsIntoBlocksAndSaysARepeatedRowOnce()
    {
        string[][] rows = [["", "a", "b", "c"], ["x", "1", "22", "333"], ["y", "5", "5", "5"]];
        Assert.Equal(
            "     a   b\n  --------\n  x  1  22\n\n       c\n  ------\n  x  333\n  Same: y 5\n",
            TextTable.RenderFitted(rows, 14, "Same").ReplaceLineEndings("\n"));
    }

    [Fact]
    public void WrapBreaksBetweenWordsAndIndentsTheRest()
    {
        Assert.Equal("  aaa bbb\n    ccc\n", TextTable.Wrap("aaa bbb ccc", 9).ReplaceLineEndings("\n"));
        Assert.Equal("  averyveryverylongword\n    x\n", TextTable.Wrap("averyveryverylongword x", 9).ReplaceLineEndings("\n"));
    }

    [Fact]
    public void EveryRowLabelCompareprintsIsInTheGlossary()
    {
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic,4g4g,classic+kimage-vmalloc", "--workloads", "null", "--ops", "2");
        Assert.True(code == 0, err);
        string text = output.ReplaceLineEndings("\n");
        string budget = text[text.IndexOf("Address budget\n", StringComparison.Ordinal)..text.IndexOf("\nTime per operation", StringComparison.Ordinal)];
        List<string> labels = [];
        foreach (string line in budget.Split('\n').Skip(3))
        {
            if (line.StartsWith("  Same for every design: ", StringComparison.Ordinal))
            {
                labels.AddRange(line["  Same for every design: ".Length..].Split("; ").Select(s => s[..s.LastIndexOf(' ', s.LastIndexOf(' ') - 1)]));
            }
            else if (line.StartsWith("  ", StringComparison.Ordinal) && !line.StartsWith("  (", StringComparison.Ordinal) && !line.StartsWith("    ", StringComparison.Ordinal))
            {
                labels.Add(line[2..].Split("  ")[0].Trim());
            }
        }

        Assert.Equal(7, labels.Count);
        labels.AddRange(["kernel translatable from user mode", "user memory reachable from the kernel", "touched", "baseline", "overhead", "verdict", "trust"]);
        Assert.All(labels, l => Assert.True(Glossary.Find(l) is not null, $"'{l}' is not in docs/causes.md"));
        Assert.Contains("kernel translatable from user mode", text);
        Assert.Contains("user memory reachable from the kernel", text);
    }
}
