using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Reports;

/// <summary>Text, JSON and CSV renderings of a <see cref="CompareReport"/>; deterministic byte for byte.</summary>
public static class CompareRenderer
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>The text report at the default width, with its trust line computed here.</summary>
    public static string Text(CompareReport r) => Text(r, TrustSummary.Of(r), TextTable.DefaultWidth);

    /// <summary>The text report, its tables and paragraphs fitted to <paramref name="width"/> characters.</summary>
    public static string Text(CompareReport r, TrustSummary trust, int width)
    {
        const string Same = "Same for every design";
        StringBuilder sb = new();
        sb.AppendLine($"Machine: {r.Machine.Describe()}");
        sb.AppendLine($"Baseline: {r.Baseline}");
        foreach (string f in r.Notes)
        {
            sb.Append(TextTable.Wrap($"Note: {f}", width, "", "  "));
        }

        sb.AppendLine();
        sb.AppendLine("Address budget");
        List<string[]> rows = new() { Header("", r.Budget.Select(b => b.Design)) };
        rows.Add(Row("user VA", r.Budget.Select(b => ByteSize.Human(b.Layout.UserBytes))));
        rows.Add(Row("lowmem (linear map)", r.Budget.Select(b => ByteSize.Human(b.Layout.LowmemBytes))));
        rows.Add(Row("highmem", r.Budget.Select(b => ByteSize.Human(b.Layout.HighmemBytes))));
        rows.Add(Row("RAM ignored", r.Budget.Select(b => ByteSize.Human(b.Layout.IgnoredBytes))));
        rows.Add(Row("vmalloc", r.Budget.Select(b => ByteSize.Human(b.Layout.VmallocEnd - b.Layout.VmallocStart))));
        rows.Add(Row("mapped twice", r.Budget.Select(b => ByteSize.Human(b.Layout.MappedTwiceBytes))));
        rows.Add(Row("page tables / process", r.Budget.Select(b => ByteSize.Human((ulong)b.MeasuredPageTableBytes))));
        sb.Append(TextTable.RenderFitted(rows, width, Same));
        ulong touched = r.Audits.Count > 0 ? r.Audits[0].UserBytesChecked : 0;
        sb.Append(TextTable.Wrap($"(page tables / process: measured, the table frames a minimal process holds with {ByteSize.Human(touched)} touched)", width));
        sb.AppendLine();

        sb.AppendLine("Time per operation (ns; overhead against " + r.Baseline + ")");
        rows = new() { Header("workload", r.Designs) };
        foreach (string w in r.WorkloadNames)
        {
            List<string> cells = new() { w };
            foreach (string d in r.Designs)
            {
                RunResult x = r.Result(d, w);
                cells.Add(d == r.Baseline
                    ? x.NsPerOp.ToString("F1", s_inv)
                    : $"{x.NsPerOp.ToString("F1", s_inv)} ({FormatPercent(r.OverheadPercent(x))})");
            }

            rows.Add(cells.ToArray());
        }

        sb.Append(TextTable.RenderFitted(rows, width, Same));
        sb.AppendLine();

        if (r.Results.Any(x => x.Cpus > 1 || x.StaleTranslations is not null))
        {
            RunResult any = r.Results[0];
            sb.AppendLine($"CPUs ({any.Cpus}): remote flush handlers, flushes skipped by lazy CPUs, lazy catch-up flushes per operation{(any.StaleTranslations is null ? "" : "; stale translations found (--check)")}");
            rows = new() { Header("workload", r.Designs) };
            foreach (string w in r.WorkloadNames)
            {
                List<string> cells = new() { w };
                foreach (string d in r.Designs)
                {
                    RunResult x = r.Result(d, w);
                    string cell = $"{PerOp(x.Smp.RemoteHandlers, x.Ops)} / {PerOp(x.Smp.LazySkips, x.Ops)} / {PerOp(x.Smp.LazyCatchUps, x.Ops)}";
                    cells.Add(x.StaleTranslations is int stale ? $"{cell}; stale {stale}" : cell);
                }

                rows.Add(cells.ToArray());
            }

            sb.Append(TextTable.RenderFitted(rows, width, Same));
            sb.AppendLine();
        }

        sb.AppendLine("Top causes of overhead (ns per operation, summed over the workloads)");
        foreach (string d in r.Designs.Where(d => d != r.Baseline))
        {
            IReadOnlyList<(CostCause Cause, double Ns)> top = r.TopCauses(d);
            string causes = top.Count == 0 ? "none: no cause adds time" : string.Join(", ", top.Select(t => $"{CauseName(t.Cause)} +{t.Ns.ToString("F1", s_inv)}"));
            sb.Append(TextTable.Wrap($"{d}: {causes}", width));
        }

        sb.AppendLine();
        sb.AppendLine("Isolation (while user code runs / while the kernel runs outside uaccess)");
        // one row per design: two long labels fit as column heads, and any number of designs fits the width
        rows = new() { new[] { "design", "kernel translatable from user mode", "user memory reachable from the kernel" } };
        foreach (AuditResult a in r.Audits)
        {
            rows.Add([a.Design, $"{ByteSize.Human(a.ExposedKernelBytes)} in {a.ExposedKernelRanges.Count} range{(a.ExposedKernelRanges.Count == 1 ? "" : "s")}", ByteSize.Human(a.ReachableUserBytes)]);
        }

        sb.Append(TextTable.Render(rows, column => column > 0));
        sb.Append(TextTable.Wrap($"(user memory reachable: of the {ByteSize.Human(touched)} touched; vmsplit audit lists the ranges)", width));

        sb.AppendLine();
        sb.AppendLine("Verdict");
        foreach (DesignVerdict v in Verdicts.Of(r))
        {
            sb.Append(TextTable.Wrap(v.Text, width));
        }

        sb.AppendLine();
        sb.AppendLine("Trust");
        sb.Append(TextTable.Wrap(trust.Text(), width));
        return sb.ToString();
    }

    public static string CauseName(CostCause c) => c.Name;

    private static string PerOp(long count, long ops) => ((double)count / ops).ToString("0.##", s_inv);

    private static string FormatPercent(double p) => (p >= 0 ? "+" : "") + p.ToString("F1", s_inv) + "%";

    private static string[] Header(string first, IEnumerable<string> rest) => new[] { first }.Concat(rest).ToArray();

    private static string[] Row(string first, IEnumerable<string> rest) => new[] { first }.Concat(rest).ToArray();

    public static string Json(CompareReport r) => Json(r, TrustSummary.Of(r));

    public static string Json(CompareReport r, TrustSummary trust)
    {
        return JsonText.Write(w =>
        {
            w.WriteStartObject();
            WriteBody(w, r, trust);
            w.WriteEndObject();
        });
    }

    /// <summary>The comparison's properties (machine ... trust) into an open object: compare's JSON, and the body of replay's.</summary>
    public static void WriteBody(Utf8JsonWriter w, CompareReport r, TrustSummary trust)
    {
        w.WriteStartObject("machine");
        w.WriteString("profile", r.Machine.Profile.Id);
        w.WriteString("arch", r.Machine.Arch.Name());
        w.WriteNumber("ramBytes", r.Machine.RamBytes);
        w.WriteNumber("clockMhz", r.Machine.Profile.ClockMhz);
        w.WriteEndObject();
        w.WriteString("baseline", r.Baseline);
        w.WriteStartArray("notes");
        foreach (string f in r.Notes)
        {
            w.WriteStringValue(f);
        }

        w.WriteEndArray();
        w.WriteStartArray("budget");
        foreach (DesignBudget b in r.Budget)
        {
            w.WriteStartObject();
            w.WriteString("design", b.Design);
            w.WriteNumber("userBytes", b.Layout.UserBytes);
            w.WriteNumber("lowmemBytes", b.Layout.LowmemBytes);
            w.WriteNumber("highmemBytes", b.Layout.HighmemBytes);
            w.WriteNumber("ignoredBytes", b.Layout.IgnoredBytes);
            w.WriteNumber("vmallocBytes", b.Layout.VmallocEnd - b.Layout.VmallocStart);
            w.WriteNumber("mappedTwiceBytes", b.Layout.MappedTwiceBytes);
            w.WriteNumber("pageTableBytesPerProcess", b.MeasuredPageTableBytes);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("results");
        foreach (string d in r.Designs)
        {
            foreach (string wl in r.WorkloadNames)
            {
                RunResult x = r.Result(d, wl);
                w.WriteStartObject();
                w.WriteString("design", x.Design);
                w.WriteString("workload", x.Workload);
                w.WriteNumber("ops", x.Ops);
                w.WriteNumber("nsPerOp", Math.Round(x.NsPerOp, 3));
                w.WriteNumber("opsPerSecond", Math.Round(x.OpsPerSecond, 1));
                w.WriteNumber("overheadPercent", Math.Round(r.OverheadPercent(x), 3));
                w.WriteStartObject("causes");
                foreach (CostCause c in KernelCostCause.All)
                {
                    if (x.CyclesPerOpByCause.ContainsKey(c))
                    {
                        w.WriteNumber(CauseName(c), Math.Round(x.NsPerOpOf(c), 3));
                    }
                }

                w.WriteEndObject();
                w.WriteStartObject("tlb");
                w.WriteNumber("translations", x.Tlb.Translations);
                w.WriteNumber("microHits", x.Tlb.MicroHits);
                w.WriteNumber("mainHits", x.Tlb.MainHits);
                w.WriteNumber("misses", x.Tlb.Misses);
                w.WriteNumber("walks", x.Tlb.Walks);
                w.WriteNumber("walkReads", x.Tlb.WalkReads);
                w.WriteNumber("walkStepCacheMisses", x.Tlb.WalkStepCacheMisses);
                w.WriteNumber("flushes", x.Tlb.Flushes);
                w.WriteNumber("entriesInvalidated", x.Tlb.EntriesInvalidated);
                w.WriteEndObject();
                w.WriteStartObject("mechanisms");
                w.WriteNumber("ops", x.Ops);
                w.WriteNumber("descriptorWrites", x.Mechanisms.DescriptorWrites);
                w.WriteNumber("softwareWalkLoads", x.Mechanisms.SoftwareWalkLoads);
                w.WriteNumber("tlbInvalidations", x.Tlb.Flushes);
                w.WriteNumber("walks", x.Tlb.Walks);
                w.WriteNumber("pinnedPages", x.Mechanisms.PinnedPages);
                w.WriteEndObject();
                if (x.Cpus > 1 || x.StaleTranslations is not null)
                {
                    w.WriteStartObject("cpus");
                    w.WriteNumber("count", x.Cpus);
                    w.WriteNumber("remoteHandlers", x.Smp.RemoteHandlers);
                    w.WriteNumber("lazySkippedFlushes", x.Smp.LazySkips);
                    w.WriteNumber("lazyCatchUpFlushes", x.Smp.LazyCatchUps);
                    if (x.StaleTranslations is int stale)
                    {
                        w.WriteNumber("staleTranslations", stale);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
        w.WriteStartArray("isolation");
        foreach (AuditResult a in r.Audits)
        {
            w.WriteStartObject();
            w.WriteString("design", a.Design);
            w.WriteNumber("exposedKernelBytes", a.ExposedKernelBytes);
            w.WriteNumber("reachableUserBytes", a.ReachableUserBytes);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteVerdicts(w, Verdicts.Of(r));
        WriteTrust(w, trust);
    }

    private static void WriteVerdicts(Utf8JsonWriter w, IReadOnlyList<DesignVerdict> verdicts)
    {
        w.WriteStartArray("verdicts");
        foreach (DesignVerdict v in verdicts)
        {
            w.WriteStartObject();
            w.WriteString("design", v.Design);
            w.WriteBoolean("baseline", v.IsBaseline);
            w.WriteNumber("userBytesDelta", v.UserBytesDelta);
            w.WriteNumber("lowmemBytesDelta", v.LowmemBytesDelta);
            w.WriteNumber("highmemBytesDelta", v.HighmemBytesDelta);
            w.WriteNumber("exposedKernelBytesDelta", v.ExposedKernelBytesDelta);
            w.WriteNumber("reachableUserBytesDelta", v.ReachableUserBytesDelta);
            w.WriteNumber("minOverheadPercent", Math.Round(v.MinOverheadPercent, 3));
            w.WriteNumber("maxOverheadPercent", Math.Round(v.MaxOverheadPercent, 3));
            WriteOverheads(w, "paysMost", v.PaysMost);
            WriteOverheads(w, "wins", v.Wins);
            if (v.MainCause is null)
            {
                w.WriteNull("mainCause");
            }
            else
            {
                w.WriteString("mainCause", v.MainCause);
            }

            w.WriteString("text", v.Text);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteOverheads(Utf8JsonWriter w, string name, IReadOnlyList<WorkloadOverhead> list)
    {
        w.WriteStartArray(name);
        foreach (WorkloadOverhead o in list)
        {
            w.WriteStartObject();
            w.WriteString("workload", o.Workload);
            w.WriteNumber("overheadPercent", Math.Round(o.Percent, 3));
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteTrust(Utf8JsonWriter w, TrustSummary t)
    {
        w.WriteStartObject("trust");
        w.WriteStartArray("drivers");
        foreach (CostCause c in t.Drivers)
        {
            w.WriteStringValue(CauseName(c));
        }

        w.WriteEndArray();
        w.WriteStartArray("values");
        foreach (ProfileEntry e in t.Values)
        {
            w.WriteStartObject();
            w.WriteString("field", e.Path);
            w.WriteString("value", e.Value);
            w.WriteBoolean("assumption", e.IsAssumption);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteNumber("assumed", t.Assumed.Count);
        w.WriteStartArray("pricedByKernelSoftware");
        foreach (CostCause c in t.SoftwareDrivers)
        {
            w.WriteStringValue(CauseName(c));
        }

        w.WriteEndArray();
        w.WriteStartObject("validation");
        w.WriteString("arch", t.Validation.Arch);
        w.WriteNumber("tolerancePercent", t.Validation.TolerancePercent);
        w.WriteNumber("datapoints", t.Validation.Results.Count);
        w.WriteNumber("within", t.Validation.Within);
        w.WriteStartArray("results");
        foreach (Lab.Validation.ValidationResult v in t.Validation.Results)
        {
            w.WriteStartObject();
            w.WriteString("id", v.Point.Id);
            w.WriteNumber("errorPercent", Math.Round(v.ErrorPercent, 3));
            w.WriteBoolean("within", v.Within(t.Validation.TolerancePercent));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteString("text", t.Text());
        w.WriteEndObject();
    }

    public static string Csv(CompareReport r)
    {
        StringBuilder sb = new();
        IReadOnlyList<CostCause> causes = KernelCostCause.All;
        sb.Append("design,workload,ops,nsPerOp,opsPerSecond,overheadPercent");
        foreach (CostCause c in causes)
        {
            sb.Append(",ns:").Append(CauseName(c));
        }

        sb.AppendLine(",tlbMisses,tlbWalks,tlbFlushes");
        foreach (string d in r.Designs)
        {
            foreach (string wl in r.WorkloadNames)
            {
                RunResult x = r.Result(d, wl);
                sb.Append(s_inv, $"{x.Design},{x.Workload},{x.Ops},{x.NsPerOp:F3},{x.OpsPerSecond:F1},{r.OverheadPercent(x):F3}");
                foreach (CostCause c in causes)
                {
                    sb.Append(',').Append(x.NsPerOpOf(c).ToString("F3", s_inv));
                }

                sb.AppendLine(s_inv, $",{x.Tlb.Misses},{x.Tlb.Walks},{x.Tlb.Flushes}");
            }
        }

        return sb.ToString();
    }
}
