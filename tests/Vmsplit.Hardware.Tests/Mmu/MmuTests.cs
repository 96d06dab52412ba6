using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Mmu;

public sealed class MmuTests
{
    private const ulong Cr3NoFlush = 1UL << 63;

    internal static TlbHierarchyConfig X86Config(bool pcid) => new()
    {
        MicroI = [TlbLevelConfig.FullyAssociative("ITLB", 4, [4096])],
        MicroD = [TlbLevelConfig.FullyAssociative("DTLB", 4, [4096, 2UL << 20])],
        Main = [new TlbLevelConfig { Name = "STLB", Entries = 64, Ways = 4, PageSizes = [4096, 2UL << 20] }],
        AsidBits = pcid ? 12 : 0,
        HasPcid = pcid,
        HasInvpcid = pcid,
    };

    private static (MemoryManagementUnit Mmu, ToyTables Tables, ulong Root) X86(bool pcid, TlbHierarchyConfig? config = null)
    {
        PhysicalMemory memory = new();
        ToyTables tables = new(memory);
        MemoryManagementUnit mmu = new(new ToyFormat(MmuFormat.X86_64), memory, config ?? X86Config(pcid));
        ulong root = tables.NewTable();
        if (pcid)
        {
            mmu.WriteCr4(Cr4Flags.Pae | Cr4Flags.Pge | Cr4Flags.Pcide);
        }

        mmu.WriteCr3(root);
        return (mmu, tables, root);
    }

    [Fact]
    public void MissWalksThenHitsMicroThenMain()
    {
        (MemoryManagementUnit mmu, ToyTables tables, ulong root) = X86(pcid: false);
        tables.Map(root, 0x1000, 0x5000, ToyFormat.Writable);
        VirtualAddress va = new(0x1234);

        Translation t1 = mmu.Translate(va, AccessType.Read, Privilege.Kernel);
        Assert.Equal(TlbHitLevel.Walk, t1.Source);
        Assert.Equal(new PhysicalAddress(0x5234), t1.Address);
        Assert.Equal(2, t1.WalkReads);

        Translation t2 = mmu.Translate(va, AccessType.Write, Privilege.Kernel);
        Assert.Equal(TlbHitLevel.MicroD, t2.Source);

        // An instruction fetch misses the micro I-TLB but hits the main TLB the walk filled, then hits the micro I-TLB.
        Assert.Equal(TlbHitLevel.Main, mmu.Translate(va, AccessType.Execute, Privilege.Kernel).Source);
        Assert.Equal(TlbHitLevel.MicroI, mmu.Translate(va, AccessType.Execute, Privilege.Kernel).Source);

        // A user access to a kernel page hits the TLB and faults on the permission check.
        Translation t5 = mmu.Translate(va, AccessType.Read, Privilege.User);
        Assert.Equal(FaultKind.Permission, t5.Fault);

        MmuCounters c = mmu.Counters;
        Assert.Equal((5L, 1L, 2L, 1L, 1L, 1L, 2L, 1L), (c.Translations, c.MicroIHits, c.MicroDHits, c.MainHits, c.Misses, c.Walks, c.WalkReads, c.Faults));

        // x86: the page fault dropped the entry for the faulting address (SDM §4.10.4.1), so the next access walks again.
        Assert.Equal(TlbHitLevel.Walk, mmu.Translate(va, AccessType.Read, Privilege.Kernel).Source);
    }

    [Fact]
    public void MicroTlbEvictionFallsBackToMain()
    {
        (MemoryManagementUnit mmu, ToyTables tables, ulong root) = X86(pcid: false);
        for (ulong i = 0; i < 5; i++)
        {
            tables.Map(root, 0x10000 + (i * 4096), 0x80000 + (i * 4096), 0);
        }

        // Five pages through a 4-entry LRU micro D-TLB: the fifth fill evicts page 0 there but not in the 64-entry main TLB.
        string s = "";
        foreach (ulong i in (ulong[])[0, 1, 2, 3, 4, 0, 0])
        {
            s += mmu.Translate(new VirtualAddress(0x10000 + (i * 4096)), AccessType.Read, Privilege.Kernel).Source switch
            {
                TlbHitLevel.Walk => 'W',
                TlbHitLevel.Main => 'M',
                _ => 'u',
            };
        }

        Assert.Equal("WWWWWMu", s);
    }

    [Fact]
    public void LargePagesSplinterIntoASplinteringMicroTlb()
    {
        TlbHierarchyConfig config = X86Config(false) with
        {
            MicroD = [TlbLevelConfig.FullyAssociative("uD", 4, [4096]) with { HowLargePagesAreHeld = LargePageHolding.Splintered }],
        };
        (MemoryManagementUnit mmu, ToyTables tables, ulong root) = X86(false, config);

        // A 2 MiB block at 0x20000000 -> 0x40000000, written by hand at level 1.
        tables.Memory.WriteUInt64(new PhysicalAddress(root + ((0x2000_0000 >> 21) * 8)), 0x4000_0000 | ToyFormat.Block | ToyFormat.Present);
        Translation t = mmu.Translate(new VirtualAddress(0x2012_3456), AccessType.Read, Privilege.Kernel);
        Assert.Equal((TlbHitLevel.Walk, 2UL << 20, 1), (t.Source, t.PageSize, t.WalkReads));
        TlbEntry micro = mmu.Tlb.MicroD[0].Entries.ToArray().Single(e => e.Valid);
        Assert.Equal((4096UL, 21), (micro.PageSize, micro.SourcePageShift));
        Assert.Equal(new PhysicalAddress(0x4012_3000), micro.FrameBase);

        // Another 4 KiB granule of the same block misses the micro TLB (splinter) but hits the main TLB, which holds 2 MiB natively.
        Assert.Equal(TlbHitLevel.Main, mmu.Translate(new VirtualAddress(0x201F_F000), AccessType.Read, Privilege.Kernel).Source);
        Assert.Equal(TlbHitLevel.MicroD, mmu.Translate(new VirtualAddress(0x2012_3000), AccessType.Read, Privilege.Kernel).Source);

        // INVLPG of any address in the block removes the 2 MiB main entry and both 4 KiB splinters.
        Assert.Equal(3, mmu.Invlpg(new VirtualAddress(0x2000_0000)).TlbEntriesRemoved);
        Assert.Equal(0, mmu.Tlb.Occupancy);
    }

    [Fact]
    public void Cr3WriteWithoutPcidDropsNonGlobalOnly()
    {
        (MemoryManagementUnit mmu, ToyTables tables, ulong root) = X86(pcid: false);
        tables.Map(root, 0x1000, 0x5000, 0);
        tables.Map(root, 0x3000_0000, 0x9000, ToyFormat.GlobalBit);
        mmu.Translate(new VirtualAddress(0x1000), AccessType.Read, Privilege.Kernel);
        mmu.Translate(new VirtualAddress(0x3000_0000), AccessType.Read, Privilege.Kernel);

        // Each translation sits in the micro D-TLB and the main TLB: two non-global copies go.
        TlbFlushResult r = mmu.WriteCr3(root);
        Assert.Equal((TlbMaintenanceOp.X86Cr3Write, 2), (r.Op, r.TlbEntriesRemoved));
        Assert.Equal(TlbHitLevel.Walk, mmu.Translate(new VirtualAddress(0x1000), AccessType.Read, Privilege.Kernel).Source);
        Assert.Equal(TlbHitLevel.MicroD, mmu.Translate(new VirtualAddress(0x3000_0000), AccessType.Read, Privilege.Kernel).Source);
        // Two CR3 loads so far: the initial one and this one.
        Assert.Equal(2, mmu.Counters.Flushes(TlbMaintenanceOp.X86Cr3Write));
    }

    [Fact]
    public void PcidSlotReuseSequence()
    {
        // Linux x86 (arch/x86/mm/tlb.c): PCID = dynamic ASID slot + 1. Process A gets slot 0 (PCID 1),
        // B slot 1 (PCID 2). Switching to a process whose slot still belongs to it sets CR3 bit 63 (no flush);
        // a slot handed to a new mm is loaded without it, which drops that PCID's stale entries.
        (MemoryManagementUnit mmu, ToyTables tables, ulong rootA) = X86(pcid: true);
        ulong rootB = tables.NewTable();
        ulong rootC = tables.NewTable();
        tables.Map(rootA, 0x1000, 0xA000, ToyFormat.UserBit);
        tables.Map(rootB, 0x1000, 0xB000, ToyFormat.UserBit);
        tables.Map(rootC, 0x1000, 0xC000, ToyFormat.UserBit);
        VirtualAddress va = new(0x1000);

        string Access() => mmu.Translate(va, AccessType.Read, Privilege.User) switch
        {
            { Source: TlbHitLevel.Walk } t => "W" + (t.Address.Value >> 12).ToString("X", System.Globalization.CultureInfo.InvariantCulture),
            { } t => "H" + (t.Address.Value >> 12).ToString("X", System.Globalization.CultureInfo.InvariantCulture),
        };

        Assert.Equal(TlbMaintenanceOp.X86Cr3WritePcidFlush, mmu.WriteCr3(rootA | 1).Op);
        Assert.Equal("WA", Access());
        Assert.Equal(TlbMaintenanceOp.X86Cr3WritePcidFlush, mmu.WriteCr3(rootB | 2).Op);
        Assert.Equal("WB", Access());
        Assert.Equal("HB", Access());

        // Back to A with the no-flush bit: its PCID-1 entry survived B's run.
        TlbFlushResult back = mmu.WriteCr3(rootA | 1 | Cr3NoFlush);
        Assert.Equal((TlbMaintenanceOp.X86Cr3WriteNoFlush, 0), (back.Op, back.TlbEntriesRemoved));
        Assert.Equal(rootA | 1, mmu.Registers.Cr3);
        Assert.Equal(1, mmu.CurrentAsid);
        Assert.Equal("HA", Access());

        // C takes slot 0 from A: CR3 without bit 63 drops PCID 1's copies (micro D + main = 2) and nothing of PCID 2.
        TlbFlushResult reuse = mmu.WriteCr3(rootC | 1);
        Assert.Equal(2, reuse.TlbEntriesRemoved);
        Assert.Equal("WC", Access());

        // B's PCID-2 entry is still there for B.
        mmu.WriteCr3(rootB | 2 | Cr3NoFlush);
        Assert.Equal("HB", Access());
        // Four flushing loads: the initial CR3 (PCID 0), A, B and C.
        Assert.Equal(4, mmu.Counters.Flushes(TlbMaintenanceOp.X86Cr3WritePcidFlush));
        Assert.Equal(2, mmu.Counters.Flushes(TlbMaintenanceOp.X86Cr3WriteNoFlush));
    }

    [Fact]
    public void InvpcidNeedsTheFeature()
    {
        (MemoryManagementUnit mmu, _, _) = X86(pcid: false);
        Assert.Throws<InvalidOperationException>(() => mmu.Invpcid(1, 1));
    }

    [Theory]
    [InlineData(MmuFormat.ArmShort, 8, 0x35UL)]
    [InlineData(MmuFormat.ArmLpae, 8, 0xABUL)]
    [InlineData(MmuFormat.AArch64Va48, 16, 0x12ABUL)]
    [InlineData(MmuFormat.RiscvSv39, 16, 0x0BEEUL)]
    [InlineData(MmuFormat.RiscvSv32, 9, 0x1F3UL)]
    public void CurrentAsidIsDecodedFromTheRootRegisters(MmuFormat format, int bits, ulong expected)
    {
        MemoryManagementUnit mmu = new(new ToyFormat(format), new PhysicalMemory(), new TlbHierarchyConfig
        {
            Main = [TlbLevelConfig.FullyAssociative("main", 8, [4096])],
            AsidBits = bits,
        });
        // CONTEXTIDR = PROCID 0x123 << 8 | ASID 0x35; LPAE TTBR0 bits 55:48 = 0xAB; AArch64 TTBR0 63:48 = 0x12AB;
        // Sv39 satp ASID 59:44 = 0xBEE; Sv32 satp 30:22 = 0x1F3.
        mmu.WriteContextIdr(0x12335);
        mmu.WriteTtbr0(format == MmuFormat.ArmLpae ? (0xABUL << 48) | 0x4000 : (0x12ABUL << 48) | 0x4000);
        mmu.WriteSatp(format == MmuFormat.RiscvSv32 ? 0x8000_0000UL | (0x1F3UL << 22) | 0x10 : (8UL << 60) | (0xBEEUL << 44) | 0x10);
        Assert.Equal(expected, mmu.CurrentAsid);

        // TTBCR.A1 (bit 22) takes the ASID from TTBR1 instead.
        if (format is MmuFormat.ArmLpae or MmuFormat.AArch64Va48)
        {
            mmu.WriteTtbr1(7UL << 48);
            mmu.WriteTtbcr(1UL << 22);
            Assert.Equal(7, mmu.CurrentAsid);
        }
    }

    [Fact]
    public void InnerShareableOperationsReachEveryCpu()
    {
        PhysicalMemory memory = new();
        ToyTables tables = new(memory);
        ulong root = tables.NewTable();
        tables.Map(root, 0x1000, 0x5000, 0);
        TlbHierarchyConfig config = new() { Main = [TlbLevelConfig.FullyAssociative("main", 8, [4096])], AsidBits = 8 };
        ShareabilityDomain domain = new();
        MemoryManagementUnit[] cpus = new MemoryManagementUnit[3];
        for (int i = 0; i < cpus.Length; i++)
        {
            cpus[i] = new MemoryManagementUnit(new ToyFormat(MmuFormat.ArmLpae), memory, config, i);
            cpus[i].WriteTtbr0(root | (5UL << 48));
            cpus[i].Translate(new VirtualAddress(0x1000), AccessType.Read, Privilege.Kernel);
            domain.Add(cpus[i]);
        }

        // Local TLBIMVA on CPU 0 leaves CPUs 1 and 2 holding the entry; TLBIMVAIS from CPU 1 clears both.
        Assert.Equal(1, cpus[0].TlbiMva(new VirtualAddress(0x1000), 5).TlbEntriesRemoved);
        Assert.Equal(TlbHitLevel.Main, cpus[2].Translate(new VirtualAddress(0x1000), AccessType.Read, Privilege.Kernel).Source);
        TlbFlushResult r = cpus[1].TlbiMva(new VirtualAddress(0x1000), 5, innerShareable: true);
        Assert.Equal((TlbMaintenanceOp.ArmTlbiMvaIs, 2, 3), (r.Op, r.TlbEntriesRemoved, r.CpusAffected));
        Assert.Equal(2, cpus[1].Counters.FlushRemoved(TlbMaintenanceOp.ArmTlbiMvaIs));
        Assert.Equal(TlbHitLevel.Walk, cpus[2].Translate(new VirtualAddress(0x1000), AccessType.Read, Privilege.Kernel).Source);
    }

    [Fact]
    public void PdeCacheShortensTheNextWalkInTheSameRegion()
    {
        // A PDE cache (SDM §4.10.3.1) holds level-1 table descriptors of the toy tree (each maps 2 MiB: shift 21).
        TlbHierarchyConfig config = X86Config(false) with
        {
            WalkCaches = [new WalkCacheConfig { Name = "PDE cache", Entries = 32, Ways = 4, CoverageShifts = [21] }],
        };
        (MemoryManagementUnit mmu, ToyTables tables, ulong root) = X86(false, config);
        tables.Map(root, 0x1000, 0x5000, 0);
        tables.Map(root, 0x2000, 0x6000, 0);
        tables.Map(root, 0x40_0000, 0x7000, 0);

        Translation a = mmu.Translate(new VirtualAddress(0x1000), AccessType.Read, Privilege.Kernel);
        Translation b = mmu.Translate(new VirtualAddress(0x2000), AccessType.Read, Privilege.Kernel);
        Translation c = mmu.Translate(new VirtualAddress(0x40_0000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((2, 0), (a.WalkReads, a.WalkReadsSaved));
        Assert.Equal((1, 1), (b.WalkReads, b.WalkReadsSaved));
        Assert.Equal((2, 0), (c.WalkReads, c.WalkReadsSaved));

        // A CR3 write without PCID empties the paging-structure caches too.
        Assert.Equal(2, mmu.WriteCr3(root).WalkCacheEntriesRemoved);
        mmu.Invlpg(new VirtualAddress(0x1000));
        Translation d = mmu.Translate(new VirtualAddress(0x2000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((2, 0), (d.WalkReads, d.WalkReadsSaved));
        // Reads: a 2 + b 1 + c 2 + d 2.
        Assert.Equal((7L, 1L, 1L), (mmu.Counters.WalkReads, mmu.Counters.WalkReadsSaved, mmu.Counters.WalkCacheHits));
    }
}
