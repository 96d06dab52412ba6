using Vmsplit.Hardware;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Tests.Core;

namespace Vmsplit.Kernel.Tests.Mm;

/// <summary>
/// mprotect and madvise(MADV_DONTNEED) as Linux 5.4's mm/mprotect.c and mm/madvise.c run them: the descriptors
/// written, the flushes issued on the calling CPU and on the other CPU of the mm, counted by hand.
/// </summary>
public sealed class MprotectMadviseTests
{
    private const ulong Page = 4096;

    // x86 PTE bits (SDM §4.5): P, R/W, U/S, A, D, XD
    private const ulong P = 1, Rw = 2, Us = 4, A = 0x20, D = 0x40, Nx = 1UL << 63;

    /// <summary>p on CPU 0, a thread on CPU 1; a 4-page region whose pages 0 to 2 CPU 0 wrote and CPU 1 read (page 3 never touched).</summary>
    private static (SimKernel K, Process P, VirtualAddress Buf) ThreeOfFourTouched(KernelArch arch, string design, string cpu)
    {
        SimKernel k = KernelBoot.Boot(arch, design, cpu, 4 * ByteSize.GiB, cpus: 2);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, 4 * Page, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.CloneThread(p, 1);
        k.UserTouch(p, buf, 3 * Page, write: true);
        k.RunOn(1);
        k.UserTouch(p, buf, 3 * Page, write: false);
        k.RunOn(0);
        foreach (Vmsplit.Hardware.Cpus.Cpu c in k.Cpus)
        {
            c.Mmu.Counters.Reset();
        }

        return (k, p, buf);
    }

    private static long Sys(SimKernel k, Process p, SyscallKind kind, VirtualAddress at, ulong bytes, VmFlags prot = VmFlags.None) =>
        k.Syscall(p, new SyscallRequest(kind, at, bytes, Prot: prot)).Value;

    [Fact]
    public void X86MprotectReadOnlyRewritesThePresentPtesAndFlushesTheWholeRangeOnBothCpus()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.X86_64, "classic", "skylake");
        ulong[] frames = [.. Enumerable.Range(0, 3).Select(i => p.Tables.Lookup(buf + ((ulong)i * Page)).FrameBase.Value)];
        Assert.Equal(frames[0] | P | Rw | Us | A | D | Nx, p.Tables.Lookup(buf).Descriptor);

        Assert.Equal(0, Sys(k, p, SyscallKind.Mprotect, buf, 4 * Page, VmFlags.Read));

        // pte_modify keeps D (_PAGE_CHG_MASK); R/W goes; the untouched page 3 stays not present
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(frames[i] | P | Us | A | D | Nx, p.Tables.Lookup(buf + ((ulong)i * Page)).Descriptor);
        }

        Assert.False(p.Tables.Lookup(buf + (3 * Page)).Found);
        Assert.Equal(3, k.ProtectedPtes);

        // flush_tlb_range(vma, start, end) over all 4 pages (below the 33-page ceiling): 4 INVLPGs on CPU 0; CPU 1
        // missed only this generation, so its IPI handler runs the same 4 INVLPGs (flush_tlb_func_common's partial flush)
        Assert.Equal(4, k.Cpus[0].Mmu.Counters.Flushes(TlbMaintenanceOp.X86Invlpg));
        Assert.Equal(4, k.Cpus[1].Mmu.Counters.Flushes(TlbMaintenanceOp.X86Invlpg));
        Assert.Equal(1, k.Arch.RemoteCalls);

        // a store now faults with a protection fault on both CPUs: no stale writable entry remains
        Assert.Equal(FaultKind.Permission, k.Cpus[0].Mmu.Translate(buf, AccessType.Write, Privilege.User).Fault);
        Assert.Equal(FaultKind.Permission, k.Cpus[1].Mmu.Translate(buf + Page, AccessType.Write, Privilege.User).Fault);
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void MprotectToTheSameProtectionWritesNothingAndFlushesNothing()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.X86_64, "classic", "skylake");
        ulong before = p.Tables.Lookup(buf).Descriptor;
        Assert.Equal(0, Sys(k, p, SyscallKind.Mprotect, buf, 4 * Page, VmFlags.Read | VmFlags.Write));
        Assert.Equal(before, p.Tables.Lookup(buf).Descriptor);
        Assert.Equal(0, k.ProtectedPtes);
        Assert.Equal(0, k.Cpus[0].Mmu.Counters.TotalFlushes);
        Assert.Equal(0, k.Arch.RemoteCalls);
    }

    [Fact]
    public void MprotectBackToReadWriteMakesThePtesWritableWithAnotherFlush()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.X86_64, "classic", "skylake");
        ulong frame = p.Tables.Lookup(buf).FrameBase.Value;
        Sys(k, p, SyscallKind.Mprotect, buf, 4 * Page, VmFlags.Read);
        Sys(k, p, SyscallKind.Mprotect, buf, 4 * Page, VmFlags.Read | VmFlags.Write);
        Assert.Equal(frame | P | Rw | Us | A | D | Nx, p.Tables.Lookup(buf).Descriptor);
        Assert.Equal(6, k.ProtectedPtes);
        Assert.Equal(8, k.Cpus[0].Mmu.Counters.Flushes(TlbMaintenanceOp.X86Invlpg));
        Assert.Equal(2, k.Arch.RemoteCalls);
        k.UserTouch(p, buf, 3 * Page, write: true);
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void MprotectOfTheMiddleSplitsTheVmaAndFlushesOnlyThePiece()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.X86_64, "classic", "skylake");
        Sys(k, p, SyscallKind.Mprotect, buf + Page, 2 * Page, VmFlags.Read);
        Assert.Equal(
            [(buf, buf + Page, VmFlags.Read | VmFlags.Write), (buf + Page, buf + (3 * Page), VmFlags.Read), (buf + (3 * Page), buf + (4 * Page), VmFlags.Read | VmFlags.Write)],
            p.Vmas.Areas.Select(v => (v.Start, v.End, v.Flags)));
        Assert.Equal(2, k.ProtectedPtes);
        Assert.Equal(2, k.Cpus[0].Mmu.Counters.Flushes(TlbMaintenanceOp.X86Invlpg));
        Assert.Equal(Rw, p.Tables.Lookup(buf).Descriptor & Rw);
        Assert.Equal(0UL, p.Tables.Lookup(buf + Page).Descriptor & Rw);
    }

    [Fact]
    public void MprotectAcrossAHoleStopsThereWithEnomem()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.X86_64, "classic", "skylake");
        Assert.Equal(SimKernel.Enomem, Sys(k, p, SyscallKind.Mprotect, buf + (3 * Page), 2 * Page, VmFlags.Read));
        Assert.Equal(VmFlags.Read, p.Vmas.Find(buf + (3 * Page))!.Flags); // the VMA before the hole changed
        Assert.Equal(0, k.ProtectedPtes); // its one page was never touched: nothing rewritten, no flush
        Assert.Equal(0, k.Cpus[0].Mmu.Counters.TotalFlushes);
    }

    [Fact]
    public void Arm64MprotectBroadcastsOneVale1IsPerPageWithoutAnIpi()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.Aarch64, "classic", "cortex-a72");
        PageTableLookup before = p.Tables.Lookup(buf);
        Sys(k, p, SyscallKind.Mprotect, buf, 4 * Page, VmFlags.Read);

        // AP[2:1] = 0b11 (read-only at EL0 and EL1), the rest of the descriptor as before (D5.3.3)
        Assert.Equal(before.Descriptor | (0b11UL << 6), p.Tables.Lookup(buf).Descriptor);
        Assert.Equal(4, k.Cpus[0].Mmu.Counters.Flushes(TlbMaintenanceOp.Arm64TlbiVale1Is));
        Assert.Equal(0, k.Cpus[1].Mmu.Counters.TotalFlushes); // the inner-shareable TLBI reached it; it issued nothing
        Assert.Equal(0, k.Arch.RemoteCalls);
        Assert.Equal(FaultKind.Permission, k.Cpus[1].Mmu.Translate(buf, AccessType.Write, Privilege.User).Fault);
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void X86MadviseDontneedClearsThePresentPtesFlushesTheirSpanAndFreesThePages()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.X86_64, "classic", "skylake");
        ulong free = k.Lowmem.FreeBytes + (k.Highmem?.FreeBytes ?? 0);
        long tables = p.Tables.TableBytes;
        Assert.Equal(0, Sys(k, p, SyscallKind.MadviseDontneed, buf, 4 * Page));
        for (int i = 0; i < 4; i++)
        {
            Assert.False(p.Tables.Lookup(buf + ((ulong)i * Page)).Found);
        }

        Assert.Equal(3, k.ZappedPtes);
        Assert.Equal(free + (3 * Page), k.Lowmem.FreeBytes + (k.Highmem?.FreeBytes ?? 0)); // the 3 pages; no table is freed
        Assert.Equal(tables, p.Tables.TableBytes);
        Assert.NotNull(p.Vmas.Find(buf)); // the VMA stays

        // the gather's range is pages 0 to 2 (the PTEs cleared), not the 4 pages asked for: 3 INVLPGs here and on CPU 1
        Assert.Equal(3, k.Cpus[0].Mmu.Counters.Flushes(TlbMaintenanceOp.X86Invlpg));
        Assert.Equal(3, k.Cpus[1].Mmu.Counters.Flushes(TlbMaintenanceOp.X86Invlpg));
        Assert.Equal(1, k.Arch.RemoteCalls);

        // the next touch faults in a zeroed page
        k.RunOn(1);
        k.UserTouch(p, buf, Page, write: false);
        Assert.Equal(1, k.Cpus[1].Mmu.Counters.FaultsOf(FaultKind.Translation));
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void MadviseOfAPageNeverTouchedFlushesNothing()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.X86_64, "classic", "skylake");
        Assert.Equal(0, Sys(k, p, SyscallKind.MadviseDontneed, buf + (3 * Page), Page));
        Assert.Equal(0, k.ZappedPtes);
        Assert.Equal(0, k.Cpus[0].Mmu.Counters.TotalFlushes);
        Assert.Equal(0, k.Arch.RemoteCalls);
    }

    [Fact]
    public void MadviseAcrossAHoleZapsTheVmaAfterItAndReturnsEnomem()
    {
        (SimKernel k, Process p, VirtualAddress buf) = ThreeOfFourTouched(KernelArch.X86_64, "classic", "skylake");
        Assert.Equal(SimKernel.Enomem, Sys(k, p, SyscallKind.MadviseDontneed, buf - (2 * Page), 4 * Page));
        Assert.Equal(2, k.ZappedPtes);
        Assert.False(p.Tables.Lookup(buf + Page).Found);
        Assert.True(p.Tables.Lookup(buf + (2 * Page)).Found);
    }
}
