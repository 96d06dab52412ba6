using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Plotly.NET;
using Plotly.NET.CSharp;
using Vmsplit.Lab.Sweep;
using Chart = Plotly.NET.CSharp.Chart;
using GenericChart = Plotly.NET.GenericChart;

namespace Vmsplit.Cli.Reports;

/// <summary>
/// <c>vmsplit report</c>: one self-contained HTML file that opens offline. Charts are Plotly.NET figures (their JSON,
/// <c>GenericChart.toFigureJson</c>) drawn by the plotly.js that Plotly.NET ships as a resource, embedded once; the
/// page around them is written here so that the file is byte-identical for the same input (Plotly.NET's own HTML
/// names each chart's element with a random GUID). Plotly was chosen over ScottPlot's SVG for interaction —
/// hover values, zoom along a swept axis, series toggled from the legend — which a report of hundreds of runs needs.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>One chart: its element id, heading, a sentence on how to read it, and the figure.</summary>
    public sealed record Figure(string Id, string Title, string Caption, GenericChart Chart);

    /// <summary>The report of a comparison, from the JSON <c>vmsplit compare --format json</c> writes.</summary>
    public static string FromCompareJson(string json, string source)
    {
        using JsonDocument doc = Parse(json, source);
        JsonElement r = doc.RootElement;
        if (!r.TryGetProperty("results", out JsonElement results) || !r.TryGetProperty("budget", out JsonElement budget))
        {
            throw new UsageException($"{source}: not the JSON of vmsplit compare (no results and budget)");
        }

        try
        {
            string baseline = r.GetProperty("baseline").GetString()!;
            JsonElement machine = r.GetProperty("machine");
            List<JsonElement> rows = [.. results.EnumerateArray()];
            List<string> designs = rows.Select(x => x.GetProperty("design").GetString()!).Distinct().ToList();
            List<string> workloads = rows.Select(x => x.GetProperty("workload").GetString()!).Distinct().ToList();
            JsonElement Row(string d, string w) => rows.First(x => x.GetProperty("design").GetString() == d && x.GetProperty("workload").GetString() == w);

            List<Figure> figures = [];
            figures.Add(new Figure("overhead", "Overhead by workload and design", $"Time per operation against {baseline}, in percent (below zero: the design is faster).", Combine(
                designs.Where(d => d != baseline).Select(d => Chart.Column<double, string, string>(workloads.Select(w => Row(d, w).GetProperty("overheadPercent").GetDouble()), Keys: workloads, Name: d)),
                "workload", "overhead (%)")));

            List<string> causes = rows.SelectMany(x => x.GetProperty("causes").EnumerateObject().Select(p => p.Name)).Distinct().ToList();
            figures.Add(new Figure("causes", "Time per operation by cause", "ns per operation summed over the workloads, stacked by the cause that spent it (docs/causes.md).", Combine(
                causes.Select(c => Chart.StackedColumn<double, string, string>(designs.Select(d => workloads.Sum(w => Row(d, w).GetProperty("causes").TryGetProperty(c, out JsonElement v) ? v.GetDouble() : 0)), Keys: designs, Name: c)),
                "design", "ns per operation (sum over workloads)", stacked: true)));

            List<JsonElement> budgets = [.. budget.EnumerateArray()];
            string[] parts = ["userBytes", "lowmemBytes", "vmallocBytes", "mappedTwiceBytes"];
            string[] labels = ["user space", "linear map (lowmem)", "vmalloc", "kernel image mapped twice"];
            List<string> keys = budgets.Select(b => b.GetProperty("design").GetString()!).ToList();
            List<GenericChart> layout = [.. parts.Select((p, i) => Chart.StackedBar<double, string, string>(budgets.Select(b => Gib(b.GetProperty(p))), Keys: keys.Select(k => k + " · virtual").ToArray(), Name: labels[i]))];
            layout.Add(Chart.StackedBar<double, string, string>(budgets.Select(b => Gib(b.GetProperty("highmemBytes"))), Keys: keys.Select(k => k + " · RAM").ToArray(), Name: "RAM in highmem"));
            layout.Add(Chart.StackedBar<double, string, string>(budgets.Select(b => Gib(b.GetProperty("ignoredBytes"))), Keys: keys.Select(k => k + " · RAM").ToArray(), Name: "RAM ignored"));
            layout.Add(Chart.StackedBar<double, string, string>(budgets.Select(b => Gib(b.GetProperty("lowmemBytes"))), Keys: keys.Select(k => k + " · RAM").ToArray(), Name: "RAM in lowmem"));
            figures.Add(new Figure("budget", "Address budget", "Per design, the virtual address space laid out (user space, the kernel's linear map, vmalloc, the image's second mapping) and where the RAM goes (lowmem, highmem, ignored), in GiB.", Combine(layout, "GiB", "", stacked: true)));

            foreach ((string key, string label) in new[] { ("misses", "TLB misses per operation"), ("flushes", "TLB flushes per operation"), ("walks", "page-table walks per operation") })
            {
                figures.Add(new Figure("tlb-" + key, label, "Counted by the simulated MMU during the measured operations, divided by their number.", Combine(
                    designs.Select(d => Chart.Column<double, string, string>(workloads.Select(w => PerOp(Row(d, w), key)), Keys: workloads, Name: d)),
                    "workload", label)));
            }

            List<string> summary =
            [
                $"{machine.GetProperty("profile").GetString()}, {machine.GetProperty("arch").GetString()}, {Human(machine.GetProperty("ramBytes").GetUInt64())} of RAM; baseline {baseline}; {designs.Count} designs × {workloads.Count} workloads.",
            ];
            if (r.TryGetProperty("verdicts", out JsonElement verdicts))
            {
                summary.AddRange(verdicts.EnumerateArray().Select(v => v.GetProperty("text").GetString()!));
            }

            return Render($"vmsplit compare: {machine.GetProperty("profile").GetString()} {machine.GetProperty("arch").GetString()}", summary, figures);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new UsageException($"{source}: not the JSON of vmsplit compare ({e.Message})");
        }
    }

    /// <summary>The report of a sweep, from its runs.csv.</summary>
    public static string FromSweepCsv(TextReader csv, string source, string name)
    {
        string header = csv.ReadLine() ?? throw new UsageException($"{source}: empty");
        List<string> columns = SweepTable.Split(header);
        foreach (string required in new[] { "design", "status", "ns_per_op", "overhead_pct" })
        {
            if (!columns.Contains(required))
            {
                throw new UsageException($"{source}: no {required} column: not the runs.csv of a vmsplit sweep that records time");
            }
        }

        List<Dictionary<string, string>> all = [];
        string? line;
        int number = 1;
        while ((line = csv.ReadLine()) is not null)
        {
            number++;
            List<string> f = SweepTable.Split(line);
            if (f.Count != columns.Count)
            {
                throw new UsageException($"{source}:{number}: {f.Count} fields where the header has {columns.Count}");
            }

            all.Add(columns.Zip(f).ToDictionary(p => p.First, p => p.Second));
        }

        List<Dictionary<string, string>> ok = all.Where(r => r["status"] == "ok").ToList();
        List<string> designs = all.Select(r => r["design"]).Distinct().ToList();
        string baseline = designs.FirstOrDefault() ?? "";
        string[] axes = ["machine", "arch", "ram_bytes", "workload", "param_bytes", "param_pages", "cpus", "seed", "ops"];
        List<string> varying = axes.Where(a => columns.Contains(a) && ok.Select(r => r[a]).Distinct().Count() > 1).ToList();
        List<string> numeric = new[] { "ram_bytes", "param_bytes", "param_pages" }.Where(a => columns.Contains(a) && ok.Select(r => r[a]).Where(v => v.Length > 0).Distinct().Count() > 1).ToList();
        List<Figure> figures = [];
        List<string> summary = [$"{all.Count} runs: {ok.Count} measured, {all.Count - ok.Count} refused; designs {string.Join(", ", designs)} (baseline {baseline}); swept: {(varying.Count == 0 ? "nothing but the designs" : string.Join(", ", varying))}."];
        summary.AddRange(all.Where(r => r["status"] == "refused").GroupBy(r => r["reason"]).Select(g => $"refused {g.Count()} runs: {g.Key}"));

        foreach (string x in numeric)
        {
            // one line per design and per value of the other swept axes; a workload's parameters are on the x axis
            // (against RAM the workload's name carries its parameters; against a parameter the workload is its base name)
            bool param = x.StartsWith("param_", StringComparison.Ordinal);
            List<string> others = varying.Where(a => a != x && !(!param && a.StartsWith("param_", StringComparison.Ordinal))).ToList();
            string Key(Dictionary<string, string> r) => string.Join(" · ", others.Where(a => r[a].Length > 0).Select(a => a == "workload" && param ? r[a].Split(':')[0] : Show(a, r[a])));
            List<GenericChart> ns = [];
            List<GenericChart> overhead = [];
            List<GenericChart> tlb = [];
            List<(double X, double Y, string Label)> crossings = [];
            foreach (IGrouping<string, Dictionary<string, string>> g in ok.Where(r => r[x].Length > 0).GroupBy(r => Key(r) + "\u0001" + r["design"]))
            {
                string design = g.First()["design"];
                string label = design + (Key(g.First()).Length > 0 ? " · " + Key(g.First()) : "");
                List<(double X, double Ns, double Over, double Tlb)> points = g
                    .GroupBy(r => D(r[x]))
                    .Select(p => (p.Key, p.Average(r => D(r["ns_per_op"])), p.Average(r => D(r["overhead_pct"], 0)), p.Average(r => columns.Contains("tlb:misses") ? D(r["tlb:misses"]) / D(r["ops"]) : 0)))
                    .OrderBy(p => p.Item1).ToList();
                ns.Add(Chart.Line<double, double, string>(points.Select(p => p.X), points.Select(p => p.Ns), ShowMarkers: true, Name: label));
                overhead.Add(Chart.Line<double, double, string>(points.Select(p => p.X), points.Select(p => p.Over), ShowMarkers: true, Name: label));
                tlb.Add(Chart.Line<double, double, string>(points.Select(p => p.X), points.Select(p => p.Tlb), ShowMarkers: true, Name: label));
                if (design != baseline)
                {
                    for (int i = 1; i < points.Count; i++)
                    {
                        (double x0, double o0) = (points[i - 1].X, points[i - 1].Over);
                        (double x1, double o1) = (points[i].X, points[i].Over);
                        if (o0 != 0 && Math.Sign(o0) != Math.Sign(o1))
                        {
                            // linear in log2(x): the axes are sizes, doubling from point to point
                            double t = o0 / (o0 - o1);
                            double xc = x0 > 0 && x1 > 0 ? Math.Pow(2, Math.Log2(x0) + (t * (Math.Log2(x1) - Math.Log2(x0)))) : x0 + (t * (x1 - x0));
                            crossings.Add((xc, 0, label));
                            summary.Add($"crossover along {Axis(x)}: {label} becomes {(o1 < 0 ? "faster" : "slower")} than {baseline} between {Show(x, points[i - 1].X)} and {Show(x, points[i].X)} (≈ {Show(x, xc)}, interpolated)");
                        }
                    }

                    if (points.Count > 1 && points.All(p => p.Over > 0))
                    {
                        summary.Add($"no crossover along {Axis(x)}: {label} is slower than {baseline} at every point ({points.Min(p => p.Over).ToString("F1", s_inv)}% to {points.Max(p => p.Over).ToString("F1", s_inv)}%)");
                    }
                    else if (points.Count > 1 && points.All(p => p.Over < 0))
                    {
                        summary.Add($"no crossover along {Axis(x)}: {label} is faster than {baseline} at every point");
                    }
                }
            }

            if (crossings.Count > 0)
            {
                overhead.Add(Chart.Point<double, double, string>(crossings.Select(c => c.X), crossings.Select(c => c.Y), Name: "crossover", MultiText: crossings.Select(c => c.Label).ToArray(), MarkerSymbol: StyleParam.MarkerSymbol.X));
            }

            bool log = x != "param_pages" || ok.Select(r => D(r[x])).Distinct().Count() > 2;
            figures.Add(new Figure($"ns-{x}", $"Time per operation against {Axis(x)}", "Mean over the other axes' values that are not series (seeds, for instance).", Combine(ns, Axis(x), "ns per operation", logX: log)));
            figures.Add(new Figure($"overhead-{x}", $"Overhead against {Axis(x)}", $"Against {baseline} in the same cell; where a line crosses zero the design overtakes the baseline (marked ×, interpolated).", Combine(overhead, Axis(x), "overhead (%)", logX: log)));
            if (columns.Contains("tlb:misses"))
            {
                figures.Add(new Figure($"tlb-{x}", $"TLB misses per operation against {Axis(x)}", "Counted by the simulated MMU during the measured operations.", Combine(tlb, Axis(x), "TLB misses per operation", logX: log)));
            }
        }

        if (numeric.Count == 0 && ok.Count > 0)
        {
            List<string> cells = ok.Select(r => Cell(r, varying)).Distinct().ToList();
            figures.Add(new Figure("overhead", "Overhead by cell and design", $"Time per operation against {baseline}, in percent.", Combine(
                designs.Where(d => d != baseline).Select(d => Chart.Column<double, string, string>(cells.Select(c => ok.Where(r => r["design"] == d && Cell(r, varying) == c).Select(r => D(r["overhead_pct"], 0)).DefaultIfEmpty(0).Average()), Keys: cells, Name: d)),
                "cell", "overhead (%)")));
        }

        List<string> causeColumns = columns.Where(c => c.StartsWith("ns:", StringComparison.Ordinal)).ToList();
        if (causeColumns.Count > 0 && ok.Count > 0)
        {
            List<string> measured = designs.Where(d => ok.Any(r => r["design"] == d)).ToList();
            figures.Add(new Figure("causes", "Time per operation by cause", "ns per operation, the mean over each design's measured runs, stacked by cause (docs/causes.md).", Combine(
                causeColumns.Where(c => ok.Any(r => D(r[c]) != 0)).Select(c => Chart.StackedColumn<double, string, string>(measured.Select(d => ok.Where(r => r["design"] == d).Average(r => D(r[c]))), Keys: measured, Name: c[3..])),
                "design", "ns per operation (mean)", stacked: true)));
        }

        if (figures.Count == 0)
        {
            throw new UsageException($"{source}: no measured run to chart (every run was refused)");
        }

        return Render($"vmsplit sweep: {name}", summary, figures);
    }

    private static string Cell(Dictionary<string, string> r, List<string> varying) =>
        varying.Count == 0 ? "all" : string.Join(" · ", varying.Select(a => Show(a, r[a])));

    private static double D(string s, double empty = double.NaN) => s.Length == 0 ? empty : double.Parse(s, s_inv);

    private static string Axis(string column) => column switch
    {
        "ram_bytes" => "RAM (bytes)",
        "param_bytes" => "working set / block (bytes)",
        "param_pages" => "pages touched per system call",
        _ => column,
    };

    private static string Show(string column, string value) => column switch
    {
        "ram_bytes" when ulong.TryParse(value, s_inv, out ulong b) => Human(b) + " RAM",
        "param_bytes" when ulong.TryParse(value, s_inv, out ulong b) => Human(b) + " set",
        "param_pages" => value + " pages/call",
        "seed" => "seed " + value,
        "ops" => value + " ops",
        _ => value,
    };

    private static string Show(string column, double value) =>
        column is "ram_bytes" or "param_bytes" ? Human((ulong)Math.Round(value)) : value.ToString("0.##", s_inv) + (column == "param_pages" ? " pages/call" : "");

    private static string Human(ulong bytes) => Hardware.ByteSize.Human(bytes);

    private static double Gib(JsonElement e) => Math.Round(e.GetDouble() / (1UL << 30), 4);

    private static double PerOp(JsonElement row, string counter)
    {
        double ops = row.GetProperty("ops").GetDouble();
        return ops > 0 ? Math.Round(row.GetProperty("tlb").GetProperty(counter).GetDouble() / ops, 3) : 0;
    }

    private static JsonDocument Parse(string json, string source)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new UsageException($"{source}: not JSON ({e.Message})");
        }
    }

    private static GenericChart Combine(IEnumerable<GenericChart> charts, string x, string y, bool stacked = false, bool logX = false)
    {
        // Chart.StackedColumn and StackedBar set the layout's barmode to stack themselves
        _ = stacked;
        return Chart.Combine(charts.ToList())
            .WithXAxisStyle<double, double, string>(TitleText: x, AxisType: logX ? StyleParam.AxisType.Log : StyleParam.AxisType.Auto)
            .WithYAxisStyle<double, double, string>(TitleText: y)
            .WithSize(1000, 460);
    }

    /// <summary>The page: a heading, the summary lines, then each figure drawn by the embedded plotly.js.</summary>
    public static string Render(string title, IEnumerable<string> summary, IReadOnlyList<Figure> figures)
    {
        StringBuilder sb = new();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(WebUtility.HtmlEncode(title)).Append("</title>\n");
        sb.Append("<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1060px;color:#222}h2{margin-top:2em}p.caption{color:#555}li{margin:.2em 0}</style>\n");
        sb.Append("<script>\n").Append(PlotlyJs.Value).Append("\n</script>\n</head>\n<body>\n");
        sb.Append("<h1>").Append(WebUtility.HtmlEncode(title)).Append("</h1>\n<ul class=\"summary\">\n");
        foreach (string s in summary)
        {
            sb.Append("<li>").Append(WebUtility.HtmlEncode(s)).Append("</li>\n");
        }

        sb.Append("</ul>\n");
        foreach (Figure f in figures)
        {
            string json = GenericChart.toFigureJson(f.Chart).Replace("</", "<\\/", StringComparison.Ordinal);
            sb.Append("<h2>").Append(WebUtility.HtmlEncode(f.Title)).Append("</h2>\n<p class=\"caption\">").Append(WebUtility.HtmlEncode(f.Caption)).Append("</p>\n");
            sb.Append("<div class=\"chart\" id=\"").Append(f.Id).Append("\"></div>\n<script>(function(){var f=").Append(json)
                .Append(";Plotly.newPlot('").Append(f.Id).Append("',f.data,f.layout,{responsive:true,displaylogo:false});})();</script>\n");
        }

        sb.Append("<p class=\"caption\">Written by vmsplit report; charts by Plotly.NET with plotly.js embedded (works offline).</p>\n</body>\n</html>\n");
        return sb.ToString();
    }

    // plotly.js as Plotly.NET ships it (an embedded resource of its assembly), with "</script" made harmless
    private static readonly Lazy<string> PlotlyJs = new(() =>
    {
        Assembly asm = typeof(GenericChart).Assembly;
        string name = asm.GetManifestResourceNames().Single(n => n.StartsWith("Plotly.NET.plotly-", StringComparison.Ordinal) && n.EndsWith(".min.js", StringComparison.Ordinal));
        using Stream s = asm.GetManifestResourceStream(name)!;
        using StreamReader r = new(s, Encoding.UTF8);
        return r.ReadToEnd().Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);
    });
}
