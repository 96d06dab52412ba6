using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Mmu;

public sealed class CoherenceCheckerTests
{
    private const ulong Cr3NoFlush = 1UL << 63;

    private static readonly TlbHierarchyConfig s_arm = new()
    {
        MicroD = [TlbLevelConfig.FullyAssociative("uD", 10, [4096])],
        Main = [new TlbLevelConfig { Name = "main", Entries = 256, Ways = 2, PageSizes = [4096, 2UL << 20] }],
        AsidBits = 8,
    };

    private sealed class Machine
    {
        public Machine(MmuFormat format, TlbHierarchyConfig config)
        {
            Memory = new PhysicalMemory();
            Checker = new CoherenceChecker();
            Tables = new ToyTables(Memory, Checker);
            Mmu = new MemoryManagementUnit(new ToyFormat(format), Memory, config);
            Checker.Attach(Mmu);
        }

        public PhysicalMemory Memory { get; }

        public CoherenceChecker Checker { get; }

        public ToyTables Tables { get; }

        public MemoryManagementUnit Mmu { get; }

        public Translation Read(ulong va, Privilege privilege = Privilege.User) => Mmu.Translate(new VirtualAddress(va), AccessType.Read, privilege);
    }

    [Fact]
    public void UnmapWithoutInvalidationIsReportedWithTheChange()
    {
        Machine m = new(MmuFormat.ArmLpae, s_arm);
        ulong root = m.Tables.NewTable();
        m.Tables.Map(root, 0x8000, 0x7_0000, ToyFormat.UserBit);
        m.Mmu.WriteTtbr0(root | (3UL << 48));
        Assert.Equal(new PhysicalAddress(0x7_0010), m.Read(0x8010).Address);

        m.Tables.Unmap(root, 0x8000);
        Translation stale = m.Read(0x8010);

        // The hardware would still use the TLB entry; the checker says why that is wrong.
        Assert.Equal(new PhysicalAddress(0x7_0010), stale.Address);
        StaleTranslation r = Assert.Single(m.Checker.Reports);
        Assert.Equal((StaleKind.Unmapped, (ushort)3, new VirtualAddress(0x8010), FaultKind.Translation), (r.Kind, r.Asid, r.Va, r.Current.Fault));
        Assert.Equal(new PhysicalAddress(0x7_0000), r.Cached.FrameBase);
        PageTableWrite change = Assert.IsType<PageTableWrite>(r.Change);
        Assert.Equal((0x7_0000UL | ToyFormat.UserBit | ToyFormat.Present, 0UL, new VirtualAddress(0x8000)), (change.OldDescriptor, change.NewDescriptor, change.Va));
        Assert.Contains("not followed by an invalidation of 0x8010 for ASID 3 on CPU 0; no maintenance operation since", r.Explanation, StringComparison.Ordinal);
        Assert.Equal(1, m.Mmu.Counters.StaleTranslations);
    }

    [Fact]
    public void UnmapFollowedByTlbimvaIsSilent()
    {
        Machine m = new(MmuFormat.ArmLpae, s_arm);
        ulong root = m.Tables.NewTable();
        m.Tables.Map(root, 0x8000, 0x7_0000, ToyFormat.UserBit);
        m.Mmu.WriteTtbr0(root | (3UL << 48));
        m.Read(0x8010);
        m.Read(0x8010);
        m.Tables.Unmap(root, 0x8000);

        // TLBIMVA for another ASID does not cover it: still stale.
        m.Mmu.TlbiMva(new VirtualAddress(0x8000), 4);
        m.Read(0x8010);
        Assert.Contains("since then: TLBIMVA (0x8000, ASID 4)", Assert.Single(m.Checker.Reports).Explanation, StringComparison.Ordinal);

        m.Checker.Clear();
        Assert.Equal(2, m.Mmu.TlbiMva(new VirtualAddress(0x8000), 3).TlbEntriesRemoved);
        Assert.Equal(FaultKind.Translation, m.Read(0x8010).Fault);
        Assert.Empty(m.Checker.Reports);
        Assert.True(m.Checker.HitsChecked == 0);
    }

    [Fact]
    public void AsidReuseAfterRolloverWithoutFlushIsReported()
    {
        // ARM's generation allocator (arch/arm/mm/context.c): 8-bit ASIDs, 255 usable per generation
        // (0 is reserved); a rollover must flush the TLBs (local_flush_tlb_all on every CPU) before any
        // ASID is handed out again. 300 processes: process 0 gets ASID 1, process 255 wraps to ASID 1.
        foreach (bool flushOnRollover in (bool[])[true, false])
        {
            Machine m = new(MmuFormat.ArmLpae, s_arm);
            ulong[] roots = new ulong[300];
            int next = 1;
            int rollovers = 0;
            ushort[] asids = new ushort[roots.Length];
            for (int p = 0; p < roots.Length; p++)
            {
                roots[p] = m.Tables.NewTable();
                m.Tables.Map(roots[p], 0x1_0000, 0x10_0000 + ((ulong)p << 12), ToyFormat.UserBit);
                if (next == 256)
                {
                    next = 1;
                    rollovers++;
                    if (flushOnRollover)
                    {
                        m.Mmu.TlbiAll(innerShareable: true);
                    }
                }

                asids[p] = (ushort)next++;
                m.Mmu.WriteTtbr0(roots[p] | ((ulong)asids[p] << 48));

                // Only the first and the 256th process touch the page; the others just run.
                if (p is 0 or 255)
                {
                    Translation t = m.Read(0x1_0000);
                    Assert.Equal(flushOnRollover || p == 0 ? TlbHitLevel.Walk : TlbHitLevel.MicroD, t.Source);
                }
            }

            Assert.Equal((1, (ushort)1, (ushort)1), (rollovers, asids[0], asids[255]));
            if (flushOnRollover)
            {
                Assert.Empty(m.Checker.Reports);
            }
            else
            {
                StaleTranslation r = Assert.Single(m.Checker.Reports);
                Assert.Equal((StaleKind.AsidReused, (ushort)1), (r.Kind, r.Asid));
                Assert.Equal(new PhysicalAddress(0x10_0000), r.Cached.FrameBase);
                Assert.Equal(new PhysicalAddress(0x10_0000 + (255UL << 12)), r.Current.FrameBase);
                Assert.Contains($"filled from the tables at {ByteSize.Hex(roots[0])} under ASID 1", r.Explanation, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>
    /// x86-64 PTI with PCID (arch/x86/entry/calling.h SWITCH_TO_USER_CR3, arch/x86/mm/tlb.c
    /// invalidate_user_asid): kernel PCID 1, user PCID 1 | 0x800. The kernel flushes its own PCID with
    /// INVLPG and leaves the user PCID for the exit path, which must then load CR3 without bit 63.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void KptiExitMustHonourTheDeferredUserFlush(bool exitFlushes)
    {
        TlbHierarchyConfig config = MmuTests.X86Config(pcid: true);
        Machine m = new(MmuFormat.X86_64, config);
        m.Mmu.WriteCr4(Cr4Flags.Pae | Cr4Flags.Pge | Cr4Flags.Pcide);
        ulong kernelPgd = m.Tables.NewTable();
        ulong userPgd = m.Tables.NewTable();
        m.Tables.Map(kernelPgd, 0x40_1000, 0x9_1000, ToyFormat.UserBit | ToyFormat.Writable);
        m.Tables.Share(kernelPgd, userPgd, 0x40_1000);
        const ushort KernelPcid = 1;
        const ushort UserPcid = 1 | 0x800;

        m.Mmu.WriteCr3(userPgd | UserPcid);
        Assert.True(m.Read(0x40_1000).WasWalked);

        // Syscall entry: SWITCH_TO_KERNEL_CR3 with the no-flush bit.
        m.Mmu.WriteCr3(kernelPgd | KernelPcid | Cr3NoFlush);
        Assert.Equal(KernelPcid, m.Mmu.CurrentAsid);

        // munmap: clear the PTE in the shared table, INVLPG for the current (kernel) PCID; the user PCID is left pending.
        m.Tables.Unmap(kernelPgd, 0x40_1000);
        Assert.Equal(0, m.Mmu.Invlpg(new VirtualAddress(0x40_1000)).TlbEntriesRemoved);
        bool userFlushPending = true;

        // Exit: SWITCH_TO_USER_CR3 sets bit 63 only when no user flush is pending.
        ulong exitCr3 = userPgd | UserPcid | (exitFlushes && userFlushPending ? 0 : Cr3NoFlush);
        m.Mmu.WriteCr3(exitCr3);
        Translation t = m.Read(0x40_1000);
        if (exitFlushes)
        {
            Assert.Equal(FaultKind.Translation, t.Fault);
            Assert.Empty(m.Checker.Reports);
        }
        else
        {
            Assert.False(t.IsFault);
            StaleTranslation r = Assert.Single(m.Checker.Reports);
            Assert.Equal((StaleKind.Unmapped, UserPcid), (r.Kind, r.Asid));
            Assert.Contains($"root {ByteSize.Hex(kernelPgd)}", r.Explanation, StringComparison.Ordinal);
            Assert.Contains("since then: INVLPG (0x401000, ASID 1), MOV CR3 (PCID, no flush)", r.Explanation, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GlobalKernelMappingChangedNeedsAGlobalInvalidation(bool invlpg)
    {
        // x86 without PCID: a context switch's CR3 write keeps global entries (SDM §4.10.4.1), so
        // changing a global kernel mapping needs INVLPG (or a CR4.PGE toggle), as flush_tlb_kernel_range does.
        Machine m = new(MmuFormat.X86_64, MmuTests.X86Config(pcid: false));
        m.Mmu.WriteCr4(Cr4Flags.Pae | Cr4Flags.Pge);
        ulong rootA = m.Tables.NewTable();
        ulong rootB = m.Tables.NewTable();
        m.Tables.Map(rootA, 0x3000_0000, 0x20_0000, ToyFormat.GlobalBit | ToyFormat.Writable);
        m.Tables.Share(rootA, rootB, 0x3000_0000);
        m.Mmu.WriteCr3(rootA);
        Assert.True(m.Read(0x3000_0000, Privilege.Kernel).WasWalked);

        // vmalloc-style remap of the kernel page to another frame, then a switch to B.
        m.Tables.Unmap(rootA, 0x3000_0000);
        m.Tables.Map(rootA, 0x3000_0000, 0x30_0000, ToyFormat.GlobalBit | ToyFormat.Writable);
        if (invlpg)
        {
            m.Mmu.Invlpg(new VirtualAddress(0x3000_0000));
        }

        m.Mmu.WriteCr3(rootB);
        Translation t = m.Read(0x3000_0000, Privilege.Kernel);
        if (invlpg)
        {
            Assert.Equal((TlbHitLevel.Walk, new PhysicalAddress(0x30_0000)), (t.Source, t.Address));
            Assert.Empty(m.Checker.Reports);
        }
        else
        {
            StaleTranslation r = Assert.Single(m.Checker.Reports);
            Assert.Equal(StaleKind.Remapped, r.Kind);
            Assert.True(r.Cached.Global);
            Assert.Equal(new PhysicalAddress(0x20_0000), t.Address);
            Assert.Equal(new PhysicalAddress(0x30_0000), r.Current.FrameBase);
            Assert.Contains("for global entries", r.Explanation, StringComparison.Ordinal);
            Assert.StartsWith("stale translation on CPU 0 at 0x30000000 (ASID 0, Remapped): TLB (MicroD) gives 0x200000 4K global", r.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PermissionDowngradeWithoutFlushIsStaleButUpgradeIsNot()
    {
        Machine m = new(MmuFormat.ArmLpae, s_arm);
        ulong root = m.Tables.NewTable();
        m.Tables.Map(root, 0x8000, 0x7_0000, ToyFormat.UserBit);
        m.Mmu.WriteTtbr0(root | (3UL << 48));
        m.Read(0x8000);

        // Read-only -> writable without TLBI: allowed (the stale entry only causes a spurious fault).
        m.Tables.Map(root, 0x8000, 0x7_0000, ToyFormat.UserBit | ToyFormat.Writable);
        Assert.Equal(FaultKind.Permission, m.Mmu.Translate(new VirtualAddress(0x8000), AccessType.Write, Privilege.User).Fault);
        m.Read(0x8000);
        Assert.Empty(m.Checker.Reports);

        // Fill the writable translation, then make it read-only without TLBI: a read reveals the stale write permission.
        m.Mmu.TlbiAsid(3);
        m.Mmu.Translate(new VirtualAddress(0x8000), AccessType.Write, Privilege.User);
        m.Tables.Map(root, 0x8000, 0x7_0000, ToyFormat.UserBit);
        m.Read(0x8000);
        Assert.Equal(StaleKind.PermissionsReduced, Assert.Single(m.Checker.Reports).Kind);
    }

    [Fact]
    public void ThrowModeStopsAtTheFirstStaleHit()
    {
        Machine m = new(MmuFormat.RiscvSv39, s_arm with { AsidBits = 16 });
        ulong root = m.Tables.NewTable();
        m.Tables.Map(root, 0x8000, 0x7_0000, ToyFormat.UserBit);
        m.Mmu.WriteSatp((8UL << 60) | (9UL << 44) | (root >> 12));
        m.Read(0x8000);
        m.Tables.Unmap(root, 0x8000);

        // SFENCE.VMA with the VA in another ASID leaves ASID 9's entry.
        m.Mmu.SfenceVma(new VirtualAddress(0x8000), 8);
        m.Checker.ThrowOnStale = true;
        StaleTranslationException e = Assert.Throws<StaleTranslationException>(() => m.Read(0x8000));
        Assert.Equal((ushort)9, e.Report.Asid);
        Assert.Contains("SFENCE.VMA va, asid (0x8000, ASID 8)", e.Message, StringComparison.Ordinal);
    }
}
