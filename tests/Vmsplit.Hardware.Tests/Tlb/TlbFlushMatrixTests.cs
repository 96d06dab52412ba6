using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Tlb;

public sealed class TlbFlushMatrixTests
{
    private const ulong X = 0x0040_0000;
    private const ulong Y = 0x0080_0000;

    private static readonly TlbHierarchyConfig s_config = new()
    {
        Main = [TlbLevelConfig.FullyAssociative("main", 16, [4096])],
        AsidBits = 12,
        HasPcid = true,
        HasInvpcid = true,
    };

    private static void Put(TlbHierarchy tlb, ulong va, ushort asid, bool global)
    {
        WalkResult w = new(FaultKind.None, 1, new VirtualAddress(va), new PhysicalAddress(0x10_0000 + va), 4096,
            AccessRights.KernelRead, false, global, MemoryType.Normal, 0, 2, 0);
        tlb.Fill(in w, new VirtualAddress(va), AccessType.Read, asid);
    }

    /// <summary>
    /// Entry kinds, in order: global at X, global at Y | ASID 1 at X, ASID 1 at Y, ASID 2 at X, ASID 2 at Y.
    /// The operation's operands are VA X and ASID/PCID 1 (for INVLPG: the current PCID, 1). '1' = removed.
    /// </summary>
    [Theory]
    [InlineData(TlbMaintenanceOp.ArmTlbiAll, "11|1111")]
    [InlineData(TlbMaintenanceOp.ArmTlbiAllIs, "11|1111")]
    [InlineData(TlbMaintenanceOp.ArmTlbiAsid, "00|1100")]
    [InlineData(TlbMaintenanceOp.ArmTlbiAsidIs, "00|1100")]
    [InlineData(TlbMaintenanceOp.ArmTlbiMva, "10|1000")]
    [InlineData(TlbMaintenanceOp.ArmTlbiMvaIs, "10|1000")]
    [InlineData(TlbMaintenanceOp.ArmTlbiMvaa, "10|1010")]
    [InlineData(TlbMaintenanceOp.ArmTlbiMvaaIs, "10|1010")]
    [InlineData(TlbMaintenanceOp.X86Cr3Write, "00|1111")]
    [InlineData(TlbMaintenanceOp.X86Cr3WritePcidFlush, "00|1100")]
    [InlineData(TlbMaintenanceOp.X86Cr3WriteNoFlush, "00|0000")]
    [InlineData(TlbMaintenanceOp.X86Invlpg, "10|1000")]
    [InlineData(TlbMaintenanceOp.X86InvpcidAddress, "00|1000")]
    [InlineData(TlbMaintenanceOp.X86InvpcidSingleContext, "00|1100")]
    [InlineData(TlbMaintenanceOp.X86InvpcidAllIncludingGlobal, "11|1111")]
    [InlineData(TlbMaintenanceOp.X86InvpcidAllNonGlobal, "00|1111")]
    [InlineData(TlbMaintenanceOp.X86Cr4PgeToggle, "11|1111")]
    [InlineData(TlbMaintenanceOp.RiscvSfenceVmaAll, "11|1111")]
    [InlineData(TlbMaintenanceOp.RiscvSfenceVmaVa, "10|1010")]
    [InlineData(TlbMaintenanceOp.RiscvSfenceVmaAsid, "00|1100")]
    [InlineData(TlbMaintenanceOp.RiscvSfenceVmaVaAsid, "00|1000")]
    public void OperationRemovesExactlyTheSpecifiedEntries(TlbMaintenanceOp op, string expected)
    {
        // Global and non-global entries for one VA would conflict in one TLB (ARM: TLB conflict abort), so each kind set gets its own TLB.
        TlbHierarchy globals = new(s_config);
        Put(globals, X, 7, true);
        Put(globals, Y, 7, true);
        TlbHierarchy locals = new(s_config);
        Put(locals, X, 1, false);
        Put(locals, Y, 1, false);
        Put(locals, X, 2, false);
        Put(locals, Y, 2, false);

        TlbFlushResult g = globals.Execute(op, X, 1);
        TlbFlushResult l = locals.Execute(op, X, 1);

        string actual = Removed(globals, (X, 0), (Y, 0)) + "|" + Removed(locals, (X, 1), (Y, 1), (X, 2), (Y, 2));
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Count(c => c == '1'), g.TlbEntriesRemoved + l.TlbEntriesRemoved);
    }

    private static string Removed(TlbHierarchy tlb, params (ulong Va, ushort Asid)[] kinds)
    {
        char[] s = new char[kinds.Length];
        for (int i = 0; i < kinds.Length; i++)
        {
            s[i] = tlb.Lookup(kinds[i].Va, AccessType.Read, kinds[i].Asid, out _) == TlbHitLevel.Walk ? '1' : '0';
        }

        return new string(s);
    }

    [Fact]
    public void WalkCacheRulesFollowTheManuals()
    {
        // INVLPG drops every paging-structure-cache entry of the current PCID whatever the address (SDM §4.10.4.1);
        // SFENCE.VMA with rs1 != x0 leaves non-leaf entries alone (RISC-V priv. spec §4.2.1).
        Assert.Equal((TlbMatch.VaAsidOrGlobal, TlbMatch.Asid), Rule(TlbMaintenanceOp.X86Invlpg));
        Assert.Equal((TlbMatch.VaAnyAsid, (TlbMatch?)null), Rule(TlbMaintenanceOp.RiscvSfenceVmaVa));
        Assert.Equal(((TlbMatch?)null, (TlbMatch?)null), Rule(TlbMaintenanceOp.X86Cr3WriteNoFlush));
    }

    private static (TlbMatch?, TlbMatch?) Rule(TlbMaintenanceOp op) => TlbHierarchy.Rule(op);
}
