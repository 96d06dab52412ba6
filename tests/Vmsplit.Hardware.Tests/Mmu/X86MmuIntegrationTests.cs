using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Mmu;

/// <summary>The MMU over the real x86-64 walker and the page-table editor (with its observer hook).</summary>
public sealed class X86MmuIntegrationTests
{
    private static readonly TlbHierarchyConfig s_haswellLike = new()
    {
        MicroI = [new TlbLevelConfig { Name = "ITLB", Entries = 64, Ways = 8, PageSizes = [4096] }],
        MicroD = [new TlbLevelConfig { Name = "DTLB", Entries = 64, Ways = 4, PageSizes = [4096, 2UL << 20] }],
        Main = [new TlbLevelConfig { Name = "STLB", Entries = 1024, Ways = 8, PageSizes = [4096, 2UL << 20] }],
        WalkCaches =
        [
            new WalkCacheConfig { Name = "PML4E cache", Entries = 4, Ways = 4, CoverageShifts = [39] },
            new WalkCacheConfig { Name = "PDPTE cache", Entries = 4, Ways = 4, CoverageShifts = [30] },
            new WalkCacheConfig { Name = "PDE cache", Entries = 32, Ways = 4, CoverageShifts = [21] },
        ],
        AsidBits = 12,
        HasPcid = true,
        HasInvpcid = true,
    };

    private static (MemoryManagementUnit Mmu, PageTable Table, CoherenceChecker Checker) Build()
    {
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 16 * ByteSize.MiB));
        PageTableFormat format = PageTableFormat.Get(MmuFormat.X86_64);
        PageTable table = PageTable.Create(format, memory, allocator);
        CoherenceChecker checker = new();
        table.Observer = checker;
        MemoryManagementUnit mmu = new(format, memory, s_haswellLike);
        mmu.Registers = table.Registers;
        checker.Attach(mmu);
        return (mmu, table, checker);
    }

    [Fact]
    public void PagingStructureCachesCutTheFourLevelWalk()
    {
        (MemoryManagementUnit mmu, PageTable table, _) = Build();
        Assert.True(table.Map(new VirtualAddress(0x40_0000), new PhysicalAddress(0x20_0000), 0x4000, PageAttributes.UserData, 4096).Succeeded);
        Assert.True(table.Map(new VirtualAddress(0x4000_0000), new PhysicalAddress(0x30_0000), 0x1000, PageAttributes.UserData).Succeeded);

        // PML4E, PDPTE, PDE, PTE: four reads on a cold walk.
        Translation a = mmu.Translate(new VirtualAddress(0x40_0000), AccessType.Read, Privilege.User);
        Assert.Equal((new PhysicalAddress(0x20_0000), 4, 0), (a.Address, a.WalkReads, a.WalkReadsSaved));

        // Same 2 MiB region: the PDE cache supplies the page table, one read remains.
        WalkTrace trace = new();
        mmu.WalkTrace = trace;
        Translation b = mmu.Translate(new VirtualAddress(0x40_1008), AccessType.Read, Privilege.User);

        // The trace holds the whole walk (PML4, PDPT, PD, PT: x86 levels 4..1); the first three reads were saved.
        Assert.Equal([4, 3, 2, 1], trace.Steps.Select(s => s.Level));
        Assert.Equal(1, trace.Steps[3].Index);
        Assert.Equal((new PhysicalAddress(0x20_1008), 1, 3), (b.Address, b.WalkReads, b.WalkReadsSaved));

        // 1 GiB away: same PML4E, new PDPTE: the PML4E cache saves one read.
        Translation c = mmu.Translate(new VirtualAddress(0x4000_0000), AccessType.Read, Privilege.User);
        Assert.Equal((3, 1), (c.WalkReads, c.WalkReadsSaved));
        Assert.Equal(8, mmu.Counters.WalkReads);
    }

    [Fact]
    public void EditorObserverFeedsTheChecker()
    {
        (MemoryManagementUnit mmu, PageTable table, CoherenceChecker checker) = Build();
        mmu.WriteCr4(mmu.Registers.Cr4 | Cr4Flags.Pcide);
        mmu.WriteCr3(table.Root.Value | 5);
        Assert.Equal(5, mmu.CurrentAsid);
        Assert.True(table.Map(new VirtualAddress(0x7f00_0000_0000), new PhysicalAddress(0x20_0000), 0x1000, PageAttributes.UserData).Succeeded);
        Assert.False(mmu.Translate(new VirtualAddress(0x7f00_0000_0010), AccessType.Write, Privilege.User).IsFault);

        Assert.True(table.Unmap(new VirtualAddress(0x7f00_0000_0000), 0x1000).Succeeded);
        mmu.Translate(new VirtualAddress(0x7f00_0000_0010), AccessType.Read, Privilege.User);
        StaleTranslation r = Assert.Single(checker.Reports);
        PageTableWrite w = Assert.IsType<PageTableWrite>(r.Change);

        // The editor reported the PTE write: a 4 KiB entry for the page, old value present+RW+US (+A+D after the write), new 0.
        Assert.Equal((new VirtualAddress(0x7f00_0000_0000), 4096UL, 0UL, table.Root), (w.Va, w.Size, w.NewDescriptor, w.Root));
        Assert.Equal(0x20_0000UL | 0x67, w.OldDescriptor & 0xFFF_FFFF_FFFF_FFFF);

        checker.Clear();
        mmu.Invpcid(0, 5, new VirtualAddress(0x7f00_0000_0000));
        Assert.Equal(FaultKind.Translation, mmu.Translate(new VirtualAddress(0x7f00_0000_0010), AccessType.Read, Privilege.User).Fault);
        Assert.Empty(checker.Reports);
    }

    [Fact]
    public void UpperHalfChangesAreReportedAtCanonicalAddresses()
    {
        (MemoryManagementUnit mmu, PageTable table, CoherenceChecker checker) = Build();
        VirtualAddress kva = new(0xffff_8880_0010_0000);
        Assert.True(table.Map(kva, new PhysicalAddress(0x50_0000), 0x1000, PageAttributes.KernelData).Succeeded);
        Assert.False(mmu.Translate(kva, AccessType.Read, Privilege.Kernel).IsFault);
        Assert.True(table.Unmap(kva, 0x1000).Succeeded);

        // KernelData is global: a CR3 reload (the flush of a context switch) keeps it, so it is stale.
        Assert.Equal(0, mmu.WriteCr3(table.Root.Value).TlbEntriesRemoved);
        mmu.Translate(kva, AccessType.Read, Privilege.Kernel);
        StaleTranslation r = Assert.Single(checker.Reports);
        Assert.Equal(kva, Assert.IsType<PageTableWrite>(r.Change).Va);
    }
    [Fact]
    public void PaeCr3WriteLoadsThePdptes()
    {
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 16 * ByteSize.MiB));
        PageTableFormat format = PageTableFormat.Get(MmuFormat.X86Pae);
        PageTable table = PageTable.Create(format, memory, allocator);
        Assert.True(table.Map(new VirtualAddress(0x0804_8000), new PhysicalAddress(0x0030_0000), 0x1000, PageAttributes.UserText).Succeeded);
        MemoryManagementUnit mmu = new(format, memory, s_haswellLike with { AsidBits = 0, HasPcid = false, HasInvpcid = false, WalkCaches = [] });
        mmu.Registers = table.Registers;
        mmu.Registers.Pdpte0 = mmu.Registers.Pdpte1 = mmu.Registers.Pdpte2 = mmu.Registers.Pdpte3 = 0;

        // With stale (empty) PDPTE registers the walk faults at the first level; MOV CR3 reloads them.
        Assert.Equal(FaultKind.Translation, mmu.Translate(new VirtualAddress(0x0804_8000), AccessType.Execute, Privilege.User).Fault);
        mmu.WriteCr3(table.Root.Value);
        Assert.NotEqual(0UL, mmu.Registers.Pdpte0);

        // The walk then reads only the PD and the PT from memory.
        Translation t = mmu.Translate(new VirtualAddress(0x0804_8010), AccessType.Execute, Privilege.User);
        Assert.Equal((new PhysicalAddress(0x0030_0010), 2), (t.Address, t.WalkReads));
    }
}
