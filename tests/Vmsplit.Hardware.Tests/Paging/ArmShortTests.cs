using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;

namespace Vmsplit.Hardware.Tests.Paging;

public class ArmShortDescriptorTests
{
    private static readonly PageAttributes s_kernelRwx = new(PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute, User: false, Global: true);

    [Fact]
    public void LinuxKernelSectionRwxMatchesHandEncoding()
    {
        // Linux MT_MEMORY_RWX on an SMP ARMv7 (arch/arm/mm/mmu.c): PMD_TYPE_SECT | PMD_SECT_AP_WRITE | PMD_SECT_WBWA | PMD_SECT_S, domain 0.
        // 0x80000000 (PA[31:20]) | S 1<<16 = 0x10000 | TEX=001 1<<12 = 0x1000 | AP[1:0]=01 1<<10 = 0x400 | C 0x8 | B 0x4 | 0b10 = 0x8001140E.
        uint d = ArmShortDescriptor.Section(new PhysicalAddress(0x8000_0000), ArmShortAttributes.FromNeutral(s_kernelRwx), ArmShortDescriptor.LinuxDomainKernel);
        Assert.Equal(0x8001_140Eu, d);
    }

    [Fact]
    public void LinuxKernelSectionRwAddsXn()
    {
        // MT_MEMORY_RW adds PMD_SECT_XN (bit 4 = 0x10): 0x8001140E | 0x10 = 0x8001141E.
        uint d = ArmShortDescriptor.Section(new PhysicalAddress(0x8000_0000), ArmShortAttributes.FromNeutral(PageAttributes.KernelData), 0);
        Assert.Equal(0x8001_141Eu, d);
    }

    [Fact]
    public void LinuxUserDataSmallPageMatchesSetPteExt()
    {
        // cpu_v7_set_pte_ext for a young, dirty, shared, write-alloc user RW page with PTE_EXT_NG:
        // PA 0x12345000 | nG 0x800 | S 0x400 | TEX(1) at bit 6 = 0x40 | AP1|AP0 = 0x30 | C|B = 0xC | small 0x2 | XN 0x1 = 0x12345C7F.
        uint d = ArmShortDescriptor.SmallPage(new PhysicalAddress(0x1234_5000), ArmShortAttributes.FromNeutral(PageAttributes.UserData));
        Assert.Equal(0x1234_5C7Fu, d);
    }

    [Fact]
    public void LinuxUserTextSmallPageIsReadOnlyAndExecutable()
    {
        // Read-only adds APX (bit 9 = 0x200), executable drops XN: 0x12345000 | 0x800 | 0x400 | 0x200 | 0x40 | 0x30 | 0xC | 0x2 = 0x12345E7E.
        uint d = ArmShortDescriptor.SmallPage(new PhysicalAddress(0x1234_5000), ArmShortAttributes.FromNeutral(PageAttributes.UserText));
        Assert.Equal(0x1234_5E7Eu, d);
    }

    [Fact]
    public void SupersectionCarriesPhysicalBits39To32()
    {
        // PA 0xA5_F100_0000: PA[31:24]=0xF1 → 0xF1000000, PA[35:32]=0x5 → bits 23:20 = 0x500000, PA[39:36]=0xA → bits 8:5 = 0x140,
        // bit 18 = 0x40000, S 0x10000, TEX=001 0x1000, AP=01 0x400, XN 0x10, C|B 0xC, 0b10 → 0xF155155E.
        uint d = ArmShortDescriptor.Supersection(new PhysicalAddress(0xA5_F100_0000), ArmShortAttributes.FromNeutral(PageAttributes.KernelData));
        Assert.Equal(0xF155_155Eu, d);
        Assert.Equal(ArmShortKind.Supersection, ArmShortDescriptor.KindL1(d));
        Assert.Equal(0xA5_F100_0000UL, ArmShortDescriptor.SectionBase(d));
    }

    [Fact]
    public void UserPageTableDescriptorHasDomainAndPxnTable()
    {
        // Linux _PAGE_USER_TABLE with PXN support: base 0x87654C00 | domain 1 << 5 = 0x20 | PMD_PXNTABLE 0x4 | 0b01 = 0x87654C25.
        uint d = ArmShortDescriptor.PageTable(new PhysicalAddress(0x8765_4C00), ArmShortDescriptor.LinuxDomainUser, pxnTable: true);
        Assert.Equal(0x8765_4C25u, d);
        Assert.Equal(ArmShortKind.PageTable, ArmShortDescriptor.KindL1(d));
        Assert.Equal(1, ArmShortDescriptor.Domain(d));
    }

    [Fact]
    public void LargePageHasXnInBit15AndTexInBits14To12()
    {
        // User r-x large page, PA 0x43210000: TEX=001 at bit 12 = 0x1000, nG 0x800, S 0x400, APX 0x200, AP=11 0x30, C|B 0xC, 0b01 → 0x43211E3D.
        uint d = ArmShortDescriptor.LargePage(new PhysicalAddress(0x4321_0000), ArmShortAttributes.FromNeutral(PageAttributes.UserText));
        Assert.Equal(0x4321_1E3Du, d);
        uint dataPage = ArmShortDescriptor.LargePage(new PhysicalAddress(0x4321_0000), ArmShortAttributes.FromNeutral(PageAttributes.UserData));
        Assert.Equal(0x4321_9C3Du, dataPage); // rw user: XN 0x8000 instead of APX: 0x43210000 | 0x8000 | 0x1000 | 0xC00 | 0x30 | 0xC | 0x1 = 0x43219C3D
    }

    [Theory]
    [InlineData(MemoryType.Normal, 0b001, true, true)]
    [InlineData(MemoryType.WriteThrough, 0b000, true, false)]
    [InlineData(MemoryType.NonCacheable, 0b001, false, false)]
    [InlineData(MemoryType.Device, 0b000, false, true)]
    [InlineData(MemoryType.StronglyOrdered, 0b000, false, false)]
    public void MemoryTypesUseTexCbTable(MemoryType type, int tex, bool c, bool b)
    {
        // ARM DDI 0406C table B3-10 (TRE=0).
        Assert.Equal(((byte)tex, c, b), ArmShortDescriptor.EncodeMemoryType(type));
        Assert.Equal(type, ArmShortDescriptor.DecodeMemoryType((byte)tex, c, b));
    }

    [Fact]
    public void TexOuterInnerEncodingsDecodeByInnerPolicy()
    {
        Assert.Equal(MemoryType.Normal, ArmShortDescriptor.DecodeMemoryType(0b101, false, true)); // inner WBWA
        Assert.Equal(MemoryType.WriteThrough, ArmShortDescriptor.DecodeMemoryType(0b111, true, false));
        Assert.Equal(MemoryType.NonCacheable, ArmShortDescriptor.DecodeMemoryType(0b110, false, false));
        Assert.Equal(MemoryType.Device, ArmShortDescriptor.DecodeMemoryType(0b010, false, false)); // non-shareable device
    }

    [Theory]
    [InlineData(0b000, "")]
    [InlineData(0b001, "KR KW")]
    [InlineData(0b010, "KR KW UR")]
    [InlineData(0b011, "KR KW UR UW")]
    [InlineData(0b100, "")]
    [InlineData(0b101, "KR")]
    [InlineData(0b110, "KR UR")]
    [InlineData(0b111, "KR UR")]
    public void ApTableWithAfeClear(int ap, string expected)
    {
        // ARM DDI 0406C table B3-8.
        Assert.Equal(expected, ArmTestRights.Short(ArmShortDescriptor.RightsFromAp(ap)));
    }

    [Fact]
    public void LinuxDacrValues()
    {
        // domain.h: kernel(0)=client 01, user(1)=no access 00, io(2)=client 01 << 4, vectors(3)=client 01 << 6 → 0b01_01_00_01 = 0x51; uaccess enable sets user client → 0x55.
        Assert.Equal(0x51u, ArmShortDescriptor.LinuxDacr(userAccessEnabled: false));
        Assert.Equal(0x55u, ArmShortDescriptor.LinuxDacr(userAccessEnabled: true));
        Assert.Equal(DomainAccess.Manager, ArmShortDescriptor.DomainAccessOf(ArmShortDescriptor.WithDomain(0x55, 15, DomainAccess.Manager), 15));
        Assert.Equal(0xC000_0055u, ArmShortDescriptor.WithDomain(0x55, 15, DomainAccess.Manager));
    }

    [Fact]
    public void DecodeRoundTripsFieldsOfEveryKind()
    {
        ArmShortAttributes a = new(Ap: 0b110, Tex: 0b101, C: false, B: true, S: true, NotGlobal: true, Xn: true, Pxn: true);
        uint section = ArmShortDescriptor.Section(new PhysicalAddress(0x0010_0000), a, 7);
        Assert.Equal(a, ArmShortDescriptor.SectionAttributes(section));
        Assert.Equal(7, ArmShortDescriptor.Domain(section));
        uint small = ArmShortDescriptor.SmallPage(new PhysicalAddress(0x1000), a with { Pxn = false });
        Assert.Equal(a with { Pxn = false }, ArmShortDescriptor.PageAttributesOf(small, false));
        uint large = ArmShortDescriptor.LargePage(new PhysicalAddress(0x1_0000), a);
        Assert.Equal(a, ArmShortDescriptor.PageAttributesOf(large, pxnTable: true));
    }

    [Fact]
    public void EncodersRejectMisalignedOrOutOfRangeAddresses()
    {
        ArmShortAttributes a = ArmShortAttributes.FromNeutral(PageAttributes.KernelData);
        Assert.Throws<ArgumentOutOfRangeException>(() => ArmShortDescriptor.Section(new PhysicalAddress(0x8008_0000), a, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ArmShortDescriptor.Section(new PhysicalAddress(0x1_0000_0000), a, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ArmShortDescriptor.Supersection(new PhysicalAddress(0x100_0000_0000), a));
        Assert.Throws<ArgumentOutOfRangeException>(() => ArmShortDescriptor.PageTable(new PhysicalAddress(0x200), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ArmShortDescriptor.PageTable(new PhysicalAddress(0x400), 16));
    }

    [Fact]
    public void DescribeNamesFieldsAsTheArmArm()
    {
        Assert.Equal(
            "PA=0x80000000 NS=0 nG=0 S=1 AP[2]=0 TEX[2:0]=1 AP[1:0]=1 Domain=0 XN=0 C=1 B=1 PXN=0",
            DescriptorField.Join(ArmShortFormat.Instance.Describe(1, 0x8001_140E)));
        Assert.Equal(
            "PA=0x12345000 nG=1 S=1 AP[2]=0 TEX[2:0]=1 AP[1:0]=3 C=1 B=1 XN=1",
            DescriptorField.Join(ArmShortFormat.Instance.Describe(2, 0x1234_5C7F)));
        Assert.Equal("base=0x8000 Domain=1 NS=0 PXN=1", DescriptorField.Join(ArmShortFormat.Instance.Describe(1, 0x8025)));
    }

    [Fact]
    public void ReplaceRewritesOneSmallPageDescriptorInPlace()
    {
        PagingFixture m = new(PageTableFormat.Get(MmuFormat.ArmShort));
        m.Map(0x1000, 0x1234_5000, 0x1000, PageAttributes.UserData);
        long tables = m.Table.TableBytesUsed;
        PageTableLookup before = m.Table.Lookup(new VirtualAddress(0x1000));

        Assert.True(m.Table.Replace(new VirtualAddress(0x1000), new PhysicalAddress(0x2345_6000), PageAttributes.UserData).Succeeded);

        // the same slot now holds the new frame with the same attribute bits (0x2345_6000 | 0xC7F, see LinuxUserDataSmallPageMatchesSetPteExt)
        PageTableLookup after = m.Table.Lookup(new VirtualAddress(0x1000));
        Assert.Equal(before.EntryAddress, after.EntryAddress);
        Assert.Equal(0x2345_6C7Fu, m.Memory.ReadUInt32(after.EntryAddress));
        Assert.Equal(tables, m.Table.TableBytesUsed);
        Assert.Equal(0x2345_6000UL, m.Walk(0x1123, privilege: Privilege.User).FrameBase.Value);
    }

    [Fact]
    public void MapCountsTheTablesItLinksAndTableOfFindsThem()
    {
        PagingFixture m = new(PageTableFormat.Get(MmuFormat.ArmShort));
        Assert.Equal(0, m.Table.TablesAllocatedAt(1));
        m.Map(0x1000, 0x1234_5000, 0x1000, PageAttributes.UserData);
        m.Map(0x2000, 0x1234_6000, 0x1000, PageAttributes.UserData); // the same 1 MiB: the same coarse table
        Assert.Equal(1, m.Table.TablesAllocatedAt(1));
        m.Map(0x10_1000, 0x1234_7000, 0x1000, PageAttributes.UserData); // the next MiB: a second one
        Assert.Equal(2, m.Table.TablesAllocatedAt(1));

        // the first-level entry for VA 0x1000 (index 0) holds the coarse table's base in bits [31:10]
        uint l1 = m.Memory.ReadUInt32(m.Table.Root);
        Assert.Equal(l1 & 0xFFFF_FC00u, m.Table.TableOf(new VirtualAddress(0x1000), 1)!.Value.Value);
        Assert.Equal(m.Table.Root, m.Table.TableOf(new VirtualAddress(0x1000), 0));
        Assert.Null(m.Table.TableOf(new VirtualAddress(0x40_0000), 1)); // nothing mapped there: the walk stops at level 0
    }

    [Fact]
    public void ReplaceRefusesWhatNoSmallPageMaps()
    {
        PagingFixture m = new(PageTableFormat.Get(MmuFormat.ArmShort));
        m.Map(0x10_0000, 0x8000_0000, 0x10_0000, PageAttributes.KernelData); // a section, not a small page
        Assert.Equal(PageTableStatus.NotMapped, m.Table.Replace(new VirtualAddress(0x2000), new PhysicalAddress(0x3000), PageAttributes.UserData).Status);
        Assert.Equal(PageTableStatus.NotMapped, m.Table.Replace(new VirtualAddress(0x10_0000), new PhysicalAddress(0x3000), PageAttributes.KernelData).Status);
        Assert.Equal(PageTableStatus.Misaligned, m.Table.Replace(new VirtualAddress(0x10_0010), new PhysicalAddress(0x3000), PageAttributes.KernelData).Status);
    }
}

public class ArmShortWalkTests
{
    // TTBR0 first-level table at 16 KiB-aligned 0x4000; second-level tables at 1 KiB-aligned addresses.
    private const ulong L1 = 0x4000;
    private const ulong L2User = 0x8000;

    private static readonly MmuRegisters s_regs = ArmShortFormat.Registers(new PhysicalAddress(L1), new PhysicalAddress(L1), n: 0, dacr: ArmShortDescriptor.LinuxDacr(true), asid: 5);

    private static PhysicalMemory BuildLinuxLike()
    {
        PhysicalMemory m = new();

        // Kernel lowmem section: VA 0xC0000000 → PA 0x80000000, index 0xC00 at 0x4000 + 0xC00*4 = 0x7000.
        m.WriteUInt32(new PhysicalAddress(L1 + (0xC00 * 4)), 0x8001_140E);

        // User page table for VA 0x00000000-0x000FFFFF: domain 1, PXNTABLE: 0x8000 | 0x20 | 0x4 | 0x1 = 0x8025.
        m.WriteUInt32(new PhysicalAddress(L1), 0x0000_8025);

        // User data page: VA 0x00010000 → index (0x10000 >> 12) & 0xFF = 0x10, entry at 0x8000 + 0x40.
        m.WriteUInt32(new PhysicalAddress(L2User + (0x10 * 4)), 0x1234_5C7F);

        // User text page: VA 0x00011000 → index 0x11.
        m.WriteUInt32(new PhysicalAddress(L2User + (0x11 * 4)), 0x1234_6E7E);
        return m;
    }

    [Fact]
    public void KernelSectionWalkIsOneRead()
    {
        PhysicalMemory m = BuildLinuxLike();
        WalkTrace trace = new();
        WalkResult r = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0xC001_2345), AccessType.Read, Privilege.Kernel, trace);
        Assert.False(r.IsFault);
        Assert.Equal(0x8001_2345UL, r.Translate(new VirtualAddress(0xC001_2345)).Value);
        Assert.Equal(1UL << 20, r.PageSize);
        Assert.Equal(0xC000_0000UL, r.PageBase.Value);
        Assert.Equal(1, r.Level);
        Assert.Equal(1, r.Reads);
        Assert.True(r.Global);
        Assert.False(r.User);
        Assert.Equal(MemoryType.Normal, r.MemoryType);
        Assert.Equal("TTBR0", trace.Root);
        Assert.Equal(new WalkStep(1, new PhysicalAddress(L1), 0xC00, 0x8001_140E, "section"), Assert.Single(trace.Steps));
    }

    [Fact]
    public void UserSmallPageWalkReadsBothLevels()
    {
        PhysicalMemory m = BuildLinuxLike();
        WalkTrace trace = new();
        WalkResult r = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0001_0ABC), AccessType.Write, Privilege.User, trace);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0x1234_5ABCUL, r.Translate(new VirtualAddress(0x0001_0ABC)).Value);
        Assert.Equal(4096UL, r.PageSize);
        Assert.Equal(2, r.Level);
        Assert.Equal(2, r.Reads);
        Assert.Equal(1, r.Domain);
        Assert.False(r.Global);
        Assert.True(r.User);
        Assert.Equal(
            new[]
            {
                new WalkStep(1, new PhysicalAddress(L1), 0, 0x8025, "page table"),
                new WalkStep(2, new PhysicalAddress(L2User), 0x10, 0x1234_5C7F, "small page"),
            },
            trace.Steps);
    }

    [Fact]
    public void MissingEntriesAreTranslationFaultsAtTheirLevel()
    {
        PhysicalMemory m = BuildLinuxLike();
        WalkResult l1 = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x4000_0000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((FaultKind.Translation, 1, 1), (l1.Fault, l1.Level, l1.Reads));
        WalkResult l2 = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0002_0000), AccessType.Read, Privilege.User);
        Assert.Equal((FaultKind.Translation, 2, 2), (l2.Fault, l2.Level, l2.Reads));
    }

    [Fact]
    public void DomainPanBlocksKernelAccessToUserDomainOnly()
    {
        // CONFIG_CPU_SW_DOMAIN_PAN: in the kernel DACR = 0x51 (user domain no access); uaccess switches to 0x55.
        PhysicalMemory m = BuildLinuxLike();
        MmuRegisters kernel = s_regs with { Dacr = ArmShortDescriptor.LinuxDacr(false) };
        WalkResult blocked = ArmShortFormat.Instance.Walk(m, kernel, new VirtualAddress(0x0001_0000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((FaultKind.Domain, 2), (blocked.Fault, blocked.Level)); // page in a no-access domain: domain fault, second level
        Assert.Equal(FaultKind.Domain, ArmShortFormat.Instance.CheckAccess(blocked.Rights, blocked.User, blocked.Domain, AccessType.Read, Privilege.Kernel, kernel));

        WalkResult kernelData = ArmShortFormat.Instance.Walk(m, kernel, new VirtualAddress(0xC000_0000), AccessType.Write, Privilege.Kernel);
        Assert.Equal(FaultKind.None, kernelData.Fault);

        WalkResult uaccess = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0001_0000), AccessType.Write, Privilege.Kernel);
        Assert.Equal(FaultKind.None, uaccess.Fault);
    }

    [Fact]
    public void SectionInNoAccessDomainIsFirstLevelDomainFault()
    {
        PhysicalMemory m = BuildLinuxLike();
        MmuRegisters regs = s_regs with { Dacr = ArmShortDescriptor.WithDomain(0x55, 0, DomainAccess.NoAccess) };
        WalkResult r = ArmShortFormat.Instance.Walk(m, regs, new VirtualAddress(0xC000_0000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((FaultKind.Domain, 1, 1), (r.Fault, r.Level, r.Reads));
        MmuRegisters reserved = s_regs with { Dacr = ArmShortDescriptor.WithDomain(0x55, 0, DomainAccess.Reserved) };
        Assert.Equal(FaultKind.Domain, ArmShortFormat.Instance.Walk(m, reserved, new VirtualAddress(0xC000_0000), AccessType.Read, Privilege.Kernel).Fault);
    }

    [Fact]
    public void ManagerDomainIgnoresApAndXn()
    {
        PhysicalMemory m = BuildLinuxLike();
        MmuRegisters manager = s_regs with { Dacr = ArmShortDescriptor.WithDomain(0x55, 1, DomainAccess.Manager) };

        // The user data page is XN and the text page read-only; a manager domain checks neither.
        Assert.Equal(FaultKind.None, ArmShortFormat.Instance.Walk(m, manager, new VirtualAddress(0x0001_0000), AccessType.Execute, Privilege.User).Fault);
        Assert.Equal(FaultKind.None, ArmShortFormat.Instance.Walk(m, manager, new VirtualAddress(0x0001_1000), AccessType.Write, Privilege.User).Fault);
        Assert.Equal(FaultKind.Permission, ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0001_1000), AccessType.Write, Privilege.User).Fault);
    }

    // Permission matrix for client domains: one section per AP/XN/PXN combination, every privilege × access.
    // Expected strings list what succeeds: K/U = kernel/user, R/W/X.
    [Theory]
    [InlineData(0b001, false, false, "KR KW KX")]
    [InlineData(0b001, true, false, "KR KW")]
    [InlineData(0b011, false, false, "KR KW KX UR UW UX")]
    [InlineData(0b011, false, true, "KR KW UR UW UX")]
    [InlineData(0b011, true, false, "KR KW UR UW")]
    [InlineData(0b010, false, false, "KR KW KX UR UX")]
    [InlineData(0b101, false, false, "KR KX")]
    [InlineData(0b111, false, false, "KR KX UR UX")]
    [InlineData(0b111, false, true, "KR UR UX")]
    [InlineData(0b000, false, false, "")]
    [InlineData(0b100, false, false, "")]
    public void ClientDomainPermissionMatrix(int ap, bool xn, bool pxn, string expected)
    {
        PhysicalMemory m = new();
        ArmShortAttributes a = new((byte)ap, 0b001, true, true, true, NotGlobal: false, xn, pxn);
        m.WriteUInt32(new PhysicalAddress(L1 + (0x300 * 4)), ArmShortDescriptor.Section(new PhysicalAddress(0x0030_0000), a, 1));
        string got = ArmTestRights.Matrix((access, privilege) =>
            ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x3000_0000), access, privilege).Fault);
        Assert.Equal(expected, got);
    }

    [Fact]
    public void PxnTableStopsKernelExecutionOfUserPages()
    {
        PhysicalMemory m = BuildLinuxLike();
        WalkResult user = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0001_1000), AccessType.Execute, Privilege.User);
        Assert.Equal(FaultKind.None, user.Fault);
        WalkResult kernel = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0001_1000), AccessType.Execute, Privilege.Kernel);
        Assert.Equal(FaultKind.Permission, kernel.Fault);

        m.WriteUInt32(new PhysicalAddress(L1), 0x0000_8021); // the same table without PXNTABLE
        Assert.Equal(FaultKind.None, ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0001_1000), AccessType.Execute, Privilege.Kernel).Fault);
    }

    [Fact]
    public void TtbcrNSplitsAtTheTopNBits()
    {
        // N=2: VAs with bits 31:30 zero use TTBR0 (a 4 KiB table), the rest TTBR1 (16 KiB).
        PhysicalMemory m = new();
        const ulong ttbr0 = 0x1_000; // 16 KiB >> 2 = 4 KiB alignment suffices
        const ulong ttbr1 = 0x10_000;
        uint kernel = ArmShortDescriptor.Section(new PhysicalAddress(0x9000_0000), ArmShortAttributes.FromNeutral(PageAttributes.KernelData), 0);
        uint user = ArmShortDescriptor.Section(new PhysicalAddress(0x8000_0000), ArmShortAttributes.FromNeutral(PageAttributes.UserData), 1);
        m.WriteUInt32(new PhysicalAddress(ttbr0 + (0x3FF * 4)), user);
        m.WriteUInt32(new PhysicalAddress(ttbr1 + (0x400 * 4)), kernel);
        MmuRegisters regs = ArmShortFormat.Registers(new PhysicalAddress(ttbr0), new PhysicalAddress(ttbr1), 2, 0x55);

        WalkTrace trace = new();
        WalkResult low = ArmShortFormat.Instance.Walk(m, regs, new VirtualAddress(0x3FFF_FFFF), AccessType.Read, Privilege.User, trace);
        Assert.Equal(("TTBR0", 0x800F_FFFFUL), (trace.Root, low.Translate(new VirtualAddress(0x3FFF_FFFF)).Value));
        Assert.Equal(ttbr0, trace.Steps[0].TableAddress.Value);
        trace.Clear();
        WalkResult high = ArmShortFormat.Instance.Walk(m, regs, new VirtualAddress(0x4000_0000), AccessType.Read, Privilege.Kernel, trace);
        Assert.Equal(("TTBR1", 0x9000_0000UL), (trace.Root, high.FrameBase.Value));
        Assert.Equal(0x400, trace.Steps[0].Index);

        Assert.False(ArmShortFormat.UsesTtbr1(ArmShortFormat.Ttbcr(0), 0xFFFF_FFFF));
        Assert.True(ArmShortFormat.UsesTtbr1(ArmShortFormat.Ttbcr(7), 0x0200_0000));
        Assert.False(ArmShortFormat.UsesTtbr1(ArmShortFormat.Ttbcr(7), 0x01FF_FFFF));
    }

    [Fact]
    public void Pd0DisablesTtbr0Walks()
    {
        PhysicalMemory m = BuildLinuxLike();
        MmuRegisters regs = s_regs with { Ttbcr = ArmShortFormat.Ttbcr(0, pd0: true) };
        WalkResult r = ArmShortFormat.Instance.Walk(m, regs, new VirtualAddress(0xC000_0000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((FaultKind.Translation, 1, 0), (r.Fault, r.Level, r.Reads));
    }

    [Fact]
    public void SupersectionAboveFourGigabytesTranslatesFromAnyRepeat()
    {
        // 16 MiB at VA 0x01000000 → PA 0xA5_F100_0000 repeated in L1 entries 0x010..0x01F.
        PhysicalMemory m = new();
        uint d = ArmShortDescriptor.Supersection(new PhysicalAddress(0xA5_F100_0000), ArmShortAttributes.FromNeutral(PageAttributes.KernelData));
        for (int i = 0; i < ArmShortDescriptor.RepeatCount; i++)
        {
            m.WriteUInt32(new PhysicalAddress(L1 + (ulong)((0x010 + i) * 4)), d);
        }

        WalkTrace trace = new();
        WalkResult r = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x01AB_CDEF), AccessType.Read, Privilege.Kernel, trace);
        Assert.Equal(0xA5_F1AB_CDEFUL, r.Translate(new VirtualAddress(0x01AB_CDEF)).Value);
        Assert.Equal((16UL << 20, 0x0100_0000UL, 0), (r.PageSize, r.PageBase.Value, (int)r.Domain));
        Assert.Equal(0x01A, Assert.Single(trace.Steps).Index);
    }

    [Fact]
    public void LargePageTranslatesLow16Bits()
    {
        PhysicalMemory m = BuildLinuxLike();
        uint large = ArmShortDescriptor.LargePage(new PhysicalAddress(0x4321_0000), ArmShortAttributes.FromNeutral(PageAttributes.UserText));

        // VA 0x00020000..0x0002FFFF: L2 entries 0x20..0x2F.
        for (int i = 0; i < 16; i++)
        {
            m.WriteUInt32(new PhysicalAddress(L2User + (ulong)((0x20 + i) * 4)), large);
        }

        WalkResult r = ArmShortFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0002_7654), AccessType.Execute, Privilege.User);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0x4321_7654UL, r.Translate(new VirtualAddress(0x0002_7654)).Value);
        Assert.Equal(64UL << 10, r.PageSize);
    }

    [Fact]
    public void AsidLivesInContextIdr()
    {
        Assert.Equal(5, ArmShortFormat.CurrentAsid(s_regs));
        Assert.Equal(0x0000_1234u << 8 | 0xAB, ArmShortFormat.ContextIdr(0xAB, 0x1234));
        Assert.Throws<ArgumentOutOfRangeException>(() => ArmShortFormat.ContextIdr(256));
    }
}

/// <summary>Renders which privilege × access combinations succeed, for compact permission matrices.</summary>
internal static class ArmTestRights
{
    public static string Matrix(Func<AccessType, Privilege, FaultKind> fault)
    {
        List<string> ok = new();
        foreach (Privilege p in new[] { Privilege.Kernel, Privilege.User })
        {
            foreach (AccessType a in new[] { AccessType.Read, AccessType.Write, AccessType.Execute })
            {
                if (fault(a, p) == FaultKind.None)
                {
                    ok.Add((p == Privilege.Kernel ? "K" : "U") + (a == AccessType.Read ? "R" : a == AccessType.Write ? "W" : "X"));
                }
            }
        }

        return string.Join(' ', ok);
    }

    public static string Short(AccessRights r) => Matrix((a, p) => r.Allows(p, a) ? FaultKind.None : FaultKind.Permission);
}
