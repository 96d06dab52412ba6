using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Kernel.Layout;

/// <summary>The architectures (MMU formats as Linux configures them) every command names the same way.</summary>
public enum KernelArch
{
    /// <summary>32-bit ARM, short descriptors (2-level; Linux uses TTBR0 only, TTBCR.N = 0).</summary>
    Arm,

    /// <summary>32-bit ARM with LPAE (3-level long descriptors; TTBR0/TTBR1 split by T0SZ/T1SZ).</summary>
    ArmLpae,

    /// <summary>arm64, 4 KiB pages (39- or 48-bit VA).</summary>
    Aarch64,

    /// <summary>x86-32, 2-level (non-PAE).</summary>
    X86,

    /// <summary>x86-32 with PAE (3-level).</summary>
    X86Pae,

    /// <summary>x86-64, 4-level paging (47-bit user).</summary>
    X86_64,

    /// <summary>x86-64, 5-level paging (LA57, 56-bit user).</summary>
    X86_64La57,

    RiscvSv32,
    RiscvSv39,
    RiscvSv48,
    RiscvSv57,
}

/// <summary>
/// One architecture: the name every command's <c>--arch</c> takes (and older spellings), the MMU format its
/// kernel builds page tables in (arm64: the 48-bit VA one; <see cref="KernelArchitectures.MmuFormatOf"/>
/// gives the 39-bit one), the widest physical address, and what a command runs when given only the
/// architecture: a CPU profile and the designs worth comparing. The family, the address-space width and
/// the TLB maintenance operations come from the format.
/// </summary>
public sealed record KernelArchInfo(
    KernelArch Arch,
    string Name,
    IReadOnlyList<string> Aliases,
    MmuFormat Format,
    int PhysicalAddressBits,
    string DefaultProfile,
    IReadOnlyList<string> DefaultDesigns)
{
    public ArchFamily Family => Format.Family();

    /// <summary>32 for the 32-bit architectures, 64 for the others (whose layouts are sign-extended).</summary>
    public int AddressSpaceBits => PageTableFormat.Get(Format).VirtualAddressBits <= 32 ? 32 : 64;

    /// <summary>The TLB maintenance operations of the architecture's CPUs (<c>vmsplit tlb</c>).</summary>
    public IReadOnlyList<TlbOperation> TlbOperations => Format.TlbOperations();
}

/// <summary>Names, parsing and the fixed properties of <see cref="KernelArch"/>: one row per architecture.</summary>
public static class KernelArchitectures
{
    /// <summary>The table, in <see cref="KernelArch"/> order.</summary>
    public static IReadOnlyList<KernelArchInfo> All { get; } =
    [
        new(KernelArch.Arm, "arm", ["arm32"], MmuFormat.ArmShort, 32, "cortex-a15", ["classic", "classic+pan"]),

        // LPAE output addresses are 40 bits (ARM ARM B3.6, long-descriptor format).
        new(KernelArch.ArmLpae, "arm-lpae", [], MmuFormat.ArmLpae, 40, "cortex-a15", ["classic", "classic+pan", "4g4g"]),
        new(KernelArch.Aarch64, "aarch64", ["arm64"], MmuFormat.AArch64Va48, 52, "cortex-a72", ["classic", "kpti"]),
        new(KernelArch.X86, "x86-32", ["x86", "i386"], MmuFormat.X86_32, 32, "pentium4-xeon", ["classic", "x86-4g4g"]),

        // PAE: Linux's __PHYSICAL_MASK_SHIFT is 52 but the classic hardware and HIGHMEM64G limit is 64 GiB (36 bits).
        new(KernelArch.X86Pae, "x86-pae", [], MmuFormat.X86Pae, 36, "pentium4-xeon", ["classic", "kpti", "x86-4g4g"]),
        new(KernelArch.X86_64, "x86-64", ["x86_64", "amd64"], MmuFormat.X86_64, 52, "skylake", ["classic", "classic+pan", "kpti"]),
        new(KernelArch.X86_64La57, "x86-64-la57", [], MmuFormat.X86_64La57, 52, "skylake", ["classic", "classic+pan", "kpti"]),

        // Sv32 PTEs hold a 22-bit PPN: 34-bit physical addresses (RISC-V privileged spec 4.3.1).
        new(KernelArch.RiscvSv32, "riscv-sv32", [], MmuFormat.RiscvSv32, 34, "sifive-u74", ["classic", "classic+pan"]),

        // Plain "riscv": Sv39, the mode every RV64 Linux kernel can run (arch/riscv/mm/init.c falls back to it).
        new(KernelArch.RiscvSv39, "riscv-sv39", ["riscv", "risc-v"], MmuFormat.RiscvSv39, 52, "sifive-u74", ["classic", "classic+pan"]),
        new(KernelArch.RiscvSv48, "riscv-sv48", [], MmuFormat.RiscvSv48, 52, "sifive-u74", ["classic", "classic+pan"]),
        new(KernelArch.RiscvSv57, "riscv-sv57", [], MmuFormat.RiscvSv57, 52, "sifive-u74", ["classic", "classic+pan"]),
    ];

    /// <summary>Every canonical name, in table order.</summary>
    public static readonly string[] Names = [.. All.Select(a => a.Name)];

    /// <summary>The architecture's row.</summary>
    public static KernelArchInfo Info(this KernelArch arch) => All[(int)arch];

    /// <summary>The architecture whose kernel builds page tables in <paramref name="format"/>.</summary>
    public static KernelArch OfFormat(MmuFormat format) =>
        format == MmuFormat.AArch64Va39 ? KernelArch.Aarch64 : All.First(a => a.Format == format).Arch;

    /// <summary>The MMU format the architecture's kernel builds its page tables in (arm64: 39- or 48-bit VA).</summary>
    public static MmuFormat MmuFormatOf(this KernelArch arch, int vaBits) =>
        arch == KernelArch.Aarch64 && vaBits <= 39 ? MmuFormat.AArch64Va39 : arch.Info().Format;

    /// <summary>
    /// Parses an architecture name; <paramref name="lpae"/> turns <c>arm</c> into <c>arm-lpae</c> and
    /// <paramref name="pae"/> turns <c>x86</c> into <c>x86-pae</c>. Returns false with a one-line error.
    /// </summary>
    public static bool TryParse(string? name, bool lpae, bool pae, out KernelArch arch, out string error)
    {
        arch = default;
        error = "";
        string n = (name ?? "").Trim().ToLowerInvariant();
        KernelArchInfo? found = All.FirstOrDefault(a => a.Name == n || a.Aliases.Contains(n));
        if (found is null)
        {
            error = $"unknown architecture '{name}' (expected one of: {string.Join(", ", Names)})" + Suggestions.DidYouMean(n, [.. Suggestions.Closest(n, All.SelectMany(a => a.Aliases.Prepend(a.Name))).Select(s => All.First(a => a.Name == s || a.Aliases.Contains(s)).Name)]);
            return false;
        }

        arch = found.Arch switch
        {
            KernelArch.Arm when lpae => KernelArch.ArmLpae,
            KernelArch.X86 when pae => KernelArch.X86Pae,
            _ => found.Arch,
        };
        if (lpae && arch != KernelArch.ArmLpae)
        {
            error = $"--lpae applies only to 32-bit ARM, not '{name}'";
            return false;
        }

        if (pae && arch != KernelArch.X86Pae)
        {
            error = $"--pae applies only to 32-bit x86, not '{name}'";
            return false;
        }

        return true;
    }

    public static KernelArch Parse(string name, bool lpae = false, bool pae = false)
        => TryParse(name, lpae, pae, out KernelArch arch, out string error) ? arch : throw new LayoutException(LayoutErrorKind.BadOption, error);

    public static string Name(this KernelArch arch) => arch.Info().Name;

    public static ArchFamily Family(this KernelArch arch) => arch.Info().Family;

    public static bool Is32Bit(this KernelArch arch) => arch.Info().AddressSpaceBits == 32;

    public static bool IsArm32(this KernelArch arch) => arch.Family() == ArchFamily.Arm32;

    public static bool IsX86_32(this KernelArch arch) => arch.Family() == ArchFamily.X86 && arch.Is32Bit();

    /// <summary>The widest physical address the format can put in a descriptor.</summary>
    public static int PhysicalAddressBits(this KernelArch arch) => arch.Info().PhysicalAddressBits;

    /// <summary>Virtual address bits the layout spans (64 for 64-bit layouts, which are sign-extended).</summary>
    public static int AddressSpaceBits(this KernelArch arch) => arch.Info().AddressSpaceBits;
}
