using Vmsplit.Hardware;
using Vmsplit.Hardware.Caches;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Tests.Core;

namespace Vmsplit.Kernel.Tests.Uaccess;

/// <summary>
/// The uaccess paths' own code is fetched through the L1 instruction cache from the architecture's symbol table
/// (Data/kernel-text-footprint-arm.tsv for 32-bit ARM, Linux 4.4.34): get_user_pages and memcpy once per page under
/// pinned-page uaccess, copy_to_user's loop once per call under direct uaccess.
/// </summary>
public class UaccessTextTests
{
    private const ulong MiB = 1024 * 1024;

    // One copy_to_user of a whole page on a Cortex-A8 (256 MiB) with a cold L1I: the lines the instruction cache misses.
    private static long ColdLinesOfOnePageCopy(string design)
    {
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Arm, design, "cortex-a8", ramBytes: 256 * MiB, touch: true);
        k.EnterKernel();
        CacheHierarchy c = k.Cpu.Caches!;
        c.Clear();
        long before = c.L1I.Misses;
        Assert.Equal(0UL, k.Uaccess.CopyToUser(buf + 4096, new byte[4096]));
        return c.L1I.Misses - before;
    }

    [Fact]
    public void PinnedPageCopyFetchesGetUserPagesAndMemcpyPerPage()
    {
        // gup's 11 functions hold 4 080 bytes and run 90 instructions (50 + 25 + 15) = 360 bytes, 8.8 % of each from its
        // entry, rounded up: get_user_pages_fast +56 in its line, 8 bytes: 1 line; get_user_pages_unlocked +0, 41: 1;
        // __get_user_pages_unlocked +56, 40: 2; down_read +56, 7: 1; __get_user_pages +56, 107: 3; find_extend_vma +36,
        // 12: 1; find_vma +16, 13: 1; follow_page_mask +60, 96: 3; mark_page_accessed +0, 21: 1; up_read +32, 7: 1;
        // put_page +12, 12: 1 = 16 lines. memcpy: 55 instructions = 220 of its 816 bytes from +32: 4 lines. 20 in all.
        Assert.Equal(20, ColdLinesOfOnePageCopy("classic+pin-kmap"));
    }

    [Fact]
    public void DirectCopyFetchesTheCopyToUserLoopOncePerCall()
    {
        // __copy_to_user_std (arm_copy_to_user in mainline 4.4): 64 instructions = 256 of its 964 bytes from a line start
        Assert.Equal(4, ColdLinesOfOnePageCopy("classic"));
    }

    [Fact]
    public void ACopyOfFourPagesFetchesTheLoopOnceAndTheGupCodeFourTimes()
    {
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Arm, "classic+pin-kmap", "cortex-a8", ramBytes: 256 * MiB, touch: true);
        k.EnterKernel();
        CacheHierarchy c = k.Cpu.Caches!;
        c.Clear();
        long accesses = c.L1I.Hits + c.L1I.Misses;
        long misses = c.L1I.Misses;
        Assert.Equal(0UL, k.Uaccess.CopyToUser(buf, new byte[4 * 4096]));

        // the same 20 lines per page: missed on the first, hit on the next three
        Assert.Equal(20, c.L1I.Misses - misses);
        Assert.Equal(4 * 20, c.L1I.Hits + c.L1I.Misses - accesses);
    }
}
