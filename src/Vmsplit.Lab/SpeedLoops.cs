using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Workloads;

namespace Vmsplit.Lab;

/// <summary>
/// One measured loop of the model: a prepared structure and a fixed batch of identical operations on it.
/// Shared by <c>vmsplit bench</c> (<see cref="SpeedCheck"/>) and the BenchmarkDotNet project, so both time
/// the same setup. <see cref="RunBatch"/> allocates nothing.
/// </summary>
public abstract class SpeedLoop
{
    /// <summary>Row name, e.g. <c>walk-x86-64</c>.</summary>
    public abstract string Name { get; }

    /// <summary>What one operation is, singular (<c>lookup</c>, <c>walk</c>, <c>syscall</c>).</summary>
    public abstract string Unit { get; }

    /// <summary>One line for a reader: what is measured and on what.</summary>
    public abstract string Description { get; }

    public abstract int OperationsPerBatch { get; }

    /// <summary>Runs one batch; the checksum it returns keeps the JIT from dropping the work.</summary>
    public abstract ulong RunBatch();
}

/// <summary>The TLB geometries the speed loops use (kept as the benchmarks have always measured them).</summary>
public static class SpeedGeometry
{
    /// <summary>Cortex-A53: 10-entry micro TLBs, 512-entry 4-way main TLB, 16-bit ASIDs.</summary>
    public static TlbHierarchyConfig CortexA53Like() => new()
    {
        MicroI = [TlbLevelConfig.FullyAssociative("micro I", 10, [4096, 64 * 1024, 1UL << 20])],
        MicroD = [TlbLevelConfig.FullyAssociative("micro D", 10, [4096, 64 * 1024, 1UL << 20])],
        Main = [new TlbLevelConfig { Name = "main", Entries = 512, Ways = 4, PageSizes = [4096, 64 * 1024, 2UL << 20] }],
        AsidBits = 16,
    };

    /// <summary>Haswell: 64-entry L1 I/D TLBs, 1024-entry 8-way STLB, 12-bit PCIDs.</summary>
    public static TlbHierarchyConfig HaswellLike() => new()
    {
        MicroI = [new TlbLevelConfig { Name = "ITLB", Entries = 64, Ways = 8, PageSizes = [4096] }],
        MicroD = [new TlbLevelConfig { Name = "DTLB", Entries = 64, Ways = 4, PageSizes = [4096, 2UL << 20] }],
        Main = [new TlbLevelConfig { Name = "STLB", Entries = 1024, Ways = 8, PageSizes = [4096, 2UL << 20] }],
        AsidBits = 12,
        HasPcid = true,
    };

    /// <summary>An x86-64 MMU over a user mapping of <paramref name="pages"/> 4 KiB pages at 0x40000000.</summary>
    public static MemoryManagementUnit X86_64Mmu(int pages)
    {
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 64 * ByteSize.MiB));
        PageTableFormat format = PageTableFormat.Get(MmuFormat.X86_64);
        PageTable table = PageTable.Create(format, memory, allocator);
        PageTableResult r = table.Map(new VirtualAddress(0x4000_0000), new PhysicalAddress(0x8000_0000), (ulong)pages << 12, PageAttributes.UserData, 4096);
        if (!r.Succeeded)
        {
            throw new InvalidOperationException(r.Message);
        }

        MemoryManagementUnit mmu = new(format, memory, HaswellLike());
        mmu.Registers = table.Registers;
        return mmu;
    }
}

/// <summary>Hits in one set-associative array: the Cortex-A53 main TLB geometry (512 entries, 4-way), 256 pages resident.</summary>
public sealed class TlbLookupLoop : SpeedLoop
{
    public const int Pages = 256;
    public const ushort Asid = 7;

    private readonly ulong[] _vas = new ulong[Pages];

    public TlbLookupLoop()
    {
        Main = new TlbLevel(SpeedGeometry.CortexA53Like().Main[0]);
        for (int i = 0; i < Pages; i++)
        {
            _vas[i] = 0x10_0000 + ((ulong)i << 12) + 0x10;
            WalkResult w = new(FaultKind.None, 3, new VirtualAddress(_vas[i] & ~0xFFFUL), new PhysicalAddress(0x8000_0000 + ((ulong)i << 12)), 4096,
                AccessRights.KernelRead | AccessRights.KernelWrite, false, false, MemoryType.Normal, 0, 4, 0);
            Main.Fill(TlbEntry.FromWalk(in w, new VirtualAddress(_vas[i]), 12, Asid));
        }
    }

    public TlbLevel Main { get; }

    /// <summary>The resident addresses, looked up round-robin.</summary>
    public ReadOnlySpan<ulong> Addresses => _vas;

    public override string Name => "tlb-lookup-hit";

    public override string Unit => "lookup";

    public override string Description => "TlbLevel.Lookup hit, 512-entry 4-way array (Cortex-A53 main TLB), 256 pages resident";

    public override int OperationsPerBatch => Pages;

    public override ulong RunBatch()
    {
        int sum = 0;
        ulong[] vas = _vas;
        TlbLevel main = Main;
        for (int i = 0; i < vas.Length; i++)
        {
            sum += main.Lookup(vas[i], Asid);
        }

        return (ulong)sum;
    }
}

/// <summary><see cref="TlbHierarchy.Lookup"/> hitting the 10-entry micro D-TLB of the Cortex-A53 hierarchy (8 pages resident).</summary>
public sealed class TlbHierarchyHitLoop : SpeedLoop
{
    public const int OperationsPerRun = 256;
    public const int MicroPages = 8;
    public const ushort Asid = 7;

    private readonly ulong[] _vas = new ulong[MicroPages];
    private readonly TlbHierarchy _hierarchy;

    public TlbHierarchyHitLoop()
    {
        _hierarchy = new TlbHierarchy(SpeedGeometry.CortexA53Like());
        for (int i = 0; i < MicroPages; i++)
        {
            _vas[i] = 0x10_0000 + ((ulong)i << 12) + 0x10;
            WalkResult w = new(FaultKind.None, 3, new VirtualAddress(_vas[i] & ~0xFFFUL), new PhysicalAddress(0x8000_0000 + ((ulong)i << 12)), 4096,
                AccessRights.KernelRead, false, false, MemoryType.Normal, 0, 4, 0);
            _hierarchy.Fill(in w, new VirtualAddress(_vas[i]), AccessType.Read, Asid);
        }
    }

    public override string Name => "tlb-hierarchy-micro-hit";

    public override string Unit => "lookup";

    public override string Description => "TlbHierarchy.Lookup hit in a 10-entry fully associative micro D-TLB (Cortex-A53)";

    public override int OperationsPerBatch => OperationsPerRun;

    public override ulong RunBatch()
    {
        int sum = 0;
        ulong[] vas = _vas;
        for (int i = 0; i < OperationsPerRun; i++)
        {
            sum += (int)_hierarchy.Lookup(vas[i & (MicroPages - 1)], AccessType.Read, Asid, out _);
        }

        return (ulong)sum;
    }
}

/// <summary>The whole MMU hit path: <see cref="MemoryManagementUnit.Translate"/> hitting the micro D-TLB (x86-64, Haswell-like TLBs).</summary>
public sealed class MmuHitLoop : SpeedLoop
{
    public const int OperationsPerRun = 256;
    public const int MicroPages = 8;
    private const ulong Base = 0x4000_0000;

    public MmuHitLoop()
    {
        Mmu = SpeedGeometry.X86_64Mmu(MicroPages);
        for (int i = 0; i < MicroPages; i++)
        {
            Mmu.Translate(new VirtualAddress(Base + ((ulong)i << 12)), AccessType.Read, Privilege.User); // the fills: after these every access hits
        }
    }

    public MemoryManagementUnit Mmu { get; }

    public override string Name => "mmu-translate-hit";

    public override string Unit => "translation";

    public override string Description => "MemoryManagementUnit.Translate hitting the micro D-TLB: ASID decode, lookup, counters, permission check";

    public override int OperationsPerBatch => OperationsPerRun;

    public override ulong RunBatch()
    {
        ulong sum = 0;
        MemoryManagementUnit mmu = Mmu;
        for (int i = 0; i < OperationsPerRun; i++)
        {
            sum += mmu.Translate(new VirtualAddress(Base + ((ulong)(i & (MicroPages - 1)) << 12)), AccessType.Read, Privilege.User).Address.Value;
        }

        return sum;
    }
}

/// <summary>
/// The MMU miss path: 8192 pages cycled through a 64 + 1024-entry LRU hierarchy, so every access misses,
/// walks four x86-64 levels in simulated memory and fills. Traced, the walk records its steps as the kernel's
/// cache model has it do on every miss of a simulated run; untraced, as the hardware tests and `vmsplit walk` do.
/// </summary>
public sealed class MmuMissLoop : SpeedLoop
{
    public const int Pages = 8192;

    private readonly VirtualAddress[] _vas = new VirtualAddress[Pages];
    private readonly bool _traced;

    public MmuMissLoop(bool traced = false)
    {
        Mmu = SpeedGeometry.X86_64Mmu(Pages);
        _traced = traced;
        if (traced)
        {
            Mmu.WalkTrace = new WalkTrace();
        }

        for (int i = 0; i < Pages; i++)
        {
            _vas[i] = new VirtualAddress(0x4000_0000 + ((ulong)i << 12));
        }
    }

    public MemoryManagementUnit Mmu { get; }

    public override string Name => _traced ? "mmu-translate-miss-walk-traced" : "mmu-translate-miss-walk";

    public override string Unit => "translation";

    public override string Description => _traced
        ? "the same miss with the walk's steps recorded, as every miss of a simulated run (the kernel's cache model reads them)"
        : "Translate missing every TLB level: 4-level x86-64 walk with A/D updates, STLB and DTLB fill";

    public override int OperationsPerBatch => Pages;

    public override ulong RunBatch()
    {
        ulong sum = 0;
        MemoryManagementUnit mmu = Mmu;
        VirtualAddress[] vas = _vas;
        for (int i = 0; i < vas.Length; i++)
        {
            sum += mmu.Translate(vas[i], AccessType.Read, Privilege.User).Address.Value;
        }

        return sum;
    }
}

/// <summary>
/// Full-depth software walks: 256 user pages of the smallest granule, each under its own last-level table
/// entry and spread over many tables (VA stride 0x201000), walked round-robin with a user read, no trace.
/// </summary>
public sealed class WalkLoop : SpeedLoop
{
    public const int Pages = 256;
    private const ulong Base = 0x4000_0000;
    private const ulong Stride = 0x20_1000; // next PD/PMD entry and next PT entry

    private readonly VirtualAddress[] _addresses = new VirtualAddress[Pages];
    private readonly MmuRegisters _registers;

    public WalkLoop(MmuFormat format)
    {
        Format = PageTableFormat.Get(format);
        Memory = new PhysicalMemory();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 64 * ByteSize.MiB));
        PageTable table = PageTable.Create(Format, Memory, allocator);
        ulong granule = Format.Geometry.SmallestPage;
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

    public PageTableFormat Format { get; }

    public PhysicalMemory Memory { get; }

    public MmuRegisters Registers => _registers;

    public ReadOnlySpan<VirtualAddress> Addresses => _addresses;

    public override string Name => "walk-" + Format.Name;

    public override string Unit => "walk";

    public override string Description => $"PageTableFormat.Walk, full depth ({Format.Geometry.LevelCount} levels), 256 user pages round-robin";

    public override int OperationsPerBatch => Pages;

    public override ulong RunBatch()
    {
        ulong sum = 0;
        PageTableFormat format = Format;
        PhysicalMemory memory = Memory;
        VirtualAddress[] addresses = _addresses;
        for (int i = 0; i < addresses.Length; i++)
        {
            WalkResult r = format.Walk(memory, in _registers, addresses[i], AccessType.Read, Privilege.User);
            sum += r.FrameBase.Value;
        }

        return sum;
    }
}

/// <summary>
/// Simulated null system calls: getppid() from user mode to user mode (entry as the design takes it, the
/// footprint through the MMU, the handler, exit) on a booted kernel, after the null workload's warm-up.
/// </summary>
public sealed class SyscallLoop : SpeedLoop
{
    public const int CallsPerRun = 1000;

    private readonly SyscallRequest _getppid = new(SyscallKind.Getppid);

    public SyscallLoop(MachineSpec machine, string design)
    {
        Machine = machine;
        Kernel = Scenario.Boot(machine, Scenario.ParseDesign(machine, design));
        Runner runner = new(Kernel, BuiltinWorkloads.Get("null"));
        runner.Measure(100, warmup: 10);
        Process = Kernel.Current!;

        // From here the ledger and the MMU counters hold only this loop's calls.
        Kernel.Ledger.Reset();
        Kernel.Cpu.Mmu.Counters.Reset();
    }

    public MachineSpec Machine { get; }

    public SimKernel Kernel { get; }

    public Process Process { get; }

    public override string Name => $"syscall-null-{Kernel.Design.Name}-{Machine.Profile.Id}";

    public override string Unit => "syscall";

    public override string Description => $"simulated getppid() under {Kernel.Design.Name} on {Machine.Describe()}";

    public override int OperationsPerBatch => CallsPerRun;

    public override ulong RunBatch()
    {
        SimKernel kernel = Kernel;
        Process process = Process;
        SyscallRequest getppid = _getppid;
        ulong sink = 0;
        for (int i = 0; i < CallsPerRun; i++)
        {
            sink += (ulong)kernel.Syscall(process, getppid).Value;
        }

        return sink;
    }
}
