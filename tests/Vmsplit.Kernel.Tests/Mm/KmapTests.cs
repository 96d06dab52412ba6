using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Tests.Core;

namespace Vmsplit.Kernel.Tests.Mm;

/// <summary>kmap_local executed: PageHighMem's page->flags load, a PTE stored in the fixmap slot, a local invalidation, the clear.</summary>
public class KmapTests
{
    private static SimKernel Boot(string design)
    {
        // 2 GiB on LPAE: under classic 1.25 GiB of it is highmem
        SimKernel k = KernelBoot.Boot(KernelArch.ArmLpae, design, "cortex-a15");
        k.Start(k.CreateProcess());
        return k;
    }

    [Fact]
    public void AHighmemPageGetsAFixmapPteThatIsClearedAndInvalidatedOnUnmap()
    {
        SimKernel k = Boot("classic");
        PhysicalAddress frame = k.AllocUserFrame();
        Assert.True(k.IsHighmem(frame));
        k.EnterKernel();

        // a first map and unmap brings page->flags and the fixmap PTE's line into the cache
        k.KunmapFrame(frame, k.KmapFrame(frame));

        double hit = k.Profile.Cycles(PrimitiveCost.WalkStepCacheHit);
        double kmap = k.Ledger.Cycles(KernelCostCause.Kmap);
        long stores = k.DescriptorWrites;
        long loads = k.Cpu.DataLoads;
        long misses = k.Cpu.DataLoadMisses;
        VirtualAddress va = k.KmapFrame(frame);

        // slot 0 of CPU 0: __fix_to_virt(FIX_KMAP_BEGIN) = FIXADDR_TOP - 1 page
        Assert.Equal(k.KmapLocal.FixaddrTop - 4096UL, va);
        PageTableLookup pte = k.KernelTree.Lookup(va);
        Assert.True(pte.Found);
        Assert.Equal(frame, pte.FrameBase);
        Assert.False(pte.Attributes.User);
        Assert.Equal(k.Software.KmapLocalMap + (2 * hit), k.Ledger.Cycles(KernelCostCause.Kmap) - kmap); // flags load, PTE store: hits
        Assert.Equal(1, k.DescriptorWrites - stores);
        Assert.Equal(2, k.Cpu.DataLoads - loads);
        Assert.Equal(0, k.Cpu.DataLoadMisses - misses);
        Assert.Equal(frame, k.Cpu.Access(va, AccessType.Read, Privilege.Kernel).Address);

        kmap = k.Ledger.Cycles(KernelCostCause.Kmap);
        k.KunmapFrame(frame, va);
        Assert.Equal(k.Software.KmapLocalUnmap + hit, k.Ledger.Cycles(KernelCostCause.Kmap) - kmap);
        Assert.Equal(2, k.DescriptorWrites - stores);
        Assert.False(k.KernelTree.Lookup(va).Found);
        Assert.True(k.Cpu.Access(va, AccessType.Read, Privilege.Kernel).IsFault); // the local TLBIMVAA left no stale entry
    }

    [Fact]
    public void ALowmemPageIsItsLinearAddressAfterTheFlagsLoad()
    {
        SimKernel k = Boot("4g4g"); // 2 GiB under 4g4g: all lowmem
        PhysicalAddress frame = k.AllocUserFrame();
        Assert.False(k.IsHighmem(frame));
        k.EnterKernel();
        long stores = k.DescriptorWrites;
        long loads = k.Cpu.DataLoads;
        double kmap = k.Ledger.Cycles(KernelCostCause.Kmap);
        Assert.Equal(k.LinearAddress(frame), k.KmapFrame(frame));
        Assert.Equal(1, k.Cpu.DataLoads - loads);
        Assert.Equal(0, k.DescriptorWrites - stores);
        double flags = k.Ledger.Cycles(KernelCostCause.Kmap) - kmap - k.Software.KmapLowmem;
        Assert.Contains(flags, new[] { k.Profile.Cycles(PrimitiveCost.WalkStepCacheHit), k.Profile.Cycles(PrimitiveCost.WalkStepCacheMiss) });
    }
}
