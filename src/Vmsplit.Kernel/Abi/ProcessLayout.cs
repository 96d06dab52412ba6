namespace Vmsplit.Kernel.Abi;

/// <summary>
/// Where exec places a new program's stack and the top of its mmap area, per architecture, as Linux 5.4 computes them:
/// <see cref="StackTop"/> (STACK_TOP), <see cref="StackRndMask"/> (STACK_RND_MASK: randomize_stack_top's range, in
/// pages) and <see cref="MmapRndBits"/> (mmap_rnd_bits: arch_mmap_rnd's range, the Kconfig default, which is
/// ARCH_MMAP_RND_BITS_MIN since no architecture here sets ARCH_MMAP_RND_BITS_DEFAULT, arch/Kconfig). Each architecture
/// room gives its row (<c>ArchMm.ProcessLayout</c>); the formulas are the same on every architecture (x86's mmap_base()
/// in arch/x86/mm/mmap.c and the generic one in mm/util.c differ only in these parameters).
/// </summary>
public sealed record ProcessLayout(ulong StackTop, ulong StackRndMask, int MmapRndBits)
{
    private const ulong Page = 4096;

    /// <summary>RLIMIT_STACK's default soft limit, _STK_LIM = 8 MiB (include/uapi/linux/resource.h).</summary>
    public const ulong RlimitStack = 8UL << 20;

    /// <summary>stack_guard_gap = 256UL &lt;&lt; PAGE_SHIFT (mm/mmap.c, Linux 5.4).</summary>
    public const ulong StackGuardGap = 256 * Page;

    /// <summary>MIN_GAP (mm/util.c) and SIZE_128M (arch/x86/mm/mmap.c), Linux 5.4: the least gap left below the stack.</summary>
    public const ulong MinGap = 128UL << 20;

    /// <summary>The largest randomize_stack_top shift: STACK_RND_MASK pages.</summary>
    public ulong StackRandomBytes => StackRndMask * Page;

    /// <summary>The largest arch_mmap_rnd: 2^mmap_rnd_bits − 1 pages.</summary>
    public ulong MmapRandomBytes => ((1UL << MmapRndBits) - 1) * Page;

    /// <summary>
    /// The gap mmap_base() leaves between STACK_TOP and the mmap area (mm/util.c and arch/x86/mm/mmap.c, Linux 5.4):
    /// RLIMIT_STACK + stack_guard_gap, plus the stack's largest random shift when the task is randomized (PF_RANDOMIZE),
    /// clamped to [MIN_GAP, STACK_TOP / 6 * 5].
    /// </summary>
    public ulong Gap(bool randomize)
    {
        ulong gap = RlimitStack + StackGuardGap + (randomize ? StackRandomBytes : 0);
        ulong max = StackTop / 6 * 5;
        return gap < MinGap ? MinGap : Math.Min(gap, max);
    }

    /// <summary>arch_mmap_rnd() from get_random_long()'s 64 bits: the low mmap_rnd_bits, in pages (mm/util.c; arch/x86/mm/mmap.c arch_rnd).</summary>
    public ulong MmapRnd(ulong randomLong) => (randomLong & ((1UL << MmapRndBits) - 1)) * Page;

    /// <summary>mmap_base(): PAGE_ALIGN(STACK_TOP − gap − rnd), the top of the top-down mmap area (mm/util.c, Linux 5.4).</summary>
    public ulong MmapBase(bool randomize, ulong rnd) => PageAlign(StackTop - Gap(randomize) - rnd);

    /// <summary>
    /// randomize_stack_top (mm/util.c, Linux 5.4; called by load_elf_binary, fs/binfmt_elf.c): PAGE_ALIGN(STACK_TOP)
    /// moved down by get_random_long() &amp; STACK_RND_MASK pages when the task is randomized.
    /// </summary>
    public ulong RandomizeStackTop(bool randomize, ulong randomLong) => PageAlign(StackTop) - (randomize ? (randomLong & StackRndMask) * Page : 0);

    /// <summary>PAGE_ALIGN: up to the next page boundary.</summary>
    public static ulong PageAlign(ulong v) => (v + Page - 1) & ~(Page - 1);
}
