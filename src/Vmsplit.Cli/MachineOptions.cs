using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli;

/// <summary>
/// <c>--machine</c> and <c>--arch</c> as every command that runs a machine reads them: the machine implies its
/// architecture (<see cref="MachineSpec.DefaultArch"/>), the architecture its default CPU, and the architecture
/// the designs worth comparing when none are given. An architecture the CPU cannot run is refused in one line.
/// </summary>
public static class MachineOptions
{
    public const string MachineHelp = "CPU profile (vmsplit profile list) or your own profile file (a path: contains / or ends in .yaml); it implies the architecture";

    public const string ConfigHelp = "a Linux kernel .config: its architecture, split, highmem, arm64 VA size, NR_CPUS and design (PTI, PAN, 4G/4G); explicit options win";

    /// <summary>The .config <c>--config</c> names, or null.</summary>
    public static KernelDotConfig? Config(string? path)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            return KernelDotConfig.Load(path);
        }
        catch (LabException e)
        {
            throw new UsageException(e.Message);
        }
    }

    public static string ArchHelp(string defaults) =>
        $"architecture: {string.Join(", ", KernelArchitectures.Names)} (default: {defaults})";

    /// <summary>The profile <c>--machine</c> names, or null.</summary>
    public static CpuProfile? Profile(string? machine)
    {
        if (machine is null)
        {
            return null;
        }

        try
        {
            return MachineSpec.Resolve(machine);
        }
        catch (LabException e)
        {
            throw new UsageException("--machine: " + e.Message);
        }
    }

    /// <summary>The architecture <c>--arch</c> names, or null.</summary>
    public static KernelArch? Arch(string? arch)
    {
        if (arch is null)
        {
            return null;
        }

        return KernelArchitectures.TryParse(arch, false, false, out KernelArch a, out string error) ? a : throw new UsageException("--arch: " + error);
    }

    /// <summary>
    /// The machine from <c>--machine</c> and <c>--arch</c>: both given, the CPU must run the architecture; the
    /// CPU alone runs its default architecture; the architecture alone brings its default CPU unless
    /// <paramref name="fallback"/> already has that architecture; neither gives <paramref name="fallback"/>.
    /// </summary>
    public static MachineSpec Resolve(string? machine, string? arch, MachineSpec fallback, KernelDotConfig? config = null)
    {
        CpuProfile? profile = Profile(machine);
        KernelArch? a = Arch(arch);
        if (config is not null)
        {
            try
            {
                // the .config's architecture, checked against --arch and the CPU; then what else it sets
                a = DotConfigMachine.ChooseArch(config, a, profile);
                return DotConfigMachine.Apply(config, Resolve(profile, a, fallback));
            }
            catch (LabException e)
            {
                throw new UsageException(e.Message);
            }
        }

        return Resolve(profile, a, fallback);
    }

    private static MachineSpec Resolve(CpuProfile? profile, KernelArch? a, MachineSpec fallback)
    {
        try
        {
            if (profile is not null)
            {
                return MachineSpec.For(profile, a ?? MachineSpec.DefaultArch(profile), fallback.RamBytes) with { Split = fallback.Split, Highmem = fallback.Highmem };
            }

            if (a is KernelArch only && only != fallback.Arch)
            {
                return MachineSpec.For(MachineSpec.Require(only.Info().DefaultProfile), only, fallback.RamBytes) with { Split = fallback.Split, Highmem = fallback.Highmem };
            }
        }
        catch (LabException e)
        {
            throw new UsageException("--arch: " + e.Message);
        }

        return fallback;
    }

    /// <summary>
    /// The designs worth comparing on the machine's architecture (<see cref="KernelArchInfo.DefaultDesigns"/>)
    /// that its CPU can run; each one left out gets a note saying why.
    /// </summary>
    public static (List<string> Designs, List<string> Notes) DefaultDesigns(MachineSpec m)
    {
        List<string> designs = [];
        List<string> notes = [];
        foreach (string d in m.Arch.Info().DefaultDesigns)
        {
            try
            {
                Scenario.ParseDesign(m, d);
                designs.Add(d);
            }
            catch (LabException e)
            {
                notes.Add($"{d} left out of the default designs: {e.Message}");
            }
        }

        return (designs, notes);
    }

    /// <summary>The design a .config builds for the machine, and the note that says why (empty without a .config).</summary>
    public static (string? Design, string Note) ConfigDesign(MachineSpec m, KernelDotConfig? config)
    {
        if (config is null)
        {
            return (null, "");
        }

        try
        {
            (string design, string why) = DotConfigMachine.Design(config, m);
            Scenario.ParseDesign(m, design);
            return (design, why.Length > 0 ? why : $"{config.Name} builds {design}");
        }
        catch (LabException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
