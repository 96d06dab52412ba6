using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab;

/// <summary>A machine: a CPU profile, an architecture and its RAM.</summary>
public sealed record MachineSpec(CpuProfile Profile, KernelArch Arch, ulong RamBytes)
{
    public VmSplit Split { get; init; } = VmSplit.Split3G;

    public bool Highmem { get; init; } = true;

    public int VaBits { get; init; } = 48;

    /// <summary>CONFIG_NR_CPUS (sizes the x86-32 cpu_entry_area).</summary>
    public int NrCpus { get; init; } = 8;

    /// <summary>x86-32: the Kconfig options that size the fixmap (a .config's, else a distribution-like kernel's).</summary>
    public X86FixmapOptions X86Fixmap { get; init; } = new();

    /// <summary>Simulated CPUs the kernel boots with (--cpus; 1 keeps every single-CPU result).</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>The Linux release whose rules the layout and the kernel paths follow (default: mainline).</summary>
    public LinuxVersion Linux { get; init; } = LinuxVersion.Mainline;

    /// <summary>The default machine of Arnd Bergmann's May 2020 discussion (LKML "ARM: static kernel in vmalloc space"): a 32-bit Cortex-A15 with 2 GiB of RAM and LPAE.</summary>
    public static MachineSpec DefaultArm() => new(Require("cortex-a15"), KernelArch.ArmLpae, 2 * ByteSize.GiB);

    /// <summary>The KPTI preset: x86-64 Skylake with 8 GiB.</summary>
    public static MachineSpec SkylakeX86() => new(Require("skylake"), KernelArch.X86_64, 8 * ByteSize.GiB);

    public static CpuProfile Require(string id) =>
        CpuProfiles.Find(id) ?? throw new LabException(
            $"unknown CPU profile {InputText.Quote(id)} (known: {string.Join(", ", CpuProfiles.Shipped.Select(p => p.Id))}; or a profile file such as ./my-board.yaml)"
            + Suggestions.DidYouMean(id, CpuProfiles.Shipped.Select(p => p.Id)));

    /// <summary>Whether a <c>--machine</c> value names a profile file: it contains a directory separator or ends in .yaml or .yml.</summary>
    public static bool IsProfileFile(string value)
    {
        string s = value.Trim();
        return s.Contains('/', StringComparison.Ordinal) || s.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal)
            || s.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || s.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A shipped profile by id, or the user's own profile file (<see cref="IsProfileFile"/>).</summary>
    public static CpuProfile Resolve(string idOrFile)
    {
        string s = idOrFile.Trim();
        if (!IsProfileFile(s))
        {
            return Require(s.ToLowerInvariant());
        }

        try
        {
            return CpuProfileLoader.LoadFile(s);
        }
        catch (ProfileFormatException e)
        {
            throw new LabException(e.Message);
        }
    }

    /// <summary>
    /// The architectures a CPU runs, one per MMU format it has (both arm64 VA sizes are <c>aarch64</c>), in the
    /// order of <see cref="KernelArchitectures.All"/>.
    /// </summary>
    public static IReadOnlyList<KernelArch> ArchesOf(CpuProfile profile) =>
        [.. profile.MmuFormats.Select(KernelArchitectures.OfFormat).Distinct().Order()];

    /// <summary>
    /// The architecture a machine runs when only its CPU is named: the widest its MMU formats allow. 64-bit
    /// before 32-bit, then the wider physical address (LPAE before the short-descriptor format, PAE before
    /// x86-32), then the table's order (x86-64 before LA57, Sv39 before Sv48). A Core 2 or a Skylake runs
    /// x86-64, a NetBurst Xeon or an Atom N270 x86-pae, a Cortex-A8 arm, a Cortex-A15 arm-lpae, a Cortex-A53
    /// aarch64, a U74 riscv-sv39.
    /// </summary>
    public static KernelArch DefaultArch(CpuProfile profile) =>
        ArchesOf(profile).OrderByDescending(a => a.AddressSpaceBits()).ThenByDescending(a => a.PhysicalAddressBits()).ThenBy(a => a).First();

    /// <summary>The machine for a CPU and an architecture it runs; arm64 uses 39-bit VAs on a CPU without the 48-bit format.</summary>
    /// <exception cref="LabException">the CPU cannot run the architecture (one line, with the architectures it runs)</exception>
    public static MachineSpec For(CpuProfile profile, KernelArch arch, ulong ramBytes)
    {
        if (!ArchesOf(profile).Contains(arch))
        {
            throw new LabException(CannotRun(profile, arch));
        }

        MachineSpec m = new(profile, arch, ramBytes);
        return arch == KernelArch.Aarch64 && !profile.MmuFormats.Contains(MmuFormat.AArch64Va48) ? m with { VaBits = 39 } : m;
    }

    /// <summary>"the cortex-a15 CPU cannot run x86-64 (it runs arm, arm-lpae)".</summary>
    public static string CannotRun(CpuProfile profile, KernelArch arch) =>
        $"the {profile.Id} CPU cannot run {arch.Name()} (it runs {string.Join(", ", ArchesOf(profile).Select(a => a.Name()))})";

    public string Describe() =>
        $"{Profile.Name}, {Arch.Name()}, {ByteSize.Human(RamBytes)} RAM" + (Arch.Is32Bit() ? $", {KernelConfig.SplitName(Split)}{(Highmem ? " with highmem" : "")}" : "") + (Cpus > 1 ? $", {Cpus} CPUs" : "");
}

/// <summary>Bad input to the lab (unknown profile, design or workload; impossible combination): one line.</summary>
public sealed class LabException(string message) : Exception(message);

/// <summary>One machine and one design, ready to boot.</summary>
public static class Scenario
{
    public static MmuFormat FormatOf(MachineSpec m) => m.Arch.MmuFormatOf(m.VaBits);

    public static DesignSpec ParseDesign(MachineSpec m, string name) =>
        DesignSpec.TryParse(name, FormatOf(m), m.Profile, out DesignSpec? d, out string error) ? d! : throw new LabException(error);

    /// <summary>The Linux layout the design runs on (the split, or the seed design's layout).</summary>
    public static KernelLayout LayoutFor(MachineSpec m, DesignSpec d)
    {
        if (!m.Profile.MmuFormats.Contains(FormatOf(m)))
        {
            throw new LabException($"{m.Arch.Name()}: the {m.Profile.Id} CPU has no {PageTableFormat.Get(FormatOf(m)).Name} MMU (it runs {string.Join(", ", MachineSpec.ArchesOf(m.Profile).Select(a => a.Name()))}; --machine picks another)");
        }

        LayoutDesign ld = DesignRegistry.SchemeOf(d.Scheme).Layout
            ?? (d.ImagePlacement != KernelImagePlacement.LinearMap && m.Arch.Is32Bit() ? LayoutDesign.KimageVmalloc : LayoutDesign.Classic);
        KernelConfig config = new()
        {
            Split = m.Split,
            Highmem = m.Highmem,
            Design = ld,
            VaBits = m.VaBits,
            NrCpus = m.NrCpus,
            X86Fixmap = m.X86Fixmap,
            Linux = m.Linux,
            ViptAliasing = m.Profile.Cache.ViptAliasing,
        };
        try
        {
            return LayoutEngine.Compute(Machine.WithRam(m.Arch, m.RamBytes), config);
        }
        catch (LayoutException e)
        {
            throw new LabException($"{d.Name} on {m.Arch.Name()}: {e.Message}");
        }
    }

    public static SimKernel Boot(MachineSpec m, DesignSpec d, ulong seed = 1, bool coherenceCheck = false, int randomizeVaSpace = 2)
    {
        KernelLayout layout = LayoutFor(m, d);
        try
        {
            return new SimKernel(new KernelSetup(layout, d, m.Profile) { Seed = seed, CoherenceCheck = coherenceCheck, Cpus = m.Cpus, RandomizeVaSpace = randomizeVaSpace });
        }
        catch (KernelSetupException e)
        {
            throw new LabException($"{d.Name} on {m.Arch.Name()}: {e.Message}");
        }
    }
}
