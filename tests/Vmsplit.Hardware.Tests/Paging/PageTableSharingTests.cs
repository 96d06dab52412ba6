using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Hardware.Tests.Paging;

public class PageTableSharingTests
{
    private static readonly VirtualAddress s_kernelVa = new(0xffff888000000000);

    [Fact]
    public void ASharedTopLevelEntryTranslatesThroughTheSourceTablesAndIsNeverFreedByTheSharer()
    {
        PhysicalMemory mem = new();
        FrameAllocator alloc = new(new RamBank(new PhysicalAddress(0x100000000), 64UL << 20));
        PageTableFormat fmt = PageTableFormat.Get(MmuFormat.X86_64);
        PageTable kernel = PageTable.Create(fmt, mem, alloc);
        Assert.True(kernel.Map(s_kernelVa, new PhysicalAddress(0x1000000), 0x1000, PageAttributes.KernelData).Succeeded);
        ulong afterKernel = alloc.UsedPages; // PML4 + PDPT + PD + PT

        PageTable process = PageTable.Create(fmt, mem, alloc);
        Assert.True(process.ShareEntry(kernel, s_kernelVa, 0).Succeeded);
        Assert.True(process.ShareEntry(kernel, s_kernelVa, 0).Succeeded); // idempotent
        Assert.Equal(afterKernel + 1, alloc.UsedPages); // only the process's own PML4

        PageTableLookup l = process.Lookup(s_kernelVa);
        Assert.True(l.Found);
        Assert.Equal(new PhysicalAddress(0x1000000), l.FrameBase);

        // A change made in the source is seen through the shared entry (same lower tables).
        Assert.True(kernel.Map(s_kernelVa + 0x1000, new PhysicalAddress(0x2000000), 0x1000, PageAttributes.KernelData).Succeeded);
        Assert.Equal(new PhysicalAddress(0x2000000), process.Lookup(s_kernelVa + 0x1000).FrameBase);

        // The sharer may not edit under the shared entry.
        Assert.Equal(PageTableStatus.Shared, process.Map(s_kernelVa + 0x2000, new PhysicalAddress(0x3000000), 0x1000, PageAttributes.KernelData).Status);
        Assert.Equal(PageTableStatus.Shared, process.Unmap(s_kernelVa, 0x1000).Status);

        process.Release();
        Assert.Equal(afterKernel, alloc.UsedPages); // the kernel's tables survive the process
        Assert.True(kernel.Lookup(s_kernelVa).Found);
    }

    [Fact]
    public void UnshareAtALowerLevelPrunesTheSharersOwnTables()
    {
        PhysicalMemory mem = new();
        FrameAllocator alloc = new(new RamBank(new PhysicalAddress(0x100000000), 64UL << 20));
        PageTableFormat fmt = PageTableFormat.Get(MmuFormat.X86_64);
        PageTable kernel = PageTable.Create(fmt, mem, alloc);
        Assert.True(kernel.Map(s_kernelVa, new PhysicalAddress(0x1000000), 0x1000, PageAttributes.KernelData).Succeeded);
        PageTable process = PageTable.Create(fmt, mem, alloc);
        ulong before = alloc.UsedPages;
        Assert.True(process.ShareEntry(kernel, s_kernelVa, 2).Succeeded); // share the PD entry: own PDPT and PD above it
        Assert.Equal(before + 2, alloc.UsedPages);
        Assert.Equal(1, process.SharedEntries);
        Assert.True(process.Lookup(s_kernelVa).Found);
        Assert.True(process.Unshare(s_kernelVa, 2).Succeeded);
        Assert.Equal(before, alloc.UsedPages);
        Assert.False(process.Lookup(s_kernelVa).Found);
        Assert.Equal(PageTableStatus.NotMapped, process.ShareEntry(kernel, s_kernelVa + (1UL << 39), 0).Status);
    }

    [Fact]
    public void PopulatedTablesHoldNoLeafAndALaterMapAllocatesNothing()
    {
        PhysicalMemory mem = new();
        FrameAllocator alloc = new(new RamBank(new PhysicalAddress(0x10000000), 64UL << 20));
        PageTable pae = PageTable.Create(PageTableFormat.Get(MmuFormat.X86Pae), mem, alloc);
        ulong before = alloc.UsedPages; // the PDPT's frame and its four preallocated PMDs
        VirtualAddress fixmap = new(0xffa00000);

        // 3 MiB from 0xffa00000 spans two 2 MiB PMD entries: two PTE tables, no mapping
        Assert.True(pae.PopulateTables(fixmap, 3UL << 20, PageAttributes.KernelData).Succeeded);
        Assert.Equal(before + 2, alloc.UsedPages);
        Assert.False(pae.Lookup(fixmap).Found);
        Assert.True(pae.PopulateTables(fixmap, 4096, PageAttributes.KernelData).Succeeded); // already there
        Assert.Equal(before + 2, alloc.UsedPages);

        Assert.True(pae.Map(fixmap + (0x200000 + 0x5000), new PhysicalAddress(0x7000), 4096, PageAttributes.KernelData).Succeeded);
        Assert.Equal(before + 2, alloc.UsedPages);
        Assert.Equal(new PhysicalAddress(0x7000), pae.Lookup(fixmap + (0x200000 + 0x5000)).FrameBase);
        Assert.Equal(PageTableStatus.Misaligned, pae.PopulateTables(fixmap + 1, 4096, PageAttributes.KernelData).Status);
    }
}
