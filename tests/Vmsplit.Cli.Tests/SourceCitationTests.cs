using System.Text.RegularExpressions;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Lab.Validation;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// Every source a shipped profile or datapoint cites is one a reader can find: a document it names by file
/// is a file of the repository, never a working note that is not in it.
/// </summary>
public partial class SourceCitationTests
{
    [Fact]
    public void EveryProfileValueCitesOnlyFilesTheRepositoryHas()
    {
        List<string> bad = [];
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            foreach (ProfileEntry e in p.Entries)
            {
                bad.AddRange(Unfindable($"{p.Id} {e.Path}", e.Provenance));
            }

            bad.AddRange(Unfindable($"profiles/{p.Id}.yaml", CpuProfiles.ShippedText(p.Id)!)); // comments too
        }

        Assert.Empty(bad);
    }

    [Fact]
    public void EveryDatapointCitesOnlyFilesTheRepositoryHas()
    {
        List<string> bad = [];
        foreach (Datapoint d in DatapointFile.Shipped())
        {
            foreach (string? text in new[] { d.Source, d.Setup, d.Assumption, d.Miss, d.Calibrates })
            {
                bad.AddRange(Unfindable(d.Id, text ?? ""));
            }
        }

        bad.AddRange(Unfindable("validation/datapoints.yaml", RepoFiles.Read("validation/datapoints.yaml")));
        Assert.Empty(bad);
    }

    [Theory]
    [InlineData("Cortex-A15 TRM 5.2.2; measurements.md 3b", false)]
    [InlineData("docs/profiles.md lists the gaps", true)]
    [InlineData("see validation.md", true)]
    [InlineData("Linux Documentation/arch/x86/pti.rst", true)]
    public void TheCheckTellsARepositoryFileFromAMissingOne(string text, bool findable)
    {
        Assert.Equal(findable, Unfindable("x", text).Count == 0);
    }

    // A name ending in .md is findable when it is a file of the repository, at its path or under docs/.
    private static List<string> Unfindable(string where, string text)
    {
        List<string> bad = [];
        foreach (Match m in MarkdownName().Matches(text))
        {
            string name = m.Value;
            if (!File.Exists(RepoFiles.PathOf(name)) && !File.Exists(RepoFiles.PathOf(Path.Combine("docs", name))))
            {
                bad.Add($"{where}: cites {name}, which is not in the repository");
            }
        }

        return bad;
    }

    [GeneratedRegex(@"[A-Za-z0-9_./-]+\.md\b")]
    private static partial Regex MarkdownName();
}
