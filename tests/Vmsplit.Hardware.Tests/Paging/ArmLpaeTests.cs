using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;

namespace Vmsplit.Hardware.Tests.Paging;

public class ArmLpaeEncodingTests
{
    [Fact]
    public void LinuxKernelSectionMatchesHandEncoding()
    {
        // pgtable-3level-hwdef.h, MT_MEMORY_RWX on SMP: PMD_TYPE_SECT (1) | PMD_SECT_AP_WRITE (0) | PMD_SECT_AF (1 << 10 = 0x400)
        // | PMD_SECT_S (3 << 8 = 0x300) | PMD_SECT_WBWA (AttrIndx 7 << 2 = 0x1C): 0x80000000 | 0x71D = 0x8000071D.
        PageAttributes rwx = new(PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute, User: false, Global: true);
        ulong d = ArmLongDescriptor.Leaf(new PhysicalAddress(0x8000_0000), 2, ArmLpaeFormat.Attributes(rwx), ArmLpaeFormat.OutputMask);
        Assert.Equal(0x8000_071DUL, d);
    }

    [Fact]
    public void UserDataPageAboveFourGigabytes()
    {
        // L3 page (0b11) | AttrIndx 7 (0x1C) | AP[1] user (0x40) | SH 3 (0x300) | AF (0x400) | nG (0x800) = 0xF5F,
        // PA 0x1_2345_6000 in bits 39:12, PXN (1 << 53) and XN (1 << 54) = 0x0060_0000_0000_0000 → 0x0060_0001_2345_6F5F.
        ulong d = ArmLongDescriptor.Leaf(new PhysicalAddress(0x1_2345_6000), 3, ArmLpaeFormat.Attributes(PageAttributes.UserData), ArmLpaeFormat.OutputMask);
        Assert.Equal(0x0060_0001_2345_6F5FUL, d);
    }

    [Fact]
    public void TableDescriptorCarriesHierarchicalAttributes()
    {
        // next 0x12_3456_7000 | PXNTable (1 << 59) | XNTable (1 << 60) | APTable 0b01 (1 << 61) | 0b11 = 0x3800_0012_3456_7003.
        ulong d = ArmLongDescriptor.Table(new PhysicalAddress(0x12_3456_7000), ArmLpaeFormat.OutputMask, new ArmTableAttributes(PxnTable: true, XnTable: true, ApTable: 1));
        Assert.Equal(0x3800_0012_3456_7003UL, d);
        Assert.Equal(DecodedEntry.AllRights & ~(AccessRights.UserRead | AccessRights.UserWrite | AccessRights.UserExecute | AccessRights.KernelExecute), ArmLpaeFormat.TableMask(d, aarch64: false));
    }

    [Fact]
    public void TtbcrValuesLinuxWrites()
    {
        // EAE (1 << 31) | T1SZ (PAGE_OFFSET >> 30) - 1 at bits 18:16: 3G split → 0x80020000, 2G → 0x80010000, 1G → 0x80000000.
        Assert.Equal(0x8002_0000u, ArmLpaeFormat.LinuxTtbcr(0xC000_0000));
        Assert.Equal(0x8001_0000u, ArmLpaeFormat.LinuxTtbcr(0x8000_0000));
        Assert.Equal(0x8000_0000u, ArmLpaeFormat.LinuxTtbcr(0x4000_0000));

        // TTBR0-PAN outside uaccess: EPD0 (0x80) | T0SZ 7 | A1 (1 << 22) → 0x80400087; inside uaccess back to 0x80000000.
        uint disabled = ArmLpaeFormat.LinuxTtbr0Pan(0x8000_0000, userAccessEnabled: false);
        Assert.Equal(0x8040_0087u, disabled);
        Assert.Equal(0x8000_0000u, ArmLpaeFormat.LinuxTtbr0Pan(disabled, userAccessEnabled: true));
    }

    [Fact]
    public void TtbrHoldsAsidInBits55To48()
    {
        Assert.Equal(0x00AB_0000_8000_4000UL, ArmLpaeFormat.Ttbr(new PhysicalAddress(0x8000_4000), 0xAB));
        MmuRegisters r = ArmLpaeFormat.Registers(new PhysicalAddress(0x1000), new PhysicalAddress(0x2000), ArmLpaeFormat.Ttbcr(0, 2), asid: 0x42);
        Assert.Equal(0x42, ArmLpaeFormat.CurrentAsid(r));
        r.Ttbcr = ArmLpaeFormat.LinuxTtbr0Pan((uint)r.Ttbcr, userAccessEnabled: false);
        Assert.Equal(0, ArmLpaeFormat.CurrentAsid(r)); // A1: the reserved ASID 0 of TTBR1
    }

    [Theory]
    [InlineData(0u, 0u, 0xFFFF_FFFFu, 0)]
    [InlineData(0u, 2u, 0xBFFF_FFFFu, 0)]
    [InlineData(0u, 2u, 0xC000_0000u, 1)]
    [InlineData(0u, 1u, 0x7FFF_FFFFu, 0)]
    [InlineData(0u, 1u, 0x8000_0000u, 1)]
    [InlineData(7u, 0u, 0x01FF_FFFFu, 0)]
    [InlineData(7u, 0u, 0x0200_0000u, 1)]
    [InlineData(1u, 2u, 0x7FFF_FFFFu, 0)]
    [InlineData(1u, 2u, 0x8000_0000u, -1)]
    [InlineData(1u, 2u, 0xBFFF_FFFFu, -1)]
    [InlineData(1u, 2u, 0xC000_0000u, 1)]
    [InlineData(0u, 4u, 0xEFFF_FFFFu, 0)]
    [InlineData(0u, 4u, 0xF000_0000u, 1)]
    public void TtbrSelectionAtTheBoundaries(uint t0sz, uint t1sz, uint va, int expected)
    {
        // ARM DDI 0406C table B3-1: TTBR1 covers the top 2^(32−T1SZ) bytes; with T1SZ = 0 everything above TTBR0's 2^(32−T0SZ).
        Assert.Equal(expected, ArmLpaeFormat.SelectTtbr(ArmLpaeFormat.Ttbcr((int)t0sz, (int)t1sz), va));
    }

    [Fact]
    public void DescribeUsesArmNames()
    {
        Assert.Equal(
            "Valid=1 OA=0x80000000 XN=0 PXN=0 Contiguous=0 nG=0 AF=1 SH=3 AP[2:1]=0 NS=0 AttrIndx=7",
            DescriptorField.Join(ArmLpaeFormat.Instance.Describe(2, 0x8000_071D)));
        Assert.Equal("Valid=1 next=0x1234567000 NSTable=0 APTable=1 XNTable=1 PXNTable=1", DescriptorField.Join(ArmLpaeFormat.Instance.Describe(1, 0x3800_0012_3456_7003)));
    }

    [Theory]
    [InlineData(MemoryType.Normal, 7)]
    [InlineData(MemoryType.WriteThrough, 2)]
    [InlineData(MemoryType.NonCacheable, 1)]
    [InlineData(MemoryType.Device, 4)]
    [InlineData(MemoryType.StronglyOrdered, 0)]
    public void MemoryTypesUseLinuxMairIndices(MemoryType type, int index)
    {
        // proc-v7-3level.S MAIR0 0xeeaa4400, MAIR1 0xff000004: 0 SO (0x00), 1 NC (0x44), 2 WT (0xaa), 4 device (0x04), 7 WBWA (0xff).
        Assert.Equal(index, ArmMair.LpaeIndex(type));
        Assert.Equal(type, ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxLpae, index)));
        Assert.Equal(MemoryType.Normal, ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxLpae, 3))); // 0xee write-back
    }
}

public class ArmLpaeWalkTests
{
    // Linux VMSPLIT_3G, no TTBR0-PAN: TTBR0 = the user pgd (4-entry L1 at 0x10000), TTBR1 = the kernel's L2 table for
    // the top GiB at 0x20000 (T1SZ = 2 starts at level 2). User L2 at 0x11000, user L3 at 0x12000.
    private const ulong UserL1 = 0x1_0000;
    private const ulong UserL2 = 0x1_1000;
    private const ulong UserL3 = 0x1_2000;
    private const ulong KernelL2 = 0x2_0000;

    private static readonly MmuRegisters s_regs = ArmLpaeFormat.Registers(new PhysicalAddress(UserL1), new PhysicalAddress(KernelL2), ArmLpaeFormat.LinuxTtbcr(0xC000_0000), asid: 7);

    private static PhysicalMemory Build()
    {
        PhysicalMemory m = new();
        ulong om = ArmLpaeFormat.OutputMask;

        // Kernel: VA 0xC0000000-0xC03FFFFF as two 2 MiB blocks → PA 0x80000000 (L2 index 0 and 1).
        m.WriteUInt64(new PhysicalAddress(KernelL2), 0x8000_071D);
        m.WriteUInt64(new PhysicalAddress(KernelL2 + 8), 0x8020_071D);

        // User: VA 0x00401000 → L1[0] → L2[2] → L3[1] → PA 0x1_2345_6000.
        m.WriteUInt64(new PhysicalAddress(UserL1), ArmLongDescriptor.Table(new PhysicalAddress(UserL2), om));
        m.WriteUInt64(new PhysicalAddress(UserL2 + (2 * 8)), ArmLongDescriptor.Table(new PhysicalAddress(UserL3), om));
        m.WriteUInt64(new PhysicalAddress(UserL3 + (1 * 8)), 0x0060_0001_2345_6F5F);
        return m;
    }

    [Fact]
    public void KernelBlockThroughTtbr1StartsAtLevel2()
    {
        PhysicalMemory m = Build();
        WalkTrace trace = new();
        WalkResult r = ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0xC020_1234), AccessType.Execute, Privilege.Kernel, trace);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0x8020_1234UL, r.Translate(new VirtualAddress(0xC020_1234)).Value);
        Assert.Equal((2, 1, 2UL << 20), (r.Level, r.Reads, r.PageSize));
        Assert.True(r.Global);
        Assert.Equal(("TTBR1", KernelL2), (trace.Root, trace.RootValue));
        Assert.Equal(new WalkStep(2, new PhysicalAddress(KernelL2), 1, 0x8020_071D, "block"), Assert.Single(trace.Steps));
    }

    [Fact]
    public void UserPageThroughTtbr0TakesThreeReads()
    {
        PhysicalMemory m = Build();
        WalkTrace trace = new();
        WalkResult r = ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_1ABC), AccessType.Write, Privilege.User, trace);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0x1_2345_6ABCUL, r.Translate(new VirtualAddress(0x0040_1ABC)).Value);
        Assert.Equal((3, 3, 4096UL, false, true), (r.Level, r.Reads, r.PageSize, r.Global, r.User));
        Assert.Equal(new[] { (1, UserL1, 0), (2, UserL2, 2), (3, UserL3, 1) }, trace.Steps.Select(s => (s.Level, s.TableAddress.Value, s.Index)));
        Assert.Equal(0x0007_0000_0000_0000UL | UserL1, trace.RootValue); // ASID 7 in TTBR0[55:48]

        // The generic framework walk agrees with the hand-written one.
        Assert.Equal(r.FrameBase, ArmLpaeFormat.Instance.GenericWalk(m, s_regs, new VirtualAddress(0x0040_1ABC), AccessType.Write, Privilege.User).FrameBase);
    }

    [Fact]
    public void Ttbr0PanDisablesUserWalksButNotKernel()
    {
        // CONFIG_CPU_TTBR0_PAN: TTBR1 = swapper (here the same L1 layout with only the kernel in it), T1SZ = 0.
        PhysicalMemory m = Build();
        const ulong swapper = 0x3_0000;
        m.WriteUInt64(new PhysicalAddress(swapper + (3 * 8)), ArmLongDescriptor.Table(new PhysicalAddress(KernelL2), ArmLpaeFormat.OutputMask));
        MmuRegisters enabled = ArmLpaeFormat.Registers(new PhysicalAddress(UserL1), new PhysicalAddress(swapper), ArmLpaeFormat.LinuxTtbr0Pan(ArmLpaeFormat.Ttbcr(0, 0), true), asid: 7);
        MmuRegisters disabled = enabled with { Ttbcr = ArmLpaeFormat.LinuxTtbr0Pan((uint)enabled.Ttbcr, false) };

        // Inside uaccess the kernel reaches the user page; outside, TTBR0 (now 32 MiB) has EPD0 set: a translation fault, nothing read.
        Assert.Equal(FaultKind.None, ArmLpaeFormat.Instance.Walk(m, enabled, new VirtualAddress(0x0040_1000), AccessType.Read, Privilege.Kernel).Fault);
        WalkResult pan = ArmLpaeFormat.Instance.Walk(m, disabled, new VirtualAddress(0x0040_1000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((FaultKind.Translation, 1, 0), (pan.Fault, pan.Level, pan.Reads));

        // Kernel addresses above 32 MiB walk TTBR1 in both states.
        WalkTrace trace = new();
        WalkResult kernel = ArmLpaeFormat.Instance.Walk(m, disabled, new VirtualAddress(0xC000_0000), AccessType.Write, Privilege.Kernel, trace);
        Assert.Equal((FaultKind.None, "TTBR1", 2), (kernel.Fault, trace.Root, kernel.Reads));
    }

    [Fact]
    public void AccessFlagFaultUnlessHardwareManagesIt()
    {
        PhysicalMemory m = Build();
        ulong old = 0x0060_0001_2345_6F5F & ~ArmLongDescriptor.Af;
        m.WriteUInt64(new PhysicalAddress(UserL3 + 8), old);
        WalkResult r = ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_1000), AccessType.Read, Privilege.User);
        Assert.Equal((FaultKind.AccessFlag, 3, old), (r.Fault, r.Level, r.Descriptor));

        MmuRegisters hw = s_regs with { HardwareAccessFlag = true };
        Assert.Equal(FaultKind.None, ArmLpaeFormat.Instance.Walk(m, hw, new VirtualAddress(0x0040_1000), AccessType.Read, Privilege.User).Fault);
        Assert.Equal(0x0060_0001_2345_6F5FUL, m.ReadUInt64(new PhysicalAddress(UserL3 + 8))); // AF written back
    }

    [Theory]
    [InlineData(0, "KR KW UR UW")]
    [InlineData(1, "KR KW")]
    [InlineData(2, "KR UR")]
    [InlineData(3, "KR")]
    public void ApTableRestrictsEverythingBelow(int apTable, string expected)
    {
        PhysicalMemory m = Build();
        m.WriteUInt64(new PhysicalAddress(UserL1), ArmLongDescriptor.Table(new PhysicalAddress(UserL2), ArmLpaeFormat.OutputMask, new ArmTableAttributes(false, false, (byte)apTable)));
        Assert.Equal(expected, ArmTestRights.Matrix((a, p) => ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_1000), a, p).Fault));
    }

    [Fact]
    public void XnTableAndPxnTableStopExecution()
    {
        PhysicalMemory m = Build();
        ulong om = ArmLpaeFormat.OutputMask;

        // An executable kernel page under the user L3 (PXN, XN clear): PL1 may execute it.
        m.WriteUInt64(new PhysicalAddress(UserL3 + 16), ArmLongDescriptor.Leaf(new PhysicalAddress(0x9000_0000), 3, ArmLpaeFormat.Attributes(PageAttributes.KernelText), om));
        Assert.Equal("KR KX", ArmTestRights.Matrix((a, p) => ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_2000), a, p).Fault));
        m.WriteUInt64(new PhysicalAddress(UserL2 + 16), ArmLongDescriptor.Table(new PhysicalAddress(UserL3), om, new ArmTableAttributes(PxnTable: true, false, 0)));
        Assert.Equal("KR", ArmTestRights.Matrix((a, p) => ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_2000), a, p).Fault));

        // A user text page: XNTable stops PL0 and PL1 alike.
        m.WriteUInt64(new PhysicalAddress(UserL3 + 24), ArmLongDescriptor.Leaf(new PhysicalAddress(0x9000_1000), 3, ArmLpaeFormat.Attributes(PageAttributes.UserText), om));
        m.WriteUInt64(new PhysicalAddress(UserL2 + 16), ArmLongDescriptor.Table(new PhysicalAddress(UserL3), om));
        Assert.Equal("KR UR UX", ArmTestRights.Matrix((a, p) => ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_3000), a, p).Fault));
        m.WriteUInt64(new PhysicalAddress(UserL2 + 16), ArmLongDescriptor.Table(new PhysicalAddress(UserL3), om, new ArmTableAttributes(false, XnTable: true, 0)));
        Assert.Equal("KR UR", ArmTestRights.Matrix((a, p) => ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_3000), a, p).Fault));
    }

    // AP[2:1] × XN × PXN: what each privilege may do (PL0 fetch needs PL0 read; PXN stops PL1 only).
    [Theory]
    [InlineData(0b00, false, false, "KR KW KX")]
    [InlineData(0b01, false, false, "KR KW KX UR UW UX")]
    [InlineData(0b01, false, true, "KR KW UR UW UX")]
    [InlineData(0b01, true, false, "KR KW UR UW")]
    [InlineData(0b10, false, false, "KR KX")]
    [InlineData(0b11, false, false, "KR KX UR UX")]
    [InlineData(0b11, true, true, "KR UR")]
    public void PermissionMatrix(int ap, bool xn, bool pxn, string expected)
    {
        PhysicalMemory m = Build();
        ArmLongAttributes a = new(7, (byte)ap, 3, Af: true, NotGlobal: true, pxn, xn);
        m.WriteUInt64(new PhysicalAddress(UserL3 + 8), ArmLongDescriptor.Leaf(new PhysicalAddress(0x1_2345_6000), 3, a, ArmLpaeFormat.OutputMask));
        Assert.Equal(expected, ArmTestRights.Matrix((acc, p) => ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_1000), acc, p).Fault));
    }

    [Fact]
    public void GapBetweenRegionsAndReservedLevel3EncodingFault()
    {
        PhysicalMemory m = Build();
        MmuRegisters gap = s_regs with { Ttbcr = ArmLpaeFormat.Ttbcr(1, 2) };
        Assert.Equal((FaultKind.Translation, 1, 0), Fault(ArmLpaeFormat.Instance.Walk(m, gap, new VirtualAddress(0x8000_0000), AccessType.Read, Privilege.Kernel)));

        m.WriteUInt64(new PhysicalAddress(UserL3 + 8), 0x0060_0001_2345_6F5D); // bits[1:0] = 01 at level 3
        Assert.Equal((FaultKind.Translation, 3, 3), Fault(ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0040_1000), AccessType.Read, Privilege.User)));
        Assert.Equal((FaultKind.Translation, 2, 2), Fault(ArmLpaeFormat.Instance.Walk(m, s_regs, new VirtualAddress(0x0060_0000), AccessType.Read, Privilege.User)));
    }

    [Fact]
    public void TwoGigabyteSplitUsesTwoEntryFirstLevelAtTtbr1Offset()
    {
        // VMSPLIT_2G: TTBR1 = swapper_pg_dir + 16 (TTBR1_OFFSET, skip two L1 entries), T1SZ = 1: a 2-entry L1 indexed by VA[30].
        PhysicalMemory m = new();
        const ulong swapper = 0x4_0000;
        m.WriteUInt64(new PhysicalAddress(swapper + 24), 0xC000_071D); // pgd[3]: 1 GiB block (bits[1:0] = 01) for VA 0xC0000000
        MmuRegisters regs = ArmLpaeFormat.Registers(new PhysicalAddress(UserL1), new PhysicalAddress(swapper + 16), ArmLpaeFormat.LinuxTtbcr(0x8000_0000));
        WalkTrace trace = new();
        WalkResult r = ArmLpaeFormat.Instance.Walk(m, regs, new VirtualAddress(0xC123_4567), AccessType.Read, Privilege.Kernel, trace);
        Assert.Equal((FaultKind.None, 1UL << 30, 0xC123_4567UL), (r.Fault, r.PageSize, r.Translate(new VirtualAddress(0xC123_4567)).Value));
        Assert.Equal((1, swapper + 16, 1), (trace.Steps[0].Level, trace.Steps[0].TableAddress.Value, trace.Steps[0].Index));
    }

    private static (FaultKind, int, int) Fault(WalkResult r) => (r.Fault, r.Level, r.Reads);
}
