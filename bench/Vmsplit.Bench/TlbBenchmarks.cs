using BenchmarkDotNet.Attributes;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Bench;

/// <summary>
/// The TLB hit path (one array, the micro+main hierarchy, the whole MMU with its permission check)
/// and the miss path (lookup miss, 4-level x86-64 walk in simulated memory, fill).
/// </summary>
[MemoryDiagnoser]
public class TlbBenchmarks
{
    private const int HitPages = 256;
    private const int MicroPages = 8;
    private const int MissPages = 8192;

    private readonly ulong[] _hitVas = new ulong[HitPages];
    private readonly VirtualAddress[] _missVas = new VirtualAddress[MissPages];
    private TlbLevel _main = null!;
    private TlbHierarchy _hierarchy = null!;
    private MemoryManagementUnit _mmu = null!;
    private MemoryManagementUnit _missMmu = null!;

    private static TlbHierarchyConfig CortexA53Like() => new()
    {
        MicroI = [TlbLevelConfig.FullyAssociative("micro I", 10, [4096, 64 * 1024, 1UL << 20])],
        MicroD = [TlbLevelConfig.FullyAssociative("micro D", 10, [4096, 64 * 1024, 1UL << 20])],
        Main = [new TlbLevelConfig { Name = "main", Entries = 512, Ways = 4, PageSizes = [4096, 64 * 1024, 2UL << 20] }],
        AsidBits = 16,
    };

    private static TlbHierarchyConfig HaswellLike() => new()
    {
        MicroI = [new TlbLevelConfig { Name = "ITLB", Entries = 64, Ways = 8, PageSizes = [4096] }],
        MicroD = [new TlbLevelConfig { Name = "DTLB", Entries = 64, Ways = 4, PageSizes = [4096, 2UL << 20] }],
        Main = [new TlbLevelConfig { Name = "STLB", Entries = 1024, Ways = 8, PageSizes = [4096, 2UL << 20] }],
        AsidBits = 12,
        HasPcid = true,
    };

    [GlobalSetup]
    public void Setup()
    {
        // One array: the Cortex-A53 main TLB geometry (512 entries, 4-way), 256 distinct pages resident.
        _main = new TlbLevel(CortexA53Like().Main[0]);
        for (int i = 0; i < HitPages; i++)
        {
            _hitVas[i] = 0x10_0000 + ((ulong)i << 12) + 0x10;
            WalkResult w = new(FaultKind.None, 3, new VirtualAddress(_hitVas[i] & ~0xFFFUL), new PhysicalAddress(0x8000_0000 + ((ulong)i << 12)), 4096,
                AccessRights.KernelRead | AccessRights.KernelWrite, false, false, MemoryType.Normal, 0, 4, 0);
            _main.Fill(TlbEntry.FromWalk(in w, new VirtualAddress(_hitVas[i]), 12, 7));
        }

        _hierarchy = new TlbHierarchy(CortexA53Like());
        for (int i = 0; i < MicroPages; i++)
        {
            WalkResult w = new(FaultKind.None, 3, new VirtualAddress(_hitVas[i] & ~0xFFFUL), new PhysicalAddress(0x8000_0000 + ((ulong)i << 12)), 4096,
                AccessRights.KernelRead, false, false, MemoryType.Normal, 0, 4, 0);
            _hierarchy.Fill(in w, new VirtualAddress(_hitVas[i]), AccessType.Read, 7);
        }

        _mmu = BuildMmu(MicroPages, out _);
        for (int i = 0; i < MicroPages; i++)
        {
            _mmu.Translate(new VirtualAddress(0x4000_0000 + ((ulong)i << 12)), AccessType.Read, Privilege.User);
        }

        _missMmu = BuildMmu(MissPages, out _);
        for (int i = 0; i < MissPages; i++)
        {
            _missVas[i] = new VirtualAddress(0x4000_0000 + ((ulong)i << 12));
        }
    }

    private static MemoryManagementUnit BuildMmu(int pages, out PageTable table)
    {
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 64 * ByteSize.MiB));
        PageTableFormat format = PageTableFormat.Get(MmuFormat.X86_64);
        table = PageTable.Create(format, memory, allocator);
        table.Map(new VirtualAddress(0x4000_0000), new PhysicalAddress(0x8000_0000), (ulong)pages << 12, PageAttributes.UserData, 4096);
        MemoryManagementUnit mmu = new(format, memory, HaswellLike());
        mmu.Registers = table.Registers;
        return mmu;
    }

    [Benchmark(OperationsPerInvoke = HitPages)]
    public int MainTlbLookupHit()
    {
        int sum = 0;
        ulong[] vas = _hitVas;
        for (int i = 0; i < vas.Length; i++)
        {
            sum += _main.Lookup(vas[i], 7);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = HitPages)]
    public int HierarchyMicroHit()
    {
        int sum = 0;
        ulong[] vas = _hitVas;
        for (int i = 0; i < HitPages; i++)
        {
            sum += (int)_hierarchy.Lookup(vas[i & (MicroPages - 1)], AccessType.Read, 7, out _);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = HitPages)]
    public ulong MmuTranslateHit()
    {
        ulong sum = 0;
        for (int i = 0; i < HitPages; i++)
        {
            sum += _mmu.Translate(new VirtualAddress(0x4000_0000 + ((ulong)(i & (MicroPages - 1)) << 12)), AccessType.Read, Privilege.User).Address.Value;
        }

        return sum;
    }

    /// <summary>8192 pages cycled through a 64 + 1024-entry LRU hierarchy: every access misses and walks four levels.</summary>
    [Benchmark(OperationsPerInvoke = MissPages)]
    public ulong MmuTranslateMissWalk()
    {
        ulong sum = 0;
        VirtualAddress[] vas = _missVas;
        for (int i = 0; i < vas.Length; i++)
        {
            sum += _missMmu.Translate(vas[i], AccessType.Read, Privilege.User).Address.Value;
        }

        return sum;
    }
}
