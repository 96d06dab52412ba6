using FsCheck.Fluent;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Tests.Memory;

public sealed class FrameAllocatorTests
{
    private static RamBank Bank(ulong start, ulong size) => new(new PhysicalAddress(start), size);

    [Fact]
    public void ReserveTakesTheRangeOutOfTheBuddyListsForGood()
    {
        FrameAllocator a = new(Bank(0, 4 * ByteSize.MiB)); // one order-10 block, PFNs 0..1023
        a.Reserve(new PhysicalAddress(0x8000), 8 * 4096); // PFNs 8..15, as TEXT_OFFSET puts an ARM image

        // by hand: the order-10 block splits along PFN 8 into free blocks 0 (order 3) and 16, 32, ..., 512 (orders 4..9)
        Assert.Equal(1016UL, a.FreePages);
        Assert.Equal(8UL, a.ReservedPages);
        for (int o = 0; o <= 10; o++)
        {
            Assert.Equal(o is >= 3 and <= 9 ? 1 : 0, a.FreeBlocks(o));
        }

        HashSet<ulong> handedOut = [];
        for (FrameAllocation f = a.Allocate(0); f.Succeeded; f = a.Allocate(0))
        {
            handedOut.Add(f.Address.FrameNumber);
        }

        Assert.Equal(1016, handedOut.Count);
        Assert.DoesNotContain(handedOut, pfn => pfn is >= 8 and < 16);
        foreach (ulong pfn in handedOut)
        {
            a.Free(PhysicalAddress.FromFrame(pfn));
        }

        // freeing everything merges nothing across the reserved frames
        Assert.Equal(1016UL, a.FreePages);
        Assert.Equal(0, a.FreeBlocks(10));
        Assert.Throws<InvalidOperationException>(() => a.Reserve(new PhysicalAddress(0xc000), 4096)); // already reserved
        Assert.Throws<ArgumentException>(() => a.Reserve(new PhysicalAddress(0x10800), 4096 + 1));
    }

    [Fact]
    public void AllocationSplitsTheLowestBlockAndFreeMergesItBack()
    {
        FrameAllocator a = new(Bank(0, 4 * ByteSize.MiB)); // exactly one order-10 block
        Assert.Equal(1, a.FreeBlocks(10));
        FrameAllocation first = a.Allocate(0);
        Assert.True(first.Succeeded);
        Assert.Equal(0UL, first.Address.Value);

        // expand(): the upper halves of orders 9..0 stay free, one block each.
        for (int o = 0; o < 10; o++)
        {
            Assert.Equal(1, a.FreeBlocks(o));
        }

        Assert.Equal(0, a.FreeBlocks(10));
        Assert.Equal(0x1000UL, a.Allocate(0).Address.Value);
        FrameAllocation big = a.Allocate(3);
        Assert.Equal(0x8000UL, big.Address.Value); // order-3 block at PFN 8
        Assert.Equal(8 * 4096UL, big.Bytes);
        Assert.Equal(10UL, a.UsedPages);
        Assert.Equal(3, a.Allocations);

        a.Free(new PhysicalAddress(0x1000));
        a.Free(new PhysicalAddress(0));
        a.Free(new PhysicalAddress(0x8000));
        Assert.Equal(1, a.FreeBlocks(10));
        for (int o = 0; o < 10; o++)
        {
            Assert.Equal(0, a.FreeBlocks(o));
        }

        Assert.Equal(0UL, a.UsedPages);
    }

    [Fact]
    public void BanksAreCarvedIntoNaturallyAlignedBlocks()
    {
        // PFN 1..3: PFN 1 alone (order 0), PFN 2..3 (order 1).
        FrameAllocator a = new(Bank(0x1000, 0x3000));
        Assert.Equal(1, a.FreeBlocks(0));
        Assert.Equal(1, a.FreeBlocks(1));
        Assert.Equal(3UL, a.TotalPages);
        Assert.Equal(0x2000UL, a.Allocate(1).Address.Value);
        Assert.False(a.Allocate(1).Succeeded);
    }

    [Fact]
    public void BuddiesInDifferentBanksNeverMerge()
    {
        FrameAllocator a = new(Bank(0x1000, 0x1000), Bank(0, 0x1000)); // adjacent, given out of order
        Assert.Equal(0UL, a.Banks[0].Base.Value);
        PhysicalAddress p0 = a.Allocate(0).Address;
        PhysicalAddress p1 = a.Allocate(0).Address;
        a.Free(p0);
        a.Free(p1);
        Assert.Equal(2, a.FreeBlocks(0));
        Assert.Equal(0, a.FreeBlocks(1));
    }

    [Fact]
    public void FailureIsAValueAndIsCounted()
    {
        FrameAllocator a = new(Bank(0x10_0000, 8 * 4096));
        Assert.True(a.Allocate(3).Succeeded);
        FrameAllocation f = a.Allocate(0);
        Assert.False(f.Succeeded);
        Assert.Equal(0, f.Order);
        Assert.Equal(1, a.Failures);
        Assert.Equal(1, a.Allocations);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Allocate(11));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Allocate(-1));
    }

    [Fact]
    public void FreeingWhatWasNotAllocatedThrows()
    {
        FrameAllocator a = new(Bank(0, 16 * 4096));
        FrameAllocation x = a.Allocate(1);
        Assert.Throws<InvalidOperationException>(() => a.Free(new PhysicalAddress(0x1000))); // inside a block, not its start
        Assert.Throws<InvalidOperationException>(() => a.Free(new PhysicalAddress(0x800)));
        a.Free(x.Address);
        Assert.Throws<InvalidOperationException>(() => a.Free(x.Address)); // double free
        Assert.True(a.IsAllocated(a.Allocate(2).Address, out int order));
        Assert.Equal(2, order);
    }

    [Fact]
    public void FragmentationIsTheUnusableFreeIndex()
    {
        FrameAllocator a = new(Bank(0, 16 * 4096));
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal((ulong)i * 4096, a.Allocate(0).Address.Value);
        }

        for (int i = 0; i < 16; i += 2)
        {
            a.Free(PhysicalAddress.FromFrame((ulong)i));
        }

        // Eight free single pages whose buddies are all in use: nothing of order >= 1 can be served.
        Assert.Equal(0.0, a.Fragmentation(0));
        Assert.Equal(1.0, a.Fragmentation(1));

        // Freeing PFN 1 merges PFN 0+1 into an order-1 block: 2 of the 9 free pages are usable for order 1.
        a.Free(PhysicalAddress.FromFrame(1));
        Assert.Equal(7.0 / 9.0, a.Fragmentation(1), 12);
        Assert.Equal(1.0, a.Fragmentation(2));
        Assert.Equal(9UL, a.FreePages);
    }

    [Fact]
    public void BadBanksAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new FrameAllocator());
        Assert.Throws<ArgumentException>(() => new FrameAllocator(Bank(0x800, 4096)));
        Assert.Throws<ArgumentException>(() => new FrameAllocator(Bank(0, 0)));
        Assert.Throws<ArgumentException>(() => new FrameAllocator(Bank(0, 0x3000), Bank(0x2000, 0x1000)));
        Assert.Throws<ArgumentException>(() => new FrameAllocator(Bank(PhysicalAddress.Limit - 4096, 8192)));

        // A bank whose end wraps around 2^64 is beyond 2^52 too.
        Assert.Throws<ArgumentException>(() => new FrameAllocator(Bank(0xFFFF_FFFF_FFFF_F000, 0x2000)));
    }

    [Fact]
    public void ContainsKnowsTheBanks()
    {
        FrameAllocator a = new(Bank(0x1000_0000, 0x10_0000), Bank(0x2000_0000, 0x1000));
        Assert.True(a.Contains(new PhysicalAddress(0x1000_0000)));
        Assert.False(a.Contains(new PhysicalAddress(0x1010_0000)));
        Assert.True(a.Contains(new PhysicalAddress(0x2000_0FFF)));
    }

    [Fact]
    public void ReservingARangeLeavesTheFreeListsAsReservingItFrameByFrame()
    {
        // two banks (the second starting off an order-10 boundary), a few frames allocated first, then two ranges
        var cases =
            from allocs in Gen.Choose(0, 40)
            from start1 in Gen.Choose(0, 1500)
            from len1 in Gen.Choose(1, 700)
            from start2 in Gen.Choose(2200, 3000)
            from len2 in Gen.Choose(1, 300)
            select (allocs, start1, len1, start2, len2);
        PropertyCheck.ForAll(cases, c =>
        {
            FrameAllocator Make()
            {
                FrameAllocator a = new(Bank(0, 2048 * 4096UL), Bank(2176 * 4096UL, 1000 * 4096UL));
                for (int i = 0; i < c.allocs; i++)
                {
                    a.Allocate(i % 3);
                }

                return a;
            }

            FrameAllocator whole = Make();
            FrameAllocator single = Make();
            bool wholeOk = TryReserve(whole, (ulong)c.start1, (ulong)c.len1) && TryReserve(whole, (ulong)c.start2, (ulong)c.len2);
            bool singleOk = true;
            foreach ((ulong start, ulong len) in new[] { ((ulong)c.start1, (ulong)c.len1), ((ulong)c.start2, (ulong)c.len2) })
            {
                for (ulong pfn = start; pfn < start + len && singleOk; pfn++)
                {
                    singleOk = TryReserve(single, pfn, 1);
                }
            }

            if (wholeOk != singleOk)
            {
                return false;
            }

            if (!wholeOk)
            {
                return true; // a frame of the range was allocated or outside RAM: both refuse it
            }

            for (int o = 0; o <= FrameAllocator.MaxOrder; o++)
            {
                if (whole.FreeBlocks(o) != single.FreeBlocks(o))
                {
                    return false;
                }
            }

            // the same blocks: every later allocation hands out the same frames
            for (FrameAllocation f = whole.Allocate(0); f.Succeeded; f = whole.Allocate(0))
            {
                if (single.Allocate(0).Address != f.Address)
                {
                    return false;
                }
            }

            return !single.Allocate(0).Succeeded && whole.FreePages == 0 && whole.ReservedPages == single.ReservedPages;
        });
    }

    private static bool TryReserve(FrameAllocator a, ulong pfn, ulong pages)
    {
        try
        {
            a.Reserve(PhysicalAddress.FromFrame(pfn), pages * 4096);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
