using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Reports;

/// <summary>Text, JSON and CSV renderings of a <see cref="CompareReport"/>; deterministic byte for byte.</summary>
public static class CompareRenderer
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static string Text(CompareReport r)
    {
        StringBuilder sb = new();
        sb.AppendLine($"Machine: {r.Machine.Describe()}");
        sb.AppendLine($"Baseline: {r.Baseline}");
        foreach (string f in r.Notes)
        {
            sb.AppendLine($"Note: {f}");
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
        rows.Add(Row("page tables / process", r.Budget.Select(b => ByteSize.Human((ulong)b.MeasuredPageTableBytes) + " (measured, 64 KiB touched)")));
        sb.Append(Table(rows));
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

        sb.Append(Table(rows));
        sb.AppendLine();

        sb.AppendLine("Top causes of overhead (ns per operation, summed over the workloads)");
        foreach (string d in r.Designs.Where(d => d != r.Baseline))
        {
            IReadOnlyList<(CostCause Cause, double Ns)> top = r.TopCauses(d);
            string causes = top.Count == 0 ? "none: no cause adds time" : string.Join(", ", top.Select(t => $"{CauseName(t.Cause)} +{t.Ns.ToString("F1", s_inv)}"));
            sb.AppendLine($"  {d}: {causes}");
        }

        sb.AppendLine();
        sb.AppendLine("Isolation (while user code runs / while the kernel runs outside uaccess)");
        foreach (AuditResult a in r.Audits)
        {
            sb.AppendLine($"  {a.Design}: kernel translatable from user mode {ByteSize.Human(a.ExposedKernelBytes)} in {a.ExposedKernelRanges.Count} range(s); user memory reachable from the kernel {ByteSize.Human(a.ReachableUserBytes)} of {ByteSize.Human(a.UserBytesChecked)}");
        }

        return sb.ToString();
    }

    public static string CauseName(CostCause c) => c.Name();

    private static string FormatPercent(double p) => (p >= 0 ? "+" : "") + p.ToString("F1", s_inv) + "%";

    private static string[] Header(string first, IEnumerable<string> rest) => new[] { first }.Concat(rest).ToArray();

    private static string[] Row(string first, IEnumerable<string> rest) => new[] { first }.Concat(rest).ToArray();

    private static string Table(List<string[]> rows) => TextTable.Render(rows, column => column > 0);

    public static string Json(CompareReport r)
    {
        return JsonText.Write(w =>
        {
            w.WriteStartObject();
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
                    foreach (CostCause c in Enum.GetValues<CostCause>())
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
            w.WriteEndObject();
        });
    }

    public static string Csv(CompareReport r)
    {
        StringBuilder sb = new();
        CostCause[] causes = Enum.GetValues<CostCause>();
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
