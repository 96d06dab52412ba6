using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Tlb;

/// <summary>
/// AArch64's EL1 TLBI operations (ARM ARM DDI 0487F D5.10.2) on a TLB holding every kind of entry and a
/// walk cache holding table descriptors of two ASIDs: the exact entries each one removes.
/// </summary>
public sealed class Arm64TlbiTests
{
    private const ulong X = 0x0040_0000;
    private const ulong Y = 0x0080_0000;
    private const int TableShift = 21;

    private static readonly TlbHierarchyConfig s_config = new()
    {
        Main = [TlbLevelConfig.FullyAssociative("main", 16, [4096, 2UL << 20])],
        WalkCaches = [new WalkCacheConfig { Name = "level-2 table cache", Entries = 8, Ways = 8, CoverageShifts = [TableShift] }],
        AsidBits = 16,
    };

    private static void Put(TlbHierarchy tlb, ulong va, ushort asid, bool global, ulong size = 4096)
    {
        WalkResult w = new(FaultKind.None, 1, new VirtualAddress(va), new PhysicalAddress(0x10_0000_0000 + va), size,
            AccessRights.KernelRead, false, global, MemoryType.Normal, 0, 2, 0);
        tlb.Fill(in w, new VirtualAddress(va), AccessType.Read, asid);
    }

    // Level-2 table descriptors (each maps 2 MiB) read by walks of va under asid.
    private static void PutTable(TlbHierarchy tlb, ulong va, ushort asid) => tlb.ConsultWalkCaches(va, asid, [TableShift], 1);

    private static bool TableHeld(TlbHierarchy tlb, ulong va, ushort asid) => tlb.WalkCaches[0].Lookup(va, TableShift, asid);

    /// <summary>
    /// Runs <paramref name="run"/> on two TLBs, one holding global leaf entries at X and Y, the other non-global
    /// leaf entries of ASIDs 1 and 2 at X and Y plus level-2 table entries of ASIDs 1 and 2 for X and Y.
    /// Returns "global X, global Y | ASID1 X, ASID1 Y, ASID2 X, ASID2 Y / tables ASID1 X, ASID1 Y, ASID2 X, ASID2 Y",
    /// '1' for removed.
    /// </summary>
    private static string Removals(Func<TlbHierarchy, TlbFlushResult> run, out int removedCount)
    {
        // Global and non-global leaves for one VA would conflict in one TLB (a TLB conflict abort), so each set has its own.
        TlbHierarchy globals = new(s_config, [TableShift]);
        Put(globals, X, 9, true);
        Put(globals, Y, 9, true);
        TlbHierarchy locals = new(s_config, [TableShift]);
        Put(locals, X, 1, false);
        Put(locals, Y, 1, false);
        Put(locals, X, 2, false);
        Put(locals, Y, 2, false);
        PutTable(locals, X, 1);
        PutTable(locals, Y, 1);
        PutTable(locals, X, 2);
        PutTable(locals, Y, 2);

        TlbFlushResult g = run(globals);
        TlbFlushResult l = run(locals);
        removedCount = g.TotalRemoved + l.TotalRemoved;
        string leaves = Gone(globals, (X, 0), (Y, 0)) + "|" + Gone(locals, (X, 1), (Y, 1), (X, 2), (Y, 2));
        char[] tables = new char[4];
        (ulong Va, ushort Asid)[] kinds = [(X, 1), (Y, 1), (X, 2), (Y, 2)];
        for (int i = 0; i < kinds.Length; i++)
        {
            tables[i] = TableHeld(locals, kinds[i].Va, kinds[i].Asid) ? '0' : '1';
        }

        return leaves + " / " + new string(tables);
    }

    private static string Gone(TlbHierarchy tlb, params (ulong Va, ushort Asid)[] kinds)
    {
        char[] s = new char[kinds.Length];
        for (int i = 0; i < kinds.Length; i++)
        {
            s[i] = tlb.Lookup(kinds[i].Va, AccessType.Read, kinds[i].Asid, out _) == TlbHitLevel.Walk ? '1' : '0';
        }

        return new string(s);
    }

    /// <summary>Operands VA X and ASID 1; computed by hand from the manual's matching rules.</summary>
    [Theory]
    [InlineData(TlbMaintenanceOp.Arm64TlbiVmalle1, "11|1111 / 1111")] // every entry, any level
    [InlineData(TlbMaintenanceOp.Arm64TlbiVmalle1Is, "11|1111 / 1111")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiAside1, "00|1100 / 1100")] // ASID 1's non-global entries, any level
    [InlineData(TlbMaintenanceOp.Arm64TlbiAside1Is, "00|1100 / 1100")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiVae1, "10|1000 / 1000")] // X: global or ASID 1, any level
    [InlineData(TlbMaintenanceOp.Arm64TlbiVae1Is, "10|1000 / 1000")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiVale1, "10|1000 / 0000")] // last level only: the table entries stay
    [InlineData(TlbMaintenanceOp.Arm64TlbiVale1Is, "10|1000 / 0000")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiVaae1, "10|1010 / 1010")] // X in every ASID, any level
    [InlineData(TlbMaintenanceOp.Arm64TlbiVaae1Is, "10|1010 / 1010")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiVaale1, "10|1010 / 0000")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiVaale1Is, "10|1010 / 0000")]
    public void EachOperationRemovesExactlyItsEntries(TlbMaintenanceOp op, string expected)
    {
        string actual = Removals(t => t.Execute(op, X, 1), out int count);
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Count(c => c == '1'), count);
    }

    /// <summary>SCALE 0, NUM 0: (0 + 1) x 2^1 = 2 pages from X, which overlap only X's entries.</summary>
    [Theory]
    [InlineData(TlbMaintenanceOp.Arm64TlbiRvae1, "10|1000 / 1000")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiRvae1Is, "10|1000 / 1000")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiRvale1, "10|1000 / 0000")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiRvale1Is, "10|1000 / 0000")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiRvaae1, "10|1010 / 1010")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiRvaae1Is, "10|1010 / 1010")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiRvaale1, "10|1010 / 0000")]
    [InlineData(TlbMaintenanceOp.Arm64TlbiRvaale1Is, "10|1010 / 0000")]
    public void RangeOperationsOverTwoPagesRemoveWhatTheirSingleAddressFormsRemove(TlbMaintenanceOp op, string expected)
    {
        Assert.Equal(8192UL, new TlbiRange(0, 0).Bytes);
        Assert.Equal(expected, Removals(t => t.Execute(op, X, 1, new TlbiRange(0, 0)), out _));
    }

    [Fact]
    public void TheRangeEndsExactlyWhereNumAndScaleSay()
    {
        // SCALE 1: (NUM + 1) x 64 pages. NUM 15 covers [X, X + 4 MiB) = [0x400000, 0x800000): Y is the first address outside.
        Assert.Equal(1024UL, new TlbiRange(1, 15).Granules);
        Assert.Equal("10|1000 / 1000", Removals(t => t.Execute(TlbMaintenanceOp.Arm64TlbiRvae1, X, 1, new TlbiRange(1, 15)), out _));

        // NUM 16: 1088 pages reach past Y; Y's global leaf, ASID 1's leaf and its table entry go too.
        Assert.Equal("11|1100 / 1100", Removals(t => t.Execute(TlbMaintenanceOp.Arm64TlbiRvae1, X, 1, new TlbiRange(1, 16)), out _));

        // The largest operand: SCALE 3, NUM 31 = 32 x 2^16 pages (8 GiB).
        Assert.Equal(8UL << 30, new TlbiRange(3, 31).Bytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TlbiRange(4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TlbiRange(0, 32));
    }

    [Fact]
    public void ARangeTouchingAnyPartOfABlockRemovesTheWholeBlockEvenWhenSplintered()
    {
        TlbHierarchyConfig splintering = s_config with
        {
            MicroD = [TlbLevelConfig.FullyAssociative("L1 DTLB", 8, [4096]) with { HowLargePagesAreHeld = LargePageHolding.Splintered }],
        };
        TlbHierarchy tlb = new(splintering, [TableShift]);

        // A 2 MiB block at 0x200000 reached at its first page: the main TLB holds the block, the micro TLB a 4 KiB splinter.
        Put(tlb, 0x20_0000, 1, false, 2UL << 20);
        Assert.Equal(2, tlb.Occupancy);

        // RVALE1 over the block's last two pages only, [0x3FE000, 0x400000): both copies go.
        TlbFlushResult r = tlb.Execute(TlbMaintenanceOp.Arm64TlbiRvale1, 0x3F_E000, 1, new TlbiRange(0, 0));
        Assert.Equal((2, 0), (r.TlbEntriesRemoved, tlb.Occupancy));

        // A range ending just below the block keeps it.
        Put(tlb, 0x20_0000, 1, false, 2UL << 20);
        Assert.Equal(0, tlb.Execute(TlbMaintenanceOp.Arm64TlbiRvale1, 0x1F_E000, 1, new TlbiRange(0, 0)).TlbEntriesRemoved);
    }

    [Fact]
    public void RangeOperationsNeedARangeAndOthersRefuseOne()
    {
        TlbHierarchy tlb = new(s_config, [TableShift]);
        Assert.Throws<ArgumentException>(() => tlb.Execute(TlbMaintenanceOp.Arm64TlbiRvae1, X, 1));
        Assert.Throws<ArgumentException>(() => tlb.Execute(TlbMaintenanceOp.Arm64TlbiVae1, X, 1, new TlbiRange(0, 0)));
    }

    [Fact]
    public void RulesNameTheWalkCacheEffectOfEachOperation()
    {
        Assert.Equal((TlbMatch.VaAsidOrGlobal, (TlbMatch?)TlbMatch.VaAsidOrGlobal), TlbHierarchy.Rule(TlbMaintenanceOp.Arm64TlbiVae1Is));
        Assert.Equal((TlbMatch.VaAsidOrGlobal, (TlbMatch?)null), TlbHierarchy.Rule(TlbMaintenanceOp.Arm64TlbiVale1Is));
        Assert.Equal((TlbMatch.VaAnyAsid, (TlbMatch?)null), TlbHierarchy.Rule(TlbMaintenanceOp.Arm64TlbiRvaale1));
        Assert.Equal(TlbMaintenanceOp.Arm64TlbiVale1, TlbMaintenanceOp.Arm64TlbiVale1Is.Local());
        Assert.True(TlbMaintenanceOp.Arm64TlbiRvae1Is.IsBroadcast() && TlbMaintenanceOp.Arm64TlbiRvae1Is.IsRange());
        Assert.False(TlbMaintenanceOp.Arm64TlbiVae1.IsBroadcast() || TlbMaintenanceOp.Arm64TlbiVae1.IsRange());
        Assert.Equal("TLBI VALE1IS", TlbMaintenanceOp.Arm64TlbiVale1Is.Mnemonic());
    }

    private static MemoryManagementUnit Cpu(MmuFormat format, int id, ShareabilityDomain? domain)
    {
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x4000_0000), 16 * ByteSize.MiB));
        PageTable table = PageTable.Create(PageTableFormat.Get(format), memory, allocator);
        Assert.True(table.Map(new VirtualAddress(X), new PhysicalAddress(0x4200_0000), 4096, PageAttributes.UserData).Succeeded);
        MemoryManagementUnit mmu = new(PageTableFormat.Get(format), memory, s_config, id);
        mmu.Registers = table.Registers;
        mmu.Registers.Ttbr0 |= 1UL << 48; // ASID 1, from TTBR0 or (TCR.A1) TTBR1
        mmu.Registers.Ttbr1 |= 1UL << 48;
        Assert.Equal(1, mmu.CurrentAsid);
        domain?.Add(mmu);
        return mmu;
    }

    [Fact]
    public void InnerShareableFormsReachEveryCpuOfTheDomainAndLocalOnesOnlyTheIssuer()
    {
        ShareabilityDomain domain = new();
        MemoryManagementUnit cpu0 = Cpu(MmuFormat.AArch64Va48, 0, domain);
        MemoryManagementUnit cpu1 = Cpu(MmuFormat.AArch64Va48, 1, domain);
        VirtualAddress x = new(X);
        Assert.True(cpu0.Translate(x, AccessType.Read, Privilege.User).WasWalked);
        Assert.True(cpu1.Translate(x, AccessType.Read, Privilege.User).WasWalked);

        // Local VALE1 on CPU 0: CPU 1 still hits.
        Assert.Equal(1, cpu0.TlbiVae1(x, 1, lastLevel: true).CpusAffected);
        Assert.True(cpu0.Translate(x, AccessType.Read, Privilege.User).WasWalked);
        Assert.False(cpu1.Translate(x, AccessType.Read, Privilege.User).WasWalked);

        // VALE1IS from CPU 0: both CPUs walk again; the issuer counts the broadcast once.
        TlbFlushResult r = cpu0.TlbiVae1(x, 1, lastLevel: true, innerShareable: true);
        Assert.Equal((TlbMaintenanceOp.Arm64TlbiVale1Is, 2), (r.Op, r.CpusAffected));
        Assert.True(cpu0.Translate(x, AccessType.Read, Privilege.User).WasWalked);
        Assert.True(cpu1.Translate(x, AccessType.Read, Privilege.User).WasWalked);
        Assert.Equal(1, cpu0.Counters.Flushes(TlbMaintenanceOp.Arm64TlbiVale1Is));
        Assert.Equal(0, cpu1.Counters.Flushes(TlbMaintenanceOp.Arm64TlbiVale1Is));

        // RVAE1IS over [X, X + 8 KiB) from CPU 1.
        r = cpu1.Invalidate(TlbMaintenanceOp.Arm64TlbiRvae1Is, x, 1, new TlbiRange(0, 0));
        Assert.Equal(2, r.CpusAffected);
        Assert.True(cpu0.Translate(x, AccessType.Read, Privilege.User).WasWalked);
    }

    [Fact]
    public void EachMmuExecutesOnlyItsOwnArchitecturesOperations()
    {
        MemoryManagementUnit arm64 = Cpu(MmuFormat.AArch64Va39, 0, null);
        MemoryManagementUnit lpae = Cpu(MmuFormat.ArmLpae, 0, null);
        VirtualAddress x = new(X);
        Assert.Contains("TLBIMVA", Assert.Throws<InvalidOperationException>(() => arm64.TlbiMva(x, 1)).Message, StringComparison.Ordinal);
        Assert.Contains("TLBI VAE1", Assert.Throws<InvalidOperationException>(() => lpae.TlbiVae1(x, 1, lastLevel: false)).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => arm64.Invlpg(x));
        Assert.Equal(TlbMaintenanceOp.ArmTlbiMvaa, lpae.TlbiMvaa(x).Op);
        Assert.InRange(Enum.GetValues<TlbMaintenanceOp>().Length, 1, 64); // MmuFormat.Has keeps one bit per operation
        Assert.Equal(TlbMaintenanceOp.Arm64TlbiVaale1, arm64.TlbiVaae1(x, lastLevel: true).Op);
    }
}
