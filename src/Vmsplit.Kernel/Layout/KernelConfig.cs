namespace Vmsplit.Kernel.Layout;

/// <summary>The user/kernel split (CONFIG_VMSPLIT_*).</summary>
public enum VmSplit
{
    /// <summary>VMSPLIT_3G: PAGE_OFFSET 0xC0000000 (the default).</summary>
    Split3G,

    /// <summary>VMSPLIT_3G_OPT: 0xB0000000 ("for full 1G low memory"; ARM: !LPAE only).</summary>
    Split3GOpt,

    /// <summary>VMSPLIT_2G: 0x80000000.</summary>
    Split2G,

    /// <summary>VMSPLIT_2G_OPT: 0x78000000 (x86 only).</summary>
    Split2GOpt,

    /// <summary>VMSPLIT_1G: 0x40000000.</summary>
    Split1G,
}

/// <summary>The address-space design being laid out (docs/designs.md).</summary>
public enum LayoutDesign
{
    /// <summary>The kernel mapped in every process at PAGE_OFFSET; the documented layout on 64-bit.</summary>
    Classic,

    /// <summary>VMSPLIT_4G_4G on 32-bit ARM LPAE (seeds 000, 002): TTBR1 = top 256 MiB, TTBR0 = user or lowmem.</summary>
    FourGFourG,

    /// <summary>Ingo Molnar's 2003 x86-32 4G/4G: separate kernel page tables, 16 MB trampoline at the top.</summary>
    X86FourGFourG,

    /// <summary>The kernel image mapped in the vmalloc area, outside the linear map (seeds 001, 002, 004).</summary>
    KimageVmalloc,
}

/// <summary>Sizes (or exact ranges) of the kernel image sections, as mem_init printed them.</summary>
public sealed record KernelImage(ulong Text, ulong Init, ulong Data, ulong Bss)
{
    /// <summary>Exact [start, end) of .text/.init/.data/.bss when known (pre-4.15 logs print real addresses).</summary>
    public (ulong Start, ulong End)[]? Ranges { get; init; }

    public ulong Total => Text + Init + Data + Bss;

    /// <summary>Arnd Bergmann's assumption (LKML "riscv: Move kernel mapping to vmalloc zone", July 2020): "a 4MB vmlinux in a typical 32-bit kernel".</summary>
    public static KernelImage Typical32Bit { get; } = new(3 * 1024 * 1024, 512 * 1024, 256 * 1024, 256 * 1024);
}

/// <summary>Everything about the kernel build and command line that moves the layout.</summary>
public sealed record KernelConfig
{
    public VmSplit Split { get; init; } = VmSplit.Split3G;

    public bool Highmem { get; init; } = true;

    /// <summary>The <c>vmalloc=</c> command-line size; null means the architecture's default.</summary>
    public ulong? VmallocSize { get; init; }

    public LinuxVersion Linux { get; init; } = LinuxVersion.Mainline;

    /// <summary>Kernel image sections; null means unknown (boot format then omits the .text lines).</summary>
    public KernelImage? Image { get; init; }

    public LayoutDesign Design { get; init; } = LayoutDesign.Classic;

    /// <summary>CONFIG_THUMB2_KERNEL: ARM modules start at PAGE_OFFSET - 8 MiB instead of 16 MiB.</summary>
    public bool Thumb2Kernel { get; init; }

    /// <summary>ARM: a VIPT aliasing data cache forces the !HIGHMEM rule in adjust_lowmem_bounds().</summary>
    public bool ViptAliasing { get; init; }

    /// <summary>ARM: arm_dma_zone_size (CONFIG_ZONE_DMA platforms such as the Raspberry Pi 4); null = no ZONE_DMA.</summary>
    public ulong? DmaZoneSize { get; init; }

    /// <summary>ARM before 3.4: the machine's VMALLOC_END (mach-*/include/mach/vmalloc.h); null = 0xff000000.</summary>
    public ulong? VmallocEnd { get; init; }

    /// <summary>ARM before 3.6: CONSISTENT_DMA_SIZE (mach/memory.h); null = the 2 MiB default.</summary>
    public ulong? ConsistentDmaSize { get; init; }

    /// <summary>x86-32: an explicit FIXADDR_START; null = derived from the release and <see cref="X86Fixmap"/> (fixmap.h).</summary>
    public ulong? FixaddrStart { get; init; }

    /// <summary>x86-32: the kernel options that size the permanent fixmap.</summary>
    public X86FixmapOptions X86Fixmap { get; init; } = new();

    /// <summary>x86-32: NR_CPUS, which sizes the kmap slots of the fixmap and the cpu_entry_area (arch/x86/Kconfig NR_CPUS_DEFAULT: 8 on SMP x86-32).</summary>
    public int NrCpus { get; init; } = 8;

    /// <summary>arm64: VA_BITS (39 or 48 with 4 KiB pages).</summary>
    public int VaBits { get; init; } = 48;

    /// <summary>4g4g / x86-4g4g: where the lowmem linear map starts in the kernel's TTBR0/CR3 space; null = design default.</summary>
    public ulong? LinearMapStart { get; init; }

    public static ulong PageOffsetFor(VmSplit split) => split switch
    {
        VmSplit.Split3G => 0xC0000000,
        VmSplit.Split3GOpt => 0xB0000000,
        VmSplit.Split2G => 0x80000000,
        VmSplit.Split2GOpt => 0x78000000,
        _ => 0x40000000,
    };

    public static bool TryParseSplit(string? text, out VmSplit split, out string error)
    {
        error = "";
        split = VmSplit.Split3G;
        switch ((text ?? "").Trim().ToUpperInvariant().Replace("VMSPLIT_", "", StringComparison.Ordinal).Replace('-', '_'))
        {
            case "" or "3G" or "3G_1G":
                return true;
            case "3G_OPT":
                split = VmSplit.Split3GOpt;
                return true;
            case "2G" or "2G_2G":
                split = VmSplit.Split2G;
                return true;
            case "2G_OPT":
                split = VmSplit.Split2GOpt;
                return true;
            case "1G" or "1G_3G":
                split = VmSplit.Split1G;
                return true;
            default:
                error = $"--split: unknown split '{text}' (expected 3G, 3G_OPT, 2G, 2G_OPT or 1G)";
                return false;
        }
    }

    public static string SplitName(VmSplit split) => split switch
    {
        VmSplit.Split3G => "3G",
        VmSplit.Split3GOpt => "3G_OPT",
        VmSplit.Split2G => "2G",
        VmSplit.Split2GOpt => "2G_OPT",
        _ => "1G",
    };

    public static bool TryParseDesign(string? text, out LayoutDesign design, out string error)
    {
        error = "";
        design = LayoutDesign.Classic;
        switch ((text ?? "").Trim().ToLowerInvariant())
        {
            case "" or "classic":
                return true;
            case "4g4g":
                design = LayoutDesign.FourGFourG;
                return true;
            case "x86-4g4g":
                design = LayoutDesign.X86FourGFourG;
                return true;
            case "kimage-vmalloc":
                design = LayoutDesign.KimageVmalloc;
                return true;
            default:
                error = $"--design: unknown design '{text}' (expected classic, 4g4g, x86-4g4g or kimage-vmalloc)";
                return false;
        }
    }

    public static string DesignName(LayoutDesign design) => design switch
    {
        LayoutDesign.Classic => "classic",
        LayoutDesign.FourGFourG => "4g4g",
        LayoutDesign.X86FourGFourG => "x86-4g4g",
        _ => "kimage-vmalloc",
    };
}
