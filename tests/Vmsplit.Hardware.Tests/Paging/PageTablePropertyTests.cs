using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>
/// Editor properties for every registered format: map→walk round trips, unmap→translation fault,
/// protect takes effect, a split keeps the rest of a block, empty tables go back to the allocator.
/// </summary>
public sealed class PageTablePropertyTests
{
    public static TheoryData<string> Formats()
    {
        TheoryData<string> data = new();
        foreach (PageTableFormat f in PageTableFormat.All)
        {
            data.Add(f.Name);
        }

        return data;
    }

    /// <summary>A mapping request: page size, page count, VA and PA slots, a probe seed.</summary>
    public readonly record struct Case(ulong PageSize, int Count, ulong Va, ulong Pa, bool User, int Probe);

    private static Gen<Case> Cases(PageTableFormat f)
    {
        ulong[] sizes = f.Geometry.PageSizes.ToArray();
        int vaBits = f.Geometry.VirtualAddressBits;
        bool upperHalf = f.VirtualAddressBits == vaBits && vaBits < 64 && f.ContainsRange(new VirtualAddress(~0UL << (vaBits - 1)), 4096) && vaBits > 32;
        return from sizeIndex in Gen.Choose(0, sizes.Length - 1)
               from count in Gen.Choose(1, 3)
               from vaSlot in Gen.Choose(0, int.MaxValue)
               from paSlot in Gen.Choose(0, int.MaxValue)
               from high in Gen.Elements(false, true)
               from user in Gen.Elements(false, true)
               from probe in Gen.Choose(0, int.MaxValue)
               let size = sizes[sizeIndex]
               let vaSlots = (upperHalf ? 1UL << (vaBits - 1) : 1UL << vaBits) / size
               let vaRoom = vaSlots > 4 ? vaSlots - 4 : 1 // 32-bit VAs hold only four 1 GiB blocks (LPAE)
               let paSpan = f.PhysicalAddressBits >= 40 ? 1UL << 40 : 1UL << f.PhysicalAddressBits
               let paRoom = (Math.Max(paSpan, size * 8) / size) - 4 // RISC-V 512 GiB/256 TiB leaves exceed a 40-bit span
               let va = ((ulong)vaSlot % vaRoom * size) | (upperHalf && high ? ~0UL << (vaBits - 1) : 0)
               select new Case(size, count, va, (ulong)paSlot % paRoom * size, user, probe);
    }

    private static PageAttributes Attributes(Case c) => c.User ? PageAttributes.UserData : PageAttributes.KernelData;

    private static Privilege Owner(Case c) => c.User ? Privilege.User : Privilege.Kernel;

    private static ulong ProbeOffset(Case c, int k) => (ulong)(((long)c.Probe * (k + 7919)) & 0x7FFF_FFFF) * 8 % (c.PageSize * (ulong)c.Count);

    [Theory]
    [MemberData(nameof(Formats))]
    public void MapWalkUnmapRoundTrip(string name)
    {
        PageTableFormat f = PageTableFormat.Parse(name);
        PropertyCheck.ForAll(Cases(f), c =>
        {
            PagingFixture m = new(f);
            ulong start = m.Allocator.UsedPages;
            int tables = m.Table.Tables;
            ulong bytes = c.PageSize * (ulong)c.Count;
            PageTableResult mapped = m.Table.Map(new VirtualAddress(c.Va), new PhysicalAddress(c.Pa), bytes, Attributes(c));
            if (!mapped.Succeeded)
            {
                return false;
            }

            for (int k = 0; k < 4; k++)
            {
                ulong off = ProbeOffset(c, k);
                WalkResult r = m.Walk(c.Va + off, AccessType.Write, Owner(c));
                PageTableLookup l = m.Table.Lookup(new VirtualAddress(c.Va + off));
                if (r.IsFault || r.Translate(new VirtualAddress(c.Va + off)).Value != c.Pa + off || r.PageSize != c.PageSize
                    || !l.Found || l.Translate(new VirtualAddress(c.Va + off)).Value != c.Pa + off || l.Attributes.User != c.User)
                {
                    return false;
                }
            }

            if (!m.Table.Unmap(new VirtualAddress(c.Va), bytes).Succeeded)
            {
                return false;
            }

            return m.Walk(c.Va + ProbeOffset(c, 0), AccessType.Read, Owner(c)).Fault == FaultKind.Translation
                && m.Allocator.UsedPages == start && m.Table.Tables == tables;
        });
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ProtectTakesEffect(string name)
    {
        PageTableFormat f = PageTableFormat.Parse(name);
        PropertyCheck.ForAll(Cases(f), c =>
        {
            PagingFixture m = new(f);
            ulong bytes = c.PageSize * (ulong)c.Count;
            m.Map(c.Va, c.Pa, bytes, Attributes(c));
            PageAttributes readOnly = Attributes(c) with { Permissions = PagePermissions.Read };
            if (!m.Table.Protect(new VirtualAddress(c.Va), bytes, readOnly).Succeeded)
            {
                return false;
            }

            ulong va = c.Va + ProbeOffset(c, 1);
            return m.Walk(va, AccessType.Write, Owner(c)).Fault == FaultKind.Permission
                && m.Walk(va, AccessType.Read, Owner(c)).Fault == FaultKind.None
                && !m.Table.Lookup(new VirtualAddress(va)).Attributes.Write
                && m.Table.Lookup(new VirtualAddress(va)).Attributes.User == c.User;
        });
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void SplitKeepsTheRestOfABlock(string name)
    {
        PageTableFormat f = PageTableFormat.Parse(name);
        ulong block = f.Geometry.PageSizes[0];
        ulong small = f.Geometry.SmallestPage;
        Gen<(int Hole, int Other, bool Protect)> gen =
            from hole in Gen.Choose(0, int.MaxValue)
            from other in Gen.Choose(0, int.MaxValue)
            from protect in Gen.Elements(false, true)
            select (hole, other, protect);
        PropertyCheck.ForAll(gen, c =>
        {
            PagingFixture m = new(f);
            ulong start = m.Allocator.UsedPages;
            ulong va = block * 2;
            ulong pa = block * 3;
            m.Map(va, pa, block, PageAttributes.KernelData);
            ulong pages = block / small;
            ulong hole = va + ((ulong)c.Hole % pages * small);
            ulong other = va + ((ulong)c.Other % pages * small);
            PageTableResult edit = c.Protect
                ? m.Table.Protect(new VirtualAddress(hole), small, PageAttributes.KernelText)
                : m.Table.Unmap(new VirtualAddress(hole), small);
            if (!edit.Succeeded)
            {
                return false;
            }

            WalkResult h = m.Walk(hole + 8, AccessType.Write);
            bool holeOk = c.Protect ? h.Fault == FaultKind.Permission && m.Walk(hole, AccessType.Execute).Fault == FaultKind.None : h.Fault == FaultKind.Translation;
            WalkResult o = m.Walk(other + 8, AccessType.Write);
            bool otherOk = other == hole || (o.Fault == FaultKind.None && o.Translate(new VirtualAddress(other + 8)).Value == pa + (other - va) + 8
                && o.PageSize < block && o.Global && o.Rights == (AccessRights.KernelRead | AccessRights.KernelWrite | (f.Id == MmuFormat.X86_32 ? AccessRights.KernelExecute : 0)));
            bool freed = m.Table.Unmap(new VirtualAddress(va), block).Succeeded && m.Allocator.UsedPages == start;
            return holeOk && otherOk && freed;
        }, maxTest: 40);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void OverlapsAndMisalignmentAreRefused(string name)
    {
        PageTableFormat f = PageTableFormat.Parse(name);
        PagingFixture m = new(f);
        ulong small = f.Geometry.SmallestPage;
        m.Map(0x40_0000, 0x80_0000, 4 * small, PageAttributes.UserData);
        PageTableResult overlap = m.Table.Map(new VirtualAddress(0x40_0000 + (2 * small)), new PhysicalAddress(0), 4 * small, PageAttributes.UserData);
        Assert.Equal(PageTableStatus.Overlap, overlap.Status);
        Assert.Equal(0x40_0000 + (2 * small), overlap.Address.Value);
        Assert.Equal(PageTableStatus.Misaligned, m.Table.Map(new VirtualAddress(0x50_0800), new PhysicalAddress(0), small, PageAttributes.UserData).Status);
        Assert.Equal(PageTableStatus.Misaligned, m.Table.Map(new VirtualAddress(0x50_0000), new PhysicalAddress(0x800), small, PageAttributes.UserData).Status);
        Assert.Equal(PageTableStatus.NotMapped, m.Table.Protect(new VirtualAddress(0x40_0000), 8 * small, PageAttributes.UserText).Status);
        Assert.Equal(PageTableStatus.OutOfRange, m.Table.Map(new VirtualAddress(0x40_0000), new PhysicalAddress(1UL << f.PhysicalAddressBits), small, PageAttributes.UserData).Status);
    }

    [Fact]
    public void LargestBlocksAreChosenAndCanBeCapped()
    {
        PageTableFormat f = PageTableFormat.Get(MmuFormat.X86_64);
        PagingFixture m = new(f);

        // 1 GiB + 2 MiB + 4 KiB at a 1 GiB-aligned VA and PA: one block of each size.
        ulong size = ByteSize.GiB + (2 * ByteSize.MiB) + 4096;
        m.Map(0xFFFF_8880_0000_0000, 0, size, PageAttributes.KernelData);
        ulong[] sizes = m.Table.Leaves().Select(l => l.PageSize).ToArray();
        Assert.Equal([ByteSize.GiB, 2 * ByteSize.MiB, 4096UL], sizes);

        // Capped at 2 MiB: 512 + 1 blocks of 2 MiB and one 4 KiB page.
        PagingFixture capped = new(f);
        capped.Map(0xFFFF_8880_0000_0000, 0, size, PageAttributes.KernelData, maxPageSize: 2 * ByteSize.MiB);
        Assert.Equal(514, capped.Table.Leaves().Count());

        // PA misaligned to 2 MiB forces 4 KiB pages.
        PagingFixture pages = new(f);
        pages.Map(0x4000_0000, 0x1000, 2 * ByteSize.MiB, PageAttributes.UserData);
        Assert.Equal(512, pages.Table.Leaves().Count());
    }

    [Fact]
    public void RunningOutOfTableFramesLeavesNothingBehind()
    {
        PageTableFormat f = PageTableFormat.Get(MmuFormat.X86_64);
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 3 * 4096));
        PageTable t = PageTable.Create(f, new PhysicalMemory(), allocator);

        // Root + PDPT + PD fit; the PT for a 4 KiB page does not.
        PageTableResult r = t.Map(new VirtualAddress(0x40_0000), new PhysicalAddress(0), 4096, PageAttributes.UserData);
        Assert.Equal(PageTableStatus.NoMemory, r.Status);
        Assert.Equal(1UL, allocator.UsedPages);
        Assert.Equal(1, t.Tables);

        // A 2 MiB block needs no PT, so it fits.
        Assert.True(t.Map(new VirtualAddress(0x40_0000 * 2), new PhysicalAddress(0), 2 * ByteSize.MiB, PageAttributes.UserData).Succeeded);
        Assert.Equal(3UL, allocator.UsedPages);
        Assert.Equal(3 * 4096L, t.TableBytes);
    }
}
