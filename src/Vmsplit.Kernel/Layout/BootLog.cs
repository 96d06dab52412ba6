using System.Globalization;
using System.Text;
using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Layout;

/// <summary>
/// The "Virtual kernel memory layout:" block mem_init() printed at boot: arch/arm/mm/init.c (until 5.1) and
/// arch/x86/mm/init_32.c. Releases that no longer print it get the last format that did, with their own values.
/// </summary>
public static class BootLog
{
    public static bool Supports(KernelArch arch) => arch.IsArm32() || arch.IsX86_32();

    public static string Format(KernelLayout l)
    {
        if (l.Arch.IsArm32())
        {
            return FormatArm(l);
        }

        if (l.Arch.IsX86_32())
        {
            return FormatX86(l);
        }

        throw new LayoutException(LayoutErrorKind.BadOption, $"--format boot: Linux prints no virtual memory layout block for {l.Arch.Name()} (only 32-bit ARM and x86-32 did); use table, json or svg");
    }

    // MLK(b, t): size >> 10 printed "%4ld kB"; MLM(b, t): size >> 20 printed "%4ld MB" (truncating).
    private static void Line(StringBuilder sb, string label, ulong start, ulong end, int shift, string unit)
        => sb.Append(CultureInfo.InvariantCulture, $"{label} : 0x{start:x8} - 0x{end:x8}   ({((end - start) >> shift),4} {unit})\n");

    private static string FormatArm(KernelLayout l)
    {
        ArmEra era = ArmEra.For(l.Config.Linux);
        StringBuilder sb = new();
        sb.Append("Virtual kernel memory layout:\n");
        Line(sb, "    vector ", l.VectorsBase, l.VectorsBase + Machine.PageSize, 10, "kB");
        ulong fixEnd = l.Config.Design == LayoutDesign.Classic || l.Config.Design == LayoutDesign.KimageVmalloc ? era.FixaddrPrintEnd : l.FixaddrEnd;
        Line(sb, "    fixmap ", l.FixaddrStart, fixEnd, 10, "kB");
        if (era.ConsistentDmaRegion && l.Config.Design != LayoutDesign.FourGFourG)
        {
            // MLM(CONSISTENT_BASE, CONSISTENT_END) under CONFIG_MMU (arch/arm/mm/init.c, until e9da6e9905e6 in v3.6).
            Line(sb, "    DMA    ", l.ConsistentBase, ArmLayout.ConsistentEnd, 20, "MB");
        }

        Line(sb, "    vmalloc", l.VmallocStart, l.VmallocEnd, 20, "MB");
        Line(sb, "    lowmem ", l.PageOffset, l.HighMemory, 20, "MB");
        if (l.Config.Highmem)
        {
            Line(sb, "    pkmap  ", l.PkmapBase, l.PkmapBase + l.PkmapSize, 20, "MB");
        }

        Line(sb, "    modules", l.ModulesVaddr, l.ModulesEnd, 20, "MB");
        if (l.ImageSections is { } s)
        {
            // ImageSections is (text, init, data, bss); mem_init printed them in its release's order (ArmSectionLines).
            int[] order = era.SectionLines switch
            {
                ArmSectionLines.InitTextData => [1, 0, 2],
                ArmSectionLines.InitTextDataBss => [1, 0, 2, 3],
                _ => [0, 1, 2, 3],
            };
            string[] names = ["      .text", "      .init", "      .data", "       .bss"];
            foreach (int i in order)
            {
                (ulong start, ulong end) = s[i];
                // MLK_ROUNDUP: DIV_ROUND_UP(size, SZ_1K); %p prints 0x(ptrval) once pointers are hashed (v4.15).
                ulong kb = (end - start + 1023) / 1024;
                string a = era.HashedPointers ? "(ptrval)" : start.ToString("x8", CultureInfo.InvariantCulture);
                string b = era.HashedPointers ? "(ptrval)" : end.ToString("x8", CultureInfo.InvariantCulture);
                sb.Append(CultureInfo.InvariantCulture, $"{names[i]} : 0x{a} - 0x{b}   ({kb,4} kB)\n");
            }
        }

        return sb.ToString();
    }

    private static string FormatX86(KernelLayout l)
    {
        StringBuilder sb = new();
        sb.Append("virtual kernel memory layout:\n");
        Line(sb, "    fixmap ", l.FixaddrStart, l.FixaddrEnd, 10, "kB");
        if (l.CpuEntryAreaBase != 0)
        {
            Line(sb, "  cpu_entry", l.CpuEntryAreaBase, l.CpuEntryAreaBase + l.CpuEntryAreaSize, 10, "kB");
        }

        if (l.Config.Highmem)
        {
            Line(sb, "    pkmap  ", l.PkmapBase, l.PkmapBase + l.PkmapSize, 10, "kB");
        }

        Line(sb, "    vmalloc", l.VmallocStart, l.VmallocEnd, 20, "MB");
        Line(sb, "    lowmem ", l.PageOffset, l.HighMemory, 20, "MB");
        if (l.ImageSections is { } s)
        {
            // init_32.c prints .init, .data (_etext.._edata) and .text with real addresses, sizes truncated.
            Line(sb, "      .init", s[1].Start, s[1].End, 10, "kB");
            Line(sb, "      .data", s[2].Start, s[2].End, 10, "kB");
            Line(sb, "      .text", s[0].Start, s[0].End, 10, "kB");
        }

        return sb.ToString();
    }
}
