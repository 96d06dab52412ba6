using System.Text.Json;
using System.Text.RegularExpressions;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Tests;

/// <summary><c>vmsplit causes</c> and docs/causes.md: one definition per printed cause and row label.</summary>
public partial class CausesCommandTests
{
    [Fact]
    public void EveryCauseIsListedOnOneLineWithItsDefinition()
    {
        (int code, string output, string err) = CliHarness.Run("causes");
        Assert.True(code == 0, err);
        string[] lines = output.ReplaceLineEndings("\n").Split('\n');
        foreach (CostCause c in KernelCostCause.All)
        {
            string line = Assert.Single(lines, l => Regex.IsMatch(l, $"^  {Regex.Escape(c.Name)} +\\S"));
            Assert.EndsWith(Glossary.Definition(c), line, StringComparison.Ordinal);
        }

        Assert.Contains(lines, l => Regex.IsMatch(l, "^  mapped twice +kernel virtual space that maps RAM a second time"));
        Assert.Contains(lines, l => Regex.IsMatch(l, "^  touched +user memory"));
    }

    [Fact]
    public void TheDocIsTheCommandsMarkdownByteForByte()
    {
        (int code, string output, string err) = CliHarness.Run("causes", "--format", "markdown");
        Assert.True(code == 0, err);
        Assert.Equal(output, RepoFiles.Read("docs/causes.md").ReplaceLineEndings("\n"));
    }

    [Fact]
    public void JsonListsEveryTermOnceWithItsKind()
    {
        (int code, string output, string err) = CliHarness.Run("causes", "--format", "json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output);
        List<string> terms = [.. doc.RootElement.EnumerateArray().Select(e => e.GetProperty("term").GetString()!)];
        Assert.Equal(terms.Count, terms.Distinct().Count());
        Assert.Equal(KernelCostCause.All.Count, doc.RootElement.EnumerateArray().Count(e => e.GetProperty("kind").GetString() == "cause"));
        JsonElement cr3 = doc.RootElement.EnumerateArray().First(e => e.GetProperty("term").GetString() == "root-register-write");
        Assert.Contains("x86: costs.cr3Write, costs.cr3WriteNoFlush", cr3.GetProperty("pricedBy").GetString());
    }

    [Fact]
    public void EveryProfileValueACauseNamesExistsInAShippedProfileOfItsArchitecture()
    {
        foreach (CostCause c in KernelCostCause.All)
        {
            foreach (ProfileArchitecture a in Enum.GetValues<ProfileArchitecture>())
            {
                IReadOnlySet<CpuFeature> every = new HashSet<CpuFeature>(Enum.GetValues<CpuFeature>());
                foreach (string path in CauseInputs.ProfileValues(c, a))
                {
                    // a cost must be one the loader asks of this architecture; a TLB or cache value one some profile has
                    bool known = path.StartsWith("costs.", StringComparison.Ordinal)
                        ? PrimitiveCostExtensions.Required(a, every).Any(k => "costs." + k.Key() == path)
                        : CpuProfiles.Shipped.Any(p => p.Entry(path) is not null);
                    Assert.True(known, $"{c.Name} on {a}: {path} is not a value of such a profile");
                }
            }
        }
    }

    [Fact]
    public void EveryCauseIsPricedBySomething()
    {
        foreach (CostCause c in KernelCostCause.All)
        {
            Assert.NotEqual("", Glossary.PricedBy(c));
        }
    }
}
