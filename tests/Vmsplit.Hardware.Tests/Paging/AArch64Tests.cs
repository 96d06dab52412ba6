using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;

namespace Vmsplit.Hardware.Tests.Paging;

public class AArch64EncodingTests
{
    private const ulong Om = AArch64Format.OutputMask;

    [Fact]
    public void KernelPageMatchesPageKernelWithoutDbm()
    {
        // PAGE_KERNEL = PROT_NORMAL: page 0b11 | AF 0x400 | SH 3 << 8 = 0x300 | MT_NORMAL 0 | PXN 1 << 53 | UXN 1 << 54
        // (Linux also sets PTE_WRITE = DBM bit 51 for dirty tracking; Vmsplit does not model DBM) → 0x0060_0000_4000_0703.
        ulong d = ArmLongDescriptor.Leaf(new PhysicalAddress(0x4000_0000), 3, AArch64Format.Attributes(PageAttributes.KernelData), Om);
        Assert.Equal(0x0060_0000_4000_0703UL, d);
    }

    [Fact]
    public void KernelTextClearsPxnOnly()
    {
        // PAGE_KERNEL_ROX: AP[2:1] = 10 (0x80), UXN kept, PXN clear → 0x0040_0000_4000_0783.
        ulong d = ArmLongDescriptor.Leaf(new PhysicalAddress(0x4000_0000), 3, AArch64Format.Attributes(PageAttributes.KernelText), Om);
        Assert.Equal(0x0040_0000_4000_0783UL, d);
    }

    [Fact]
    public void UserDataAndExecuteOnlyPages()
    {
        // User RW: AP[1] 0x40 | nG 0x800 | AF | SH | page, PXN and UXN (no exec) → 0x0060_0000_8000_0F43.
        Assert.Equal(0x0060_0000_8000_0F43UL, ArmLongDescriptor.Leaf(new PhysicalAddress(0x8000_0000), 3, AArch64Format.Attributes(PageAttributes.UserData), Om));

        // PAGE_EXECONLY: AP[2:1] = 10 (0x80), nG, PXN, UXN clear → 0x0020_0000_8000_0F83; EL0 may fetch but not read.
        PageAttributes execOnly = new(PagePermissions.Execute, User: true, Global: false);
        ulong d = ArmLongDescriptor.Leaf(new PhysicalAddress(0x8000_0000), 3, AArch64Format.Attributes(execOnly), Om);
        Assert.Equal(0x0020_0000_8000_0F83UL, d);
        Assert.Equal(execOnly, AArch64Format.ToNeutral(ArmLongDescriptor.AttributesOf(d)));
    }

    [Fact]
    public void TcrValues()
    {
        // 48-bit: T0SZ 16 | T1SZ 16 << 16 | TG1 = 0b10 << 30 | IPS 0b101 << 32 | AS 1 << 36 = 0x15_8010_0010.
        Assert.Equal(0x15_8010_0010UL, AArch64Format.Va48.Tcr());

        // Linux adds TCR_A1 (1 << 22) and TCR_TBI0 (1 << 37): 0x35_8050_0010. 39-bit: T0SZ = T1SZ = 25 → 0x15_8019_0019.
        Assert.Equal(0x35_8050_0010UL, AArch64Format.Va48.LinuxTcr());
        Assert.Equal(0x15_8019_0019UL, AArch64Format.Va39.Tcr());
    }

    [Fact]
    public void AsidComesFromTtbr1WithA1()
    {
        MmuRegisters r = AArch64Format.Va48.LinuxRegisters(new PhysicalAddress(0x1000), new PhysicalAddress(0x2000), asid: 0x1234);
        Assert.Equal(0x1234_0000_0000_2000UL, r.Ttbr1);
        Assert.Equal(0x1000UL, r.Ttbr0);
        Assert.Equal(0x1234, AArch64Format.CurrentAsid(r));
        r.Ttbcr &= ~AArch64Format.TcrA1;
        Assert.Equal(0, AArch64Format.CurrentAsid(r));
        r.Ttbr0 = AArch64Format.Ttbr(new PhysicalAddress(0x1000), 0xABCD);
        r.Ttbcr &= ~AArch64Format.TcrAs;
        Assert.Equal(0xCD, AArch64Format.CurrentAsid(r)); // 8-bit ASIDs without TCR.AS
    }

    [Theory]
    [InlineData(48, 0x0000_FFFF_FFFF_FFFFUL, false, 0)]
    [InlineData(48, 0x0001_0000_0000_0000UL, false, -1)]
    [InlineData(48, 0xFFFF_0000_0000_0000UL, false, 1)]
    [InlineData(48, 0xFFFE_FFFF_FFFF_FFFFUL, false, -1)]
    [InlineData(48, 0x5A00_0000_1234_5000UL, false, -1)]
    [InlineData(48, 0x5A00_0000_1234_5000UL, true, 0)]
    [InlineData(48, 0xFF00_FFFF_FFFF_FFFFUL, true, 0)]   // bit 55 clear: a tagged TTBR0 pointer
    [InlineData(48, 0xFF7F_0000_0000_0000UL, true, -1)]  // bits 54:48 must still match bit 55
    [InlineData(48, 0x00FF_0000_0000_0000UL, true, -1)]  // TTBR1 half: TBI1 is off, so the top byte counts
    [InlineData(39, 0x0000_007F_FFFF_FFFFUL, false, 0)]
    [InlineData(39, 0x0000_0080_0000_0000UL, false, -1)]
    [InlineData(39, 0xFFFF_FF80_0000_0000UL, false, 1)]
    [InlineData(39, 0xFFFF_FF7F_FFFF_FFFFUL, false, -1)]
    public void TtbrSelectionByBit55AndTheBitsAbove(int vaBits, ulong va, bool tbi0, int expected)
    {
        // Bit 55 selects; bits [63:VA_BITS] (or [55:VA_BITS] with TBI for that half) must all equal it.
        AArch64Format f = vaBits == 48 ? AArch64Format.Va48 : AArch64Format.Va39;
        Assert.Equal(expected, f.SelectTtbr(f.Tcr(tbi0: tbi0), va));
    }

    [Fact]
    public void DescribeUsesUxn()
    {
        Assert.Equal(
            "Valid=1 OA=0x80000000 UXN=1 PXN=1 Contiguous=0 nG=1 AF=1 SH=3 AP[2:1]=1 NS=0 AttrIndx=0",
            DescriptorField.Join(AArch64Format.Va48.Describe(3, 0x0060_0000_8000_0F43)));
    }

    [Theory]
    [InlineData(MemoryType.Normal, 0)]
    [InlineData(MemoryType.NonCacheable, 2)]
    [InlineData(MemoryType.StronglyOrdered, 3)]
    [InlineData(MemoryType.Device, 4)]
    [InlineData(MemoryType.WriteThrough, 7)]
    public void MemoryTypesUseLinuxMairIndices(MemoryType type, int index)
    {
        // memory.h: MT_NORMAL 0 (0xff), MT_NORMAL_NC 2 (0x44), MT_DEVICE_nGnRnE 3 (0x00), MT_DEVICE_nGnRE 4 (0x04); index 7 = 0xbb.
        Assert.Equal(index, ArmMair.Arm64Index(type));
        Assert.Equal(type, ArmMair.Decode(ArmMair.Attribute(ArmMair.LinuxArm64, index)));
    }
}

public class AArch64WalkTests
{
    // Linux-style: user pgd in TTBR0 at 0x10000, swapper_pg_dir in TTBR1 at 0x20000 (ASID 5 in TTBR1, TCR.A1).
    private const ulong UserL0 = 0x1_0000;
    private const ulong UserL1 = 0x1_1000;
    private const ulong UserL2 = 0x1_2000;
    private const ulong UserL3 = 0x1_3000;
    private const ulong KernelL0 = 0x2_0000;
    private const ulong KernelL1 = 0x2_1000;
    private const ulong KernelL2 = 0x2_2000;
    private const ulong Om = AArch64Format.OutputMask;

    private static readonly AArch64Format s_f = AArch64Format.Va48;
    private static readonly MmuRegisters s_regs = s_f.LinuxRegisters(new PhysicalAddress(UserL0), new PhysicalAddress(KernelL0), asid: 5);

    private static PhysicalMemory Build()
    {
        PhysicalMemory m = new();

        // User VA 0x0000_1234_5678_9ABC: L0[0x24] → L1[0xD1] → L2[0xB3] → L3[0x189] → PA 0x8000_0000 (user RW data).
        m.WriteUInt64(new PhysicalAddress(UserL0 + (0x24 * 8)), ArmLongDescriptor.Table(new PhysicalAddress(UserL1), Om));
        m.WriteUInt64(new PhysicalAddress(UserL1 + (0xD1 * 8)), ArmLongDescriptor.Table(new PhysicalAddress(UserL2), Om));
        m.WriteUInt64(new PhysicalAddress(UserL2 + (0xB3 * 8)), ArmLongDescriptor.Table(new PhysicalAddress(UserL3), Om));
        m.WriteUInt64(new PhysicalAddress(UserL3 + (0x189 * 8)), 0x0060_0000_8000_0F43);

        // Kernel linear map: VA 0xFFFF_0000_0000_0000 → L0[0x000] → L1[0]: 1 GiB block at PA 0x4000_0000,
        // and L1[1] → L2 with a 2 MiB block at L2[3] → PA 0x6060_0000 (VA 0xFFFF_0000_4060_0000).
        m.WriteUInt64(new PhysicalAddress(KernelL0), ArmLongDescriptor.Table(new PhysicalAddress(KernelL1), Om));
        m.WriteUInt64(new PhysicalAddress(KernelL1), ArmLongDescriptor.Leaf(new PhysicalAddress(0x4000_0000), 1, AArch64Format.Attributes(PageAttributes.KernelData), Om));
        m.WriteUInt64(new PhysicalAddress(KernelL1 + 8), ArmLongDescriptor.Table(new PhysicalAddress(KernelL2), Om));
        m.WriteUInt64(new PhysicalAddress(KernelL2 + 24), ArmLongDescriptor.Leaf(new PhysicalAddress(0x6060_0000), 2, AArch64Format.Attributes(PageAttributes.KernelText), Om));
        return m;
    }

    [Fact]
    public void FourLevelUserWalk()
    {
        PhysicalMemory m = Build();
        WalkTrace trace = new();
        const ulong va = 0x0000_1234_5678_9ABC;
        WalkResult r = s_f.Walk(m, s_regs, new VirtualAddress(va), AccessType.Write, Privilege.User, trace);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0x8000_0ABCUL, r.Translate(new VirtualAddress(va)).Value);
        Assert.Equal((3, 4, 4096UL, true, false), (r.Level, r.Reads, r.PageSize, r.User, r.Global));
        Assert.Equal(("TTBR0", UserL0), (trace.Root, trace.RootValue));
        Assert.Equal(
            new[] { (0, UserL0, 0x24, "table"), (1, UserL1, 0xD1, "table"), (2, UserL2, 0xB3, "table"), (3, UserL3, 0x189, "page") },
            trace.Steps.Select(s => (s.Level, s.TableAddress.Value, s.Index, s.Kind)));
        Assert.Equal(r.FrameBase, s_f.GenericWalk(m, s_regs, new VirtualAddress(va), AccessType.Write, Privilege.User).FrameBase);
    }

    [Fact]
    public void KernelBlocksThroughTtbr1()
    {
        PhysicalMemory m = Build();
        WalkTrace trace = new();
        WalkResult gb = s_f.Walk(m, s_regs, new VirtualAddress(0xFFFF_0000_2345_6789), AccessType.Write, Privilege.Kernel, trace);
        Assert.Equal((FaultKind.None, 1, 2, 1UL << 30), (gb.Fault, gb.Level, gb.Reads, gb.PageSize));
        Assert.Equal(0x6345_6789UL, gb.Translate(new VirtualAddress(0xFFFF_0000_2345_6789)).Value);
        Assert.Equal(("TTBR1", 0x0005_0000_0002_0000UL), (trace.Root, trace.RootValue));

        WalkResult mb = s_f.Walk(m, s_regs, new VirtualAddress(0xFFFF_0000_4070_0000), AccessType.Execute, Privilege.Kernel);
        Assert.Equal((FaultKind.None, 2, 3, 2UL << 20), (mb.Fault, mb.Level, mb.Reads, mb.PageSize));
        Assert.Equal(0x6070_0000UL, mb.Translate(new VirtualAddress(0xFFFF_0000_4070_0000)).Value);
    }

    [Fact]
    public void OutOfRangeAndEpdAreLevelZeroTranslationFaults()
    {
        PhysicalMemory m = Build();
        Assert.Equal((FaultKind.Translation, 0, 0), Fault(s_f.Walk(m, s_regs, new VirtualAddress(0x0001_0000_0000_0000), AccessType.Read, Privilege.User)));
        Assert.Equal((FaultKind.Translation, 0, 0), Fault(s_f.Walk(m, s_regs, new VirtualAddress(0xFFFE_FFFF_FFFF_F000), AccessType.Read, Privilege.Kernel)));

        // TBI0 (Linux): a tagged user pointer translates like the untagged one.
        Assert.Equal(0x8000_0ABCUL, s_f.Walk(m, s_regs, new VirtualAddress(0x5A00_1234_5678_9ABC), AccessType.Read, Privilege.User).Translate(new VirtualAddress(0x5A00_1234_5678_9ABC)).Value);

        MmuRegisters epd1 = s_regs with { Ttbcr = s_regs.Ttbcr | AArch64Format.TcrEpd1 };
        Assert.Equal((FaultKind.Translation, 0, 0), Fault(s_f.Walk(m, epd1, new VirtualAddress(0xFFFF_0000_0000_0000), AccessType.Read, Privilege.Kernel)));
        Assert.Equal(FaultKind.None, s_f.Walk(m, epd1, new VirtualAddress(0x0000_1234_5678_9000), AccessType.Read, Privilege.User).Fault);
    }

    [Fact]
    public void ReservedEncodingsAndAddressSize()
    {
        PhysicalMemory m = Build();

        // A block (0b01) at level 0 does not exist with 4 KiB granules; neither does 0b01 at level 3.
        m.WriteUInt64(new PhysicalAddress(UserL0 + 8), 0x0000_0080_0000_0401);
        Assert.Equal((FaultKind.Translation, 0, 1), Fault(s_f.Walk(m, s_regs, new VirtualAddress(0x0000_0080_0000_0000), AccessType.Read, Privilege.User)));
        m.WriteUInt64(new PhysicalAddress(UserL3 + (0x189 * 8)), 0x0060_0000_8000_0F41);
        Assert.Equal((FaultKind.Translation, 3, 4), Fault(s_f.Walk(m, s_regs, new VirtualAddress(0x0000_1234_5678_9000), AccessType.Read, Privilege.User)));

        // IPS = 40 bits (0b010): a 1 GiB block at PA 2^40 is an address size fault.
        m.WriteUInt64(new PhysicalAddress(KernelL1 + 16), ArmLongDescriptor.Leaf(new PhysicalAddress(1UL << 40), 1, AArch64Format.Attributes(PageAttributes.KernelData), Om));
        MmuRegisters ips40 = s_regs with { Ttbcr = (s_regs.Ttbcr & ~(7UL << AArch64Format.TcrIpsShift)) | (2UL << AArch64Format.TcrIpsShift) };
        Assert.Equal((FaultKind.AddressSize, 1, 2), Fault(s_f.Walk(m, ips40, new VirtualAddress(0xFFFF_0000_8000_0000), AccessType.Read, Privilege.Kernel)));
        Assert.Equal(FaultKind.None, s_f.Walk(m, s_regs, new VirtualAddress(0xFFFF_0000_8000_0000), AccessType.Read, Privilege.Kernel).Fault);
    }

    [Fact]
    public void PanBlocksKernelDataAccessToUserDataOnly()
    {
        PhysicalMemory m = Build();
        MmuRegisters pan = s_regs with { Pan = true };
        const ulong va = 0x0000_1234_5678_9000;
        Assert.Equal(FaultKind.Permission, s_f.Walk(m, pan, new VirtualAddress(va), AccessType.Read, Privilege.Kernel).Fault);
        Assert.Equal(FaultKind.Permission, s_f.Walk(m, pan, new VirtualAddress(va), AccessType.Write, Privilege.Kernel).Fault);
        Assert.Equal(FaultKind.None, s_f.Walk(m, s_regs, new VirtualAddress(va), AccessType.Write, Privilege.Kernel).Fault);
        Assert.Equal(FaultKind.None, s_f.Walk(m, pan, new VirtualAddress(va), AccessType.Write, Privilege.User).Fault);
        Assert.Equal(FaultKind.None, s_f.Walk(m, pan, new VirtualAddress(0xFFFF_0000_0000_0000), AccessType.Write, Privilege.Kernel).Fault);

        // Execute-only user memory is not EL0-readable, so ARMv8.1 PAN lets the kernel read it (EPAN would not).
        m.WriteUInt64(new PhysicalAddress(UserL3 + (0x189 * 8)), 0x0020_0000_8000_0F83);
        WalkResult xo = s_f.Walk(m, pan, new VirtualAddress(va), AccessType.Read, Privilege.Kernel);
        Assert.Equal(FaultKind.None, xo.Fault);
        Assert.Equal(FaultKind.None, s_f.CheckAccess(xo.Rights, xo.User, 0, AccessType.Read, Privilege.Kernel, pan));
        Assert.Equal(FaultKind.Permission, s_f.CheckAccess(AccessRights.UserRead | AccessRights.KernelRead, true, 0, AccessType.Read, Privilege.Kernel, pan));
    }

    // AP[2:1] × UXN × PXN, kernel (EL1) and user (EL0) × read/write/exec.
    [Theory]
    [InlineData(0b00, true, false, "KR KW KX")]
    [InlineData(0b00, false, false, "KR KW KX UX")]
    [InlineData(0b01, false, false, "KR KW UR UW UX")] // EL0-writable: never EL1-executable, whatever PXN says
    [InlineData(0b01, true, true, "KR KW UR UW")]
    [InlineData(0b10, false, true, "KR UX")]           // execute-only user page
    [InlineData(0b10, true, false, "KR KX")]           // kernel text
    [InlineData(0b11, false, true, "KR UR UX")]        // user text
    [InlineData(0b11, false, false, "KR KX UR UX")]
    public void PermissionMatrix(int ap, bool uxn, bool pxn, string expected)
    {
        PhysicalMemory m = Build();
        ArmLongAttributes a = new(0, (byte)ap, 3, Af: true, NotGlobal: true, pxn, uxn);
        m.WriteUInt64(new PhysicalAddress(UserL3 + (0x189 * 8)), ArmLongDescriptor.Leaf(new PhysicalAddress(0x8000_0000), 3, a, Om));
        Assert.Equal(expected, ArmTestRights.Matrix((acc, p) => s_f.Walk(m, s_regs, new VirtualAddress(0x0000_1234_5678_9000), acc, p).Fault));
    }

    [Theory]
    [InlineData(false, false, 0, "KR KW UR UW UX")]
    [InlineData(false, false, 1, "KR KW KX UX")]  // APTable[0]: no EL0 data access (so EL1 may execute); EL0 fetch depends on UXN only
    [InlineData(false, false, 2, "KR KX UR UX")]  // APTable[1]: read-only, so no longer EL0-writable: EL1 may execute
    [InlineData(true, false, 0, "KR KW UR UW")]   // UXNTable
    [InlineData(false, true, 2, "KR UR UX")]      // PXNTable
    public void TableAttributesRestrictEverythingBelow(bool uxnTable, bool pxnTable, int apTable, string expected)
    {
        PhysicalMemory m = Build();
        ArmLongAttributes a = new(0, 0b01, 3, Af: true, NotGlobal: true, Pxn: false, Xn: false);
        m.WriteUInt64(new PhysicalAddress(UserL3 + (0x189 * 8)), ArmLongDescriptor.Leaf(new PhysicalAddress(0x8000_0000), 3, a, Om));
        m.WriteUInt64(new PhysicalAddress(UserL1 + (0xD1 * 8)), ArmLongDescriptor.Table(new PhysicalAddress(UserL2), Om, new ArmTableAttributes(pxnTable, uxnTable, (byte)apTable)));
        Assert.Equal(expected, ArmTestRights.Matrix((acc, p) => s_f.Walk(m, s_regs, new VirtualAddress(0x0000_1234_5678_9000), acc, p).Fault));
    }

    [Fact]
    public void AccessFlagFaultAndHardwareUpdate()
    {
        PhysicalMemory m = Build();
        ulong entry = UserL3 + (0x189 * 8);
        m.WriteUInt64(new PhysicalAddress(entry), 0x0060_0000_8000_0B43); // AF (0x400) clear
        Assert.Equal((FaultKind.AccessFlag, 3, 4), Fault(s_f.Walk(m, s_regs, new VirtualAddress(0x0000_1234_5678_9000), AccessType.Read, Privilege.User)));
        MmuRegisters ha = s_f.LinuxRegisters(new PhysicalAddress(UserL0), new PhysicalAddress(KernelL0), asid: 5, hardwareAccessFlag: true);
        Assert.Equal(FaultKind.None, s_f.Walk(m, ha, new VirtualAddress(0x0000_1234_5678_9000), AccessType.Read, Privilege.User).Fault);
        Assert.Equal(0x0060_0000_8000_0F43UL, m.ReadUInt64(new PhysicalAddress(entry)));
    }

    [Fact]
    public void ThirtyNineBitWalkStartsAtLevel1()
    {
        // 0x0000_0012_3456_7ABC: L1[0x48] → L2[0x1A2] → L3[0x167].
        AArch64Format f = AArch64Format.Va39;
        PhysicalMemory m = new();
        m.WriteUInt64(new PhysicalAddress(UserL1 + (0x48 * 8)), ArmLongDescriptor.Table(new PhysicalAddress(UserL2), Om));
        m.WriteUInt64(new PhysicalAddress(UserL2 + (0x1A2 * 8)), ArmLongDescriptor.Table(new PhysicalAddress(UserL3), Om));
        m.WriteUInt64(new PhysicalAddress(UserL3 + (0x167 * 8)), 0x0060_0000_8000_0F43);
        MmuRegisters regs = f.LinuxRegisters(new PhysicalAddress(UserL1), new PhysicalAddress(KernelL1), asid: 1);
        WalkTrace trace = new();
        WalkResult r = f.Walk(m, regs, new VirtualAddress(0x0000_0012_3456_7ABC), AccessType.Read, Privilege.User, trace);
        Assert.Equal((FaultKind.None, 3, 3, 0x8000_0ABCUL), (r.Fault, r.Level, r.Reads, r.Translate(new VirtualAddress(0x0000_0012_3456_7ABC)).Value));
        Assert.Equal(new[] { (1, 0x48), (2, 0x1A2), (3, 0x167) }, trace.Steps.Select(s => (s.Level, s.Index)));
        Assert.Equal((FaultKind.Translation, 0, 0), Fault(f.Walk(m, regs, new VirtualAddress(0x0000_0080_0000_0000), AccessType.Read, Privilege.User)));
    }

    private static (FaultKind, int, int) Fault(WalkResult r) => (r.Fault, r.Level, r.Reads);
}
