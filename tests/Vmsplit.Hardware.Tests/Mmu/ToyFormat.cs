using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Hardware.Tests.Mmu;

/// <summary>
/// A two-level test double for the walker contract: 8-byte descriptors, level 1 indexed by VA[29:21]
/// (a leaf there maps 2 MiB), level 2 by VA[20:12]. Bits: 0 present, 1 writable, 2 user, 7 block,
/// 8 global, 63 no-execute, 51:12 address. The root comes from the register the claimed family uses
/// (CR3, TTBR0, satp) so that the MMU's ASID decoding is exercised unchanged.
/// </summary>
internal sealed class ToyFormat(MmuFormat id) : PageTableFormat
{
    public const ulong Present = 1;
    public const ulong Writable = 2;
    public const ulong UserBit = 4;
    public const ulong Block = 1 << 7;
    public const ulong GlobalBit = 1 << 8;
    public const ulong NoExecute = 1UL << 63;
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000;

    public override MmuFormat Id => id;

    public override string Name => "toy";

    public override int VirtualAddressBits => 30;

    public override int PhysicalAddressBits => 52;

    public ulong Root(in MmuRegisters r) => id switch
    {
        MmuFormat.ArmShort or MmuFormat.ArmLpae or MmuFormat.AArch64Va39 or MmuFormat.AArch64Va48 => r.Ttbr0 & 0x0000_FFFF_FFFF_F000,
        MmuFormat.RiscvSv32 or MmuFormat.RiscvSv39 or MmuFormat.RiscvSv48 or MmuFormat.RiscvSv57 => (r.Satp & 0x0000_0FFF_FFFF_FFFF) << 12,
        _ => r.Cr3 & AddressMask,
    };

    public static AccessRights RightsOf(ulong d)
    {
        AccessRights r = AccessRights.KernelRead;
        if ((d & Writable) != 0)
        {
            r |= AccessRights.KernelWrite;
        }

        if ((d & NoExecute) == 0)
        {
            r |= AccessRights.KernelExecute;
        }

        if ((d & UserBit) != 0)
        {
            r |= (AccessRights)((int)r << 3);
        }

        return r;
    }

    private static readonly PageTableGeometry s_geometry = new(
        new PageTableLevel(2, "L1", 21, 9, 8, [2UL << 20], allowsTable: true),
        new PageTableLevel(1, "L2", 12, 9, 8, [4096], allowsTable: false));

    public override PageTableGeometry Geometry => s_geometry;

    public override string RootRegisterName => "root";

    public override MmuRegisters CreateRegisters(PhysicalAddress root) => new() { Cr3 = root.Value, Ttbr0 = root.Value, Satp = root.Value >> 12 };

    public override WalkRoot SelectRoot(in MmuRegisters registers, VirtualAddress va) =>
        new(new PhysicalAddress(Root(in registers)), s_geometry, "root", Root(in registers), va.Value >= 1UL << 30 ? FaultKind.NonCanonical : FaultKind.None);

    public override DecodedEntry Decode(in PageTableLevel level, ulong descriptor, in MmuRegisters registers)
    {
        if ((descriptor & Present) == 0)
        {
            return DecodedEntry.Invalid;
        }

        if (level.Number == 2 && (descriptor & Block) == 0)
        {
            return DecodedEntry.Table(new PhysicalAddress(descriptor & AddressMask));
        }

        ulong size = level.Number == 2 ? 2UL << 20 : 4096;
        return DecodedEntry.Leaf(new PhysicalAddress(descriptor & AddressMask & ~(size - 1)), size, RightsOf(descriptor), (descriptor & UserBit) != 0,
            (descriptor & GlobalBit) != 0, MemoryType.Normal);
    }

    public override ulong EncodeTable(in PageTableLevel level, PhysicalAddress table, PageAttributes attributes) =>
        table.Value | Present | Writable | UserBit;

    public override ulong EncodeLeaf(in PageTableLevel level, PhysicalAddress frame, ulong size, PageAttributes attributes) =>
        frame.Value | Present | (level.Number == 2 ? Block : 0) | (attributes.Write ? Writable : 0) | (attributes.User ? UserBit : 0)
        | (attributes.Global ? GlobalBit : 0) | (attributes.Execute ? 0 : NoExecute);

    public override IReadOnlyList<DescriptorField> Describe(int level, ulong descriptor) => [new DescriptorField("raw", descriptor)];

    public override FaultKind CheckAccess(AccessRights rights, bool user, byte domain, AccessType access, Privilege privilege, in MmuRegisters registers) =>
        rights.Allows(privilege, access) ? FaultKind.None : FaultKind.Permission;
}

/// <summary>Builds toy trees in physical memory and tells an observer about every descriptor write, as the real editor does.</summary>
internal sealed class ToyTables(PhysicalMemory memory, IPageTableObserver? observer = null)
{
    private ulong _next = 0x0100_0000;

    public PhysicalMemory Memory => memory;

    public ulong NewTable()
    {
        ulong t = _next;
        _next += 4096;
        return t;
    }

    public void Map(ulong root, ulong va, ulong pa, ulong flags)
    {
        ulong l1Address = root + (((va >> 21) & 511) * 8);
        ulong l1 = memory.ReadUInt64(new PhysicalAddress(l1Address));
        if ((l1 & ToyFormat.Present) == 0)
        {
            l1 = NewTable() | ToyFormat.Present | ToyFormat.Writable | ToyFormat.UserBit;
            Write(root, va & ~((2UL << 20) - 1), 2UL << 20, l1Address, l1);
        }

        Write(root, va & ~0xFFFUL, 4096, (l1 & ToyFormat.AddressMask) + (((va >> 12) & 511) * 8), pa | flags | ToyFormat.Present);
    }

    /// <summary>Points the level-1 entry covering <paramref name="va"/> in <paramref name="root"/> at the same table as in <paramref name="from"/> (shared lower levels, as KPTI's user half).</summary>
    public void Share(ulong from, ulong root, ulong va)
    {
        ulong offset = ((va >> 21) & 511) * 8;
        Write(root, va & ~((2UL << 20) - 1), 2UL << 20, root + offset, memory.ReadUInt64(new PhysicalAddress(from + offset)));
    }

    public void Unmap(ulong root, ulong va)
    {
        ulong l1 = memory.ReadUInt64(new PhysicalAddress(root + (((va >> 21) & 511) * 8)));
        Write(root, va & ~0xFFFUL, 4096, (l1 & ToyFormat.AddressMask) + (((va >> 12) & 511) * 8), 0);
    }

    private void Write(ulong root, ulong va, ulong size, ulong entry, ulong value)
    {
        ulong old = memory.ReadUInt64(new PhysicalAddress(entry));
        memory.WriteUInt64(new PhysicalAddress(entry), value);
        observer?.DescriptorWritten(new PageTableWrite(new PhysicalAddress(root), new VirtualAddress(va), size, new PhysicalAddress(entry), old, value));
    }
}
