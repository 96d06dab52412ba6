using System.CommandLine;
using System.Text;
using Vmsplit.Cli.Reports;
using Vmsplit.Lab.Sweep;

namespace Vmsplit.Cli.Commands;

/// <summary><c>vmsplit report RESULTS --out FILE.html</c>: the HTML report of a comparison's JSON or a sweep's results.</summary>
public static class ReportCommand
{
    public static Command Create(TextWriter stdout)
    {
        Argument<string> results = new("RESULTS") { Description = "a sweep's results directory (or its runs.csv), or the JSON of vmsplit compare --format json" };
        Option<string?> output = new("--out") { Description = "the HTML file to write (- for standard output)", HelpName = "FILE.html" };
        Command command = new("report", "Write one self-contained HTML report (charts that open offline) of a comparison or a sweep.")
        {
            results, output,
        };
        command.SetAction(parse =>
        {
            string input = parse.GetValue(results)!;
            CommandOutputs outputs = new(stdout);
            OutputTarget target = outputs.Claim("--out", parse.GetValue(output) ?? throw new UsageException("--out: required: the HTML file to write (- for standard output)"));
            string? csv = Directory.Exists(input) ? Path.Combine(input, SweepOutput.CsvName) : input.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? input : null;
            outputs.Reads("RESULTS", csv ?? input);
            string html;
            try
            {
                if (csv is not null)
                {
                    string name = Directory.Exists(input) && SweepManifest.Read(input) is SweepManifest m ? m.Name : Path.GetFileNameWithoutExtension(Path.GetDirectoryName(Path.GetFullPath(csv)) ?? csv);
                    using StreamReader r = new(csv, Encoding.UTF8);
                    html = HtmlReport.FromSweepCsv(r, csv, name);
                }
                else
                {
                    html = HtmlReport.FromCompareJson(File.ReadAllText(input), input);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"{input}: cannot read: {e.Message}");
            }
            catch (Lab.LabException e)
            {
                throw new UsageException(e.Message);
            }

            string summary = $"wrote the report of {input} to {target.Path}\n";
            outputs.WriteAll(summary, (target, () => html));
            return VmsplitCli.ExitOk;
        });
        return command;
    }
}
