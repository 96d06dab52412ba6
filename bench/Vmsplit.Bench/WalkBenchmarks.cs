using BenchmarkDotNet.Attributes;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Bench;

/// <summary>
/// Software walks per second: 256 user pages of 4 KiB, each under its own last-level table entry and
/// spread over many tables, walked round-robin with a user read (a full-depth walk every time).
/// Add a format with one value in <see cref="Format"/>'s <c>[Params]</c>.
/// </summary>
[MemoryDiagnoser]
public class WalkBenchmarks
{
    private const int Pages = 256;
    private const ulong Base = 0x4000_0000;
    private const ulong Stride = 0x20_1000; // next PD/PMD entry and next PT entry

    private readonly VirtualAddress[] _addresses = new VirtualAddress[Pages];
    private PhysicalMemory _memory = null!;
    private PageTableFormat _format = null!;
    private MmuRegisters _registers;

    [Params(
        MmuFormat.ArmShort, MmuFormat.ArmLpae, MmuFormat.AArch64Va39, MmuFormat.AArch64Va48,
        MmuFormat.X86_32, MmuFormat.X86Pae, MmuFormat.X86_64, MmuFormat.X86_64La57,
        MmuFormat.RiscvSv32, MmuFormat.RiscvSv39, MmuFormat.RiscvSv48, MmuFormat.RiscvSv57)]
    public MmuFormat Format { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _format = PageTableFormat.Get(Format);
        _memory = new PhysicalMemory();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 64 * ByteSize.MiB));
        PageTable table = PageTable.Create(_format, _memory, allocator);
        ulong granule = _format.Geometry.SmallestPage;
        for (int i = 0; i < Pages; i++)
        {
            ulong va = Base + ((ulong)i * Stride);
            va &= ~(granule - 1);
            PageTableResult r = table.Map(new VirtualAddress(va), new PhysicalAddress(0x8000_0000 + ((ulong)i * granule)), granule, PageAttributes.UserData);
            if (!r.Succeeded)
            {
                throw new InvalidOperationException(r.Message);
            }

            _addresses[i] = new VirtualAddress(va + 0x123);
        }

        _registers = table.Registers;
    }

    [Benchmark(OperationsPerInvoke = Pages)]
    public ulong Walk()
    {
        ulong sum = 0;
        PageTableFormat format = _format;
        PhysicalMemory memory = _memory;
        VirtualAddress[] addresses = _addresses;
        for (int i = 0; i < addresses.Length; i++)
        {
            WalkResult r = format.Walk(memory, _registers, addresses[i], AccessType.Read, Privilege.User);
            sum += r.FrameBase.Value;
        }

        return sum;
    }
}
