using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// The speed check on a tiny budget: the rows it reports, their arithmetic, and that each loop does the work
/// its name says (counted in the model's own ledger and counters). No assertion depends on how fast anything ran.
/// </summary>
public sealed class SpeedCheckTests
{
    private static readonly string[] s_expectedRows =
    [
        "tlb-lookup-hit",
        "mmu-translate-hit",
        "walk-x86-64",
        "walk-arm-lpae",
        "mmu-translate-miss-walk",
        "mmu-translate-miss-walk-traced",
        "syscall-null-classic-skylake",
        "syscall-null-kpti-skylake",
        "syscall-null-classic-cortex-a15",
        "syscall-null-4g4g+pin-kmap-cortex-a15",
    ];

    [Fact]
    public void StandardRunReportsEveryRowWithConsistentFigures()
    {
        List<string> told = new();
        SpeedCheckResult r = SpeedCheck.Run(0.2, row => told.Add(row.Name));

        Assert.Equal(0.2, r.Seconds);
        Assert.Equal(s_expectedRows, r.Rows.Select(x => x.Name));
        Assert.Equal(s_expectedRows, told);
        int[] perBatch = [256, 256, 256, 256, 8192, 8192, 1000, 1000, 1000, 1000];
        string[] units = ["lookup", "translation", "walk", "walk", "translation", "translation", "syscall", "syscall", "syscall", "syscall"];
        for (int i = 0; i < r.Rows.Count; i++)
        {
            SpeedRow x = r.Rows[i];
            Assert.Equal(units[i], x.Unit);
            Assert.True(x.Operations > 0, x.Name);
            Assert.True(x.WarmupOperations > 0, x.Name);
            Assert.Equal(0, x.Operations % perBatch[i]); // whole batches only
            Assert.True(x.ElapsedSeconds > 0, x.Name);
            Assert.False(string.IsNullOrWhiteSpace(x.Description));
        }

        Assert.True(r.Host.ProcessorCount >= 1);
        Assert.False(string.IsNullOrWhiteSpace(r.Host.OsDescription));
        Assert.StartsWith(".NET ", r.Host.DotnetVersion, StringComparison.Ordinal);
    }

    [Fact]
    public void SyscallRowsExecuteThatManyGetppidCallsUnderTheirDesign()
    {
        SyscallLoop? classic = null;
        SyscallLoop? kpti = null;
        SyscallLoop? fourG = null;
        SpeedCheckResult r = SpeedCheck.Run(0.1,
        [
            () => classic = new SyscallLoop(MachineSpec.SkylakeX86(), "classic"),
            () => kpti = new SyscallLoop(MachineSpec.SkylakeX86(), "kpti"),
            () => fourG = new SyscallLoop(MachineSpec.DefaultArm(), "4g4g+pin-kmap"),
        ]);

        // Each getppid() charges path-base twice, the entry/dispatch/exit instructions and sys_getppid's
        // (KernelEntryPaths) at the profile's kernel rate: x86-64 (40 + 47 + 41) + 30 = 158 instructions at 2 per
        // cycle on the Skylake, 79 cycles; 32-bit ARM (25 + 0 + 17) + 30 = 72 at 1.5 per cycle on the A15, 48 cycles;
        // and exception entry and exit once each; no other path runs in the loop.
        // Root-register writes tell the designs apart: none for classic, SWITCH_TO_KERNEL_CR3 and
        // SWITCH_TO_USER_CR3 under kpti, the trampoline's two TTBR0 writes under 4g4g.
        (SyscallLoop Loop, SpeedRow Row, int RootWrites, double PathCycles)[] cases = [(classic!, r.Rows[0], 0, 79), (kpti!, r.Rows[1], 2, 79), (fourG!, r.Rows[2], 2, 48)];
        foreach ((SyscallLoop loop, SpeedRow row, int rootWrites, double pathCycles) in cases)
        {
            long calls = row.Operations + row.WarmupOperations;
            CostLedger ledger = loop.Kernel.Ledger;
            Assert.Equal(2 * calls, ledger.Events(KernelCostCause.PathBase));
            Assert.Equal(pathCycles * calls, ledger.Cycles(KernelCostCause.PathBase), 6);
            Assert.Equal(2 * calls, ledger.Events(CostCause.ExceptionEntryExit));
            Assert.Equal(rootWrites * calls, ledger.Events(CostCause.RootRegisterWrite));
            Assert.Equal(0, ledger.Events(CostCause.Memcpy));
        }

        Assert.Equal(["syscall-null-classic-skylake", "syscall-null-kpti-skylake", "syscall-null-4g4g+pin-kmap-cortex-a15"], r.Rows.Select(x => x.Name));
    }

    [Fact]
    public void MmuRowsHitAndMissAsTheirNamesSay()
    {
        MmuHitLoop? hit = null;
        MmuMissLoop? miss = null;
        SpeedCheckResult r = SpeedCheck.Run(0.1, [() => hit = new MmuHitLoop(), () => miss = new MmuMissLoop()]);

        // The hit loop's eight fills are its only walks; every timed and warm-up translation hits the micro D-TLB.
        long hits = r.Rows[0].Operations + r.Rows[0].WarmupOperations;
        Assert.Equal(8, hit!.Mmu.Counters.Walks);
        Assert.Equal(hits, hit.Mmu.Counters.MicroDHits);
        Assert.Equal(hits + 8, hit.Mmu.Counters.Translations);

        // 8192 pages cycled through 64 + 1024 LRU entries: every translation walks all four levels.
        long misses = r.Rows[1].Operations + r.Rows[1].WarmupOperations;
        Assert.Equal(misses, miss!.Mmu.Counters.Translations);
        Assert.Equal(misses, miss.Mmu.Counters.Walks);
        Assert.Equal(4 * misses, miss.Mmu.Counters.WalkReads);
        Assert.Equal(0, miss.Mmu.Counters.Hits);
    }

    [Fact]
    public void TracedMissRowWalksAsTheUntracedOneAndRecordsEachStep()
    {
        MmuMissLoop plain = new();
        MmuMissLoop traced = new(traced: true);
        Assert.Equal(plain.RunBatch(), traced.RunBatch());
        Assert.Equal(plain.Mmu.Counters.Walks, traced.Mmu.Counters.Walks);
        Assert.Equal(plain.Mmu.Counters.WalkReads, traced.Mmu.Counters.WalkReads);
        Assert.Equal(MmuMissLoop.Pages, traced.Mmu.Counters.Walks);
        Assert.Equal("mmu-translate-miss-walk-traced", traced.Name);

        // the last miss's walk: PML4, PDPT, PD and PT of the last page, 0x4000_0000 + 8191 pages
        WalkTrace t = traced.Mmu.WalkTrace!;
        Assert.Equal(4, t.Steps.Count);
        Assert.Equal([4, 3, 2, 1], t.Steps.Select(s => s.Level).ToArray());
        Assert.Equal(["table", "table", "table", "leaf"], t.Steps.Select(s => s.Kind).ToArray());
        Assert.Equal(0x1FF, t.Steps[3].Index); // PT index of VA 0x41FFF000
        Assert.Equal(0x00F, t.Steps[2].Index); // PD index
        Assert.Equal(1, t.Steps[1].Index);     // PDPT index (1 GiB)
        Assert.Equal(0, t.Steps[0].Index);
    }

    [Fact]
    public void LookupLoopHitsTwoHundredFiftySixDistinctEntries()
    {
        TlbLookupLoop loop = new();
        HashSet<int> slots = new();
        foreach (ulong va in loop.Addresses)
        {
            int slot = loop.Main.Lookup(va, TlbLookupLoop.Asid);
            Assert.True(slot >= 0, $"0x{va:x} misses");
            slots.Add(slot);
        }

        Assert.Equal(256, slots.Count);
        Assert.Equal(-1, loop.Main.Lookup(0x10_0000 + (256UL << 12), TlbLookupLoop.Asid)); // one page past the resident ones
        Assert.Equal(-1, loop.Main.Lookup(loop.Addresses[0], 8)); // another ASID: the entries are not global
    }

    [Theory]
    [InlineData(MmuFormat.X86_64, 4)]
    [InlineData(MmuFormat.ArmLpae, 3)]
    public void WalkLoopWalksFullDepthToEachPage(MmuFormat format, int reads)
    {
        WalkLoop loop = new(format);
        MmuRegisters regs = loop.Registers;
        for (int i = 0; i < WalkLoop.Pages; i++)
        {
            // Page i sits at 0x40000000 + i * 0x201000 (one PD/PMD entry and one PT entry further each time) -> 0x80000000 + i * 4K.
            VirtualAddress va = loop.Addresses[i];
            Assert.Equal(0x4000_0123UL + ((ulong)i * 0x20_1000), va.Value);
            WalkResult w = loop.Format.Walk(loop.Memory, in regs, va, AccessType.Read, Privilege.User);
            Assert.Equal(FaultKind.None, w.Fault);
            Assert.Equal(reads, w.Reads);
            Assert.Equal(0x8000_0000UL + ((ulong)i << 12), w.FrameBase.Value);
        }

        Assert.Equal("walk-" + (format == MmuFormat.X86_64 ? "x86-64" : "arm-lpae"), loop.Name);
    }

    [Fact]
    public void MeasuredLoopsAllocateNothing()
    {
        SpeedLoop[] loops =
        [
            new TlbLookupLoop(), new TlbHierarchyHitLoop(), new MmuHitLoop(), new WalkLoop(MmuFormat.X86_64), new WalkLoop(MmuFormat.ArmLpae),
            new MmuMissLoop(), new SyscallLoop(MachineSpec.SkylakeX86(), "kpti"), new SyscallLoop(MachineSpec.DefaultArm(), "4g4g+pin-kmap"),
        ];
        foreach (SpeedLoop loop in loops)
        {
            loop.RunBatch(); // first-call work (JIT, lazily created kernel pages) is not the loop's
            loop.RunBatch();

            // The runtime's tier-up and on-stack replacement can allocate on this thread once, at a moment a loaded
            // machine shifts; a loop that allocates per batch allocates in every one of three measurements.
            long allocated = long.MaxValue;
            for (int attempt = 0; attempt < 3 && allocated != 0; attempt++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 4; i++)
                {
                    loop.RunBatch();
                }

                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }

            Assert.True(allocated == 0, $"{loop.Name} allocates {allocated} bytes in 4 batches, three times over");
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.049)]
    [InlineData(600.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void BudgetOutsideItsRangeIsRefused(double seconds)
    {
        LabException e = Assert.Throws<LabException>(() => SpeedCheck.Run(seconds, [() => throw new InvalidOperationException("must not build")]));
        Assert.Contains("0.05 to 600 seconds", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CpuModelComesFromTheFirstNamedLine()
    {
        // x86 (arch/x86/kernel/cpu/proc.c): "processor" is the index, "model name" the brand string.
        string x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n";
        Assert.Equal("AMD EPYC 7B13 64-Core Processor", SpeedHost.CpuModelFrom(x86));

        // 32-bit ARM before Linux 3.8 (arch/arm/kernel/setup.c c_show): "Processor : ARMv7 Processor rev 4 (v7l)".
        Assert.Equal("ARMv7 Processor rev 4 (v7l)", SpeedHost.CpuModelFrom("Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\nBogoMIPS\t: 38.40\n"));

        // arm64 prints only implementer/part numbers; RISC-V names the microarchitecture.
        Assert.Null(SpeedHost.CpuModelFrom("processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n"));
        Assert.Equal("sifive,u74-mc", SpeedHost.CpuModelFrom("processor\t: 0\nhart\t\t: 1\nisa\t\t: rv64imafdc\nmmu\t\t: sv39\nuarch\t\t: sifive,u74-mc\n"));
        Assert.Null(SpeedHost.CpuModelFrom("model name\t: \n"));
        Assert.Null(SpeedHost.ReadCpuModel(Path.Combine(Path.GetTempPath(), "no-such-cpuinfo-" + Guid.NewGuid().ToString("N"))));
    }
}
