using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.X86;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>Descriptor values worked out by hand from arch/x86/include/asm/pgtable_types.h (SDM Vol. 3A ch. 4).</summary>
public sealed class X86EncodingTests
{
    private static ulong Leaf(X86PageTableFormat f, int levelNumber, ulong pa, ulong size, PageAttributes a)
    {
        int i = f.Geometry.IndexOfLevel(levelNumber);
        return f.EncodeLeaf(f.Geometry[i], new PhysicalAddress(pa), size, a);
    }

    [Fact]
    public void PageKernel4KOnX86_64()
    {
        // __PAGE_KERNEL = P(0x1)|RW(0x2)|A(0x20)|D(0x40)|G(0x100) = 0x163, NX = bit 63, PFN 0x1234 at bits 51:12.
        Assert.Equal(0x8000_0000_0123_4163UL, Leaf(X86PageTableFormat.X86_64, 1, 0x123_4000, 4096, PageAttributes.KernelData));
    }

    [Fact]
    public void UserPagesFollowPageSharedAndReadonlyExec()
    {
        // PAGE_SHARED = P|RW|US|A|NX = 0x27 | bit 63 (no D: hardware sets it on the first write).
        Assert.Equal(0x8000_0000_0040_0027UL, Leaf(X86PageTableFormat.X86_64, 1, 0x40_0000, 4096, PageAttributes.UserData));

        // PAGE_READONLY_EXEC = P|US|A = 0x25.
        Assert.Equal(0x0000_0000_0040_1025UL, Leaf(X86PageTableFormat.X86_64, 1, 0x40_1000, 4096, PageAttributes.UserText));
    }

    [Fact]
    public void ChangeLeafKeepsTheOldAccessedAndDirtyBitsAsPteModifyDoes()
    {
        X86PageTableFormat f = X86PageTableFormat.X86_64;
        PageTableLevel pte = f.Geometry[f.Geometry.IndexOfLevel(1)];
        PhysicalAddress frame = new(0x40_0000);

        // PAGE_SHARED with D set by a write and A cleared by aging (0x...0047 less A = 0x47): made read-only, it
        // keeps D and stays not-accessed: P|US|D|NX = 0x45 | bit 63
        Assert.Equal(0x8000_0000_0040_0045UL, f.ChangeLeaf(in pte, 0x8000_0000_0040_0047UL & ~0x20UL, frame, 4096, PageAttributes.UserData with { Permissions = PagePermissions.Read }));

        // a clean, accessed PAGE_SHARED entry made read-only: P|US|A|NX = 0x25 | bit 63 (no D appears)
        Assert.Equal(0x8000_0000_0040_0025UL, f.ChangeLeaf(in pte, 0x8000_0000_0040_0027UL, frame, 4096, PageAttributes.UserData with { Permissions = PagePermissions.Read }));
    }

    [Fact]
    public void KernelText2MHasPsAndNoNx()
    {
        // __PAGE_KERNEL_RX|_PAGE_PSE = P|A|D|PS|G = 0x1 + 0x20 + 0x40 + 0x80 + 0x100 = 0x1E1.
        Assert.Equal(0x0000_0000_0100_01E1UL, Leaf(X86PageTableFormat.X86_64, 2, 0x100_0000, 2 * ByteSize.MiB, PageAttributes.KernelText));
    }

    [Fact]
    public void OneGigabyteDirectMapBlock()
    {
        // __PAGE_KERNEL_LARGE for PA 0x40000000: 0x163 | PS 0x80 = 0x1E3, NX.
        Assert.Equal(0x8000_0000_4000_01E3UL, Leaf(X86PageTableFormat.X86_64, 3, 0x4000_0000, ByteSize.GiB, PageAttributes.KernelData));
    }

    [Fact]
    public void PatBitIsBit7For4KAndBit12ForLargePages()
    {
        PageAttributes wt = PageAttributes.KernelData with { Global = false, MemoryType = MemoryType.WriteThrough };

        // WT is PAT index 7 (PAT|PCD|PWT) in Linux's PAT MSR. 4K: P|RW|PWT(8)|PCD(0x10)|A|D|PAT(0x80) = 0xFB.
        Assert.Equal(0x8000_0000_0020_00FBUL, Leaf(X86PageTableFormat.X86_64, 1, 0x20_0000, 4096, wt));

        // 2M: P|RW|PWT|PCD|A|D|PS = 0xFB, PAT at bit 12 = 0x1000 -> 0x10FB.
        Assert.Equal(0x8000_0000_0020_10FBUL, Leaf(X86PageTableFormat.X86_64, 2, 0x20_0000, 2 * ByteSize.MiB, wt));
    }

    [Fact]
    public void DeviceMemoryIsUcMinus()
    {
        // ioremap's UC- is PAT index 2: PCD (0x10). 0x163 | 0x10 = 0x173 (non-global here: 0x073).
        PageAttributes device = new(PagePermissions.Read | PagePermissions.Write, User: false, Global: false, MemoryType.Device);
        Assert.Equal(0x8000_0000_FEE0_0073UL, Leaf(X86PageTableFormat.X86_64, 1, 0xFEE0_0000, 4096, device));
    }

    [Fact]
    public void X86_32HasNoNxAnd4MPagesUsePs()
    {
        // 2-level: P|RW|A|D|PS|G = 0x1E3 at PA 0x00C00000; 32-bit entries have no NX.
        Assert.Equal(0x00C0_01E3UL, Leaf(X86PageTableFormat.X86_32, 2, 0xC0_0000, 4 * ByteSize.MiB, PageAttributes.KernelData));
        Assert.Equal(0x0020_0025UL, Leaf(X86PageTableFormat.X86_32, 1, 0x20_0000, 4096, PageAttributes.UserText));
    }

    [Fact]
    public void TableDescriptorsFollowPageTableAndKernpgTable()
    {
        X86PageTableFormat f = X86PageTableFormat.X86_64;

        // _PAGE_TABLE = P|RW|US|A|D = 0x67; _KERNPG_TABLE = P|RW|A|D = 0x63.
        Assert.Equal(0x1000_1067UL, f.EncodeTable(f.Geometry[0], new PhysicalAddress(0x1000_1000), PageAttributes.UserData));
        Assert.Equal(0x1000_1063UL, f.EncodeTable(f.Geometry[0], new PhysicalAddress(0x1000_1000), PageAttributes.KernelData));

        // A user page under a kernel table widens it to _PAGE_TABLE.
        Assert.Equal(0x1000_1067UL, f.MergeTable(f.Geometry[1], 0x1000_1063UL, PageAttributes.UserData));
        Assert.Equal(0x1000_1063UL, f.MergeTable(f.Geometry[1], 0x1000_1063UL, PageAttributes.KernelData));

        // PAE PDPTE: P only (pud_populate), whatever the attributes.
        X86PageTableFormat pae = X86PageTableFormat.Pae;
        Assert.Equal(0x1000_1001UL, pae.EncodeTable(pae.Geometry[0], new PhysicalAddress(0x1000_1000), PageAttributes.UserData));
    }

    [Fact]
    public void SplittingMovesPatAndKeepsFlags()
    {
        X86PageTableFormat f = X86PageTableFormat.X86_64;
        MmuRegisters regs = f.CreateRegisters(new PhysicalAddress(0x1000_0000));

        // 2M WT kernel page 0x8000000000200_10FB -> the 4K page at +0x3000: PS cleared, PAT to bit 7: 0x...2030FB.
        ulong split = f.ConvertLeaf(f.Geometry[2], 0x8000_0000_0020_10FBUL, f.Geometry[3], new PhysicalAddress(0x20_3000), 4096, regs);
        Assert.Equal(0x8000_0000_0020_30FBUL, split);
    }

    [Fact]
    public void DecodeGivesTheLinuxMeaning()
    {
        X86PageTableFormat f = X86PageTableFormat.X86_64;
        MmuRegisters regs = f.CreateRegisters(new PhysicalAddress(0x1000_0000));
        DecodedEntry e = f.Decode(f.Geometry[3], 0x8000_0000_0123_4163UL, regs);
        Assert.Equal(DescriptorKind.Leaf, e.Kind);
        Assert.Equal(0x123_4000UL, e.Address.Value);
        Assert.Equal(4096UL, e.LeafSize);
        Assert.Equal(AccessRights.KernelRead | AccessRights.KernelWrite, e.Rights);
        Assert.True(e.Global);
        Assert.Equal(PageAttributes.KernelData, e.Attributes);

        DecodedEntry big = f.Decode(f.Geometry[1], 0x0000_0000_4000_01E1UL, regs);
        Assert.Equal(ByteSize.GiB, big.LeafSize);
        Assert.Equal(PageAttributes.KernelText, big.Attributes);
    }

    [Fact]
    public void DescribeNamesTheFields()
    {
        X86PageTableFormat f = X86PageTableFormat.X86_64;
        Assert.Equal("P=1 RW=1 US=0 PWT=0 PCD=0 A=1 D=1 PAT=0 G=1 NX=1 PFN=0x1234", DescriptorField.Join(f.Describe(1, 0x8000_0000_0123_4163UL)));
        Assert.Equal("P=1 RW=0 US=0 PWT=0 PCD=0 A=1 D=1 PS=1 G=1 PAT=0 NX=0 PFN=0x1000", DescriptorField.Join(f.Describe(2, 0x0000_0000_0100_01E1UL)));
        Assert.Equal("P=1 PWT=0 PCD=0 PFN=0x10001", DescriptorField.Join(X86PageTableFormat.Pae.Describe(3, 0x1000_1001UL)));
    }

    [Fact]
    public void RegistryKnowsTheX86Names()
    {
        Assert.Same(X86PageTableFormat.X86_64, PageTableFormat.Parse("x86-64"));
        Assert.Same(X86PageTableFormat.X86_64La57, PageTableFormat.Get(MmuFormat.X86_64La57));
        Assert.Equal(MmuFormat.X86Pae, PageTableFormat.Parse("X86-PAE").Id);
        Assert.False(PageTableFormat.TryParse("sparc", out _, out string error));
        Assert.StartsWith("unknown format 'sparc'", error);
    }

    [Fact]
    public void CreateRegistersUsesLinuxSettings()
    {
        MmuRegisters r = X86PageTableFormat.X86_64La57.CreateRegisters(new PhysicalAddress(0x1000_0000));
        Assert.Equal(0x1000_0000UL, r.Cr3);
        Assert.Equal(Cr4Flags.Pae | Cr4Flags.Pge | Cr4Flags.La57, r.Cr4);
        Assert.True(r.Nxe);
        Assert.True(r.WriteProtect);
        Assert.Equal(Cr4Flags.Pse | Cr4Flags.Pge, X86PageTableFormat.X86_32.CreateRegisters(new PhysicalAddress(0x1000)).Cr4);
        Assert.Throws<ArgumentOutOfRangeException>(() => X86PageTableFormat.Pae.CreateRegisters(new PhysicalAddress(0x1_0000_0000)));
    }
}
