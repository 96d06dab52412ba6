using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Arch.Arm64;
using Vmsplit.Kernel.Arch.Riscv;
using Vmsplit.Kernel.Arch.X86;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Designs;

/// <summary>A CPU feature a design part needs, and what the refusal adds when the CPU lacks it.</summary>
public readonly record struct FeatureNeed(CpuFeature Feature, string Why);

/// <summary>The design-dependent settings an architecture room is built with.</summary>
/// <param name="Pcid">The design asks for x86 PCIDs.</param>
/// <param name="KernelUnmappedInUserMode">KPTI: ASIDs/PCIDs come in kernel/user pairs and user TLB maintenance covers both.</param>
public readonly record struct ArchOptions(bool Pcid, bool KernelUnmappedInUserMode, bool SpeculationMitigations = true);

/// <summary>One architecture's mm room: the family of MMU formats it runs, and how it is built.</summary>
public sealed record ArchRegistration(ArchFamily Family, Func<SimKernel, ArchOptions, ArchMm> Create);

/// <summary>An implementation of an isolation scheme for some MMU formats, built on its architecture room.</summary>
public sealed record SchemeImplementation(IReadOnlyList<MmuFormat>? Formats, Func<SimKernel, ArchMm, DesignSpec, IsolationPolicy?> Create)
{
    /// <summary>An implementation on <typeparamref name="TArch"/> for <paramref name="formats"/> (null: every format).</summary>
    public static SchemeImplementation On<TArch>(MmuFormat[]? formats, Func<SimKernel, TArch, DesignSpec, IsolationPolicy> create)
        where TArch : ArchMm =>
        new(formats, (k, arch, d) => arch is TArch a ? create(k, a, d) : null);

    public bool Supports(MmuFormat format) => Formats is null || Formats.Contains(format);
}

/// <summary>
/// An isolation scheme as a design's base names it: the formats it exists on (with the refusal for the
/// others), the CPU feature it needs, its defaults, and its implementations.
/// </summary>
/// <param name="Base">The design base (<c>classic</c>, <c>kpti</c>, ...).</param>
/// <param name="NotOnFormat">The refusal on another format; <c>{format}</c> stands for the format's name.</param>
public sealed record SchemeRegistration(
    string Base,
    IsolationScheme Scheme,
    UaccessStrategy DefaultUaccess,
    string NotOnFormat,
    IReadOnlyList<SchemeImplementation> Implementations)
{
    /// <summary>A CPU feature the scheme cannot run without (on <see cref="NeedsOn"/> only, when given).</summary>
    public FeatureNeed? Needs { get; init; }

    /// <summary>The formats on which <see cref="Needs"/> applies; null: every format.</summary>
    public IReadOnlyList<MmuFormat>? NeedsOn { get; init; }

    /// <summary>The feature the scheme needs on <paramref name="format"/>, if any.</summary>
    public FeatureNeed? NeedsFor(MmuFormat format) => NeedsOn is null || NeedsOn.Contains(format) ? Needs : null;

    /// <summary>Whether the scheme uses PCIDs on x86-64 unless told otherwise.</summary>
    public bool PcidByDefault { get; init; }

    /// <summary>Where the kernel image goes unless an option moves it.</summary>
    public KernelImagePlacement DefaultImagePlacement { get; init; } = KernelImagePlacement.LinearMap;

    /// <summary>KPTI: the kernel is unmapped while user code runs.</summary>
    public bool UnmapsKernelInUserMode { get; init; }

    /// <summary>The layout the scheme needs (its own split of the address space), or null for Linux's.</summary>
    public LayoutDesign? Layout { get; init; }

    public bool Supports(MmuFormat format) => Implementations.Any(i => i.Supports(format));
}

/// <summary>A PAN mechanism: the design option that asks for it, the formats it exists on, the feature it needs, how it is built.</summary>
public sealed record PanRegistration(string Option, PanKind Kind, IReadOnlyList<MmuFormat> Formats, Func<SimKernel, ArchMm, PanPolicy?> Create)
{
    public FeatureNeed? Needs { get; init; }

    /// <summary>A mechanism on <typeparamref name="TArch"/>.</summary>
    public static Func<SimKernel, ArchMm, PanPolicy?> On<TArch>(Func<SimKernel, TArch, PanPolicy> create)
        where TArch : ArchMm =>
        (k, arch) => arch is TArch a ? create(k, a) : null;
}

/// <summary>A user-access strategy and how it is built on the design's isolation scheme.</summary>
public sealed record UaccessRegistration(UaccessStrategy Strategy, Func<SimKernel, IsolationPolicy, DesignSpec, IUserPageAccess?> Create)
{
    /// <summary>A strategy that needs the isolation scheme <typeparamref name="TScheme"/>.</summary>
    public static Func<SimKernel, IsolationPolicy, DesignSpec, IUserPageAccess?> On<TScheme>(Func<SimKernel, TScheme, DesignSpec, IUserPageAccess> create)
        where TScheme : IsolationPolicy =>
        (k, scheme, d) => scheme is TScheme s ? create(k, s, d) : null;
}

/// <summary>A kernel-image placement and how it is built.</summary>
public sealed record ImageRegistration(KernelImagePlacement Placement, Func<SimKernel, KernelImageMapping> Create);

/// <summary>
/// Every part a design is made of, one row each: what the parser accepts and refuses and what
/// <see cref="DesignCompiler"/> builds come from these tables. A new isolation scheme is one class and
/// one row in <see cref="Schemes"/>; a new architecture one MMU format, one <see cref="ArchMm"/> and one
/// row in <see cref="Architectures"/>.
/// </summary>
public static class DesignRegistry
{
    private static readonly MmuFormat[] s_arm64 = [MmuFormat.AArch64Va39, MmuFormat.AArch64Va48];
    private static readonly MmuFormat[] s_riscv = [MmuFormat.RiscvSv32, MmuFormat.RiscvSv39, MmuFormat.RiscvSv48, MmuFormat.RiscvSv57];

    public static readonly ArchRegistration[] Architectures =
    [
        new(ArchFamily.Arm32, (k, o) => new ArmMm(k)),
        new(ArchFamily.Arm64, (k, o) => new Arm64Mm(k, kpti: o.KernelUnmappedInUserMode, mitigations: o.SpeculationMitigations)),
        new(ArchFamily.X86, (k, o) => new X86Mm(k, pcid: o.Pcid, pti: o.KernelUnmappedInUserMode, mitigations: o.SpeculationMitigations)),
        new(ArchFamily.Riscv, (k, o) => new RiscvMm(k)),
    ];

    public static readonly SchemeRegistration[] Schemes =
    [
        // Linux 4.14+ tags mm switches with PCIDs even without PTI (arch/x86/mm/tlb.c, TLB_NR_DYN_ASIDS)
        new("classic", IsolationScheme.Classic, UaccessStrategy.Direct, "",
            [SchemeImplementation.On<ArchMm>(null, (k, arch, d) => new SharedKernel(k, arch))])
        {
            PcidByDefault = true,
        },

        // Linux uses PCID under PTI when the CPU has it (arch/x86/mm/tlb.c); 32-bit PTI has none
        new("kpti", IsolationScheme.Kpti, UaccessStrategy.Direct, "kpti exists for x86-64, x86-pae (32-bit PTI) and aarch64, not {format}",
            [
                SchemeImplementation.On<X86Mm>([MmuFormat.X86_64, MmuFormat.X86_64La57, MmuFormat.X86Pae], (k, x86, d) => d.KaiserV1 ? new KaiserV1(k, x86) : new X86Pti(k, x86, d.GlobalEntryPages)),
                SchemeImplementation.On<Arm64Mm>(s_arm64, (k, arm64, d) => new Arm64Kpti(k, arm64)),
            ])
        {
            PcidByDefault = true,
            UnmapsKernelInUserMode = true,
        },

        // LPAE: TTBR1 holds the top 256 MiB; short descriptors: TTBR0 switched over the whole 4 GiB with a shared trampoline
        new("4g4g", IsolationScheme.FourGFourG, UaccessStrategy.PinKmap, "4g4g is a 32-bit ARM design (LPAE or short descriptors), not {format}",
            [
                SchemeImplementation.On<ArmMm>([MmuFormat.ArmLpae], (k, arm, d) => new ArmFourGFourG(k, arm)),
                SchemeImplementation.On<ArmMm>([MmuFormat.ArmShort], (k, arm, d) => new ArmShortFourGFourG(k, arm)),
            ])
        {
            Needs = new FeatureNeed(CpuFeature.Lpae, " (ARMv7 Large Physical Address Extension); on short descriptors 4g4g switches TTBR0 over the whole 4 GiB: use --arch arm"),
            NeedsOn = [MmuFormat.ArmLpae],
            DefaultImagePlacement = KernelImagePlacement.Vmalloc,
            Layout = LayoutDesign.FourGFourG,
        },

        new("x86-4g4g", IsolationScheme.X86FourGFourG, UaccessStrategy.AtomicKmap, "x86-4g4g is the 2003 x86-32 design, not for {format}",
            [SchemeImplementation.On<X86Mm>([MmuFormat.X86_32, MmuFormat.X86Pae], (k, x86, d) => new X86FourGFourG(k, x86))])
        {
            Layout = LayoutDesign.X86FourGFourG,
        },
    ];

    public static readonly PanRegistration[] PanKinds =
    [
        new("pan", PanKind.ArmDomain, [MmuFormat.ArmShort], (k, arch) => new ArmDomainPan(k))
        {
            Needs = new FeatureNeed(CpuFeature.Domains, " (CONFIG_CPU_SW_DOMAIN_PAN needs the short-descriptor DACR)"),
        },
        new("pan", PanKind.ArmTtbr0, [MmuFormat.ArmLpae], PanRegistration.On<ArmMm>((k, arm) => new ArmTtbr0Pan(k, arm))),
        new("pan", PanKind.ArmHardware, s_arm64, PanRegistration.On<Arm64Mm>((k, arm64) => new Arm64HardwarePan(k, arm64)))
        {
            Needs = new FeatureNeed(CpuFeature.Pan, " (ARMv8.1 PSTATE.PAN); Linux emulates it there with CONFIG_ARM64_SW_TTBR0_PAN: use +sw-pan"),
        },
        new("pan", PanKind.X86Smap, [MmuFormat.X86Pae, MmuFormat.X86_64, MmuFormat.X86_64La57], (k, arch) => new X86SmapPan(k))
        {
            Needs = new FeatureNeed(CpuFeature.Smap, " (CPUID.(EAX=07H,ECX=0):EBX.SMAP, Broadwell and later); Linux leaves user memory reachable there"),
        },
        new("pan", PanKind.RiscvSum, s_riscv, (k, arch) => new RiscvSumPan(k))
        {
            Needs = new FeatureNeed(CpuFeature.Sum, " (sstatus.SUM, privileged specification 1.10)"),
        },
        new("sw-pan", PanKind.Arm64Ttbr0, s_arm64, PanRegistration.On<Arm64Mm>((k, arm64) => new Arm64SwTtbr0Pan(k, arm64))),
    ];

    public static readonly UaccessRegistration[] UaccessStrategies =
    [
        new(UaccessStrategy.Direct, (k, scheme, d) => new DirectUserAccess(k)),
        new(UaccessStrategy.PinKmap, (k, scheme, d) => new PinKmapUserAccess(k)),
        new(UaccessStrategy.AtomicKmap, (k, scheme, d) => new AtomicKmapUserAccess(k)),
        new(UaccessStrategy.Ttbr0Switch, UaccessRegistration.On<ArmFourGFourG>((k, fourG, d) => new Ttbr0SwitchUserAccess(k, fourG))),
        new(UaccessStrategy.Trampoline, UaccessRegistration.On<ArmFourGFourG>((k, fourG, d) => new TrampolineUserAccess(k, fourG))),
        new(UaccessStrategy.PmdCopy, UaccessRegistration.On<ArmFourGFourG>((k, fourG, d) => new PmdCopyUserAccess(k, fourG))),
        new(UaccessStrategy.Hybrid, UaccessRegistration.On<ArmFourGFourG>((k, fourG, d) =>
            new HybridUserAccess(new Ttbr0SwitchUserAccess(k, fourG), new PinKmapUserAccess(k), d.HybridThresholdBytes))),
    ];

    public static readonly ImageRegistration[] ImagePlacements =
    [
        new(KernelImagePlacement.LinearMap, k => new LinearMapImage(k)),
        new(KernelImagePlacement.Vmalloc, k => new VmallocImage(k)),
        new(KernelImagePlacement.VmallocPermuted, k => new PermutedVmallocImage(k)),
    ];

    /// <summary>The scheme a design base names, or null.</summary>
    public static SchemeRegistration? SchemeNamed(string baseName) => Array.Find(Schemes, s => s.Base == baseName);

    public static SchemeRegistration SchemeOf(IsolationScheme scheme) => Array.Find(Schemes, s => s.Scheme == scheme)!;

    /// <summary>The PAN mechanism an option selects on a format, or null where it has none.</summary>
    public static PanRegistration? PanFor(string option, MmuFormat format) => Array.Find(PanKinds, p => p.Option == option && p.Formats.Contains(format));

    public static PanRegistration? PanOf(PanKind kind) => Array.Find(PanKinds, p => p.Kind == kind);

    /// <summary>The base names in table order.</summary>
    public static IEnumerable<string> BaseNames => Schemes.Select(s => s.Base);
}
