using System.Text;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Isolation;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Tests.Core;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Tests.Isolation;

/// <summary>4g4g on the short-descriptor format: the shared trampoline, the TTBR0/CONTEXTIDR switch, the audit, uaccess.</summary>
public class ArmShortFourGFourGTests
{
    private static (SimKernel K, Process P, VirtualAddress Buf) Boot(string design, string cpu = "cortex-a8") =>
        KernelBoot.BootWithBuffer(KernelArch.Arm, design, cpu, ramBytes: 256 * ByteSize.MiB, touch: true);

    [Fact]
    public void TheTrampolinePtesAreTheSameGlobalDescriptorsInEveryTableAndTheUserHasItsOwnSecondLevelTable()
    {
        (SimKernel k, Process p, _) = Boot("4g4g");
        ArmShortFourGFourG s = Assert.IsType<ArmShortFourGFourG>(k.Isolation);

        // Small-page descriptors, hand-encoded (ARM ARM B3.5.1): type 0b10 at bit 1, B and C (bit 2, 3) with TEX=001 (bit 6):
        // write-back write-allocate; nG (bit 11) clear: global. Vectors and stubs: AP[1:0]=01 with APX (bit 9) set,
        // privileged read-only, XN (bit 0) clear: 0x65e. Save area: AP=01, APX clear, privileged read-write, XN set: 0x45f.
        (ulong va, uint low)[] pages = [(0xffff0000, 0x65e), (0xffff1000, 0x65e), (0xffff2000, 0x45f)];
        foreach ((ulong va, uint low) in pages)
        {
            PageTableLookup kernel = s.KernelTree.Lookup(new VirtualAddress(va));
            Assert.True(kernel.Found);
            uint expected = (uint)kernel.FrameBase.Value | low;
            Assert.Equal(expected, kernel.Descriptor);
            Assert.Equal(expected, p.Tables.Lookup(new VirtualAddress(va)).Descriptor);
            Assert.Equal(expected, s.ReservedTree.Lookup(new VirtualAddress(va)).Descriptor);
            Assert.NotEqual(kernel.EntryAddress, p.Tables.Lookup(new VirtualAddress(va)).EntryAddress); // a copy, not the kernel's L2
        }

        // The first-level entry of the top MiB (index 4095): a page-table descriptor (0b01), domain 0, to the process's own L2 table.
        uint userL1 = k.Memory.ReadUInt32(p.Tables.Root + (4095 * 4));
        uint kernelL1 = k.Memory.ReadUInt32(s.KernelTree.Root + (4095 * 4));
        Assert.Equal(0x001u, userL1 & 0x3ff);
        Assert.Equal(0x001u, kernelL1 & 0x3ff);
        Assert.Equal(p.Tables.Lookup(new VirtualAddress(0xffff0000)).EntryAddress.Value & ~0x3ffUL, userL1 & 0xfffffc00);
        Assert.NotEqual(kernelL1, userL1);

        // Nothing else of the kernel is in the process's table: the image, the linear map, vmalloc, the fixmap
        Assert.False(p.Tables.Lookup(k.ImageVa).Found);
        Assert.False(p.Tables.Lookup(new VirtualAddress(k.Layout.FixaddrStart)).Found);
        Assert.False(p.Tables.Lookup(new VirtualAddress(0xffff3000)).Found); // no bounce page under pin-kmap
        Assert.True(s.KernelTree.Lookup(k.ImageVa).Found);
        Assert.Empty(k.Checker!.Reports);
    }

    [Theory]
    [InlineData("cortex-a8")]
    [InlineData("arm1136")]
    public void EntryAndExitLoadTheRootsThroughTheReservedTableWithLinuxsSwitchMmSequence(string cpu)
    {
        (SimKernel k, Process p, _) = Boot("4g4g", cpu);
        ArmShortFourGFourG s = Assert.IsType<ArmShortFourGFourG>(k.Isolation);
        Assert.Equal(cpu == "arm1136", s.Armv6);
        ref MmuRegisters r = ref k.Cpu.Mmu.Registers;
        Assert.Equal(p.Tables.Root.Value, r.Ttbr0);
        Assert.Equal(s.ReservedTree.Root.Value, r.Ttbr1);
        Assert.Equal(0UL, r.Ttbcr); // TTBCR.N = 0: TTBR1 is never walked
        uint userContext = r.ContextIdr;
        Assert.NotEqual(0u, userContext);

        CpuProfile prof = k.Cpu.Profile;
        double roots = k.Ledger.Cycles(CostCause.RootRegisterWrite);
        double barriers = k.Ledger.Cycles(CostCause.Barrier);
        k.EnterKernel();
        Assert.Equal(s.KernelTree.Root.Value, r.Ttbr0);
        Assert.Equal(s.ReservedTree.Root.Value, r.Ttbr1);
        Assert.Equal(0u, r.ContextIdr); // ASID 0: the kernel's table
        // cpu_set_reserved_ttbr0 then cpu_v7_switch_mm (CONTEXTIDR, ISB, TTBR0, ISB) or cpu_v6_switch_mm (DSB, TTBR0, CONTEXTIDR)
        double perSwitchRoots = (2 * prof.Cycles(PrimitiveCost.Ttbr0Write)) + prof.Cycles(PrimitiveCost.ContextidrWrite);
        double perSwitchBarriers = cpu == "arm1136"
            ? prof.Cycles(PrimitiveCost.Isb) + prof.Cycles(PrimitiveCost.Dsb)
            : 3 * prof.Cycles(PrimitiveCost.Isb);
        Assert.Equal(perSwitchRoots, k.Ledger.Cycles(CostCause.RootRegisterWrite) - roots);
        Assert.Equal(perSwitchBarriers, k.Ledger.Cycles(CostCause.Barrier) - barriers);

        k.ExitKernel();
        Assert.Equal(p.Tables.Root.Value, r.Ttbr0);
        Assert.Equal(userContext, r.ContextIdr);
        Assert.Equal(2 * perSwitchRoots, k.Ledger.Cycles(CostCause.RootRegisterWrite) - roots);
        Assert.Equal(2 * perSwitchBarriers, k.Ledger.Cycles(CostCause.Barrier) - barriers);
        Assert.Empty(k.Checker!.Reports);
    }

    [Theory]
    [InlineData("4g4g", 0xffff3000UL)]
    [InlineData("4g4g+pmd-copy", 0xffff3000UL)]
    [InlineData("4g4g+ttbr0-switch", 0xffff4000UL)]
    [InlineData("4g4g+hybrid", 0xffff4000UL)]
    [InlineData("4g4g+trampoline", 0xffff4000UL)]
    public void TheAuditWalksTheUserTableAloneAndFindsOnlyTheTrampoline(string design, ulong trampolineEnd)
    {
        SimKernel k = KernelBoot.Boot(KernelArch.Arm, design, "cortex-a8", 256 * ByteSize.MiB);
        Process probe = k.CreateProcess();
        LiveRoot live = Assert.Single(k.Isolation.LiveRootsInUserMode(probe));
        Assert.Equal("TTBR0", live.Register);
        Assert.Same(probe.Tables, live.Tree);
        k.DestroyProcess(probe);

        AuditResult a = IsolationAudit.Run(k);
        Assert.Collection(
            a.ExposedKernelRanges,
            r => Assert.Equal((0xffff0000UL, 0xffff2000UL, "TTBR0"), (r.Start, r.End, r.Root)), // vectors and stubs, r-x
            r => Assert.Equal((0xffff2000UL, trampolineEnd, "TTBR0"), (r.Start, r.End, r.Root))); // save area (and bounce page), rw-
        Assert.All(a.ExposedKernelRanges, r => Assert.Contains("global", r.Perms, StringComparison.Ordinal));
        Assert.Equal(0UL, a.ReachableUserBytes);
    }

    [Theory]
    [InlineData("4g4g+pin-kmap", "cortex-a8")]
    [InlineData("4g4g+ttbr0-switch", "cortex-a8")]
    [InlineData("4g4g+hybrid", "cortex-a8")]
    [InlineData("4g4g+trampoline", "cortex-a8")]
    [InlineData("4g4g+pmd-copy", "cortex-a8")]
    [InlineData("4g4g+pin-kmap", "arm1136")]
    [InlineData("4g4g+ttbr0-switch", "arm1136")]
    [InlineData("4g4g+pmd-copy", "arm1136")]
    public void AKernelAccessToAUserAddressMissesTheUserPageExceptThroughTheUaccessStrategy(string design, string cpu)
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot(design, cpu);
        VirtualAddress user = buf + 0x3000 + 40;
        byte[] text = Encoding.ASCII.GetBytes("user bytes behind the 4g4g wall");
        k.UserTouch(p, user, (ulong)text.Length, write: true);
        PhysicalAddress frame = p.Tables.Lookup(user).Translate(user);
        k.Memory.Write(frame, text);

        k.EnterKernel();
        WalkResult w = k.Cpu.Mmu.WalkUncounted(user, AccessType.Read, Privilege.Kernel);
        Assert.True(w.IsFault || w.Translate(user) != frame, $"the kernel's table reaches the user page at {user}");
        Translation t = k.Cpu.Access(user, AccessType.Read, Privilege.Kernel); // the TLB still holds the user's entry, under the user ASID
        Assert.True(t.IsFault || t.Address != frame);

        byte[] back = new byte[text.Length];
        Assert.Equal(0UL, k.Uaccess.CopyFromUser(back, user));
        Assert.Equal(text, back);
        Assert.Equal(0u, k.Cpu.Mmu.Registers.ContextIdr); // back on the kernel's table after the section
        k.ExitKernel();
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void PmdCopyCopiesTheFirstLevelPairAsCopyPmdDoes()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot("4g4g+pmd-copy");
        VirtualAddress va = buf + 0x2000 + 16;
        k.EnterKernel();
        long loads = k.SoftwareWalkLoads;
        long writes = k.DescriptorWrites;
        long flushes = k.Cpu.Mmu.Counters.TotalFlushes;

        Assert.Equal(0, k.Uaccess.PutUser(va, 4, 0xcafef00d));

        // the pair of first-level entries loaded, stored into the slot's pair and cleared again; one TLBIMVA for the page reached
        Assert.Equal(2, k.SoftwareWalkLoads - loads);
        Assert.Equal(4, k.DescriptorWrites - writes);
        Assert.Equal(1, k.Cpu.Mmu.Counters.TotalFlushes - flushes);
        Assert.Equal(0xcafef00du, k.Memory.ReadUInt32(p.Tables.Lookup(va).Translate(va)));
        PmdCopyUserAccess strategy = Assert.IsType<PmdCopyUserAccess>(k.UserPages);
        Assert.Equal(0UL, strategy.Slot.Value & 0x1fffff);
        Assert.False(k.KernelTree.Lookup(strategy.Slot + (va.Value & 0x1fffff)).Found);
        k.ExitKernel();
        Assert.Empty(k.Checker!.Reports);
    }

    [Theory]
    [InlineData("cortex-a8")]
    [InlineData("arm1136")]
    public void EveryUaccessStrategyParsesOnShortDescriptorsWithoutLpae(string cpu)
    {
        CpuProfile profile = CpuProfiles.Find(cpu)!;
        foreach (string name in new[] { "4g4g", "4g4g+pin-kmap", "4g4g+ttbr0-switch", "4g4g+hybrid", "4g4g+trampoline", "4g4g+pmd-copy" })
        {
            Assert.True(DesignSpec.TryParse(name, MmuFormat.ArmShort, profile, out _, out string error), error);
        }

        // on the LPAE format the CPU must still have LPAE
        Assert.False(DesignSpec.TryParse("4g4g", MmuFormat.ArmLpae, profile, out _, out string lpae));
        Assert.Contains("LPAE", lpae, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLayoutGivesUserSpaceAllButTheTop16MiBAndNoTtbr1Region()
    {
        SimKernel k = KernelBoot.Boot(KernelArch.Arm, "4g4g", "cortex-a8", 256 * ByteSize.MiB);
        Assert.Equal(0xff000000UL, k.Layout.TaskSize);
        Assert.Equal(0UL, k.Layout.KernelRootStart);
        LayoutRegion vectors = Assert.Single(k.Layout.Regions, r => r.Kind == RegionKind.Vectors);
        Assert.Equal((0xffff0000UL, 3 * 4096UL, "TTBR0"), (vectors.Start, vectors.Size, vectors.Ttbr));
        Assert.All(k.Layout.Regions.Where(r => r.Kind is RegionKind.KernelImage or RegionKind.Vmalloc or RegionKind.Modules or RegionKind.Fixmap), r => Assert.Equal(RegionView.KernelContext, r.View));
    }
}
