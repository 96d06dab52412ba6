using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Tests.Core;

namespace Vmsplit.Kernel.Tests.Mm;

/// <summary>
/// get_user_pages executed: a software walk whose descriptor loads go through the kernel's TLB and the line cache,
/// a read-modify-write of _refcount in a mem_map that lives at the top of lowmem, the reverse on unpin.
/// </summary>
public class GupTests
{
    private static (SimKernel K, Process P, VirtualAddress Buf) Boot(string design) =>
        KernelBoot.BootWithBuffer(KernelArch.ArmLpae, design, "cortex-a15");

    [Fact]
    public void MemMapHoldsOneStructPageOfThirtyTwoBytesPerRamFrameAtTheTopOfLowmem()
    {
        (SimKernel k, _, _) = Boot("4g4g");
        MemMap map = k.MemMap!;

        // 2 GiB of RAM from PHYS_OFFSET 0: 524288 frames × 32 bytes = 16 MiB, reserved below the top of lowmem
        Assert.Equal(0UL, k.Layout.Machine.PhysOffset.Value);
        Assert.Equal(0UL, map.FirstPfn);
        Assert.Equal(524288UL, map.Pages);
        Assert.Equal(16UL << 20, map.Bytes);
        ulong lowTop = k.Lowmem.Banks.Max(b => b.End.Value);
        Assert.Equal(lowTop - (16UL << 20), map.Start.Value);
        Assert.Equal(k.LinearAddress(map.Start), map.Va);
        Assert.Equal(map.Va + (5 * 32), map.PageOf(new PhysicalAddress(0x5000)));
        Assert.Equal(map.Va + (5 * 32) + 28, map.RefcountOf(new PhysicalAddress(0x5000)));
        Assert.Throws<InvalidOperationException>(() => k.Lowmem.Reserve(map.Start, 4096)); // the allocator no longer has it
    }

    [Fact]
    public void SixtyFourBitKernelsKeepTheirStructPagesInAVmemmapAtVmemmapStart()
    {
        // x86-64 with 8 GiB from frame 0: 2 097 152 struct pages of 64 bytes = 128 MiB at vmemmap_base, backed by
        // 2 MiB blocks from the top of RAM and mapped in the kernel's tables; _refcount at offset 52
        SimKernel k = KernelBoot.Boot(KernelArch.X86_64, "classic", "skylake", 8 * ByteSize.GiB);
        MemMap map = k.MemMap!;
        Assert.Equal(0xffffea0000000000UL, map.Va.Value);
        Assert.Equal((0UL, 2097152UL, 128UL << 20), (map.FirstPfn, map.Pages, map.Bytes));
        Assert.Equal(8 * ByteSize.GiB - (128UL << 20), map.Start.Value);
        Assert.False(map.HighmemConfigured);
        PhysicalAddress frame = new(0x12345000);
        Assert.Equal(0xffffea0000000000UL + (0x12345UL * 64) + 52, map.RefcountOf(frame).Value);
        PageTableLookup l = k.KernelTree.Lookup(map.PageOf(frame));
        Assert.True(l.Found);
        Assert.Equal(2 * ByteSize.MiB, l.PageSize);
        Assert.Equal(map.PhysOf(map.PageOf(frame)), l.Translate(map.PageOf(frame)));
    }

    [Fact]
    public void PinKmapOnA64BitKernel_CountsThePinInTheVmemmap()
    {
        (SimKernel k, Process p, VirtualAddress buf) = KernelBoot.BootWithBuffer(KernelArch.Aarch64, "classic+pin-kmap", "cortex-a72");
        k.UserTouch(p, buf, 4096, write: true);
        PhysicalAddress frame = p.Tables.Lookup(buf).Translate(buf);
        uint before = k.Memory.ReadUInt32(k.MemMap!.PhysOf(k.MemMap.RefcountOf(frame)));
        Assert.Equal(frame, k.GetUserPage(p, buf, write: true, pin: true));
        Assert.Equal(before + MemMap.PinCountingBias, k.Memory.ReadUInt32(k.MemMap.PhysOf(k.MemMap.RefcountOf(frame))));
        k.UnpinUserPage(p, frame);
        Assert.Equal(before, k.Memory.ReadUInt32(k.MemMap.PhysOf(k.MemMap.RefcountOf(frame))));
    }

    [Fact]
    public void PinningWalksThreeDescriptorsAndAddsThePinBiasToRefcount()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot("4g4g");
        VirtualAddress va = buf + 0x3000 + 12;
        k.UserTouch(p, va, 4, write: true); // faulted in by user code: the walk steps are now in the line cache
        k.EnterKernel();
        PhysicalAddress frame = p.Tables.Lookup(va).Translate(va.AlignDown(4096));
        Assert.Equal(1u, k.Gup.Refcount(frame)); // set_page_refcounted by the fault

        CpuProfile prof = k.Profile;
        double hit = prof.Cycles(PrimitiveCost.WalkStepCacheHit);
        KernelSoftwareCosts sw = k.Software;
        long loads = k.Cpu.DataLoads;
        long misses = k.Cpu.DataLoadMisses;
        double before = k.Ledger.Cycles(KernelCostCause.Pinning);

        Assert.Equal(frame, k.GetUserPage(p, va, write: false, pin: true));

        // pgd, pmd, pte (user code's walk brought them in), _refcount (the fault's kmap loaded page->flags, same
        // 32-byte struct page, same line), the PTE again: five hits
        Assert.Equal(3, k.Gup.DescriptorLoads);
        Assert.Equal(5, k.Cpu.DataLoads - loads);
        Assert.Equal(0, k.Cpu.DataLoadMisses - misses);
        Assert.Equal(sw.GupWalkPerPage + sw.GupGrabPerPage + (5 * hit), k.Ledger.Cycles(KernelCostCause.Pinning) - before);
        Assert.Equal(1u + 1024u, k.Gup.Refcount(frame));
        Assert.Equal(1, p.Pins[frame.Value]);

        before = k.Ledger.Cycles(KernelCostCause.Pinning);
        k.UnpinUserPage(p, frame);
        Assert.Equal(sw.GupUnpinPerPage + hit, k.Ledger.Cycles(KernelCostCause.Pinning) - before);
        Assert.Equal(1u, k.Gup.Refcount(frame));
        Assert.Empty(p.Pins);
    }

    [Fact]
    public void AMissingPageIsFaultedInBetweenTwoWalks()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot("4g4g");
        k.EnterKernel();
        VirtualAddress va = buf + 0x5000;
        long faults = k.Ledger.Events(KernelCostCause.FaultHandling);
        PhysicalAddress? frame = k.GetUserPage(p, va, write: true, pin: true);
        Assert.NotNull(frame);
        Assert.Equal(2, k.Gup.Walks);
        Assert.Equal(1, k.Ledger.Events(KernelCostCause.FaultHandling) - faults);
        Assert.Equal(1u + 1024u, k.Gup.Refcount(frame.Value));

        // an address no VMA covers: one walk, the fault handler refuses, nothing pinned
        Assert.Null(k.GetUserPage(p, buf + (64 * 1024) + 0x1000, write: false, pin: true));
        Assert.Equal(3, k.Gup.Walks);
        Assert.Single(p.Pins);
    }
}
