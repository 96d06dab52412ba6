using System.Globalization;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Lab;

/// <summary>A workload and a design's overhead on it against the baseline, in percent.</summary>
public sealed record WorkloadOverhead(string Workload, double Percent);

/// <summary>
/// What a design buys and costs against the baseline, read off a <see cref="CompareReport"/>: the address
/// budget and isolation differences, the range of overheads, the workloads that pay most and those where it
/// wins, its main cause of overhead, and the one- or two-sentence verdict built from them.
/// </summary>
public sealed record DesignVerdict(
    string Design,
    bool IsBaseline,
    long UserBytesDelta,
    long LowmemBytesDelta,
    long HighmemBytesDelta,
    long ExposedKernelBytesDelta,
    long ReachableUserBytesDelta,
    double MinOverheadPercent,
    double MaxOverheadPercent,
    IReadOnlyList<WorkloadOverhead> PaysMost,
    IReadOnlyList<WorkloadOverhead> Wins,
    string? MainCause,
    string Text);

/// <summary>Builds the verdicts of <c>vmsplit compare</c>; deterministic, from the numbers alone.</summary>
public static class Verdicts
{
    /// <summary>An overhead beyond this many percent counts as paying (or, below its negative, as winning).</summary>
    public const double Threshold = 1.0;

    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static IReadOnlyList<DesignVerdict> Of(CompareReport r) => [.. r.Designs.Select(d => Of(r, d))];

    public static DesignVerdict Of(CompareReport r, string design)
    {
        DesignBudget b = r.Budget.First(x => x.Design == r.Baseline);
        DesignBudget x = r.Budget.First(x => x.Design == design);
        AuditResult ab = r.Audits.First(a => a.Design == r.Baseline);
        AuditResult ax = r.Audits.First(a => a.Design == design);
        if (design == r.Baseline)
        {
            string baseText = $"{design} is the baseline: {ByteSize.Human(x.Layout.UserBytes)} of user address space, {ByteSize.Human(x.Layout.LowmemBytes)} of lowmem"
                + (x.Layout.HighmemBytes > 0 ? $" and {ByteSize.Human(x.Layout.HighmemBytes)} of highmem" : "")
                + $"; {ByteSize.Human(ax.ExposedKernelBytes)} of kernel memory translatable from user mode"
                + $", {ByteSize.Human(ax.ReachableUserBytes)} of the {ByteSize.Human(ax.UserBytesChecked)} touched user memory reachable from the kernel outside uaccess.";
            return new DesignVerdict(design, true, 0, 0, 0, 0, 0, 0, 0, [], [], null, baseText);
        }

        long user = Delta(x.Layout.UserBytes, b.Layout.UserBytes);
        long lowmem = Delta(x.Layout.LowmemBytes, b.Layout.LowmemBytes);
        long highmem = Delta(x.Layout.HighmemBytes, b.Layout.HighmemBytes);
        long exposed = Delta(ax.ExposedKernelBytes, ab.ExposedKernelBytes);
        long reachable = Delta(ax.ReachableUserBytes, ab.ReachableUserBytes);

        List<string> buys = [];
        List<string> gives = [];
        if (user > 0)
        {
            buys.Add($"{ByteSize.Human((ulong)user)} more user address space ({ByteSize.Human(x.Layout.UserBytes)})");
        }
        else if (user < 0)
        {
            gives.Add($"{ByteSize.Human((ulong)-user)} of user address space ({ByteSize.Human(x.Layout.UserBytes)} left)");
        }

        if (lowmem > 0)
        {
            buys.Add(x.Layout.HighmemBytes == 0 && x.Layout.IgnoredBytes == 0 && b.Layout.HighmemBytes + b.Layout.IgnoredBytes > 0
                ? $"all {ByteSize.Human(x.Layout.LowmemBytes)} of RAM as lowmem (no highmem)"
                : $"{ByteSize.Human((ulong)lowmem)} more lowmem ({ByteSize.Human(x.Layout.LowmemBytes)})");
        }
        else if (lowmem < 0)
        {
            gives.Add($"{ByteSize.Human((ulong)-lowmem)} of lowmem ({ByteSize.Human(x.Layout.LowmemBytes)} left)");
        }

        if (exposed < 0)
        {
            buys.Add(ax.ExposedKernelBytes == 0
                ? "no kernel memory translatable from user mode"
                : $"kernel memory translatable from user mode down from {ByteSize.Human(ab.ExposedKernelBytes)} to {ByteSize.Human(ax.ExposedKernelBytes)}");
        }
        else if (exposed > 0)
        {
            gives.Add($"{ByteSize.Human((ulong)exposed)} more kernel memory translatable from user mode");
        }

        if (reachable < 0)
        {
            buys.Add(ax.ReachableUserBytes == 0
                ? "user memory out of the kernel's reach outside uaccess"
                : $"user memory reachable from the kernel outside uaccess down to {ByteSize.Human(ax.ReachableUserBytes)}");
        }
        else if (reachable > 0)
        {
            gives.Add($"{ByteSize.Human((ulong)reachable)} more user memory reachable from the kernel outside uaccess");
        }

        Dictionary<string, int> order = r.WorkloadNames.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i, StringComparer.Ordinal);
        List<WorkloadOverhead> overheads = [.. r.WorkloadNames.Select(w => new WorkloadOverhead(w, r.OverheadPercent(r.Result(design, w))))];
        double min = overheads.Min(o => o.Percent);
        double max = overheads.Max(o => o.Percent);
        List<WorkloadOverhead> pays = [.. overheads.Where(o => o.Percent > Threshold).OrderByDescending(o => o.Percent).ThenBy(o => order[o.Workload]).Take(3)];
        List<WorkloadOverhead> wins = [.. overheads.Where(o => o.Percent < -Threshold).OrderBy(o => o.Percent).ThenBy(o => order[o.Workload]).Take(3)];
        IReadOnlyList<(CostCause Cause, double Ns)> top = r.TopCauses(design, 1);
        string? cause = top.Count > 0 ? top[0].Cause.Name : null;

        string first = buys.Count > 0
            ? $"{design} buys {Join(buys)} against {r.Baseline}"
            : $"{design} buys no address space or isolation over {r.Baseline}";
        if (gives.Count > 0)
        {
            first += $", and gives up {Join(gives)}";
        }

        string second;
        if (pays.Count == 0 && wins.Count == 0)
        {
            second = $"it costs nothing measurable: every workload is within {Percent(-Threshold)} to {Percent(Threshold)}";
        }
        else
        {
            List<string> parts = [];
            if (pays.Count > 0)
            {
                parts.Add($"it costs {Percent(min)} to {Percent(max)} per operation, most on {Join(pays.Select(Describe))}" + (cause is null ? "" : $", chiefly {cause}"));
            }
            else
            {
                parts.Add($"it costs nothing on any workload ({Percent(min)} to {Percent(max)} per operation)");
            }

            if (wins.Count > 0)
            {
                parts.Add($"it wins on {Join(wins.Select(Describe))}");
            }

            second = string.Join("; ", parts);
        }

        return new DesignVerdict(design, false, user, lowmem, highmem, exposed, reachable, min, max, pays, wins, cause, $"{first}. {Capitalise(second)}.");
    }

    private static long Delta(ulong a, ulong b) => a >= b ? (long)(a - b) : -(long)(b - a);

    private static string Describe(WorkloadOverhead o) => $"{o.Workload} ({Percent(o.Percent)})";

    private static string Percent(double p) => (p >= 0 ? "+" : "") + p.ToString("F1", s_inv) + " %";

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Join(IEnumerable<string> items)
    {
        List<string> list = [.. items];
        return list.Count switch
        {
            0 => "",
            1 => list[0],
            2 => $"{list[0]} and {list[1]}",
            _ => string.Join(", ", list.Take(list.Count - 1)) + " and " + list[^1],
        };
    }
}
