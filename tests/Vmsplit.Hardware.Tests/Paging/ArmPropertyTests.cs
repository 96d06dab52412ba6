using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>
/// ARM-specific properties over editor-built trees: the hand-written walkers agree with the framework's generic
/// walk over <c>SelectRoot</c>/<c>Decode</c> for every privilege and access, and attributes survive map → decode.
/// </summary>
public sealed class ArmPropertyTests
{
    public static TheoryData<string> ArmFormats() => new() { "arm-short", "arm-lpae", "aarch64-39", "aarch64-48" };

    private readonly record struct Mapping(int SizeIndex, int Pages, int VaSlot, int PaSlot, int Perms, bool User, bool Global, MemoryType Type);

    private static Gen<Mapping[]> Mappings(PageTableFormat f) =>
        (from sizeIndex in Gen.Choose(0, f.Geometry.PageSizes.Length - 1)
         from pages in Gen.Choose(1, 3)
         from vaSlot in Gen.Choose(0, int.MaxValue)
         from paSlot in Gen.Choose(0, int.MaxValue)
         from perms in Gen.Choose(0, 7)
         from user in Gen.Elements(false, true)
         from global in Gen.Elements(false, true)
         from type in Gen.Elements(MemoryType.Normal, MemoryType.WriteThrough, MemoryType.NonCacheable, MemoryType.Device, MemoryType.StronglyOrdered)
         select new Mapping(sizeIndex, pages, vaSlot, paSlot, perms, user, global, type)).ArrayOf().Select(a => a.Take(6).ToArray());

    private static ulong VaOf(PageTableFormat f, Mapping m, ulong size)
    {
        int bits = f.Geometry.VirtualAddressBits;
        ulong slots = Math.Max((1UL << bits) / size, 5) - 4;
        ulong va = (ulong)m.VaSlot % slots * size;

        // AArch64: odd slots go to the TTBR1 half (the default registers point both TTBRs at the tree).
        return f.VirtualAddressBits > 32 && (m.VaSlot & 1) != 0 ? va | (~0UL << bits) : va;
    }

    [Theory]
    [MemberData(nameof(ArmFormats))]
    public void HandWrittenWalkAgreesWithGenericWalk(string name)
    {
        PageTableFormat f = PageTableFormat.Parse(name);
        PropertyCheck.ForAll(Mappings(f), maps =>
        {
            PagingFixture m = new(f);
            List<(ulong Va, ulong Size)> mapped = new();
            foreach (Mapping x in maps)
            {
                ulong size = f.Geometry.PageSizes[x.SizeIndex];
                ulong va = VaOf(f, x, size);
                ulong pa = (ulong)x.PaSlot % ((1UL << 32) / size) * size;
                PageAttributes attrs = new((PagePermissions)x.Perms, x.User, x.Global, x.Type);
                if (m.Table.Map(new VirtualAddress(va), new PhysicalAddress(pa), size * (ulong)x.Pages, attrs).Succeeded)
                {
                    mapped.Add((va, size * (ulong)x.Pages));
                }
            }

            foreach ((ulong va, ulong size) in mapped)
            {
                foreach (ulong probe in new[] { va, va + size - 8, va + (size / 2) + 0x18 })
                {
                    foreach (Privilege p in new[] { Privilege.User, Privilege.Kernel })
                    {
                        foreach (AccessType a in new[] { AccessType.Read, AccessType.Write, AccessType.Execute })
                        {
                            if (!Same(f, m, probe, a, p))
                            {
                                return false;
                            }
                        }
                    }
                }

                // Unmapped neighbours fault the same way in both walkers too.
                if (!Same(f, m, va + size, AccessType.Read, Privilege.Kernel))
                {
                    return false;
                }
            }

            return true;
        }, maxTest: 60);
    }

    private static bool Same(PageTableFormat f, PagingFixture m, ulong va, AccessType a, Privilege p)
    {
        WalkResult mine = m.Walk(va, a, p);
        WalkResult generic = f switch
        {
            ArmShortFormat s => s.GenericWalk(m.Memory, m.Registers, new VirtualAddress(va), a, p),
            ArmLpaeFormat l => l.GenericWalk(m.Memory, m.Registers, new VirtualAddress(va), a, p),
            _ => ((AArch64Format)f).GenericWalk(m.Memory, m.Registers, new VirtualAddress(va), a, p),
        };
        if (mine.Fault != generic.Fault || mine.Level != generic.Level || mine.Reads != generic.Reads)
        {
            return false;
        }

        // The hand-written walk also reports the translation on permission and domain faults; the generic one does not.
        return mine.IsFault || (mine.FrameBase == generic.FrameBase && mine.PageBase == generic.PageBase && mine.PageSize == generic.PageSize
            && mine.Rights == generic.Rights && mine.Global == generic.Global && mine.MemoryType == generic.MemoryType && mine.Domain == generic.Domain);
    }

    [Theory]
    [MemberData(nameof(ArmFormats))]
    public void AttributesSurviveMapAndDecode(string name)
    {
        PageTableFormat f = PageTableFormat.Parse(name);
        Gen<(int Perms, bool User, bool Global, MemoryType Type)> gen =
            from perms in Gen.Choose(1, 7)
            from user in Gen.Elements(false, true)
            from global in Gen.Elements(false, true)
            from type in Gen.Elements(MemoryType.Normal, MemoryType.WriteThrough, MemoryType.NonCacheable, MemoryType.Device, MemoryType.StronglyOrdered)
            select (perms, user, global, type);
        PropertyCheck.ForAll(gen, c =>
        {
            PagingFixture m = new(f);
            PageAttributes asked = new((PagePermissions)c.Perms, c.User, c.Global, c.Type);
            m.Map(0x40_0000, 0x80_0000, 0x1000, asked);
            PageAttributes got = m.Table.Lookup(new VirtualAddress(0x40_0000)).Attributes;

            // Nothing is write-only; ARMv7 cannot express execute without read (a fetch needs read permission);
            // AArch64 has execute-only user pages but kernel pages are always EL1-readable.
            PagePermissions expected = asked.Permissions;
            bool readForced = f is not AArch64Format || !c.User || asked.Write;
            if (readForced)
            {
                expected |= PagePermissions.Read;
            }

            return got == asked with { Permissions = expected };
        });
    }

    [Fact]
    public void SupersectionsAboveFourGigabytesThroughTheEditor()
    {
        PagingFixture m = new(ArmShortFormat.Instance);
        ulong start = m.Allocator.UsedPages;

        // 32 MiB at PA 0x3_0000_0000: two supersections (PA[35:32] = 3 in bits 23:20), no second-level table.
        m.Map(0xC000_0000, 0x3_0000_0000, 32 * ByteSize.MiB, PageAttributes.KernelData);
        WalkResult r = m.Walk(0xC100_0010, AccessType.Write);
        Assert.Equal((FaultKind.None, 16UL << 20, 0x3_0100_0010UL), (r.Fault, r.PageSize, r.Translate(new VirtualAddress(0xC100_0010)).Value));
        Assert.Equal(0x0030_0000u, (uint)r.Descriptor & 0x00F0_0000u);
        Assert.Equal(1, m.Table.Tables);

        // A 1 MiB piece above 4 GiB has no encoding; a misaligned VA cannot use supersections either.
        Assert.Equal(PageTableStatus.OutOfRange, m.Table.Map(new VirtualAddress(0x8000_0000), new PhysicalAddress(0x3_1000_0000), ByteSize.MiB, PageAttributes.KernelData).Status);
        Assert.Equal(PageTableStatus.OutOfRange, m.Table.Map(new VirtualAddress(0x8010_0000), new PhysicalAddress(0x3_1000_0000), 16 * ByteSize.MiB, PageAttributes.KernelData).Status);
        Assert.Equal(1, m.Table.Tables);

        // Splitting a supersection above 4 GiB would need sections that cannot hold the PA: the encoder refuses
        // before anything is written, so the supersection is intact.
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Table.Unmap(new VirtualAddress(0xC000_0000), ByteSize.MiB));
        Assert.Equal(0x3_0000_0010UL, m.Walk(0xC000_0010).Translate(new VirtualAddress(0xC000_0010)).Value);
        Assert.True(m.Table.Unmap(new VirtualAddress(0xC000_0000), 32 * ByteSize.MiB).Succeeded);
        Assert.Equal(start, m.Allocator.UsedPages);
    }

    [Fact]
    public void UserTablesCarryDomainAndPxnTableAndKernelExecWidensThem()
    {
        PagingFixture m = new(ArmShortFormat.Instance);
        m.Map(0x0040_0000, 0x0080_0000, 0x1000, PageAttributes.UserText);
        ulong l1 = m.Memory.ReadUInt32(new PhysicalAddress(m.Table.Root.Value + (0x004 * 4)));

        // _PAGE_USER_TABLE: domain 1 (0x20), PXNTABLE (0x4), type 01; the kernel may not execute the user page.
        Assert.Equal(0x25UL, l1 & 0x3FF);
        Assert.Equal(FaultKind.Permission, m.Walk(0x0040_0000, AccessType.Execute, Privilege.Kernel).Fault);
        Assert.Equal(FaultKind.None, m.Walk(0x0040_0000, AccessType.Execute, Privilege.User).Fault);

        // Domain PAN: with the user domain no-access, kernel reads of the user page take a domain fault at level 2.
        MmuRegisters pan = m.Registers with { Dacr = ArmShortDescriptor.LinuxDacr(false) };
        WalkResult blocked = ArmShortFormat.Instance.Walk(m.Memory, pan, new VirtualAddress(0x0040_0000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((FaultKind.Domain, 2), (blocked.Fault, blocked.Level));

        // A kernel text page under the same table clears PXNTABLE (MergeTable widens, never narrows).
        m.Map(0x0041_0000, 0x0090_0000, 0x1000, PageAttributes.KernelText);
        Assert.Equal(0x21UL, m.Memory.ReadUInt32(new PhysicalAddress(m.Table.Root.Value + (0x004 * 4))) & 0x3FF);
        Assert.Equal(FaultKind.None, m.Walk(0x0041_0000, AccessType.Execute, Privilege.Kernel).Fault);
    }
}
