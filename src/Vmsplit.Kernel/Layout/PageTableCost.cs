using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Layout;

/// <summary>
/// Page-table memory of a minimal process (one text page near the bottom of user space, one stack page below the
/// stack top exec gave it), counted from the format's geometry and the way Linux allocates each level. Kernel tables
/// are shared.
/// </summary>
public static class PageTableCost
{
    public readonly record struct Result(ulong Bytes, string How);

    /// <summary>The minimal process's tables with its stack page just below <paramref name="stackTop"/> (the process layout's, <c>SimKernel.StackTop</c>, or <see cref="StackTop"/> without randomisation).</summary>
    public static Result ForMinimalProcess(KernelLayout l, ulong stackTop)
    {
        ulong text = l.Arch switch
        {
            KernelArch.X86 or KernelArch.X86Pae => 0x08048000, // i386 ELF text base
            KernelArch.X86_64 or KernelArch.X86_64La57 or KernelArch.Aarch64 => 0x400000,
            _ => 0x10000, // ARM and RISC-V ld default text base
        };
        ulong stack = stackTop - Machine.PageSize;
        ulong[] vas = [text, stack];
        switch (l.Arch)
        {
            case KernelArch.Arm:
                {
                    // pgd_alloc: 16 KiB first-level table (order-2); each Linux PTE page (2 HW + 2 Linux tables) covers 2 MiB;
                    // 4g4g adds the page holding the trampoline's PTEs (0xffff0000).
                    ulong ptes = Distinct(l.Config.Design == LayoutDesign.FourGFourG ? [.. vas, 0xffff0000UL] : vas, 21);
                    return new(16 * ByteSize.KiB + ptes * 4096, $"16 KiB L1 (order-2 pgd) + {ptes} PTE page(s) of 4 KiB (each 2 MiB: two 1 KiB hardware tables + Linux shadows)");
                }

            case KernelArch.ArmLpae:
                {
                    // LPAE pgd: 4 x 8 bytes from kmalloc; classic splits also allocate the PMD for the modules/pkmap GiB.
                    List<ulong> pmdVas = [.. vas];
                    if (l.Config.Design != LayoutDesign.FourGFourG)
                    {
                        pmdVas.Add(l.ModulesVaddr);
                    }

                    ulong pmds = Distinct([.. pmdVas], 30);
                    ulong ptes = Distinct(vas, 21);
                    return new(32 + (pmds + ptes) * 4096, $"32 B pgd (4 entries, kmalloc) + {pmds} PMD page(s) + {ptes} PTE page(s)");
                }

            case KernelArch.X86:
                {
                    ulong ptes = Distinct(vas, 22);
                    return new(4096 + ptes * 4096, $"4 KiB page directory + {ptes} page table(s)");
                }

            case KernelArch.X86Pae:
                {
                    // PAE pgd: 32 bytes (pgd_cache); pgd_alloc preallocates a PMD page for every user GiB (PREALLOCATED_PMDS).
                    ulong pmds = l.Config.Design == LayoutDesign.X86FourGFourG ? 4UL : l.TaskSize >> 30;
                    ulong ptes = Distinct(vas, 21);
                    return new(32 + (pmds + ptes) * 4096, $"32 B PDPT + {pmds} preallocated PMD page(s) + {ptes} page table(s)");
                }

            case KernelArch.X86_64:
                return Radix(vas, [39, 30, 21], "PGD (+4 KiB more under PTI: an 8 KiB pair)", "PUD", "PMD", "PTE");
            case KernelArch.X86_64La57:
                return Radix(vas, [48, 39, 30, 21], "PGD (+4 KiB more under PTI)", "P4D", "PUD", "PMD", "PTE");
            case KernelArch.RiscvSv39:
                return Radix(vas, [30, 21], "root", "L1", "L0");
            case KernelArch.RiscvSv48:
                return Radix(vas, [39, 30, 21], "root", "L2", "L1", "L0");
            case KernelArch.RiscvSv57:
                return Radix(vas, [48, 39, 30, 21], "root", "L3", "L2", "L1", "L0");
            case KernelArch.Aarch64:
                return l.Config.VaBits == 39
                    ? Radix(vas, [30, 21], "pgd (TTBR0)", "PMD", "PTE")
                    : Radix(vas, [39, 30, 21], "pgd (TTBR0)", "PUD", "PMD", "PTE");
            default:
                return new(0, "not modelled");
        }
    }

    /// <summary>
    /// STACK_TOP, the stack top exec gives a program with randomize_va_space 0: x86-64 DEFAULT_MAP_WINDOW, (1 &lt;&lt; 47)
    /// − 4 KiB with 4 or 5 levels (arch/x86/include/asm/processor.h, 5.4); TASK_SIZE elsewhere (the rows of
    /// <c>ArchMm.ProcessLayout</c>).
    /// </summary>
    public static ulong StackTop(KernelLayout l) => l.Arch is KernelArch.X86_64 or KernelArch.X86_64La57 ? (1UL << 47) - Machine.PageSize : l.TaskSize;

    private static Result Radix(ulong[] vas, int[] parentShifts, string top, params string[] levels)
    {
        ulong total = 4096;
        List<string> parts = [$"4 KiB {top}"];
        for (int i = 0; i < parentShifts.Length; i++)
        {
            ulong n = Distinct(vas, parentShifts[i]);
            total += n * 4096;
            parts.Add($"{n} {levels[i]}");
        }

        return new(total, string.Join(" + ", parts) + " (4 KiB each)");
    }

    private static ulong Distinct(ulong[] vas, int shift)
    {
        HashSet<ulong> set = [];
        foreach (ulong va in vas)
        {
            set.Add(va >> shift);
        }

        return (ulong)set.Count;
    }
}
