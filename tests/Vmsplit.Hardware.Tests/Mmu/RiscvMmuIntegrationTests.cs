using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Riscv;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Mmu;

/// <summary>
/// The MMU over the RISC-V Sv39 walker: satp.ASID tags the TLB, a satp write alone keeps old entries (the
/// spec asks for SFENCE.VMA), global kernel entries serve every ASID, and SFENCE.VMA's four forms remove
/// what the privileged spec says ("SFENCE.VMA" section).
/// </summary>
public sealed class RiscvMmuIntegrationTests
{
    private const ulong UserVa = 0x1_0000;
    private const ulong KernelVa = 0xFFFF_FFFF_8020_0000;

    private static readonly TlbHierarchyConfig s_config = new()
    {
        MicroD = [TlbLevelConfig.FullyAssociative("DTLB", 16, [4096, 2UL << 20])],
        Main = [new TlbLevelConfig { Name = "L2 TLB", Entries = 256, Ways = 4, PageSizes = [4096, 2UL << 20] }],
        AsidBits = 16,
    };

    private sealed record Setup(MemoryManagementUnit Mmu, PageTable A, PageTable B);

    /// <summary>Two address spaces (ASIDs 1 and 2) with the same user VA on different frames and the same global kernel text.</summary>
    private static Setup Build()
    {
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 16 * ByteSize.MiB));
        RiscvPageTableFormat sv39 = RiscvPageTableFormat.Sv39;
        PageTable a = PageTable.Create(sv39, memory, allocator);
        PageTable b = PageTable.Create(sv39, memory, allocator);
        foreach ((PageTable t, ulong frame) in new[] { (a, 0x9000_0000UL), (b, 0x9100_0000UL) })
        {
            Assert.True(t.Map(new VirtualAddress(UserVa), new PhysicalAddress(frame), 4096, PageAttributes.UserData).Succeeded);
            Assert.True(t.Map(new VirtualAddress(KernelVa), new PhysicalAddress(0x8020_0000), 2UL << 20, PageAttributes.KernelText).Succeeded);
        }

        MemoryManagementUnit mmu = new(sv39, memory, s_config);
        mmu.WriteSatp(RiscvSatp.Rv64(RiscvSatpMode.Sv39, 1, a.Root.Value));
        return new Setup(mmu, a, b);
    }

    [Fact]
    public void SatpAsidTagsTheTlbAndGlobalEntriesServeEveryAsid()
    {
        (MemoryManagementUnit mmu, PageTable a, PageTable b) = Build();
        Assert.Equal(1, mmu.CurrentAsid);
        Assert.Equal(new PhysicalAddress(0x9000_0010), mmu.Translate(new VirtualAddress(UserVa + 0x10), AccessType.Read, Privilege.User).Address);
        Translation k1 = mmu.Translate(new VirtualAddress(KernelVa + 0x40), AccessType.Execute, Privilege.Kernel);
        Assert.True(k1.WasWalked);
        Assert.Equal(2UL << 20, k1.PageSize);

        // Switch to address space B (ASID 2) without any fence: B's user page needs a walk and gets B's frame;
        // the global kernel text hits the entry ASID 1 filled.
        mmu.WriteSatp(RiscvSatp.Rv64(RiscvSatpMode.Sv39, 2, b.Root.Value));
        Assert.Equal(2, mmu.CurrentAsid);
        Translation u2 = mmu.Translate(new VirtualAddress(UserVa + 0x10), AccessType.Read, Privilege.User);
        Assert.True(u2.WasWalked);
        Assert.Equal(new PhysicalAddress(0x9100_0010), u2.Address);
        Translation k2 = mmu.Translate(new VirtualAddress(KernelVa + 0x80), AccessType.Execute, Privilege.Kernel);
        Assert.False(k2.WasWalked);
        Assert.Equal(new PhysicalAddress(0x8020_0080), k2.Address);

        // Back to ASID 1: its user entry is still cached.
        mmu.WriteSatp(RiscvSatp.Rv64(RiscvSatpMode.Sv39, 1, a.Root.Value));
        Assert.False(mmu.Translate(new VirtualAddress(UserVa), AccessType.Read, Privilege.User).WasWalked);
    }

    [Fact]
    public void SfenceVmaFormsRemoveWhatTheSpecSays()
    {
        (MemoryManagementUnit mmu, PageTable a, _) = Build();
        mmu.Translate(new VirtualAddress(UserVa), AccessType.Read, Privilege.User);
        mmu.Translate(new VirtualAddress(KernelVa), AccessType.Read, Privilege.Kernel);

        // SFENCE.VMA x0, asid: the ASID's non-global entries go, the global kernel entry stays.
        mmu.SfenceVma(null, 1);
        Assert.True(mmu.Translate(new VirtualAddress(UserVa), AccessType.Read, Privilege.User).WasWalked);
        Assert.False(mmu.Translate(new VirtualAddress(KernelVa), AccessType.Read, Privilege.Kernel).WasWalked);

        // SFENCE.VMA va, asid keeps the global entry for va; SFENCE.VMA va, x0 removes it.
        mmu.SfenceVma(new VirtualAddress(KernelVa), 1);
        Assert.False(mmu.Translate(new VirtualAddress(KernelVa), AccessType.Read, Privilege.Kernel).WasWalked);
        mmu.SfenceVma(new VirtualAddress(KernelVa), null);
        Assert.True(mmu.Translate(new VirtualAddress(KernelVa), AccessType.Read, Privilege.Kernel).WasWalked);

        // A stale entry survives an unmap until the fence: the TLB still translates, the tables no longer do.
        Assert.True(a.Unmap(new VirtualAddress(UserVa), 4096).Succeeded);
        Assert.False(mmu.Translate(new VirtualAddress(UserVa), AccessType.Read, Privilege.User).IsFault);
        Assert.Equal(FaultKind.Translation, mmu.WalkUncounted(new VirtualAddress(UserVa), AccessType.Read, Privilege.User).Fault);
        mmu.SfenceVma(null, null);
        Assert.Equal(FaultKind.Translation, mmu.Translate(new VirtualAddress(UserVa), AccessType.Read, Privilege.User).Fault);
    }

    [Fact]
    public void SumAndMxrApplyOnTlbHits()
    {
        (MemoryManagementUnit mmu, _, _) = Build();
        Assert.False(mmu.Translate(new VirtualAddress(UserVa), AccessType.Write, Privilege.User).IsFault);

        // The entry is now cached; S-mode stores to it fault until sstatus.SUM is set, which needs no fence.
        Assert.Equal(FaultKind.Permission, mmu.Translate(new VirtualAddress(UserVa), AccessType.Write, Privilege.Kernel).Fault);
        mmu.Registers.Sum = true;
        Translation hit = mmu.Translate(new VirtualAddress(UserVa), AccessType.Write, Privilege.Kernel);
        Assert.False(hit.IsFault);
        Assert.False(hit.WasWalked);

        // Never an S-mode fetch from a U page, whatever SUM says.
        Assert.Equal(FaultKind.Permission, mmu.Translate(new VirtualAddress(UserVa), AccessType.Execute, Privilege.Kernel).Fault);
    }
}
