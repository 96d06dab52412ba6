using Vmsplit.Hardware;
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

    /// <summary>The Linux release whose rules the layout and the kernel paths follow (default: mainline).</summary>
    public LinuxVersion Linux { get; init; } = LinuxVersion.Mainline;

    /// <summary>Seed 002's default machine: a 32-bit Cortex-A15 with 2 GiB of RAM and LPAE.</summary>
    public static MachineSpec DefaultArm() => new(Require("cortex-a15"), KernelArch.ArmLpae, 2 * ByteSize.GiB);

    /// <summary>The KPTI preset: x86-64 Skylake with 8 GiB.</summary>
    public static MachineSpec SkylakeX86() => new(Require("skylake"), KernelArch.X86_64, 8 * ByteSize.GiB);

    public static CpuProfile Require(string id) =>
        CpuProfiles.Find(id) ?? throw new LabException($"unknown CPU profile '{id}' (vmsplit profile list shows them)");

    /// <summary>A shipped profile by id, or the user's own profile file when the name ends in .yaml or .yml.</summary>
    public static CpuProfile Resolve(string idOrFile)
    {
        string s = idOrFile.Trim();
        if (!s.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) && !s.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
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

    public string Describe() =>
        $"{Profile.Name}, {Arch.Name()}, {ByteSize.Human(RamBytes)} RAM" + (Arch.Is32Bit() ? $", {KernelConfig.SplitName(Split)}{(Highmem ? " with highmem" : "")}" : "");
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
            throw new LabException($"{m.Arch.Name()}: CPU profile {m.Profile.Id} has no {PageTableFormat.Get(FormatOf(m)).Name} MMU (it has {string.Join(", ", m.Profile.MmuFormats.Select(f => PageTableFormat.Get(f).Name))}; --machine picks another)");
        }

        LayoutDesign ld = d.Scheme switch
        {
            IsolationScheme.FourGFourG => LayoutDesign.FourGFourG,
            IsolationScheme.X86FourGFourG => LayoutDesign.X86FourGFourG,
            _ when d.ImagePlacement != KernelImagePlacement.LinearMap && m.Arch.Is32Bit() => LayoutDesign.KimageVmalloc,
            _ => LayoutDesign.Classic,
        };
        KernelConfig config = new()
        {
            Split = m.Split,
            Highmem = m.Highmem,
            Design = ld,
            VaBits = m.VaBits,
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

    public static SimKernel Boot(MachineSpec m, DesignSpec d, ulong seed = 1, bool coherenceCheck = false)
    {
        KernelLayout layout = LayoutFor(m, d);
        try
        {
            return new SimKernel(new KernelSetup(layout, d, m.Profile) { Seed = seed, CoherenceCheck = coherenceCheck });
        }
        catch (KernelSetupException e)
        {
            throw new LabException($"{d.Name} on {m.Arch.Name()}: {e.Message}");
        }
    }
}
