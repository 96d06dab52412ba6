using Vmsplit.Hardware.Paging;

namespace Vmsplit.Hardware.Mmu;

/// <summary>The VA span (log2) of one descriptor at each step of each format's walk, root first.</summary>
public static class WalkGeometry
{
    private static readonly int[] s_armShort = [20, 12];
    private static readonly int[] s_threeLevel = [30, 21, 12];
    private static readonly int[] s_fourLevel = [39, 30, 21, 12];
    private static readonly int[] s_fiveLevel = [48, 39, 30, 21, 12];
    private static readonly int[] s_twoLevel32 = [22, 12];

    /// <summary>
    /// ARMv7 short: L1 entries map 1 MiB, L2 4 KiB (ARM ARM B3.5); LPAE, AArch64 4 KiB granule with 39
    /// bits, x86 PAE, Sv39: 1 GiB / 2 MiB / 4 KiB; x86-64, AArch64 48-bit, Sv48 add 512 GiB; LA57 and
    /// Sv57 add 256 TiB; x86-32 and Sv32: 4 MiB / 4 KiB.
    /// </summary>
    /// <summary>The spans of the format's default tree (each level's index shift), root first.</summary>
    public static int[] StepShifts(PageTableFormat format)
    {
        ReadOnlySpan<PageTableLevel> levels = format.Geometry.Levels;
        int[] shifts = new int[levels.Length];
        for (int i = 0; i < shifts.Length; i++)
        {
            shifts[i] = levels[i].IndexShift;
        }

        return shifts;
    }

    public static int[] StepShifts(MmuFormat format) => format switch
    {
        MmuFormat.ArmShort => s_armShort,
        MmuFormat.ArmLpae or MmuFormat.AArch64Va39 or MmuFormat.X86Pae or MmuFormat.RiscvSv39 => s_threeLevel,
        MmuFormat.AArch64Va48 or MmuFormat.X86_64 or MmuFormat.RiscvSv48 => s_fourLevel,
        MmuFormat.X86_64La57 or MmuFormat.RiscvSv57 => s_fiveLevel,
        _ => s_twoLevel32,
    };
}
