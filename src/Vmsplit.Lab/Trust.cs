using System.Collections.Concurrent;
using System.Globalization;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab.Validation;

namespace Vmsplit.Lab;

/// <summary>What <c>vmsplit validate</c> says of one architecture: its shipped datapoints, run with the machine's profile where the ids match.</summary>
public sealed record ValidationSummary(string Arch, double TolerancePercent, IReadOnlyList<ValidationResult> Results)
{
    public int Within => Results.Count(r => r.Within(TolerancePercent));

    public IReadOnlyList<ValidationResult> Misses => [.. Results.Where(r => !r.Within(TolerancePercent))];
}

/// <summary>
/// How far to trust a comparison: the causes behind the largest overheads (each design's top causes against
/// the baseline), the profile values that price them and how many of those are assumptions, whether kernel
/// software costs (all assumptions) price them too, and what the validation datapoints of the architecture say.
/// </summary>
public sealed record TrustSummary(
    IReadOnlyList<CostCause> Drivers,
    IReadOnlyList<ProfileEntry> Values,
    IReadOnlyList<CostCause> SoftwareDrivers,
    ValidationSummary Validation)
{
    /// <summary>Causes per design that count as driving its overhead.</summary>
    public const int DriversPerDesign = 3;

    /// <summary>The tolerance validate uses by default.</summary>
    public const double TolerancePercent = 25;

    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    // Validation results of an architecture with a given profile object (shipped profiles are one object each):
    // deterministic, so computed once per process.
    private static readonly ConcurrentDictionary<(KernelArch, CpuProfile), ValidationSummary> s_validation = new();

    public IReadOnlyList<ProfileEntry> Assumed => [.. Values.Where(v => v.IsAssumption)];

    public static TrustSummary Of(CompareReport r)
    {
        List<CostCause> drivers = [];
        foreach (string d in r.Designs.Where(d => d != r.Baseline))
        {
            foreach ((CostCause c, _) in r.TopCauses(d, DriversPerDesign))
            {
                if (!drivers.Contains(c))
                {
                    drivers.Add(c);
                }
            }
        }

        List<ProfileEntry> values = [];
        foreach (CostCause c in drivers)
        {
            foreach (ProfileEntry e in CauseInputs.Entries(c, r.Machine.Profile))
            {
                if (!values.Contains(e))
                {
                    values.Add(e);
                }
            }
        }

        return new TrustSummary(drivers, values, [.. drivers.Where(CauseInputs.KernelSoftware)], Validate(r.Machine));
    }

    /// <summary>The shipped datapoints of the machine's architecture, run with its profile in place of the shipped one with the same id.</summary>
    public static ValidationSummary Validate(MachineSpec m) => s_validation.GetOrAdd((m.Arch, m.Profile), key =>
    {
        List<Datapoint> points = [.. DatapointFile.Shipped().Where(d => KernelArchitectures.TryParse(d.Scenario.Arch, false, false, out KernelArch a, out _) && a == key.Item1)];
        return new ValidationSummary(key.Item1.Name(), TolerancePercent, new Validator(1, key.Item2).Run(points));
    });

    /// <summary>The trust line: two or three sentences.</summary>
    public string Text()
    {
        List<string> sentences = [];
        if (Drivers.Count == 0)
        {
            sentences.Add("No design adds time against the baseline, so no cost drives an overhead");
        }
        else
        {
            string s = $"The largest overheads come from {Join(Drivers.Select(c => c.Name))}";
            if (Values.Count > 0)
            {
                s += Assumed.Count == 0
                    ? $"; the {Count(Values.Count, "profile value")} that can price them all cite a source"
                    : $"; {Assumed.Count} of the {Count(Values.Count, "profile value")} that can price them {(Assumed.Count == 1 ? "is an assumption" : "are assumptions")} ({Join(Assumed.Select(a => a.Path))})";
            }

            if (SoftwareDrivers.Count > 0)
            {
                s += $", and kernel software costs, all assumptions, price {Join(SoftwareDrivers.Select(c => c.Name))}";
            }

            sentences.Add(s);
        }

        ValidationSummary v = Validation;
        string tol = TolerancePercent.ToString("0.##", s_inv);
        if (v.Results.Count == 0)
        {
            sentences.Add($"vmsplit validate has no published measurement for {v.Arch} to check the model against");
        }
        else
        {
            string s = $"vmsplit validate on {v.Arch}: {v.Within} of {Count(v.Results.Count, "published measurement")} within ±{tol} %";
            IReadOnlyList<ValidationResult> misses = v.Misses;
            if (misses.Count > 0)
            {
                int below = misses.Count(m => m.ErrorPercent < 0);
                double lo = misses.Min(m => m.ErrorPercent);
                double hi = misses.Max(m => m.ErrorPercent);
                string range = $"{Percent(lo)} to {Percent(hi)}";
                s += below == misses.Count
                    ? $"; the model is below the published value in all {misses.Count} misses ({range})"
                    : below == 0
                        ? $"; the model is above the published value in all {misses.Count} misses ({range})"
                        : $"; {below} of the {misses.Count} misses are below the published value ({range})";
                s += $"; vmsplit validate --arch {v.Arch} --detail says why";
            }

            sentences.Add(s);
        }

        return string.Join(". ", sentences) + ".";
    }

    private static string Count(int n, string noun) => n == 1 ? $"{n} {noun}" : $"{n} {noun}s";

    private static string Percent(double p) => (p >= 0 ? "+" : "") + p.ToString("F1", s_inv) + " %";

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
