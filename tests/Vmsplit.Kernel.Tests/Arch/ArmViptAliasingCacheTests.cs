using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Tests.Core;

namespace Vmsplit.Kernel.Tests.Arch;

/// <summary>
/// arch/arm/mm/flush.c on the ARM1136's aliasing data cache: get_user_pages flushes the user alias through the alias
/// window at the page's colour and the kernel alias, flush_dcache_page the kernel alias, each line by line.
/// </summary>
public class ArmViptAliasingCacheTests
{
    private const ulong Page = 4096;

    [Fact]
    public void TheArm1136ProfileDescribesAnAliasingCacheWithTwoColoursPerPage()
    {
        CacheGeometry c = CpuProfiles.Find("arm1136")!.Cache;
        Assert.True(c.ViptAliasing);
        Assert.Equal(32, c.LineBytes);
        Assert.Equal(8UL * 1024, c.WayBytes);
        Assert.Equal(128, c.LinesPerPage);
    }

    [Theory]
    [InlineData(0x0UL, 0)]
    [InlineData(0x1000UL, 1)]
    [InlineData(0x2fffUL, 2)]
    [InlineData(0x7000UL, 3)]
    [InlineData(0x40008000UL, 0)]
    public void TheColourIsThePageWithinShmlba(ulong va, int colour)
    {
        Assert.Equal(colour, ArmViptAliasingCache.Colour(new VirtualAddress(va)));
        Assert.Equal(0xffff4000UL + ((ulong)colour * Page), ArmViptAliasingCache.AliasOf(new VirtualAddress(va)).Value);
    }

    [Fact]
    public void AByteCopiedToAPinnedPageFlushesFourPagesOfLinesAndMapsTheAliasAtTheUserColour()
    {
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Arm, "classic+pin-kmap", "arm1136", ramBytes: 256 * ByteSize.MiB, touch: true);
        ArmViptAliasingCache vipt = Assert.IsType<ArmMm>(k.Arch).ViptAliasing!;
        CacheGeometry c = k.Cpu.Profile.Cache;
        foreach (ulong offset in new[] { 0UL, Page })
        {
            VirtualAddress user = buf + offset;
            PhysicalAddress frame = p.Tables.Lookup(user).FrameBase;
            long lines = vipt.LinesFlushed;
            long aliases = vipt.AliasMappings;
            double cycles = k.Ledger.Cycles(CostCause.CacheFlush);
            long events = k.Ledger.Events(CostCause.CacheFlush);

            Assert.Equal(1, k.Syscall(p, new SyscallRequest(SyscallKind.Read, user, 1, File: FileKind.DevZero)).Value);

            // get_user_pages: flush_anon_page (the user alias, the kernel alias) and flush_dcache_page (the kernel
            // alias); after the write, flush_dcache_page again: four pages of 128 lines, one I-cache invalidation
            Assert.Equal(4 * 128, vipt.LinesFlushed - lines);
            Assert.Equal(1, vipt.AliasMappings - aliases);
            // plus the store of the alias PTE (set_top_pte), a priced kernel store that hits or misses the line cache
            double flushed = k.Ledger.Cycles(CostCause.CacheFlush) - cycles - (4 * 128 * c.CleanInvalidateLineCycles) - c.IcacheInvalidateAllCycles;
            Assert.Contains(Math.Round(flushed, 6), new[] { k.Cpu.Profile.Cycles(PrimitiveCost.WalkStepCacheHit), k.Cpu.Profile.Cycles(PrimitiveCost.WalkStepCacheMiss) });
            Assert.Equal((4 * 128) + 1 + 1, k.Ledger.Events(CostCause.CacheFlush) - events);

            // the alias window's PTE maps the user frame at the user address's colour
            VirtualAddress alias = ArmViptAliasingCache.AliasOf(user);
            PageTableLookup l = k.KernelTree.Lookup(alias);
            Assert.True(l.Found);
            Assert.Equal(frame, l.FrameBase);
            Assert.False(l.Attributes.User);
        }
    }

    [Fact]
    public void AnotherFrameOfTheSameColourRewritesTheAliasPteInPlace()
    {
        // buf and buf + SHMLBA (16 KiB) share a colour, so the second copy reuses the slot the first one mapped
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Arm, "classic+pin-kmap", "arm1136", ramBytes: 256 * ByteSize.MiB, touch: true);
        Assert.Equal(1, k.Syscall(p, new SyscallRequest(SyscallKind.Read, buf, 1, File: FileKind.DevZero)).Value);
        VirtualAddress second = buf + (4 * Page);
        VirtualAddress alias = ArmViptAliasingCache.AliasOf(second);
        Assert.Equal(ArmViptAliasingCache.AliasOf(buf), alias);
        PageTableLookup slot = k.KernelTree.Lookup(alias);
        long tables = k.KernelTree.TableBytesUsed;
        long stores = k.DescriptorWrites;
        WriteLog log = new(k.KernelTree.Observer); // the editor's writes, passed on to the coherence checker
        k.KernelTree.Observer = log;

        Assert.Equal(1, k.Syscall(p, new SyscallRequest(SyscallKind.Read, second, 1, File: FileKind.DevZero)).Value);

        // set_top_pte overwrites the slot's PTE: the same entry now holds the second frame, no table came or went,
        // and the one priced store is the only descriptor write of the flush
        PageTableLookup after = k.KernelTree.Lookup(alias);
        Assert.Equal(slot.EntryAddress, after.EntryAddress);
        Assert.Equal(p.Tables.Lookup(second).FrameBase, after.FrameBase);
        Assert.Equal(tables, k.KernelTree.TableBytesUsed);
        Assert.Equal(1, k.DescriptorWrites - stores);
        PageTableWrite only = Assert.Single(log.Writes);
        Assert.Equal(slot.EntryAddress, only.EntryAddress);
        Assert.Equal(slot.Descriptor, only.OldDescriptor);
    }

    private sealed class WriteLog(IPageTableObserver? next) : IPageTableObserver
    {
        public List<PageTableWrite> Writes { get; } = new();

        public void DescriptorWritten(in PageTableWrite write)
        {
            Writes.Add(write);
            next?.DescriptorWritten(in write);
        }
    }

    [Fact]
    public void ANonAliasingCacheFlushesOnlyTheKernelAliasOncePerPin()
    {
        // no alias window and no flush after the write; get_user_pages' flush_dcache_page still cleans and invalidates
        // the page through its kernel alias (ArmGupFlushTests): the Cortex-A8's 64 lines of 64 bytes, once
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Arm, "classic+pin-kmap", "cortex-a8", ramBytes: 256 * ByteSize.MiB, touch: true);
        ArmMm arm = Assert.IsType<ArmMm>(k.Arch);
        Assert.Null(arm.ViptAliasing);
        Assert.Equal(1, k.Syscall(p, new SyscallRequest(SyscallKind.Read, buf, 1, File: FileKind.DevZero)).Value);
        Assert.Equal(64, k.Ledger.Events(CostCause.CacheFlush));
        Assert.Equal(1, arm.GupPagesFlushed);
    }

    [Fact]
    public void DirectUaccessOnAnAliasingCacheNeedsNoFlush()
    {
        // classic copies through the user's own mapping: no second alias, nothing to flush
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Arm, "classic", "arm1136", ramBytes: 256 * ByteSize.MiB, touch: true);
        Assert.Equal(1, k.Syscall(p, new SyscallRequest(SyscallKind.Read, buf, 1, File: FileKind.DevZero)).Value);
        Assert.Equal(0, k.Ledger.Events(CostCause.CacheFlush));
    }

    [Fact]
    public void AnAliasingCacheLeavesNoHighmemEvenWithMoreRamThanLowmem()
    {
        SimKernel k = KernelBoot.Boot(KernelArch.Arm, "classic+pin-kmap", "arm1136", 2 * ByteSize.GiB);
        Assert.False(k.IsHighmem(new PhysicalAddress(0x7000_0000)));
        Assert.Null(k.Highmem);
    }
}
