using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Riscv;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>
/// The walker on hand-built tables: every PTE below is written as a literal worked out from the spec's layout, and
/// every expected result follows the "Virtual Address Translation Process" steps by hand.
/// </summary>
public sealed class RiscvWalkTests
{
    private const ulong Root = 0x8000_0000;
    private const ulong L1 = 0x8000_1000;
    private const ulong L0 = 0x8000_2000;

    private readonly PhysicalMemory _memory = new();

    private static RiscvPageTableFormat Sv32 => RiscvPageTableFormat.Sv32;

    private static RiscvPageTableFormat Sv39 => RiscvPageTableFormat.Sv39;

    private static RiscvPageTableFormat Sv48 => RiscvPageTableFormat.Sv48;

    private static RiscvPageTableFormat Sv57 => RiscvPageTableFormat.Sv57;

    private void Put(RiscvPageTableFormat format, ulong table, int index, ulong pte)
    {
        if (format.IsRv32)
        {
            _memory.WriteUInt32(new PhysicalAddress(table + ((ulong)index * 4)), (uint)pte);
        }
        else
        {
            _memory.WriteUInt64(new PhysicalAddress(table + ((ulong)index * 8)), pte);
        }
    }

    private ulong Get(RiscvPageTableFormat format, ulong table, int index) =>
        format.IsRv32 ? _memory.ReadUInt32(new PhysicalAddress(table + ((ulong)index * 4))) : _memory.ReadUInt64(new PhysicalAddress(table + ((ulong)index * 8)));

    private static MmuRegisters Regs(RiscvPageTableFormat format, bool sum = false, bool mxr = false, bool adue = false, bool pbmte = true)
    {
        MmuRegisters r = format.Registers(new PhysicalAddress(Root), asid: 1);
        r.Sum = sum;
        r.Mxr = mxr;
        r.Adue = adue;
        r.Pbmte = pbmte;
        return r;
    }

    private WalkResult Walk(RiscvPageTableFormat format, ulong va, AccessType access = AccessType.Read, Privilege privilege = Privilege.Kernel, MmuRegisters? regs = null, WalkTrace? trace = null) =>
        format.Walk(_memory, regs ?? Regs(format), new VirtualAddress(va), access, privilege, trace);

    [Fact]
    public void Sv39KernelMegapageWithExactSteps()
    {
        // VA 0xFFFFFFFF80201234 (Linux's kernel mapping area): low 39 bits 0x7F_8020_1234.
        // VPN[2] = 0x7F80201234 >> 30 = 0x1FE; VPN[1] = (>> 21) & 0x1FF = 0x3FC01 & 0x1FF = 0x001.
        // root[0x1FE] → L1 (PPN 0x80001 << 10 | V = 0x20000401); L1[1] = PAGE_KERNEL_EXEC leaf for 0x80200000 = 0x200800EF.
        Put(Sv39, Root, 0x1FE, 0x2000_0401);
        Put(Sv39, L1, 1, 0x2008_00EF);

        WalkTrace trace = new();
        WalkResult r = Walk(Sv39, 0xFFFF_FFFF_8020_1234, AccessType.Execute, trace: trace);

        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(1, r.Level);
        Assert.Equal(2UL << 20, r.PageSize);
        Assert.Equal(new VirtualAddress(0xFFFF_FFFF_8020_0000), r.PageBase);
        Assert.Equal(new PhysicalAddress(0x8020_0000), r.FrameBase);
        Assert.Equal(new PhysicalAddress(0x8020_1234), r.Translate(new VirtualAddress(0xFFFF_FFFF_8020_1234)));
        Assert.True(r.Global);
        Assert.False(r.User);
        Assert.Equal(2, r.Reads);
        Assert.Equal(0x2008_00EFUL, r.Descriptor);
        Assert.Equal(AccessRights.KernelRead | AccessRights.KernelWrite | AccessRights.KernelExecute, r.Rights);
        Assert.Equal("satp", trace.Root);
        Assert.Equal(
            [
                new WalkStep(2, new PhysicalAddress(Root), 0x1FE, 0x2000_0401, "table"),
                new WalkStep(1, new PhysicalAddress(L1), 1, 0x2008_00EF, "leaf"),
            ],
            trace.Steps);
    }

    [Fact]
    public void Sv39UserPageThroughThreeLevels()
    {
        // VA 0x0000_0000_1020_3456: VPN[2] = 0, VPN[1] = 0x10203456 >> 21 = 0x81, VPN[0] = (>> 12) & 0x1FF = 0x10203 & 0x1FF = 0x003.
        // Leaf: user RW page at 0x9000_7000 → PPN 0x90007 << 10 = 0x24001C00, | V|R|W|U|A|D (0xD7) = 0x24001CD7.
        Put(Sv39, Root, 0, 0x2000_0401);
        Put(Sv39, L1, 0x81, 0x2000_0801); // → L0 (PPN 0x80002 << 10 = 0x20000800)
        Put(Sv39, L0, 3, 0x2400_1CD7);

        WalkTrace trace = new();
        WalkResult r = Walk(Sv39, 0x1020_3456, AccessType.Write, Privilege.User, trace: trace);

        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(0, r.Level);
        Assert.Equal(4096UL, r.PageSize);
        Assert.Equal(new PhysicalAddress(0x9000_7456), r.Translate(new VirtualAddress(0x1020_3456)));
        Assert.True(r.User);
        Assert.False(r.Global);
        Assert.Equal(3, r.Reads);
        Assert.Equal([0, 0x81, 3], trace.Steps.Select(s => s.Index));
        Assert.Equal([2, 1, 0], trace.Steps.Select(s => s.Level));
        Assert.Equal([Root, L1, L0], trace.Steps.Select(s => s.TableAddress.Value));
    }

    [Fact]
    public void Sv32PageAndMegapageReachThirtyFourBitPhysicalAddresses()
    {
        // VA 0xC0401ABC: VPN[1] = 0xC0401ABC >> 22 = 0x301, VPN[0] = (>> 12) & 0x3FF = 0xC0401 & 0x3FF = 0x001.
        // root[0x301] at Root + 0x301·4 → L0 (0x20000801); L0[1] = kernel RW page at 0x3_0000_5000:
        // PPN 0x300005 << 10 = 0xC0001400, | 0xE7 = 0xC00014E7 (all 32 bits are PTE: Sv32 has no high fields).
        Put(Sv32, Root, 0x301, 0x2000_0801);
        Put(Sv32, L0, 1, 0xC000_14E7);

        // VA 0xC0000000 → VPN[1] = 0x300: a 4 MiB megapage at 0x2_0000_0000: PPN 0x200000 << 10 = 0x80000000 | 0xEB.
        Put(Sv32, Root, 0x300, 0x8000_00EB);

        WalkTrace trace = new();
        WalkResult page = Walk(Sv32, 0xC040_1ABC, AccessType.Write, trace: trace);
        Assert.Equal(FaultKind.None, page.Fault);
        Assert.Equal(new PhysicalAddress(0x3_0000_5ABC), page.Translate(new VirtualAddress(0xC040_1ABC)));
        Assert.Equal(0, page.Level);
        Assert.Equal([Root + (0x301 * 4), L0 + 4], trace.Steps.Select(s => s.TableAddress.Value + ((ulong)s.Index * 4)));

        WalkResult mega = Walk(Sv32, 0xC012_3456, AccessType.Execute);
        Assert.Equal(FaultKind.None, mega.Fault);
        Assert.Equal(1, mega.Level);
        Assert.Equal(4UL << 20, mega.PageSize);
        Assert.Equal(new PhysicalAddress(0x2_0012_3456), mega.Translate(new VirtualAddress(0xC012_3456)));
        Assert.Equal(1, mega.Reads);
    }

    [Fact]
    public void Sv48TerapageAndSv57Petapage()
    {
        // Sv48: VA 0x80_1234_5678 → VPN[3] = bits 47:39 = 1. Leaf at level 3 for PA 0x100_0000_0000 (1 TiB, 512 GiB aligned):
        // PPN 2^28 = 0x1000_0000, << 10 = 0x40_0000_0000, | 0xE7.
        Put(Sv48, Root, 1, 0x40_0000_00E7);
        WalkResult tera = Walk(Sv48, 0x80_1234_5678);
        Assert.Equal(FaultKind.None, tera.Fault);
        Assert.Equal((3, 512UL << 30), (tera.Level, tera.PageSize));
        Assert.Equal(new PhysicalAddress(0x100_1234_5678), tera.Translate(new VirtualAddress(0x80_1234_5678)));

        // Sv57: VA 0x0001_0000_0000_1000 → VPN[4] = bits 56:48 = 1. Leaf at level 4 for PA 2^55 (256 TiB aligned):
        // PPN 2^43, << 10 = 2^53 = 0x0020_0000_0000_0000, | 0xE7. The PA is beyond the simulated bus, which is fine for a leaf.
        Put(Sv57, Root, 1, 0x0020_0000_0000_00E7);
        WalkResult peta = Walk(Sv57, 0x0001_0000_0000_1000);
        Assert.Equal(FaultKind.None, peta.Fault);
        Assert.Equal((4, 256UL << 40), (peta.Level, peta.PageSize));
        Assert.Equal(new PhysicalAddress(0x0080_0000_0000_1000), peta.Translate(new VirtualAddress(0x0001_0000_0000_1000)));
    }

    [Fact]
    public void Sv39GigapageInTheUpperHalf()
    {
        // VA 0xFFFFFFC0_4000_0000: low 39 bits 0x40_4000_0000 → VPN[2] = 0x101. Leaf 1 GiB at 0x8000_0000 + 1 GiB
        // = 0xC000_0000: PPN 0xC0000 << 10 = 0x30000000, | 0xE7.
        Put(Sv39, Root, 0x101, 0x3000_00E7);
        WalkResult r = Walk(Sv39, 0xFFFF_FFC0_4ABC_DEF0);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal((2, 1UL << 30), (r.Level, r.PageSize));
        Assert.Equal(new VirtualAddress(0xFFFF_FFC0_4000_0000), r.PageBase);
        Assert.Equal(new PhysicalAddress(0xCABC_DEF0), r.Translate(new VirtualAddress(0xFFFF_FFC0_4ABC_DEF0)));
    }

    [Theory]
    [InlineData(0x0000_0040_0000_0000UL, false)] // bit 38 set, 63:39 clear
    [InlineData(0xFFFF_FFBF_FFFF_F000UL, false)] // bit 38 clear, 63:39 set
    [InlineData(0x8000_0000_0000_0000UL, false)]
    [InlineData(0x0000_003F_FFFF_F000UL, true)]
    [InlineData(0xFFFF_FFC0_0000_0000UL, true)]
    public void Sv39CanonicalRule(ulong va, bool canonical)
    {
        Assert.Equal(canonical, Sv39.IsCanonical(va));
        WalkResult r = Walk(Sv39, va);
        Assert.Equal(canonical ? FaultKind.Translation : FaultKind.NonCanonical, r.Fault);
        Assert.Equal(canonical ? 1 : 0, r.Reads); // a non-canonical address reads nothing
    }

    [Theory]
    [InlineData("riscv-sv48", 0x0000_8000_0000_0000UL, false)]
    [InlineData("riscv-sv48", 0xFFFF_7FFF_FFFF_F000UL, false)]
    [InlineData("riscv-sv48", 0xFFFF_8000_0000_0000UL, true)]
    [InlineData("riscv-sv48", 0x0000_7FFF_FFFF_F000UL, true)]
    [InlineData("riscv-sv57", 0x0100_0000_0000_0000UL, false)]
    [InlineData("riscv-sv57", 0xFEFF_FFFF_FFFF_F000UL, false)]
    [InlineData("riscv-sv57", 0xFF00_0000_0000_0000UL, true)]
    [InlineData("riscv-sv57", 0x00FF_FFFF_FFFF_F000UL, true)]
    [InlineData("riscv-sv32", 0x1_0000_0000UL, false)]
    [InlineData("riscv-sv32", 0xFFFF_F000UL, true)]
    public void CanonicalRulePerMode(string name, ulong va, bool canonical)
    {
        RiscvPageTableFormat format = RiscvPageTableFormat.Formats.Single(f => f.Name == name);
        Assert.Equal(canonical, format.IsCanonical(va));
        Assert.Equal(canonical ? FaultKind.Translation : FaultKind.NonCanonical, Walk(format, va).Fault);
    }

    [Fact]
    public void InvalidEntriesAndPointersAtLevelZeroAreTranslationFaults()
    {
        // V=0 with other bits set: the others are don't-cares, so this is not a reserved-bit fault.
        Put(Sv39, Root, 0, 0xFFFF_FFFF_FFFF_FFFE);
        WalkResult invalid = Walk(Sv39, 0x1000);
        Assert.Equal((FaultKind.Translation, 2, 1), (invalid.Fault, invalid.Level, invalid.Reads));
        Assert.Equal(0xFFFF_FFFF_FFFF_FFFEUL, invalid.Descriptor);

        // A pointer at level 0 (XWR=000): step 4 with i<0 → page fault.
        Put(Sv39, Root, 0, 0x2000_0401);
        Put(Sv39, L1, 0, 0x2000_0801);
        Put(Sv39, L0, 1, 0x2000_0C01);
        WalkResult pointer = Walk(Sv39, 0x1000);
        Assert.Equal((FaultKind.Translation, 0, 3), (pointer.Fault, pointer.Level, pointer.Reads));
    }

    [Theory]
    [InlineData(0b010UL)] // W only
    [InlineData(0b110UL)] // W and X without R
    public void WriteWithoutReadIsReserved(ulong xwr)
    {
        Put(Sv39, Root, 0, 0x2000_00C1 | (xwr << 1));
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv39, 0x1000).Fault);
        Put(Sv32, Root, 0, 0x2000_00C1 | (xwr << 1));
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv32, 0x1000).Fault);
    }

    [Theory]
    [InlineData(54)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(57)]
    [InlineData(58)]
    [InlineData(59)]
    [InlineData(60)]
    public void ReservedHighBitsFaultOnLeavesAndPointers(int bit)
    {
        // A 1 GiB leaf (0x200000E7 → PA 0x80000000) and a pointer, each with one reserved bit.
        Put(Sv39, Root, 0, 0x2000_00E7 | (1UL << bit));
        WalkResult leaf = Walk(Sv39, 0x1000);
        Assert.Equal((FaultKind.ReservedBit, 2), (leaf.Fault, leaf.Level));

        Put(Sv48, Root, 0, 0x2000_0401 | (1UL << bit));
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv48, 0x1000).Fault);
    }

    [Fact]
    public void PbmtRules()
    {
        // PBMT=IO on a 1 GiB leaf: fine with menvcfg.PBMTE, reserved without.
        Put(Sv39, Root, 0, 0x4000_0000_2000_00E7);
        WalkResult io = Walk(Sv39, 0x1000);
        Assert.Equal(FaultKind.None, io.Fault);
        Assert.Equal(MemoryType.Device, io.MemoryType);
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv39, 0x1000, regs: Regs(Sv39, pbmte: false)).Fault);

        // PBMT=NC decodes as non-cacheable.
        Put(Sv39, Root, 0, 0x2000_0000_2000_00E7);
        Assert.Equal(MemoryType.NonCacheable, Walk(Sv39, 0x1000).MemoryType);

        // PBMT=3 is reserved on a leaf.
        Put(Sv39, Root, 0, 0x6000_0000_2000_00E7);
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv39, 0x1000).Fault);

        // Any PBMT on a pointer is reserved.
        Put(Sv39, Root, 0, 0x2000_0000_2000_0401);
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv39, 0x1000).Fault);
    }

    [Fact]
    public void NonLeafDAUAreReserved()
    {
        foreach (ulong bit in new[] { RiscvPte.D, RiscvPte.A, RiscvPte.U })
        {
            Put(Sv39, Root, 0, 0x2000_0401 | bit);
            WalkResult r = Walk(Sv39, 0x1000);
            Assert.Equal((FaultKind.ReservedBit, 2), (r.Fault, r.Level));

            Put(Sv32, Root, 0, 0x2000_0401 | bit);
            Assert.Equal(FaultKind.ReservedBit, Walk(Sv32, 0x1000).Fault);
        }
    }

    [Fact]
    public void NapotSixtyFourKiB()
    {
        // root[0] → L1, L1[0] → L0; L0[0x12] = N | PPN 0x90018 (ppn[0][3:0] = 1000) | 0xE7:
        // 0x90018 << 10 = 0x2400_6000 → PTE 0x8000_0000_2400_60E7. VA 0x12345 (VPN[0] = 0x12) lies in the 64 KiB run
        // 0x10000–0x1FFFF; PPN[0][3:0] is replaced by VPN[0][3:0] = 2 → PA 0x90012345.
        Put(Sv39, Root, 0, 0x2000_0401);
        Put(Sv39, L1, 0, 0x2000_0801);
        Put(Sv39, L0, 0x12, 0x8000_0000_2400_60E7);
        WalkTrace trace = new();
        WalkResult r = Walk(Sv39, 0x1_2345, trace: trace);
        Assert.Equal(FaultKind.None, r.Fault);
        Assert.Equal(64UL << 10, r.PageSize);
        Assert.Equal(new VirtualAddress(0x1_0000), r.PageBase);
        Assert.Equal(new PhysicalAddress(0x9001_0000), r.FrameBase);
        Assert.Equal(new PhysicalAddress(0x9001_2345), r.Translate(new VirtualAddress(0x1_2345)));
        Assert.Equal("leaf", trace.Steps[^1].Kind);

        // ppn[0][3:0] = 0000 with N: reserved.
        Put(Sv39, L0, 0x12, 0x8000_0000_2400_40E7);
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv39, 0x1_2345).Fault);

        // N on a 2 MiB leaf (level 1): reserved, even with the 1000 pattern.
        Put(Sv39, L1, 0, 0x8000_0000_2400_60E7);
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv39, 0x1_2345).Fault);

        // N on a pointer: reserved.
        Put(Sv39, L1, 0, 0x8000_0000_2000_0801);
        Assert.Equal(FaultKind.ReservedBit, Walk(Sv39, 0x1_2345).Fault);
    }

    [Theory]
    [InlineData("riscv-sv32", 1, 0x0000_1000UL)] // 4 MiB megapage at PA 4K: PPN[0] = 1
    [InlineData("riscv-sv39", 1, 0x8000_1000UL)] // 2 MiB at +4K: PPN[0] = 1
    [InlineData("riscv-sv39", 2, 0x8000_1000UL)] // 1 GiB at +4K: PPN[0] = 1
    [InlineData("riscv-sv39", 2, 0x8020_0000UL)] // 1 GiB at +2M: PPN[1] = 1, PPN[0] = 0
    [InlineData("riscv-sv48", 3, 0x80_4000_0000UL)] // 512 GiB at +1G: PPN[2] = 1
    [InlineData("riscv-sv57", 4, 0x1000_0000_0000UL)] // 256 TiB at 16 TiB: PPN = 2^32, so PPN[3] = 0x20
    public void MisalignedSuperpageAtEachLevel(string name, int level, ulong pa)
    {
        RiscvPageTableFormat format = RiscvPageTableFormat.Formats.Single(f => f.Name == name);

        // Chain pointers down to `level` through pages at Root + k·4K, then put a kernel RW leaf for `pa` there; VA 0.
        ulong table = Root;
        for (int i = format.Levels - 1; i > level; i--)
        {
            Put(format, table, 0, format.EncodeTable(new PhysicalAddress(table + 0x1000)));
            table += 0x1000;
        }

        Put(format, table, 0, RiscvPte.Leaf(pa, RiscvPte.LinuxPageKernel & 0xFF));
        WalkResult r = Walk(format, 0x123);
        Assert.Equal((FaultKind.MisalignedSuperpage, level), (r.Fault, r.Level));

        // The same leaf aligned down to its size translates.
        ulong aligned = pa & ~(format.LevelSize(level) - 1);
        Put(format, table, 0, RiscvPte.Leaf(aligned, RiscvPte.LinuxPageKernel & 0xFF));
        WalkResult ok = Walk(format, 0x123);
        Assert.Equal(FaultKind.None, ok.Fault);
        Assert.Equal(new PhysicalAddress(aligned + 0x123), ok.Translate(new VirtualAddress(0x123)));
    }

    [Fact]
    public void EveryLowPpnFieldOfEverySuperpageMustBeZero()
    {
        // For each mode and each superpage level i, set each lower PPN field j < i to 1 in turn (PA offset
        // 1 << (12 + j·bits)): every one is a misaligned superpage at level i; with all zero the leaf translates.
        foreach (RiscvPageTableFormat format in RiscvPageTableFormat.Formats)
        {
            for (int level = 1; level < format.Levels; level++)
            {
                ulong table = Root;
                for (int i = format.Levels - 1; i > level; i--)
                {
                    Put(format, table, 0, format.EncodeTable(new PhysicalAddress(table + 0x1000)));
                    table += 0x1000;
                }

                ulong aligned = format.LevelSize(level); // PPN[level] = 1, every lower field 0
                for (int j = 0; j < level; j++)
                {
                    Put(format, table, 0, RiscvPte.Leaf(aligned + format.LevelSize(j), 0xC7));
                    WalkResult bad = Walk(format, 0x40);
                    Assert.True(
                        (FaultKind.MisalignedSuperpage, level) == (bad.Fault, bad.Level),
                        $"{format.Name} level {level} PPN[{j}]=1: {bad.Fault} at {bad.Level}");
                }

                Put(format, table, 0, RiscvPte.Leaf(aligned, 0xC7));
                Assert.Equal(new PhysicalAddress(aligned + 0x40), Walk(format, 0x40).Translate(new VirtualAddress(0x40)));
                _memory.Clear(new PhysicalAddress(Root), 0x10000);
            }
        }
    }

    [Fact]
    public void PermissionIsCheckedBeforeAlignment()
    {
        // Step 5 precedes step 6: a misaligned U superpage read by S-mode without SUM is a permission fault.
        Put(Sv39, Root, 0, 0x2000_04D3); // PPN 0x80001 (misaligned for 1 GiB), V|R|U|A|D
        Assert.Equal(FaultKind.Permission, Walk(Sv39, 0x1000).Fault);
        Assert.Equal(FaultKind.MisalignedSuperpage, Walk(Sv39, 0x1000, regs: Regs(Sv39, sum: true)).Fault);
    }

    [Fact]
    public void SvadeFaultsOnClearAccessedOrDirty()
    {
        // 1 GiB leaf at 0x80000000 with V|R|W (0x07): no A, no D.
        Put(Sv39, Root, 0, 0x2000_0007);
        Assert.Equal(FaultKind.AccessFlag, Walk(Sv39, 0x1000).Fault);

        // A set, D clear: loads pass, stores fault.
        Put(Sv39, Root, 0, 0x2000_0047);
        Assert.Equal(FaultKind.None, Walk(Sv39, 0x1000).Fault);
        Assert.Equal(FaultKind.AccessFlag, Walk(Sv39, 0x1000, AccessType.Write).Fault);
        Assert.Equal(0x2000_0047UL, Get(Sv39, Root, 0)); // Svade never writes the PTE
    }

    [Fact]
    public void SvaduSetsAccessedAndDirtyInMemory()
    {
        MmuRegisters svadu = Regs(Sv39, adue: true);
        Put(Sv39, Root, 0, 0x2000_0007);

        WalkResult read = Walk(Sv39, 0x1000, regs: svadu);
        Assert.Equal(FaultKind.None, read.Fault);
        Assert.Equal(0x2000_0047UL, Get(Sv39, Root, 0)); // A set, D still clear
        Assert.Equal(0x2000_0047UL, read.Descriptor);

        Assert.Equal(FaultKind.None, Walk(Sv39, 0x1000, AccessType.Write, regs: svadu).Fault);
        Assert.Equal(0x2000_00C7UL, Get(Sv39, Root, 0)); // A and D

        // No update when the access is not permitted (step 5 stops first): X-only page, store.
        Put(Sv39, Root, 0, 0x2000_0009);
        Assert.Equal(FaultKind.Permission, Walk(Sv39, 0x1000, AccessType.Write, regs: svadu).Fault);
        Assert.Equal(0x2000_0009UL, Get(Sv39, Root, 0));

        // Sv32 updates the 32-bit PTE.
        Put(Sv32, Root, 0, 0x2000_0007);
        Assert.Equal(FaultKind.None, Walk(Sv32, 0x1000, AccessType.Write, regs: Regs(Sv32, adue: true)).Fault);
        Assert.Equal(0x2000_00C7UL, Get(Sv32, Root, 0));
    }

    [Fact]
    public void GlobalOnAPointerMakesTheLeafGlobal()
    {
        // root[0] = pointer with G (0x20000421), L1[0] = 2 MiB leaf without G (PPN 0x80200 → 0x200800C7).
        Put(Sv39, Root, 0, 0x2000_0421);
        Put(Sv39, L1, 0, 0x2008_00C7);
        Assert.True(Walk(Sv39, 0x1000).Global);

        Put(Sv39, Root, 0, 0x2000_0401);
        Assert.False(Walk(Sv39, 0x1000).Global);
    }

    [Fact]
    public void PageTableOutsideTheBusIsAnAccessFault()
    {
        // A pointer to PPN 2^40 (PA 2^52) leaves the modelled bus.
        Put(Sv39, Root, 0, ((1UL << 40) << 10) | RiscvPte.V);
        WalkResult r = Walk(Sv39, 0x1000);
        Assert.Equal((FaultKind.AddressSize, 1, 1), (r.Fault, r.Level, r.Reads));
    }

    [Fact]
    public void SatpModeMustMatchTheFormat()
    {
        MmuRegisters sv48 = Sv48.Registers(new PhysicalAddress(Root));
        Assert.Throws<InvalidOperationException>(() => Walk(Sv39, 0x1000, regs: sv48));
        Assert.Throws<InvalidOperationException>(() => Walk(Sv32, 0x1000, regs: default(MmuRegisters)));
    }
}
