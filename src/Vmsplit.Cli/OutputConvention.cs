using System.CommandLine;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Cli;

/// <summary>
/// The output options every command shares: <c>--format</c> chooses the document (text, json, csv, svg, ...
/// as the command offers) and <c>--output PATH</c> where it goes (<c>-</c>, the default, is standard output).
/// Written through <see cref="CommandOutputs"/> like every other output.
/// </summary>
public sealed class OutputConvention
{
    private readonly string[] _formats;
    private readonly Dictionary<string, string> _synonyms;

    /// <param name="formats">the formats, the default first</param>
    /// <param name="synonyms">other accepted names (<c>table</c> for <c>text</c>), mapped to a format</param>
    public OutputConvention(string[] formats, IReadOnlyDictionary<string, string>? synonyms = null)
    {
        _formats = formats;
        _synonyms = new(synonyms ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        Format = new("--format") { Description = $"output format: {string.Join(", ", formats)} (default {formats[0]})", HelpName = "FORMAT" };
        Output = new("--output", "-o") { Description = "write the output to PATH instead of standard output (- is standard output)", HelpName = "PATH" };
    }

    public Option<string?> Format { get; }

    public Option<string?> Output { get; }

    public string Default => _formats[0];

    public void AddTo(Command command)
    {
        command.Options.Add(Format);
        command.Options.Add(Output);
    }

    /// <summary>
    /// The chosen format: <c>--format</c>, else <paramref name="implied"/> (an older spelling such as the
    /// <c>--json</c> switch), else the default. Two different choices are refused.
    /// </summary>
    public string Resolve(ParseResult parse, string? implied = null, string? impliedBy = null)
    {
        string? given = parse.GetValue(Format);
        if (given is null)
        {
            return implied ?? Default;
        }

        string name = given.Trim().ToLowerInvariant();
        name = _synonyms.GetValueOrDefault(name, name);
        if (!_formats.Contains(name))
        {
            throw new UsageException($"--format: unknown format '{given}' (use {string.Join(", ", _formats)})" + Suggestions.DidYouMean(given, [.. _formats, .. _synonyms.Keys]));
        }

        if (implied is not null && implied != name)
        {
            throw new UsageException($"--format {given} and {impliedBy} ask for different formats; give one of them");
        }

        return name;
    }

    /// <summary>Claims <c>--output</c> when it was given; null means the document goes to standard output as the command's report.</summary>
    public OutputTarget? Claim(CommandOutputs outputs, ParseResult parse) => outputs.Claim("--output", parse.GetValue(Output));
}
