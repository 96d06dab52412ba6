using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Paging.Riscv;
using Vmsplit.Hardware.Paging.X86;

namespace Vmsplit.Hardware.Paging;

/// <summary>The registry of formats: one instance per <see cref="MmuFormat"/>, found by id or CLI name.</summary>
public abstract partial class PageTableFormat
{
    // One line per implemented format; the order is MmuFormat's.
    private static readonly PageTableFormat[] s_formats =
    [
        ArmShortFormat.Instance,
        ArmLpaeFormat.Instance,
        AArch64Format.Va39,
        AArch64Format.Va48,
        X86PageTableFormat.X86_32,
        X86PageTableFormat.Pae,
        X86PageTableFormat.X86_64,
        X86PageTableFormat.X86_64La57,
        RiscvPageTableFormat.Sv32,
        RiscvPageTableFormat.Sv39,
        RiscvPageTableFormat.Sv48,
        RiscvPageTableFormat.Sv57,
    ];

    /// <summary>The CLI names of all twelve formats, in <see cref="MmuFormat"/> order.</summary>
    public static IReadOnlyList<string> AllNames { get; } =
    [
        "arm-short", "arm-lpae", "aarch64-39", "aarch64-48", "x86-32", "x86-pae", "x86-64", "x86-64-la57",
        "riscv-sv32", "riscv-sv39", "riscv-sv48", "riscv-sv57",
    ];

    /// <summary>The formats implemented so far.</summary>
    public static IReadOnlyList<PageTableFormat> All => s_formats;

    /// <summary>The format for <paramref name="id"/>; throws <see cref="NotSupportedException"/> if it is not implemented yet.</summary>
    public static PageTableFormat Get(MmuFormat id)
    {
        foreach (PageTableFormat f in s_formats)
        {
            if (f.Id == id)
            {
                return f;
            }
        }

        throw new NotSupportedException($"page-table format {AllNames[(int)id]} is not implemented yet");
    }

    /// <summary>Looks up a CLI name; <paramref name="error"/> says why when it fails (unknown, or not implemented yet).</summary>
    public static bool TryParse(string name, out PageTableFormat? format, out string error)
    {
        format = null;
        error = "";
        string key = name.Trim().ToLowerInvariant();
        foreach (PageTableFormat f in s_formats)
        {
            if (f.Name == key)
            {
                format = f;
                return true;
            }
        }

        error = AllNames.Contains(key)
            ? $"format '{name}' is not implemented yet"
            : $"unknown format '{name}' (use one of {string.Join(", ", AllNames)})";
        return false;
    }

    /// <summary>Looks up a CLI name, throwing <see cref="FormatException"/> with a one-line message.</summary>
    public static PageTableFormat Parse(string name) =>
        TryParse(name, out PageTableFormat? f, out string error) ? f! : throw new FormatException(error);
}
