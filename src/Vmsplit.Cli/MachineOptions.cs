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

    public const string RandomizeVaSpaceHelp =
        "the kernel.randomize_va_space sysctl (Documentation/admin-guide/sysctl/kernel.rst): 0 randomises nothing (as the norandmaps boot option), "
        + "1 the stack, vdso, mmap base and shared libraries, 2 (default) also the heap (brk); the model randomises, from --seed, the mmap base "
        + "(arch_mmap_rnd), the stack top (randomize_stack_top) and arch_align_stack's offsets, and has no vdso or brk heap, so 1 and 2 behave the same";

    /// <summary>
    /// <c>--randomize-va-space</c>: the values Documentation/admin-guide/sysctl/kernel.rst gives kernel.randomize_va_space,
    /// 0, 1 or 2 (absent: 2, mm/memory.c's default without CONFIG_COMPAT_BRK); anything else is refused in one line.
    /// </summary>
    public static int RandomizeVaSpace(string? text)
    {
        if (text is null)
        {
            return 2;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) || n > 2)
        {
            throw new UsageException($"--randomize-va-space: '{VmsplitCli.Printable(text)}' is not 0, 1 or 2 (kernel.randomize_va_space: 0 none, 1 the stack, 2 also the heap)");
        }

        return n;
    }

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
