using Vmsplit.Hardware;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Tests.Core;

namespace Vmsplit.Kernel.Tests.Mm;

/// <summary>
/// A page-cache file's pages hold their index as a little-endian word then zeros; CreateFile leaves them pending
/// and the first look-up (PageAt, TryGetPage, RemovePage) writes them, so the bytes seen are those of a file
/// written whole at creation, and a page never looked up backs no host memory.
/// </summary>
public sealed class PageCacheFileTests
{
    [Fact]
    public void APageHoldsItsIndexFromItsFirstLookUpAndOnlyThenIsBacked()
    {
        SimKernel k = KernelBoot.Boot(KernelArch.X86_64, "classic", "skylake");
        long before = k.Memory.PagesBacked;
        PageCacheFile file = k.CreateFile("f", 5 * 4096);
        Assert.Equal(5, file.Count);
        Assert.Equal(before, k.Memory.PagesBacked);

        PhysicalAddress three = file.PageAt(3);
        Assert.Equal(before + 1, k.Memory.PagesBacked);
        Assert.Equal(3UL, k.Memory.ReadUInt64(three));
        Assert.Equal(0UL, k.Memory.ReadUInt64(three + 8));

        // a second look-up writes nothing again: a store the kernel made in between stays
        k.Memory.WriteUInt64(three, 0xdead);
        Assert.True(file.TryGetPage(3, out PhysicalAddress again));
        Assert.Equal(three, again);
        Assert.Equal(0xdeadUL, k.Memory.ReadUInt64(three));

        Assert.True(file.TryGetPage(4, out PhysicalAddress four));
        Assert.Equal(4UL, k.Memory.ReadUInt64(four));
        Assert.True(file.RemovePage(2, out PhysicalAddress two));
        Assert.Equal(2UL, k.Memory.ReadUInt64(two));
        Assert.False(file.TryGetPage(2, out _));
        Assert.False(file.TryGetPage(9, out _));
        Assert.Equal(before + 3, k.Memory.PagesBacked);
    }
}
