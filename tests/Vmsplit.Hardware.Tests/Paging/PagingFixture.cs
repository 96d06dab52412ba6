using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Hardware.Tests.Paging;

/// <summary>
/// A physical memory, a 16 MiB RAM bank for page tables at 0x10000000 (the buddy allocator hands out
/// its lowest frames first, so table addresses are predictable) and one tree of the given format.
/// </summary>
internal sealed class PagingFixture
{
    public const ulong TableBank = 0x1000_0000;

    public PagingFixture(PageTableFormat format, ulong bankBase = TableBank)
    {
        Format = format;
        Allocator = new FrameAllocator(new RamBank(new PhysicalAddress(bankBase), 16 * ByteSize.MiB));
        Table = PageTable.Create(format, Memory, Allocator);
        Registers = Table.Registers;
    }

    public PageTableFormat Format { get; }

    public PhysicalMemory Memory { get; } = new();

    public FrameAllocator Allocator { get; }

    public PageTable Table { get; }

    public MmuRegisters Registers;

    public void Map(ulong va, ulong pa, ulong size, PageAttributes attributes, ulong maxPageSize = 0)
    {
        PageTableResult r = Table.Map(new VirtualAddress(va), new PhysicalAddress(pa), size, attributes, maxPageSize);
        Assert.True(r.Succeeded, r.Message);
    }

    public WalkResult Walk(ulong va, AccessType access = AccessType.Read, Privilege privilege = Privilege.Kernel, WalkTrace? trace = null) =>
        Format.Walk(Memory, Registers, new VirtualAddress(va), access, privilege, trace);

    public ulong Read64(ulong pa) => Memory.ReadUInt64(new PhysicalAddress(pa));

    public void Write64(ulong pa, ulong value) => Memory.WriteUInt64(new PhysicalAddress(pa), value);
}
