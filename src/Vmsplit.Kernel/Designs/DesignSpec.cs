using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Designs;

/// <summary>How the kernel's address space relates to the user's (docs/designs.md).</summary>
public enum IsolationScheme : byte
{
    /// <summary>Kernel mapped in every process (classic VMSPLIT_xG, x86-64 without PTI).</summary>
    Classic,

    /// <summary>KAISER/KPTI: a second, user copy of the top-level table mapping only the entry text and area.</summary>
    Kpti,

    /// <summary>32-bit ARM LPAE VMSPLIT_4G_4G: TTBR0 switched between user tables and the kernel's lowmem tables.</summary>
    FourGFourG,

    /// <summary>Ingo Molnar's 2003 x86-32 4G/4G: separate kernel page tables, CR3 switch on every entry and exit.</summary>
    X86FourGFourG,
}

/// <summary>How the kernel reaches user memory (compare Ryujinx's MemoryManagerType: one enum names the strategy).</summary>
public enum UaccessStrategy : byte
{
    /// <summary>Direct loads and stores through the user mapping that is live while the kernel runs.</summary>
    Direct,

    /// <summary>Pin the user page (get_user_pages), kmap it, memcpy, kunmap, unpin, page by page.</summary>
    PinKmap,

    /// <summary>Temporarily install the user tables in TTBR0 around the access.</summary>
    Ttbr0Switch,

    /// <summary>TTBR0 switch below a size threshold, pinned pages above it.</summary>
    Hybrid,

    /// <summary>Catalin Marinas' alternative: uaccess from a trampoline that restores the user pgd with a couple of kernel pmds mapped.</summary>
    Trampoline,

    /// <summary>x86-4g4g: copy through atomic kmaps of the user pages (2003 patch).</summary>
    AtomicKmap,

    /// <summary>Catalin Marinas' other idea: the user pmd copied into a dedicated kernel pmd, the user reached there.</summary>
    PmdCopy,
}

/// <summary>User-access protection while the kernel runs under a shared address space.</summary>
public enum PanKind : byte
{
    None,

    /// <summary>ARMv7 short descriptors: CONFIG_CPU_SW_DOMAIN_PAN switches the user domain to no-access in DACR.</summary>
    ArmDomain,

    /// <summary>ARMv7 LPAE: CONFIG_CPU_TTBR0_PAN disables TTBR0 walks with TTBCR.EPD0.</summary>
    ArmTtbr0,

    /// <summary>ARMv8.1 hardware PAN (PSTATE.PAN).</summary>
    ArmHardware,

    /// <summary>arm64 CONFIG_ARM64_SW_TTBR0_PAN: TTBR0 holds an empty table and the reserved ASID outside uaccess.</summary>
    Arm64Ttbr0,

    /// <summary>x86 SMAP with STAC/CLAC around uaccess.</summary>
    X86Smap,

    /// <summary>RISC-V: sstatus.SUM set only around uaccess.</summary>
    RiscvSum,
}

/// <summary>Where the kernel image is mapped, and how __pa/__va work for it.</summary>
public enum KernelImagePlacement : byte
{
    /// <summary>In the linear map: __pa is one subtraction.</summary>
    LinearMap,

    /// <summary>In the vmalloc area (arm64, RISC-V since 5.13, Arnd Bergmann, July 2020): __pa compares and branches between two offsets.</summary>
    Vmalloc,

    /// <summary>In the vmalloc area over randomly permuted physical pages (Arnd Bergmann, July 2020): __pa of an image address needs a page lookup.</summary>
    VmallocPermuted,
}

/// <summary>
/// A design named <c>base[+option...]</c>: the isolation scheme, the uaccess strategy and the switches.
/// Parsing checks that every option makes sense for the base and the architecture.
/// </summary>
public sealed record DesignSpec(
    string Name,
    IsolationScheme Scheme,
    UaccessStrategy Uaccess,
    PanKind Pan,
    KernelImagePlacement ImagePlacement,
    bool Pcid,
    bool GlobalEntryPages,
    bool KaiserV1,
    ulong HybridThresholdBytes)
{
    /// <summary>
    /// What a report should say about the design on this CPU (one line each): where it runs without a
    /// feature, as Linux does, or why a mechanism costs what it costs; empty when parsed without a CPU.
    /// </summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();

    /// <summary>
    /// Whether the kernel runs the speculation mitigations of its release on a CPU with the bugs: x86 v5.2's
    /// retpolines, VERW on return to user mode and the return-stack fill on context switch; arm64 v5.17's Spectre-BHB
    /// loop on every entry from EL0 and the firmware's Spectre-v2 call on switch_mm. False with <c>+nomitigations</c>,
    /// the <c>mitigations=off</c> boot option. PTI (KPTI) is the design's own choice.
    /// </summary>
    public bool SpeculationMitigations { get; init; } = true;

    /// <summary>Below this size the hybrid strategy switches TTBR0 instead of pinning (one page, a choice the seeds left open).</summary>
    public const ulong DefaultHybridThreshold = 4096;

    public static readonly string[] Bases = DesignRegistry.BaseNames.ToArray();

    // "classic, kpti, 4g4g or x86-4g4g"
    private static string BaseList => string.Join(", ", Bases[..^1]) + " or " + Bases[^1];

    public static readonly string[] Options =
    [
        "pin-kmap", "ttbr0-switch", "hybrid", "trampoline", "pmd-copy",
        "nopcid", "pcid", "global", "kaiser-v1",
        "pan", "sw-pan", "kimage-vmalloc", "kimage-permuted", "nomitigations",
    ];

    /// <summary>Parses a design name for an MMU format; on failure <paramref name="error"/> is a one-line reason.</summary>
    public static bool TryParse(string text, MmuFormat format, out DesignSpec? design, out string error)
    {
        design = null;
        error = "";
        string[] parts = text.Trim().ToLowerInvariant().Split('+', StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts[0].Length == 0)
        {
            error = $"empty design name (use {BaseList}, with +options)";
            return false;
        }

        string b = parts[0];
        ArchFamily family = format.Family();
        bool x86 = family == ArchFamily.X86;
        bool x86_64 = format is MmuFormat.X86_64 or MmuFormat.X86_64La57;
        bool aarch64 = family == ArchFamily.Arm64;

        // The scheme's row says where it exists and what it starts from (DesignRegistry.Schemes).
        SchemeRegistration? registration = DesignRegistry.SchemeNamed(b);
        if (registration is null)
        {
            error = $"design '{text}': unknown base '{b}' (use {BaseList})" + Suggestions.DidYouMean(b, DesignRegistry.BaseNames);
            return false;
        }

        if (!registration.Supports(format))
        {
            error = $"design '{text}': {registration.NotOnFormat.Replace("{format}", Describe(format), StringComparison.Ordinal)}";
            return false;
        }

        IsolationScheme scheme = registration.Scheme;
        UaccessStrategy uaccess = registration.DefaultUaccess;
        bool pcid = registration.PcidByDefault && x86_64;
        PanKind pan = PanKind.None;
        KernelImagePlacement placement = registration.DefaultImagePlacement;
        bool global = false;
        bool kaiser = false;
        bool mitigations = true;
        bool uaccessChosen = false;
        HashSet<string> seen = [];
        for (int i = 1; i < parts.Length; i++)
        {
            string o = parts[i];
            if (!seen.Add(o))
            {
                error = $"design '{text}': option '+{o}' given twice";
                return false;
            }

            string Bad(string why) => $"design '{text}': option '+{o}' {why}";
            switch (o)
            {
                case "pin-kmap" or "ttbr0-switch" or "hybrid" or "trampoline" or "pmd-copy":
                    if (uaccessChosen)
                    {
                        error = Bad("conflicts with another uaccess strategy");
                        return false;
                    }

                    uaccessChosen = true;
                    if (o == "pin-kmap" && scheme is IsolationScheme.Classic or IsolationScheme.FourGFourG)
                    {
                        uaccess = UaccessStrategy.PinKmap; // classic+pin-kmap: afzal mohammed's first step on a Cortex-A8 (LKML "ARM: static kernel in vmalloc space", May 2020)
                        break;
                    }

                    if (scheme != IsolationScheme.FourGFourG)
                    {
                        error = Bad($"applies only to 4g4g (uaccess while user memory is unmapped), not {b}");
                        return false;
                    }

                    uaccess = o switch
                    {
                        "ttbr0-switch" => UaccessStrategy.Ttbr0Switch,
                        "hybrid" => UaccessStrategy.Hybrid,
                        "pmd-copy" => UaccessStrategy.PmdCopy,
                        _ => UaccessStrategy.Trampoline,
                    };
                    break;
                case "nopcid" or "pcid":
                    if (scheme is not (IsolationScheme.Kpti or IsolationScheme.Classic) || !x86_64)
                    {
                        error = Bad("applies only to classic or kpti on x86-64 (the nopcid boot option)");
                        return false;
                    }

                    if (seen.Contains("nopcid") && seen.Contains("pcid"))
                    {
                        error = Bad("contradicts the other PCID option");
                        return false;
                    }

                    pcid = o == "pcid";
                    break;
                case "global":
                    if (scheme != IsolationScheme.Kpti || !x86)
                    {
                        error = Bad("applies only to kpti on x86 (global bit on the always-mapped entry pages)");
                        return false;
                    }

                    global = true;
                    break;
                case "kaiser-v1":
                    if (scheme != IsolationScheme.Kpti || !x86_64)
                    {
                        error = Bad("applies only to kpti on x86-64 (the 2017 KAISER patches were x86-64 only)");
                        return false;
                    }

                    kaiser = true;
                    break;
                case "pan":
                    if (scheme != IsolationScheme.Classic)
                    {
                        error = Bad($"applies only to classic ({b} already unmaps user memory or has its own rules)");
                        return false;
                    }

                    if (pan != PanKind.None)
                    {
                        error = Bad("conflicts with +sw-pan (one PAN mechanism)");
                        return false;
                    }

                    pan = DesignRegistry.PanFor(o, format)?.Kind ?? PanKind.None; // the mechanism this format has (DesignRegistry.PanKinds)
                    if (pan == PanKind.None)
                    {
                        error = Bad("is not available on x86-32 without PAE (no SMAP-capable 2-level kernels are modelled)");
                        return false;
                    }

                    break;
                case "sw-pan":
                    if (scheme != IsolationScheme.Classic || DesignRegistry.PanFor(o, format) is null)
                    {
                        error = Bad("applies only to classic on aarch64 (CONFIG_ARM64_SW_TTBR0_PAN)");
                        return false;
                    }

                    if (pan != PanKind.None)
                    {
                        error = Bad("conflicts with +pan (one PAN mechanism)");
                        return false;
                    }

                    pan = DesignRegistry.PanFor(o, format)!.Kind;
                    break;
                case "kimage-vmalloc":
                    if (x86)
                    {
                        error = Bad("is not modelled on x86 (its kernel image has its own fixed mapping)");
                        return false;
                    }

                    if (placement == KernelImagePlacement.LinearMap)
                    {
                        placement = KernelImagePlacement.Vmalloc;
                    }

                    break;
                case "kimage-permuted":
                    if (x86)
                    {
                        error = Bad("is not modelled on x86");
                        return false;
                    }

                    placement = KernelImagePlacement.VmallocPermuted;
                    break;
                case "nomitigations":
                    if (!x86 && family != ArchFamily.Arm64)
                    {
                        error = Bad("applies only to x86 and arm64 (the mitigations=off boot option; no other architecture's mitigations are modelled)");
                        return false;
                    }

                    mitigations = false;
                    break;
                default:
                    error = $"design '{text}': unknown option '+{o}' (options: +{string.Join(", +", Options)})" + Suggestions.DidYouMean(o, Options);
                    return false;
            }
        }

        if (kaiser && global)
        {
            error = $"design '{text}': +kaiser-v1 means no global pages at all, so it cannot be combined with +global";
            return false;
        }

        if (scheme == IsolationScheme.Kpti && aarch64 && (seen.Contains("nopcid") || seen.Contains("pcid")))
        {
            error = $"design '{text}': arm64 kpti uses an ASID pair, not PCID";
            return false;
        }

        design = new DesignSpec(
            Canonical(b, parts),
            scheme,
            uaccess,
            pan,
            placement,
            pcid,
            global,
            kaiser,
            DefaultHybridThreshold)
        { SpeculationMitigations = mitigations };
        return true;
    }

    public static DesignSpec Parse(string text, MmuFormat format) =>
        TryParse(text, format, out DesignSpec? d, out string error) ? d! : throw new FormatException(error);

    public static DesignSpec Parse(string text, MmuFormat format, CpuProfile cpu) =>
        TryParse(text, format, cpu, out DesignSpec? d, out string error) ? d! : throw new FormatException(error);

    /// <summary>
    /// Parses a design for a machine: the name as <see cref="TryParse(string, MmuFormat, out DesignSpec?, out string)"/>,
    /// then the CPU features it needs. An option that asks for a missing feature (<c>+pcid</c>, <c>+pan</c>,
    /// <c>+global</c>) is refused in one line naming the feature and the CPU; where Linux silently runs
    /// without a feature (kpti or classic without PCID, PTI without INVPCID, no global pages) the design
    /// runs without it and <see cref="Notes"/> says so.
    /// </summary>
    public static bool TryParse(string text, MmuFormat format, CpuProfile cpu, out DesignSpec? design, out string error)
    {
        if (!TryParse(text, format, out design, out error))
        {
            return false;
        }

        DesignSpec d = design!;
        string[] options = d.Name.Split('+')[1..];
        string Missing(CpuFeature f, string what, string why) =>
            $"design '{text.Trim()}': {what} needs {f.Display()}, which the {cpu.Id} CPU ({cpu.Name}) lacks{why}";

        string? refusal = null;
        if (options.Contains("pcid") && !cpu.Has(CpuFeature.Pcid))
        {
            refusal = Missing(CpuFeature.Pcid, "+pcid", " (CPUID.01H:ECX.PCID); drop +pcid: Linux then runs without PCIDs");
        }
        else if (d.GlobalEntryPages && !cpu.Has(CpuFeature.Global))
        {
            refusal = Missing(CpuFeature.Global, "+global", " (CR4.PGE)");
        }
        else if (DesignRegistry.SchemeOf(d.Scheme) is { } scheme && scheme.NeedsFor(format) is FeatureNeed schemeNeeds && !cpu.Has(schemeNeeds.Feature))
        {
            refusal = Missing(schemeNeeds.Feature, scheme.Base, schemeNeeds.Why);
        }
        else if (DesignRegistry.PanOf(d.Pan) is { Needs: FeatureNeed panNeeds } pan && !cpu.Has(panNeeds.Feature))
        {
            refusal = Missing(panNeeds.Feature, "+" + pan.Option, panNeeds.Why);
        }

        if (refusal is not null)
        {
            design = null;
            error = refusal;
            return false;
        }

        List<string> notes = [];
        bool pcid = d.Pcid;
        if (pcid && !cpu.Has(CpuFeature.Pcid))
        {
            // setup_pcid() leaves CR4.PCIDE clear without X86_FEATURE_PCID (arch/x86/mm/init.c, Linux 4.14+)
            pcid = false;
            notes.Add($"{d.Name}: the {cpu.Id} CPU has no PCID; Linux runs {(d.Scheme == IsolationScheme.Kpti ? "PTI" : "it")} without PCIDs (setup_pcid, arch/x86/mm/init.c), so every CR3 write flushes the non-global entries");
        }
        else if (pcid && d.Scheme == IsolationScheme.Kpti && !cpu.Has(CpuFeature.Invpcid))
        {
            notes.Add($"{d.Name}: the {cpu.Id} CPU has PCID but no INVPCID; a user-address flush marks the user PCID for a full flush at the next exit instead (invalidate_user_asid, arch/x86/mm/tlb.c)");
        }

        if (!cpu.Has(CpuFeature.Global))
        {
            notes.Add($"{d.Name}: the {cpu.Id} CPU has no global pages; Linux maps the kernel without them (_PAGE_GLOBAL is left out of __supported_pte_mask), so kernel entries die at every address-space switch");
        }

        if (d.Pan == PanKind.ArmHardware)
        {
            notes.Add($"{d.Name}: arm64 Linux copies user memory with LDTR/STTR since 5.11, which PAN does not restrict, so no PSTATE.PAN write surrounds a uaccess (arch/arm64/include/asm/uaccess.h); 4.3 to 5.10 wrote it before and after each copy");
        }

        design = d with { Pcid = pcid, Notes = notes.Count == 0 ? Array.Empty<string>() : notes };
        return true;
    }

    private static string Canonical(string b, string[] parts) =>
        parts.Length == 1 ? b : b + "+" + string.Join("+", parts.Skip(1));

    private static string Describe(MmuFormat format) =>
        format == MmuFormat.ArmShort ? "arm (short descriptors)" : KernelArchitectures.OfFormat(format).Name();
}
