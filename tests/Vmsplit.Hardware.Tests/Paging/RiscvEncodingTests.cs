using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Riscv;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>PTE and satp encodings worked out by hand from the privileged spec figures and Linux's headers.</summary>
public sealed class RiscvEncodingTests
{
    private static readonly RiscvPageTableFormat s_sv32 = RiscvPageTableFormat.Sv32;
    private static readonly RiscvPageTableFormat s_sv39 = RiscvPageTableFormat.Sv39;
    private static readonly RiscvPageTableFormat s_sv48 = RiscvPageTableFormat.Sv48;
    private static readonly RiscvPageTableFormat s_sv57 = RiscvPageTableFormat.Sv57;

    [Fact]
    public void LowBitsMatchLinuxPgtableBits()
    {
        // pgtable-bits.h: _PAGE_PRESENT 1<<0 ... _PAGE_DIRTY 1<<7, _PAGE_SOFT 3<<8, _PAGE_PFN_SHIFT 10.
        Assert.Equal(0x01UL, RiscvPte.V);
        Assert.Equal(0x02UL, RiscvPte.R);
        Assert.Equal(0x04UL, RiscvPte.W);
        Assert.Equal(0x08UL, RiscvPte.X);
        Assert.Equal(0x10UL, RiscvPte.U);
        Assert.Equal(0x20UL, RiscvPte.G);
        Assert.Equal(0x40UL, RiscvPte.A);
        Assert.Equal(0x80UL, RiscvPte.D);
        Assert.Equal(0x300UL, RiscvPte.RswMask);
        Assert.Equal(10, RiscvPte.PpnShift);

        // _PAGE_KERNEL = R|W|V|A|D|G = 2+4+1+0x40+0x80+0x20 = 0xE7; PAGE_KERNEL_EXEC adds X (8) = 0xEF;
        // PAGE_KERNEL_READ_EXEC drops W: 0xE7-4+8 = 0xEB; _PAGE_BASE = V|A|U = 0x51.
        Assert.Equal(0xE7UL, RiscvPte.LinuxPageKernel);
        Assert.Equal(0xEFUL, RiscvPte.LinuxPageKernelExec);
        Assert.Equal(0xEBUL, RiscvPte.LinuxPageKernelReadExec);
        Assert.Equal(0x51UL, RiscvPte.LinuxPageBase);

        // Sv39+ high bits: reserved 60:54 = 0x7F<<54 = 0x1FC0_0000_0000_0000; PBMT 62:61 = 0x6000_...; N = bit 63.
        Assert.Equal(0x1FC0_0000_0000_0000UL, RiscvPte.ReservedMask);
        Assert.Equal(0x6000_0000_0000_0000UL, RiscvPte.PbmtMask);
        Assert.Equal(0x8000_0000_0000_0000UL, RiscvPte.N);
    }

    [Fact]
    public void LinuxPageKernelLeafForTheKernelLoadAddressOnSv39()
    {
        // PA 0x80200000 → PPN 0x80200; 0x80200 << 10 = 0x20080000; | D|A|G|W|R|V (0xE7) = 0x200800E7.
        ulong pte = s_sv39.EncodeLeaf(new PhysicalAddress(0x8020_0000), PageAttributes.KernelData);
        Assert.Equal(0x2008_00E7UL, pte);
        Assert.Equal(RiscvPte.Leaf(0x8020_0000, RiscvPte.LinuxPageKernel), pte);

        // Kernel text with X and without W: 0x20080000 | 0xEB = 0x200800EB.
        Assert.Equal(0x2008_00EBUL, s_sv39.EncodeLeaf(new PhysicalAddress(0x8020_0000), PageAttributes.KernelText));

        // PAGE_KERNEL_EXEC (RWX, global): 0x200800EF.
        PageAttributes rwx = new(PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute, User: false, Global: true);
        Assert.Equal(0x2008_00EFUL, s_sv39.EncodeLeaf(new PhysicalAddress(0x8020_0000), rwx));
    }

    [Fact]
    public void TablePointerCarriesVAlone()
    {
        // Table at 0x80201000: PPN 0x80201 << 10 = 0x20080400, | V = 0x20080401 (Linux PAGE_TABLE = _PAGE_PRESENT).
        Assert.Equal(0x2008_0401UL, s_sv39.EncodeTable(new PhysicalAddress(0x8020_1000)));
        Assert.Equal(0x2008_0401UL, s_sv32.EncodeTable(new PhysicalAddress(0x8020_1000)));
        Assert.Equal(new PhysicalAddress(0x8020_1000), s_sv39.OutputAddress(0x2008_0401));
    }

    [Fact]
    public void UserLeafHasUAndNoG()
    {
        // User RW at 0x01234000: PPN 0x1234 << 10 = 0x48D000; flags V|R|W|U|A|D = 1+2+4+0x10+0x40+0x80 = 0xD7.
        Assert.Equal(0x48_D0D7UL, s_sv48.EncodeLeaf(new PhysicalAddress(0x0123_4000), PageAttributes.UserData));

        // User RX: V|R|X|U|A|D = 1+2+8+0x10+0x40+0x80 = 0xDB.
        Assert.Equal(0x48_D0DBUL, s_sv48.EncodeLeaf(new PhysicalAddress(0x0123_4000), PageAttributes.UserText));

        // Write-only request: W without R is reserved, so R comes with it: V|R|W|A|D = 0xC7.
        Assert.Equal(0x48_D0C7UL, s_sv48.EncodeLeaf(new PhysicalAddress(0x0123_4000), new PageAttributes(PagePermissions.Write, false, false)));

        // Execute-only stays execute-only: V|X|A|D = 0xC9.
        Assert.Equal(0x48_D0C9UL, s_sv48.EncodeLeaf(new PhysicalAddress(0x0123_4000), new PageAttributes(PagePermissions.Execute, false, false)));
    }

    [Fact]
    public void MemoryTypeGoesToPbmtOnSv39AndIsDroppedOnSv32()
    {
        // Device → PBMT IO (2) → 2 << 61 = 0x4000_0000_0000_0000; PA 0x10000000 → PPN 0x10000 << 10 = 0x4000000; | 0xE7.
        PageAttributes device = PageAttributes.KernelData with { MemoryType = MemoryType.Device };
        Assert.Equal(0x4000_0000_0400_00E7UL, s_sv39.EncodeLeaf(new PhysicalAddress(0x1000_0000), device));

        // Non-cacheable → PBMT NC (1) → 1 << 61 = 0x2000_0000_0000_0000.
        PageAttributes nc = PageAttributes.KernelData with { MemoryType = MemoryType.NonCacheable };
        Assert.Equal(0x2000_0000_0400_00E7UL, s_sv57.EncodeLeaf(new PhysicalAddress(0x1000_0000), nc));

        // Sv32 has no PBMT: the PMA applies, the PTE is plain 0x040000E7.
        Assert.Equal(0x0400_00E7UL, s_sv32.EncodeLeaf(new PhysicalAddress(0x1000_0000), device));
    }

    [Fact]
    public void Sv32MegapageUsesTheWholeThirtyFourBitAddress()
    {
        // PA 0x2_0040_0000 (34-bit, 4 MiB aligned) → PPN 0x200400 → << 10 = 0x8010_0000; kernel text 0xEB.
        ulong pte = s_sv32.EncodeLeaf(new PhysicalAddress(0x2_0040_0000), PageAttributes.KernelText);
        Assert.Equal(0x8010_00EBUL, pte);

        // PPN[1] = PTE bits 31:20 = 0x801 (12 bits), PPN[0] = bits 19:10 = 0.
        Assert.Equal(12, s_sv32.PpnFieldBits(1));
        Assert.Equal(10, s_sv32.PpnFieldBits(0));
        Assert.Equal(0x801UL, s_sv32.PpnField(pte, 1));
        Assert.Equal(0UL, s_sv32.PpnField(pte, 0));
        Assert.Equal(new PhysicalAddress(0x2_0040_0000), s_sv32.OutputAddress(pte));
    }

    [Fact]
    public void PpnFieldWidthsPerMode()
    {
        // Sv39: PPN[2] 53:28 (26), PPN[1] 27:19 (9), PPN[0] 18:10 (9).
        Assert.Equal([9, 9, 26], Enumerable.Range(0, 3).Select(s_sv39.PpnFieldBits));

        // Sv48: PPN[3] 53:37 (17); Sv57: PPN[4] 53:46 (8).
        Assert.Equal([9, 9, 9, 17], Enumerable.Range(0, 4).Select(s_sv48.PpnFieldBits));
        Assert.Equal([9, 9, 9, 9, 8], Enumerable.Range(0, 5).Select(s_sv57.PpnFieldBits));

        // 0x200800E7: PPN 0x80200 = 2·2^18 + 1·2^9 + 0 → PPN[2]=2, PPN[1]=1, PPN[0]=0.
        Assert.Equal(2UL, s_sv39.PpnField(0x2008_00E7, 2));
        Assert.Equal(1UL, s_sv39.PpnField(0x2008_00E7, 1));
        Assert.Equal(0UL, s_sv39.PpnField(0x2008_00E7, 0));

        // The largest Sv57 PPN (44 ones) splits into 0xFF and four 0x1FF fields; N/PBMT/reserved are not PPN.
        ulong full = (RiscvPte.Sv64PpnMask << 10) | RiscvPte.N | RiscvPte.PbmtMask | RiscvPte.ReservedMask | 0xFF;
        Assert.Equal(0xFFUL, s_sv57.PpnField(full, 4));
        Assert.Equal(0x1FFUL, s_sv57.PpnField(full, 0));
        Assert.Equal(new PhysicalAddress(0x00FF_FFFF_FFFF_F000), s_sv57.OutputAddress(full));
    }

    [Fact]
    public void DescribeNamesEveryBitGroup()
    {
        // 0x4000_0000_2008_03E7: 0x3E7 = RSW 3 (0x300) | 0xE7; PBMT = bits 62:61 = 2 (IO); PPN 0x80200 = 2·2^18 + 1·2^9.
        IReadOnlyList<DescriptorField> f = s_sv39.Describe(1, 0x4000_0000_2008_03E7);
        Dictionary<string, ulong> d = f.ToDictionary(p => p.Name, p => p.Value);
        Assert.Equal(["V", "R", "W", "X", "U", "G", "A", "D", "RSW", "PPN[0]", "PPN[1]", "PPN[2]", "PBMT", "N"], f.Select(p => p.Name));
        Assert.Equal((1UL, 0UL, 1UL, 3UL), (d["V"], d["X"], d["G"], d["RSW"]));
        Assert.Equal((0UL, 1UL, 2UL), (d["PPN[0]"], d["PPN[1]"], d["PPN[2]"]));
        Assert.Equal((2UL, 0UL), (d["PBMT"], d["N"]));
        Assert.Equal("V=1 R=1 W=1 X=0 U=0 G=1 A=1 D=1 RSW=3 PPN[0]=0x0 PPN[1]=0x1 PPN[2]=0x2 PBMT=2 N=0", DescriptorField.Join(f));

        // Reserved bits show up only when set: bit 54 → field value 1.
        Assert.Equal(("Reserved", 1UL), (s_sv48.Describe(0, 0x0040_0000_0000_0001)[^1].Name, s_sv48.Describe(0, 0x0040_0000_0000_0001)[^1].Value));

        // Sv32: no PBMT, N or reserved bits; PPN[1] is the 12-bit field 31:20.
        Assert.Equal("V=1 R=1 W=0 X=1 U=0 G=1 A=1 D=1 RSW=0 PPN[0]=0x0 PPN[1]=0x801", DescriptorField.Join(s_sv32.Describe(1, 0x8010_00EB)));
        Assert.Throws<ArgumentOutOfRangeException>(() => s_sv32.Describe(2, 0));

        Assert.Equal("V R W - - G A D RSW=0 PPN[2]=0x2 PPN[1]=0x1 PPN[0]=0x0 PBMT=PMA → superpage 2M 0x80200000", s_sv39.DescribeLine(0x2008_00E7, 1));
        Assert.Equal("V - - - - - - - RSW=0 PPN[2]=0x2 PPN[1]=0x1 PPN[0]=0x1 PBMT=PMA → table 0x80201000", s_sv39.DescribeLine(0x2008_0401, 2));
        Assert.Equal("invalid (empty)", s_sv39.DescribeLine(0, 0));
    }

    [Fact]
    public void RightsPerLeafEncoding()
    {
        // U=0: S-mode gets XWR, U-mode nothing. U=1: U-mode gets XWR, S-mode R/W (under SUM), never X.
        Assert.Equal(AccessRights.KernelRead | AccessRights.KernelWrite, RiscvPte.Rights(0xE7));
        Assert.Equal(AccessRights.KernelExecute, RiscvPte.Rights(RiscvPte.V | RiscvPte.X));
        Assert.Equal(
            AccessRights.UserRead | AccessRights.UserExecute | AccessRights.KernelRead,
            RiscvPte.Rights(RiscvPte.V | RiscvPte.R | RiscvPte.X | RiscvPte.U));
        Assert.Equal(
            AccessRights.UserRead | AccessRights.UserWrite | AccessRights.UserExecute | AccessRights.KernelRead | AccessRights.KernelWrite,
            RiscvPte.Rights(RiscvPte.V | RiscvPte.R | RiscvPte.W | RiscvPte.X | RiscvPte.U));
    }

    [Fact]
    public void AttributesDecodeTheNeutralModel()
    {
        PageAttributes a = RiscvPte.Attributes(0x4000_0000_2008_00FF, hasPbmt: true);
        Assert.Equal(PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute, a.Permissions);
        Assert.True(a.User);
        Assert.True(a.Global);
        Assert.Equal(MemoryType.Device, a.MemoryType);
        Assert.Equal(MemoryType.Normal, RiscvPte.Attributes(0x4000_0000_2008_00FF, hasPbmt: false).MemoryType);
    }

    [Fact]
    public void Rv64SatpLayout()
    {
        // Linux csr.h: SATP_MODE_39 = 8<<60 = 0x8000_0000_0000_0000, _48 = 0x9000..., _57 = 0xA000...
        Assert.Equal(0x8000_0000_0000_0000UL, RiscvSatp.Rv64(RiscvSatpMode.Sv39, 0, 0));
        Assert.Equal(0x9000_0000_0000_0000UL, RiscvSatp.Rv64(RiscvSatpMode.Sv48, 0, 0));
        Assert.Equal(0xA000_0000_0000_0000UL, RiscvSatp.Rv64(RiscvSatpMode.Sv57, 0, 0));

        // Sv39, ASID 5, root 0x80400000: 8<<60 | 5<<44 (0x0000_5000_0000_0000) | PPN 0x80400.
        ulong satp = RiscvSatp.Rv64(RiscvSatpMode.Sv39, 5, 0x8040_0000);
        Assert.Equal(0x8000_5000_0008_0400UL, satp);
        Assert.Equal(RiscvSatpMode.Sv39, RiscvSatp.Mode(satp, rv32: false));
        Assert.Equal(5U, RiscvSatp.Asid(satp, rv32: false));
        Assert.Equal(0x8_0400UL, RiscvSatp.Ppn(satp, rv32: false));
        Assert.Equal(0x8040_0000UL, RiscvSatp.RootAddress(satp, rv32: false));

        // Every field at its maximum: 9<<60 | 0xFFFF<<44 | 0xFFF_FFFF_FFFF = 0x9FFF_FFFF_FFFF_FFFF.
        Assert.Equal(0x9FFF_FFFF_FFFF_FFFFUL, RiscvSatp.Rv64(RiscvSatpMode.Sv48, 0xFFFF, 0x00FF_FFFF_FFFF_F000));
        Assert.Equal("MODE=Sv39 ASID=5 PPN=0x80400", RiscvSatp.Describe(satp, rv32: false));
    }

    [Fact]
    public void Rv32SatpLayout()
    {
        // Sv32, ASID 1, root 0x80001000: 1<<31 | 1<<22 (0x0040_0000) | PPN 0x80001 = 0x8048_0001.
        Assert.Equal(0x8048_0001U, RiscvSatp.Rv32(true, 1, 0x8000_1000));

        // All ones: MODE 1, ASID 0x1FF, PPN 0x3FFFFF (root 0x3_FFFF_F000, the top of the 34-bit space) = 0xFFFF_FFFF.
        uint max = RiscvSatp.Rv32(true, 0x1FF, 0x3_FFFF_F000);
        Assert.Equal(0xFFFF_FFFFU, max);
        Assert.Equal(RiscvSatpMode.Sv32, RiscvSatp.Mode(max, rv32: true));
        Assert.Equal(0x1FFU, RiscvSatp.Asid(max, rv32: true));
        Assert.Equal(0x3_FFFF_F000UL, RiscvSatp.RootAddress(max, rv32: true));
        Assert.Equal(RiscvSatpMode.Bare, RiscvSatp.Mode(RiscvSatp.Rv32(false, 0, 0), rv32: true));
        Assert.Equal("MODE=Sv32 ASID=511 PPN=0x3fffff", s_sv32.DescribeRoot("satp", max));
        Assert.Equal(9, RiscvSatp.AsidBits(RiscvSatpMode.Sv32));
        Assert.Equal(16, RiscvSatp.AsidBits(RiscvSatpMode.Sv57));
    }

    [Fact]
    public void SatpRejectsWhatDoesNotFit()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RiscvSatp.Rv32(true, 0x200, 0x1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => RiscvSatp.Rv32(true, 0, 0x4_0000_0000));
        Assert.Throws<ArgumentOutOfRangeException>(() => RiscvSatp.Rv64(RiscvSatpMode.Sv39, 0x1_0000, 0x1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => RiscvSatp.Rv64(RiscvSatpMode.Sv39, 0, 0x1234));
        Assert.Throws<ArgumentOutOfRangeException>(() => RiscvSatp.Rv64(RiscvSatpMode.Sv39, 0, 0x0100_0000_0000_0000));
        Assert.Throws<ArgumentOutOfRangeException>(() => RiscvSatp.Rv64(RiscvSatpMode.Sv32, 0, 0x1000));
    }

    [Fact]
    public void RegistersForATree()
    {
        MmuRegisters r = s_sv57.Registers(new PhysicalAddress(0x8000_0000), asid: 7);

        // 10<<60 | 7<<44 | 0x80000 = 0xA000_7000_0008_0000; PBMTE on, ADUE off (Svade), SUM and MXR clear.
        Assert.Equal(0xA000_7000_0008_0000UL, r.Satp);
        Assert.True(r.Pbmte);
        Assert.False(r.Adue);
        Assert.False(r.Sum);
        Assert.False(r.Mxr);
        Assert.False(s_sv32.Registers(new PhysicalAddress(0x8000_0000)).Pbmte);
    }

    [Fact]
    public void GeometryPerMode()
    {
        Assert.Equal((2, 4, 1024, 32, 34), (s_sv32.Levels, s_sv32.PteSize, s_sv32.EntriesPerTable, s_sv32.VirtualAddressBits, s_sv32.PhysicalAddressBits));
        Assert.Equal((3, 8, 512, 39, 56), (s_sv39.Levels, s_sv39.PteSize, s_sv39.EntriesPerTable, s_sv39.VirtualAddressBits, s_sv39.PhysicalAddressBits));
        Assert.Equal((4, 48), (s_sv48.Levels, s_sv48.VirtualAddressBits));
        Assert.Equal((5, 57), (s_sv57.Levels, s_sv57.VirtualAddressBits));

        // Leaf sizes: Sv32 4K/4M; Sv57 4K, 2M, 1G, 512G, 256T.
        Assert.Equal(4UL << 20, s_sv32.LevelSize(1));
        Assert.Equal([4UL << 10, 2UL << 20, 1UL << 30, 512UL << 30, 256UL << 40], Enumerable.Range(0, 5).Select(s_sv57.LevelSize));
        Assert.Equal(["riscv-sv32", "riscv-sv39", "riscv-sv48", "riscv-sv57"], RiscvPageTableFormat.Formats.Select(f => f.Name));
    }
}
