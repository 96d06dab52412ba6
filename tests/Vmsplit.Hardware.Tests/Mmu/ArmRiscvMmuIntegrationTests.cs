using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Mmu;

/// <summary>The MMU over the real ARMv7 short-descriptor and RISC-V Sv39 walkers built by the editor.</summary>
public sealed class ArmRiscvMmuIntegrationTests
{
    private static readonly TlbHierarchyConfig s_cortexA9Like = new()
    {
        MicroI = [TlbLevelConfig.FullyAssociative("micro I", 32, [4096, 64 * 1024, 1UL << 20, 16UL << 20])],
        MicroD = [TlbLevelConfig.FullyAssociative("micro D", 32, [4096, 64 * 1024, 1UL << 20, 16UL << 20])],
        Main = [new TlbLevelConfig { Name = "main", Entries = 128, Ways = 2, PageSizes = [4096, 64 * 1024, 1UL << 20, 16UL << 20] }],
        AsidBits = 8,
    };

    private static (MemoryManagementUnit Mmu, PageTable Table) Build(MmuFormat id, TlbHierarchyConfig config)
    {
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 16 * ByteSize.MiB));
        PageTableFormat format = PageTableFormat.Get(id);
        PageTable table = PageTable.Create(format, memory, allocator);
        MemoryManagementUnit mmu = new(format, memory, config);
        mmu.Registers = table.Registers;
        return (mmu, table);
    }

    [Fact]
    public void ArmShortAsidFromContextidrAndDomainsCheckedOnHits()
    {
        (MemoryManagementUnit mmu, PageTable table) = Build(MmuFormat.ArmShort, s_cortexA9Like);
        Assert.True(table.Map(new VirtualAddress(0x0001_0000), new PhysicalAddress(0x0060_0000), 0x1000, PageAttributes.UserData).Succeeded);
        Assert.True(table.Map(new VirtualAddress(0xC000_0000), new PhysicalAddress(0x0010_0000), 1UL << 20, PageAttributes.KernelData).Succeeded);
        mmu.WriteContextIdr((0x42u << 8) | 5);
        mmu.Registers.Dacr = ArmShortDescriptor.LinuxDacr(userAccessEnabled: true);

        // uaccess window open (DACR user domain = client): the kernel's access fills the TLB.
        Assert.True(mmu.Translate(new VirtualAddress(0x0001_0004), AccessType.Read, Privilege.Kernel).WasWalked);

        // CONFIG_CPU_SW_DOMAIN_PAN closes the window: the same hit now takes a domain fault.
        mmu.Registers.Dacr = ArmShortDescriptor.LinuxDacr(userAccessEnabled: false);
        Translation closed = mmu.Translate(new VirtualAddress(0x0001_0004), AccessType.Read, Privilege.Kernel);
        Assert.Equal((FaultKind.Domain, TlbHitLevel.MicroD), (closed.Fault, closed.Source));

        // The 1 MiB kernel section is global: it survives a switch to ASID 6, the user page does not match there.
        Assert.True(mmu.Translate(new VirtualAddress(0xC000_1000), AccessType.Read, Privilege.Kernel).WasWalked);
        mmu.WriteContextIdr((0x43u << 8) | 6);
        Assert.Equal(6, mmu.CurrentAsid);
        Translation kernel = mmu.Translate(new VirtualAddress(0xC00F_FFFC), AccessType.Read, Privilege.Kernel);
        Assert.Equal((TlbHitLevel.MicroD, 1UL << 20, new PhysicalAddress(0x001F_FFFC)), (kernel.Source, kernel.PageSize, kernel.Address));
        mmu.Registers.Dacr = ArmShortDescriptor.LinuxDacr(userAccessEnabled: true);
        Assert.True(mmu.Translate(new VirtualAddress(0x0001_0004), AccessType.Read, Privilege.Kernel).WasWalked);

        // TLBIASID 5 removes ASID 5's copies (micro D + main) and nothing of ASID 6 or the global section.
        Assert.Equal(2, mmu.TlbiAsid(5).TlbEntriesRemoved);
        // Left: ASID 6's user page and the global section, each in micro D and main.
        Assert.Equal(4, mmu.Tlb.Occupancy);
    }

    [Fact]
    public void RiscvSumIsCheckedOnHitsAndSfenceVmaByAsid()
    {
        (MemoryManagementUnit mmu, PageTable table) = Build(MmuFormat.RiscvSv39, s_cortexA9Like with
        {
            MicroI = [],
            MicroD = [TlbLevelConfig.FullyAssociative("DTLB", 32, [4096, 2UL << 20, 1UL << 30])],
            Main = [new TlbLevelConfig { Name = "L2 TLB", Entries = 512, Ways = 4, PageSizes = [4096, 2UL << 20, 1UL << 30] }],
            AsidBits = 16,
        });
        Assert.True(table.Map(new VirtualAddress(0x1_0000), new PhysicalAddress(0x8020_0000), 0x1000, PageAttributes.UserData).Succeeded);
        ulong satp = mmu.Registers.Satp;
        mmu.WriteSatp(satp | (0x1234UL << 44));
        Assert.Equal(0x1234, mmu.CurrentAsid);

        // S-mode reaches a U page only with sstatus.SUM (priv. spec §4.3.1); the check applies to TLB hits as well.
        mmu.Registers.Sum = true;
        Assert.True(mmu.Translate(new VirtualAddress(0x1_0000), AccessType.Read, Privilege.Kernel).WasWalked);
        mmu.Registers.Sum = false;
        Translation denied = mmu.Translate(new VirtualAddress(0x1_0000), AccessType.Read, Privilege.Kernel);
        Assert.Equal((FaultKind.Permission, TlbHitLevel.MicroD), (denied.Fault, denied.Source));
        Assert.Equal(TlbHitLevel.MicroD, mmu.Translate(new VirtualAddress(0x1_0000), AccessType.Read, Privilege.User).Source);

        // SFENCE.VMA x0, other ASID keeps it; SFENCE.VMA x0, 0x1234 removes it from both arrays.
        Assert.Equal(0, mmu.SfenceVma(null, 0x1235).TlbEntriesRemoved);
        Assert.Equal(2, mmu.SfenceVma(null, 0x1234).TlbEntriesRemoved);
        Assert.Equal(2, mmu.Counters.Flushes(TlbMaintenanceOp.RiscvSfenceVmaAsid));
    }
}
