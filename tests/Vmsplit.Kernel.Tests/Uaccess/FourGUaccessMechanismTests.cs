using System.Text;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Tests.Core;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Tests.Uaccess;

/// <summary>The trampoline and pmd-copy variants executed: descriptor loads and stores, TLB invalidations, counted exactly.</summary>
public class FourGUaccessMechanismTests
{
    private static (SimKernel K, Process P, VirtualAddress Buf) Boot(string design) =>
        KernelBoot.BootWithBuffer(KernelArch.ArmLpae, design, "cortex-a15");

    [Fact]
    public void PmdCopyWalksTwoLevelsStoresTheSlotTwiceAndInvalidatesThePageItReached()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot("4g4g+pmd-copy");
        VirtualAddress va = buf + 0x2000 + 16;
        k.UserTouch(p, va, 8, write: true);
        k.EnterKernel();
        long loads = k.SoftwareWalkLoads;
        long writes = k.DescriptorWrites;
        long flushes = k.Cpu.Mmu.Counters.TotalFlushes;

        Assert.Equal(0, k.Uaccess.PutUser(va, 4, 0xcafef00d));

        // the user's pgd and pmd entries loaded; set_pmd(slot) and pmd_clear(slot); one TLBIMVA for the one page reached
        Assert.Equal(2, k.SoftwareWalkLoads - loads);
        Assert.Equal(2, k.DescriptorWrites - writes);
        Assert.Equal(1, k.Cpu.Mmu.Counters.TotalFlushes - flushes);
        PhysicalAddress frame = p.Tables.Lookup(va).Translate(va);
        Assert.Equal(0xcafef00du, k.Memory.ReadUInt32(frame));

        // the slot is empty again: nothing in the kernel's tables reaches the user page any more
        PmdCopyUserAccess strategy = Assert.IsType<PmdCopyUserAccess>(k.UserPages);
        Assert.False(k.KernelTree.Lookup(strategy.Slot + (va.Value & 0x1fffff)).Found);
        Assert.True(k.Cpu.Access(strategy.Slot + (va.Value & 0x1fffff), AccessType.Read, Privilege.Kernel).IsFault);
        Assert.Equal(1, strategy.Copies);
        Assert.Equal(1, strategy.Invalidations);
        k.ExitKernel();
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void PmdCopyFaultsAMissingPageInThroughTheRealUserAddress()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot("4g4g+pmd-copy");
        k.EnterKernel();
        byte[] text = Encoding.ASCII.GetBytes("first touch from the kernel");
        Assert.Equal(0UL, k.Uaccess.CopyToUser(buf + 0x4000, text));
        PhysicalAddress frame = p.Tables.Lookup(buf + 0x4000).Translate(buf + 0x4000);
        byte[] back = new byte[text.Length];
        k.Memory.Read(frame, back);
        Assert.Equal(text, back);
        k.ExitKernel();
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void TrampolineInstallsTheKernelEntryInTheUserTablesAndTakesItOutAgain()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot("4g4g+trampoline");
        VirtualAddress user = buf + 0x1000;
        k.UserTouch(p, user, 64, write: true);
        PhysicalAddress kernelFrame = k.AllocLowmem();
        VirtualAddress kva = k.LinearAddress(kernelFrame);
        byte[] text = Encoding.ASCII.GetBytes("bytes the kernel copies out of a lowmem page");
        k.Memory.Write(kernelFrame + 0x100, text);
        int userLevel = p.Tables.Lookup(kva).Level; // where the user's tables stop above the kernel page: the install level
        Assert.False(p.Tables.Lookup(kva).Found);

        k.EnterKernel();
        long loads = k.SoftwareWalkLoads;
        long writes = k.DescriptorWrites;
        long flushes = k.Cpu.Mmu.Counters.TotalFlushes;
        Assert.Equal(0UL, k.Uaccess.CopyToUser(user, text, kva + 0x100));

        // per level down to the install: the user's entry and the kernel's; one store in, one out; one page reached: one TLBIMVA
        Assert.Equal(2 * userLevel, k.SoftwareWalkLoads - loads);
        Assert.Equal(2, k.DescriptorWrites - writes);
        Assert.Equal(1, k.Cpu.Mmu.Counters.TotalFlushes - flushes);
        byte[] back = new byte[text.Length];
        k.Memory.Read(p.Tables.Lookup(user).Translate(user), back);
        Assert.Equal(text, back);
        Assert.False(p.Tables.Lookup(kva).Found); // the user's tables are their own again
        k.ExitKernel();

        // user mode: the kernel page is not reachable and no translation of it survived under the user ASID
        Assert.True(k.Cpu.Access(kva + 0x100, AccessType.Read, Privilege.User).IsFault);
        Assert.Empty(k.Checker!.Reports);
    }
}
