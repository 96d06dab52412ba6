using Vmsplit.Hardware;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// Every machine and design the command line accepts: each shipped CPU profile with each architecture whose MMU
/// format it has (at the command line's 48 VA bits), and for each, every base with every set of options the
/// design parser accepts, one per distinct design (names meaning the same design, such as 4g4g and
/// 4g4g+pin-kmap, collapse to the first).
/// </summary>
internal static class AcceptedCombinations
{
    public static IEnumerable<MachineSpec> Machines(ulong ram = 2 * ByteSize.GiB)
    {
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            foreach (KernelArch a in Enum.GetValues<KernelArch>())
            {
                MachineSpec m = new(p, a, ram);
                if (p.MmuFormats.Contains(Scenario.FormatOf(m)))
                {
                    yield return m;
                }
            }
        }
    }

    public static IReadOnlyList<DesignSpec> Designs(MachineSpec m)
    {
        Dictionary<DesignSpec, DesignSpec> distinct = new();
        foreach (string b in DesignSpec.Bases)
        {
            for (int mask = 0; mask < 1 << DesignSpec.Options.Length; mask++)
            {
                List<string> parts = [b];
                for (int i = 0; i < DesignSpec.Options.Length; i++)
                {
                    if ((mask & (1 << i)) != 0)
                    {
                        parts.Add(DesignSpec.Options[i]);
                    }
                }

                if (!DesignSpec.TryParse(string.Join('+', parts), Scenario.FormatOf(m), out DesignSpec? d, out _))
                {
                    continue;
                }

                try
                {
                    d = Scenario.ParseDesign(m, d!.Name); // the lab's own checks (features of the CPU) refuse some
                }
                catch (LabException)
                {
                    continue;
                }

                distinct.TryAdd(d with { Name = "" }, d);
            }
        }

        return distinct.Values.ToList();
    }

    /// <summary>One machine per architecture (the first profile that has it) with every design.</summary>
    public static IEnumerable<(MachineSpec Machine, DesignSpec Design)> OnePerArchitecture()
    {
        HashSet<KernelArch> seen = [];
        foreach (MachineSpec m in Machines())
        {
            if (seen.Add(m.Arch))
            {
                foreach (DesignSpec d in Designs(m))
                {
                    yield return (m, d);
                }
            }
        }
    }
}
