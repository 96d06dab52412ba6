using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Riscv;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>
/// The generic editor driving the RISC-V encoders, checked through the RISC-V walker: exact descriptors for a
/// Linux-like kernel mapping, then FsCheck properties (fixed seeds) for every mode and every leaf size.
/// </summary>
public sealed class RiscvPageTableTests
{
    private const ulong RamBase = 0x8000_0000;

    public static TheoryData<string> FormatNames => new("riscv-sv32", "riscv-sv39", "riscv-sv48", "riscv-sv57");

    private static RiscvPageTableFormat Format(string name) => RiscvPageTableFormat.Formats.Single(f => f.Name == name);

    private static (PhysicalMemory Memory, FrameAllocator Allocator, PageTable Table) NewTree(RiscvPageTableFormat format)
    {
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(RamBase), 64 * ByteSize.MiB));
        return (memory, allocator, PageTable.Create(format, memory, allocator));
    }

    private static readonly PagePermissions[] s_permissionSets =
    [
        PagePermissions.Read,
        PagePermissions.Read | PagePermissions.Write,
        PagePermissions.Execute,
        PagePermissions.Read | PagePermissions.Execute,
        PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute,
    ];

    private static Gen<ulong> Gen64 =>
        from hi in Gen.Choose(0, int.MaxValue)
        from lo in Gen.Choose(0, int.MaxValue)
        select ((ulong)hi << 31) ^ (ulong)lo ^ ((ulong)hi << 62);

    /// <summary>A page-aligned VA for a leaf of <paramref name="size"/>: either canonical half on Sv39+, anywhere in 4 GiB on Sv32.</summary>
    private static ulong PlaceVa(RiscvPageTableFormat format, ulong raw, bool upper, ulong size)
    {
        if (format.IsRv32)
        {
            return raw % ((1UL << 32) / size) * size;
        }

        ulong half = 1UL << (format.VirtualAddressBits - 1);
        ulong va = raw % (half / size) * size;
        return upper ? va | ~(half - 1) : va;
    }

    private static ulong PlacePa(RiscvPageTableFormat format, ulong raw, ulong size) =>
        raw % ((1UL << format.PhysicalAddressBits) / size) * size;

    private static AccessType AllowedAccess(PagePermissions p, int pick)
    {
        AccessType[] allowed = new[] { AccessType.Read, AccessType.Write, AccessType.Execute }
            .Where(a => (p & (a switch { AccessType.Read => PagePermissions.Read, AccessType.Write => PagePermissions.Write, _ => PagePermissions.Execute })) != 0)
            .ToArray();
        return allowed[pick % allowed.Length];
    }

    [Fact]
    public void LinuxKernelMappingOnSv39HasTheExactDescriptors()
    {
        (PhysicalMemory memory, _, PageTable table) = NewTree(RiscvPageTableFormat.Sv39);

        // 4 MiB of kernel data at 0xFFFFFFFF80200000 → 0x80200000: two 2 MiB leaves (PAGE_KERNEL), each
        // (PPN << 10) | 0xE7: 0x80200 << 10 = 0x20080000 → 0x200800E7 and 0x80400 << 10 = 0x20100000 → 0x201000E7.
        Assert.True(table.Map(new VirtualAddress(0xFFFF_FFFF_8020_0000), new PhysicalAddress(0x8020_0000), 4 * ByteSize.MiB, PageAttributes.KernelData).Succeeded);

        PageTableLookup first = table.Lookup(new VirtualAddress(0xFFFF_FFFF_8020_0000));
        PageTableLookup second = table.Lookup(new VirtualAddress(0xFFFF_FFFF_8040_0000));
        Assert.Equal((1, 2 * ByteSize.MiB, 0x2008_00E7UL), (first.Level, first.PageSize, first.Descriptor));
        Assert.Equal(0x2010_00E7UL, second.Descriptor);

        // The root entry (VPN[2] = 0x1FE, see the walk tests) points at the level-1 table with V alone.
        ulong rootEntry = memory.ReadUInt64(table.Root + (0x1FEUL * 8));
        Assert.Equal(RiscvPte.V, rootEntry & 0x3FF);
        Assert.Equal(first.EntryAddress.Value & ~0xFFFUL, RiscvPageTableFormat.Sv39.OutputAddress(rootEntry).Value);

        // The hardware agrees and sees the mapping as global kernel RW.
        WalkResult r = RiscvPageTableFormat.Sv39.Walk(memory, table.Registers, new VirtualAddress(0xFFFF_FFFF_8055_5555), AccessType.Write, Privilege.Kernel);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(new PhysicalAddress(0x8055_5555), r.Translate(new VirtualAddress(0xFFFF_FFFF_8055_5555)));
        Assert.True(r.Global);
    }

    [Fact]
    public void NapotRunIsSixteenIdenticalEntries()
    {
        (PhysicalMemory memory, _, PageTable table) = NewTree(RiscvPageTableFormat.Sv48);

        // 64 KiB user RW at VA 0x10000 → PA 0x90000000 (PPN 0x90000): N | (0x90008 << 10 = 0x24002000) | 0xD7.
        Assert.True(table.Map(new VirtualAddress(0x1_0000), new PhysicalAddress(0x9000_0000), 64 * ByteSize.KiB, PageAttributes.UserData).Succeeded);
        PageTableLookup l = table.Lookup(new VirtualAddress(0x1_F000));
        Assert.Equal((0, 64 * ByteSize.KiB, 0x8000_0000_2400_20D7UL), (l.Level, l.PageSize, l.Descriptor));
        ulong pteTable = l.EntryAddress.Value & ~0xFFFUL;
        for (int k = 0x10; k < 0x20; k++)
        {
            Assert.Equal(0x8000_0000_2400_20D7UL, memory.ReadUInt64(new PhysicalAddress(pteTable + ((ulong)k * 8))));
        }

        Assert.Equal(0UL, memory.ReadUInt64(new PhysicalAddress(pteTable + (0x20 * 8))));

        // Limiting the leaf size to 4 KiB gives plain PTEs: 0x90000 << 10 | 0xD7 = 0x240000D7.
        Assert.True(table.Map(new VirtualAddress(0x10_0000), new PhysicalAddress(0x9000_0000), 64 * ByteSize.KiB, PageAttributes.UserData, maxPageSize: 4096).Succeeded);
        Assert.Equal(0x2400_00D7UL, table.Lookup(new VirtualAddress(0x10_0000)).Descriptor);
    }

    [Theory]
    [MemberData(nameof(FormatNames))]
    public void MapThenWalkRoundTripsAtEveryLeafSize(string name)
    {
        RiscvPageTableFormat format = Format(name);
        ulong[] sizes = format.Geometry.PageSizes.ToArray();
        Gen<(int Size, ulong Va, ulong Pa, bool Upper, int Perm, bool User, bool Global, ulong Offset, int Pick)> gen =
            from size in Gen.Choose(0, sizes.Length - 1)
            from va in Gen64
            from pa in Gen64
            from upper in Gen.Elements(false, true)
            from perm in Gen.Choose(0, s_permissionSets.Length - 1)
            from user in Gen.Elements(false, true)
            from global in Gen.Elements(false, true)
            from offset in Gen64
            from pick in Gen.Choose(0, 2)
            select (size, va, pa, upper, perm, user, global, offset, pick);

        Prop.ForAll(Arb.From(gen), c =>
        {
            ulong size = sizes[c.Size];
            ulong va = PlaceVa(format, c.Va, c.Upper, size);
            ulong pa = PlacePa(format, c.Pa, size);
            PageAttributes attributes = new(s_permissionSets[c.Perm], c.User, c.Global);
            (PhysicalMemory memory, _, PageTable table) = NewTree(format);
            PageTableResult mapped = table.Map(new VirtualAddress(va), new PhysicalAddress(pa), size, attributes, maxPageSize: size);
            if (!mapped.Succeeded)
            {
                throw new InvalidOperationException($"map {va:x}→{pa:x} size {size:x}: {mapped.Message}");
            }

            ulong offset = c.Offset % size;
            Privilege privilege = c.User ? Privilege.User : Privilege.Kernel;
            AccessType access = AllowedAccess(attributes.Permissions, c.Pick);
            WalkResult r = format.Walk(memory, table.Registers, new VirtualAddress(va + offset), access, privilege);
            bool ok = r.Fault == FaultKind.None
                && r.PageSize == size
                && r.PageBase.Value == va
                && r.Translate(new VirtualAddress(va + offset)).Value == pa + offset
                && r.User == c.User
                && r.Global == c.Global
                && r.Reads == format.Geometry.IndexOfLevel(r.Level) + 1
                && format.LevelSize(r.Level) == (size == RiscvPageTableFormat.NapotSize ? 4096 : size);

            // The other privilege never gets in: U-mode on S pages; S-mode on U pages without SUM.
            Privilege other = c.User ? Privilege.Kernel : Privilege.User;
            ok &= format.Walk(memory, table.Registers, new VirtualAddress(va + offset), AccessType.Read, other).Fault == FaultKind.Permission;
            return ok;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150).WithReplay(0x5256_3339UL, 0x2545_F491UL));
    }

    [Theory]
    [MemberData(nameof(FormatNames))]
    public void UnmapFaultsAndFreesEveryTable(string name)
    {
        RiscvPageTableFormat format = Format(name);
        ulong[] sizes = format.Geometry.PageSizes.ToArray();
        Gen<(int Size, ulong Va, bool Upper)> one =
            from size in Gen.Choose(0, sizes.Length - 1)
            from va in Gen64
            from upper in Gen.Elements(false, true)
            select (size, va, upper);

        Prop.ForAll(Arb.From(Gen.ListOf(one)), list =>
        {
            (PhysicalMemory memory, FrameAllocator allocator, PageTable table) = NewTree(format);
            ulong baseline = allocator.UsedPages;
            List<(ulong Va, ulong Size)> mapped = new();
            foreach ((int s, ulong raw, bool upper) in list)
            {
                ulong size = sizes[s];
                ulong va = PlaceVa(format, raw, upper, size);
                if (table.Map(new VirtualAddress(va), new PhysicalAddress(PlacePa(format, raw >> 7, size)), size, PageAttributes.KernelData, maxPageSize: size).Succeeded)
                {
                    mapped.Add((va, size));
                }
            }

            foreach ((ulong va, ulong size) in mapped)
            {
                if (format.Walk(memory, table.Registers, new VirtualAddress(va), AccessType.Read, Privilege.Kernel).Fault != FaultKind.None
                    || !table.Unmap(new VirtualAddress(va), size).Succeeded
                    || format.Walk(memory, table.Registers, new VirtualAddress(va + (size / 2)), AccessType.Read, Privilege.Kernel).Fault != FaultKind.Translation)
                {
                    return false;
                }
            }

            // Every intermediate table went back to the allocator: only the root is left.
            return allocator.UsedPages == baseline && table.Tables == 1;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100).WithReplay(0x756E_6D61UL, 0x7066_7265UL));
    }

    [Theory]
    [MemberData(nameof(FormatNames))]
    public void ProtectTakesEffectAndSplitKeepsTheRest(string name)
    {
        RiscvPageTableFormat format = Format(name);

        // The largest leaf below the root level: 4 MiB on Sv32, 2 MiB/1 GiB/512 GiB on Sv39/48/57 keeps the split
        // depth interesting without huge loops; the changed 4 KiB page is random inside it.
        ulong block = format.LevelSize(format.Levels == 2 ? 1 : format.Levels - 2);
        Gen<(ulong Va, ulong Pa, ulong Page, ulong Other, bool Unmap)> gen =
            from va in Gen64
            from pa in Gen64
            from page in Gen64
            from other in Gen64
            from unmap in Gen.Elements(false, true)
            select (va, pa, page, other, unmap);

        Prop.ForAll(Arb.From(gen), c =>
        {
            (PhysicalMemory memory, FrameAllocator allocator, PageTable table) = NewTree(format);
            ulong baseline = allocator.UsedPages;
            ulong va = PlaceVa(format, c.Va, upper: false, block);
            ulong pa = PlacePa(format, c.Pa, block);
            if (!table.Map(new VirtualAddress(va), new PhysicalAddress(pa), block, PageAttributes.KernelData).Succeeded)
            {
                return false;
            }

            MmuRegisters regs = table.Registers;
            ulong pages = block / 4096;
            ulong page = va + (c.Page % pages * 4096);
            ulong other = va + (c.Other % pages * 4096);
            if (other == page)
            {
                other = page == va ? va + 4096 : va;
            }

            // Protect the whole block to read-only: writes fault, reads still translate.
            if (!table.Protect(new VirtualAddress(va), block, PageAttributes.KernelData with { Permissions = PagePermissions.Read }).Succeeded
                || format.Walk(memory, regs, new VirtualAddress(other), AccessType.Write, Privilege.Kernel).Fault != FaultKind.Permission
                || format.Walk(memory, regs, new VirtualAddress(other), AccessType.Read, Privilege.Kernel).PageSize != block)
            {
                return false;
            }

            // Change one 4 KiB page inside: the block splits; that page changes, the rest keeps read-only and its PA.
            PageTableResult change = c.Unmap
                ? table.Unmap(new VirtualAddress(page), 4096)
                : table.Protect(new VirtualAddress(page), 4096, PageAttributes.KernelData);
            if (!change.Succeeded)
            {
                return false;
            }

            WalkResult changed = format.Walk(memory, regs, new VirtualAddress(page), AccessType.Write, Privilege.Kernel);
            WalkResult rest = format.Walk(memory, regs, new VirtualAddress(other + 0x10), AccessType.Read, Privilege.Kernel);
            bool ok = c.Unmap
                ? changed.Fault == FaultKind.Translation
                : changed.Fault == FaultKind.None && changed.PageSize == 4096 && changed.Translate(new VirtualAddress(page)).Value == pa + (page - va);
            ok &= rest.Fault == FaultKind.None
                && rest.Translate(new VirtualAddress(other + 0x10)).Value == pa + (other - va) + 0x10
                && format.Walk(memory, regs, new VirtualAddress(other), AccessType.Write, Privilege.Kernel).Fault == FaultKind.Permission;

            // Unmapping everything frees every table the split created.
            ok &= table.Unmap(new VirtualAddress(va), block).Succeeded && allocator.UsedPages == baseline;
            return ok;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40).WithReplay(0x7072_6F74UL, 0x6563_7421UL));
    }

    [Fact]
    public void MapRejectsAddressesTheModeCannotHold()
    {
        (_, _, PageTable sv39) = NewTree(RiscvPageTableFormat.Sv39);

        // Across the canonical hole, and non-canonical.
        Assert.Equal(PageTableStatus.OutOfRange, sv39.Map(new VirtualAddress(0x3F_FFFF_F000), new PhysicalAddress(0x8000_0000), 8192, PageAttributes.KernelData).Status);
        Assert.Equal(PageTableStatus.OutOfRange, sv39.Map(new VirtualAddress(0x40_0000_0000), new PhysicalAddress(0x8000_0000), 4096, PageAttributes.KernelData).Status);

        // PA beyond 56 bits on Sv39, beyond 34 bits on Sv32.
        Assert.Equal(PageTableStatus.OutOfRange, sv39.Map(new VirtualAddress(0x1000), new PhysicalAddress(1UL << 56), 4096, PageAttributes.KernelData).Status);
        (_, _, PageTable sv32) = NewTree(RiscvPageTableFormat.Sv32);
        Assert.Equal(PageTableStatus.OutOfRange, sv32.Map(new VirtualAddress(0x1000), new PhysicalAddress(1UL << 34), 4096, PageAttributes.KernelData).Status);
        Assert.True(sv32.Map(new VirtualAddress(0x1000), new PhysicalAddress((1UL << 34) - 4096), 4096, PageAttributes.KernelData).Succeeded);
    }
}
