using Vmsplit.Hardware.Paging;

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

/// <summary>Names, parsing and the fixed properties of <see cref="KernelArch"/>.</summary>
public static class KernelArchitectures
{
    /// <summary>The MMU format the architecture's kernel builds its page tables in (arm64: 39- or 48-bit VA).</summary>
    public static MmuFormat MmuFormatOf(this KernelArch arch, int vaBits) => arch switch
    {
        KernelArch.Arm => MmuFormat.ArmShort,
        KernelArch.ArmLpae => MmuFormat.ArmLpae,
        KernelArch.Aarch64 => vaBits <= 39 ? MmuFormat.AArch64Va39 : MmuFormat.AArch64Va48,
        KernelArch.X86 => MmuFormat.X86_32,
        KernelArch.X86Pae => MmuFormat.X86Pae,
        KernelArch.X86_64 => MmuFormat.X86_64,
        KernelArch.X86_64La57 => MmuFormat.X86_64La57,
        KernelArch.RiscvSv32 => MmuFormat.RiscvSv32,
        KernelArch.RiscvSv39 => MmuFormat.RiscvSv39,
        KernelArch.RiscvSv48 => MmuFormat.RiscvSv48,
        _ => MmuFormat.RiscvSv57,
    };

    /// <summary>Every accepted name, canonical first.</summary>
    public static readonly string[] Names =
    [
        "arm", "arm-lpae", "aarch64", "x86-32", "x86-pae", "x86-64", "x86-64-la57",
        "riscv-sv32", "riscv-sv39", "riscv-sv48", "riscv-sv57",
    ];

    /// <summary>
    /// Parses an architecture name; <paramref name="lpae"/> turns <c>arm</c> into <c>arm-lpae</c> and
    /// <paramref name="pae"/> turns <c>x86</c> into <c>x86-pae</c>. Returns false with a one-line error.
    /// </summary>
    public static bool TryParse(string? name, bool lpae, bool pae, out KernelArch arch, out string error)
    {
        arch = default;
        error = "";
        string n = (name ?? "").Trim().ToLowerInvariant();
        switch (n)
        {
            case "arm" or "arm32":
                arch = lpae ? KernelArch.ArmLpae : KernelArch.Arm;
                break;
            case "arm-lpae":
                arch = KernelArch.ArmLpae;
                break;
            case "aarch64" or "arm64":
                arch = KernelArch.Aarch64;
                break;
            case "x86" or "x86-32" or "i386":
                arch = pae ? KernelArch.X86Pae : KernelArch.X86;
                break;
            case "x86-pae":
                arch = KernelArch.X86Pae;
                break;
            case "x86-64" or "x86_64" or "amd64":
                arch = KernelArch.X86_64;
                break;
            case "x86-64-la57":
                arch = KernelArch.X86_64La57;
                break;
            case "riscv-sv32":
                arch = KernelArch.RiscvSv32;
                break;
            case "riscv-sv39":
                arch = KernelArch.RiscvSv39;
                break;
            case "riscv-sv48":
                arch = KernelArch.RiscvSv48;
                break;
            case "riscv-sv57":
                arch = KernelArch.RiscvSv57;
                break;
            default:
                error = $"unknown architecture '{name}' (expected one of: {string.Join(", ", Names)})";
                return false;
        }

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

    public static string Name(this KernelArch arch) => arch switch
    {
        KernelArch.Arm => "arm",
        KernelArch.ArmLpae => "arm-lpae",
        KernelArch.Aarch64 => "aarch64",
        KernelArch.X86 => "x86-32",
        KernelArch.X86Pae => "x86-pae",
        KernelArch.X86_64 => "x86-64",
        KernelArch.X86_64La57 => "x86-64-la57",
        KernelArch.RiscvSv32 => "riscv-sv32",
        KernelArch.RiscvSv39 => "riscv-sv39",
        KernelArch.RiscvSv48 => "riscv-sv48",
        _ => "riscv-sv57",
    };

    public static bool Is32Bit(this KernelArch arch)
        => arch is KernelArch.Arm or KernelArch.ArmLpae or KernelArch.X86 or KernelArch.X86Pae or KernelArch.RiscvSv32;

    public static bool IsArm32(this KernelArch arch) => arch is KernelArch.Arm or KernelArch.ArmLpae;

    public static bool IsX86_32(this KernelArch arch) => arch is KernelArch.X86 or KernelArch.X86Pae;

    /// <summary>The widest physical address the format can put in a descriptor.</summary>
    public static int PhysicalAddressBits(this KernelArch arch) => arch switch
    {
        KernelArch.Arm => 32,
        // LPAE output addresses are 40 bits (ARM ARM B3.6, long-descriptor format).
        KernelArch.ArmLpae => 40,
        KernelArch.X86 => 32,
        // PAE: Linux's __PHYSICAL_MASK_SHIFT is 52 but the classic hardware and HIGHMEM64G limit is 64 GiB (36 bits).
        KernelArch.X86Pae => 36,
        // Sv32 PTEs hold a 22-bit PPN: 34-bit physical addresses (RISC-V privileged spec 4.3.1).
        KernelArch.RiscvSv32 => 34,
        _ => 52,
    };

    /// <summary>Virtual address bits the layout spans (64 for 64-bit layouts, which are sign-extended).</summary>
    public static int AddressSpaceBits(this KernelArch arch) => arch.Is32Bit() ? 32 : 64;
}
