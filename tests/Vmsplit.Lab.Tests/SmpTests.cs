using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// Several CPUs over one memory: threads share an mm, a flush of it reaches the other CPUs as the architecture
/// does it (x86 IPIs with lazy TLB and tlb_gen, arm/arm64 broadcast TLBI, RISC-V SBI remote fence), and the
/// coherence checker catches a missing shootdown on every architecture.
/// </summary>
public class SmpTests
{
    private const ulong Page = 4096;

    private static MachineSpec Machine(string profile, KernelArch arch, int cpus) =>
        MachineSpec.For(CpuProfiles.Find(profile)!, arch, 4 * ByteSize.GiB) with { Cpus = cpus };

    /// <summary>Ten operations of the built-in <paramref name="workload"/> on <paramref name="design"/>, freshly booted.</summary>
    private static RunResult Measure(MachineSpec m, string design, string workload, bool coherenceCheck = false) =>
        new Runner(Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: coherenceCheck), BuiltinWorkloads.Get(workload)).Measure(10);

    /// <summary>p runs on CPU 0 and a thread of it on CPU 1; both have the first of 4 pages in their TLBs.</summary>
    private static (SimKernel K, Process P, VirtualAddress Buf) TwoThreads(MachineSpec m, string design)
    {
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, 4 * Page, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.CloneThread(p, 1);
        k.UserTouch(p, buf, 4 * Page, write: true);
        k.RunOn(1);
        k.UserTouch(p, buf, 4 * Page, write: false);
        k.RunOn(0);
        return (k, p, buf);
    }

    /// <summary>From the current CPU, in the kernel (left there), the ledger reset: the flush of the first page of <paramref name="buf"/>.</summary>
    private static void FlushOnePage(SimKernel k, Process p, VirtualAddress buf)
    {
        k.EnterKernel();
        k.Ledger.Reset();
        k.FlushTlbMmRange(p, buf, buf + Page);
    }

    /// <summary>After <see cref="FlushOnePage"/>: the page refills on CPU 1 (and only that page), and nothing stale was hit.</summary>
    private static void AssertOnlyThePageRefillsOnCpu1(SimKernel k, Process p, VirtualAddress buf)
    {
        k.ExitKernel();
        k.RunOn(1);
        k.Cpu.Mmu.Counters.Reset();
        k.UserTouch(p, buf, 4 * Page, write: false);
        Assert.Equal(1, k.Cpu.Mmu.Counters.Walks);
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void X86ShootdownOfOnePageIsTheIpiSendTheTargetsHandlerAndTheWait()
    {
        MachineSpec m = Machine("skylake", KernelArch.X86_64, 2);
        (SimKernel k, Process p, VirtualAddress buf) = TwoThreads(m, "classic");
        Assert.Equal(0b11UL, p.CpuMask);
        FlushOnePage(k, p, buf);
        KernelSoftwareCosts sw = new();
        CpuProfile prof = m.Profile;

        // CPU 0: flush_tlb_mm_range's own work and one INVLPG; one ICR write for the one target
        Assert.Equal(sw.FlushTlbRange + 200, k.Ledger.Cycles(CostCause.TlbMaintenance));
        Assert.Equal(sw.IpiSend, k.Ledger.Cycles(KernelCostCause.IpiSend));

        // CPU 1: interrupt entry from user mode, the call-function handler, one INVLPG (it missed only this
        // generation: a partial flush), the return to user mode with its VERW (Skylake has MDS: 1 instruction + 100)
        double verw = prof.Kernel.Cycles(Vmsplit.Kernel.Arch.X86Mitigations.ClearCpuBuffersInstructions) + prof.Cycles(PrimitiveCost.Verw);
        double handler = prof.Cycles(PrimitiveCost.ExceptionEntry) + sw.CallFunctionHandler + prof.Cycles(TlbMaintenanceOp.X86Invlpg) + verw + prof.Cycles(PrimitiveCost.ExceptionExit);
        Assert.Equal(40 + 150 + 200 + 100.5 + 40, handler);
        Assert.Equal(handler, k.Ledger.Cycles(KernelCostCause.RemoteFlush));

        // CPU 0 waits for the delivery (500 ns at 4 GHz), the target's entry, handler and INVLPG up to its
        // acknowledgement (csd_unlock right after flush_tlb_func, kernel/smp.c), and the acknowledgement's line (a
        // miss); not for the target's VERW and exit, which follow the acknowledgement
        double acked = prof.Cycles(PrimitiveCost.ExceptionEntry) + sw.CallFunctionHandler + prof.Cycles(TlbMaintenanceOp.X86Invlpg);
        Assert.Equal(40 + 150 + 200, acked);
        Assert.Equal(2000 + 390 + 280, k.Ledger.Cycles(KernelCostCause.ShootdownWait));
        Assert.Equal((500 * 4000 / 1000.0) + acked + prof.Cycles(PrimitiveCost.WalkStepCacheMiss), k.Ledger.Cycles(KernelCostCause.ShootdownWait));
        Assert.Equal(1, k.Arch.RemoteCalls);
        AssertOnlyThePageRefillsOnCpu1(k, p, buf);
    }

    [Fact]
    public void X86ShootdownWaitDoesNotIncludeTheTargetsVerw()
    {
        // the same flush with and without the mitigations: the target's VERW (1 instruction + 100 cycles) is its own
        // time, after the acknowledgement, so the initiator waits exactly as long either way
        MachineSpec m = Machine("skylake", KernelArch.X86_64, 2);
        (double Wait, double Remote) Flush(string design)
        {
            (SimKernel k, Process p, VirtualAddress buf) = TwoThreads(m, design);
            FlushOnePage(k, p, buf);
            return (k.Ledger.Cycles(KernelCostCause.ShootdownWait), k.Ledger.Cycles(KernelCostCause.RemoteFlush));
        }

        (double wait, double remote) = Flush("classic");
        (double waitOff, double remoteOff) = Flush("classic+nomitigations");
        Assert.Equal(2000 + 390 + 280, wait);
        Assert.Equal(wait, waitOff);
        Assert.Equal(100.5, remote - remoteOff);
    }

    [Fact]
    public void X86LazyCpuIsSkippedAndCatchesUpByTlbGenWhenItSwitchesBack()
    {
        MachineSpec m = Machine("skylake", KernelArch.X86_64, 2);
        (SimKernel k, Process p, VirtualAddress buf) = TwoThreads(m, "classic");
        k.RunOn(1);
        k.Idle(); // the thread blocks: CPU 1 keeps p loaded in lazy TLB mode
        Assert.True(k.IsLazy(1));
        k.RunOn(0);
        FlushOnePage(k, p, buf);
        Assert.Equal(0, k.Ledger.Cycles(KernelCostCause.IpiSend));
        Assert.Equal(0, k.Ledger.Cycles(KernelCostCause.ShootdownWait));
        Assert.Equal(1, k.Arch.LazySkips);
        Assert.Equal(0, k.Arch.RemoteCalls);
        k.ExitKernel();

        // waking the thread: its tlb_gen is behind, so switch_mm rewrites CR3 without NOFLUSH
        k.RunOn(1);
        k.Ledger.Reset();
        k.Wake(p);
        Assert.Equal(1, k.Arch.LazyCatchUps);
        Assert.Equal(m.Profile.Cycles(PrimitiveCost.Cr3Write), k.Ledger.Cycles(CostCause.TlbMaintenance));
        k.UserTouch(p, buf, 4 * Page, write: false);
        Assert.Empty(k.Checker!.Reports);
    }

    [Fact]
    public void Arm64BroadcastsWithoutAnIpi()
    {
        MachineSpec m = Machine("cortex-a72", KernelArch.Aarch64, 2);
        (SimKernel k, Process p, VirtualAddress buf) = TwoThreads(m, "classic");
        FlushOnePage(k, p, buf);

        // DSB, TLBI VALE1IS, DSB: all of it the broadcast; no IPI, no handler on CPU 1
        CpuProfile prof = m.Profile;
        Assert.Equal((2 * prof.Cycles(PrimitiveCost.Dsb)) + prof.Cycles(TlbMaintenanceOp.Arm64TlbiVale1Is), k.Ledger.Cycles(KernelCostCause.TlbiBroadcast));
        Assert.Equal(0, k.Ledger.Cycles(KernelCostCause.IpiSend));
        Assert.Equal(0, k.Ledger.Cycles(KernelCostCause.RemoteFlush));
        AssertOnlyThePageRefillsOnCpu1(k, p, buf);
    }

    [Fact]
    public void RiscvReachesTheOtherHartThroughTheSbiFirmwareWithoutEnteringItsKernel()
    {
        MachineSpec m = Machine("sifive-u74", KernelArch.RiscvSv39, 2);
        (SimKernel k, Process p, VirtualAddress buf) = TwoThreads(m, "classic");
        FlushOnePage(k, p, buf);
        KernelSoftwareCosts sw = new();
        CpuProfile prof = m.Profile;
        double trap = prof.Cycles(PrimitiveCost.ExceptionEntry) + prof.Cycles(PrimitiveCost.ExceptionExit);

        // the ecall into the firmware and its dispatch, then one IPI for the one target
        Assert.Equal(trap + sw.SbiRemoteFence + sw.IpiSend, k.Ledger.Cycles(KernelCostCause.IpiSend));

        // the target: an M-mode trap, the firmware's handler, SFENCE.VMA of the page (one page: not turned into an ASID flush)
        double target = trap + sw.SbiRemoteFence + prof.Cycles(TlbMaintenanceOp.RiscvSfenceVmaVaAsid);
        Assert.Equal(target, k.Ledger.Cycles(KernelCostCause.RemoteFlush));

        // the hart waits for the delivery and the target's work up to its acknowledgement (OpenSBI sets the sender's
        // sync flag before the target's mret), and the acknowledgement's line
        double delivery = 500 * prof.ClockMhz / 1000.0;
        Assert.Equal(delivery + (target - prof.Cycles(PrimitiveCost.ExceptionExit)) + prof.Cycles(PrimitiveCost.WalkStepCacheMiss), k.Ledger.Cycles(KernelCostCause.ShootdownWait));
        Assert.False(k.InKernelOn(1)); // its kernel never ran
        k.ExitKernel();
        k.RunOn(1);
        k.UserTouch(p, buf, 4 * Page, write: false);
        Assert.Empty(k.Checker!.Reports);
    }

    public static TheoryData<string, KernelArch, string> Architectures() => new()
    {
        { "skylake", KernelArch.X86_64, "classic" },
        { "skylake", KernelArch.X86_64, "kpti" },
        { "core2-e6600", KernelArch.X86Pae, "classic" },
        { "cortex-a72", KernelArch.Aarch64, "classic" },
        { "cortex-a72", KernelArch.Aarch64, "kpti" },
        { "cortex-a15", KernelArch.ArmLpae, "classic" },
        { "cortex-a15", KernelArch.Arm, "classic" },
        { "sifive-u74", KernelArch.RiscvSv39, "classic" },
    };

    // `workload` on 3 CPUs leaves no stale translation; with the remote part of its flushes left out, the checker
    // catches one on CPU 1
    private static void AssertAMissingShootdownIsCaught(string profile, KernelArch arch, string design, string workload)
    {
        MachineSpec m = Machine(profile, arch, 3);
        Workload w = BuiltinWorkloads.Get(workload);
        RunResult ok = Measure(m, design, workload, coherenceCheck: true);
        Assert.Equal(0, ok.StaleTranslations);

        SimKernel bad = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        bad.Arch.OmitRemoteFlush = true;
        RunResult broken = new Runner(bad, w).Measure(10);
        Assert.True(broken.StaleTranslations > 0, $"{arch} {design}: no stale translation without the shootdown");
        Assert.Contains(bad.Checker!.Reports, r => r.Cpu == 1);
    }

    /// <summary>The threaded munmap on 3 CPUs: no stale translation; with the remote part of the flush left out, the checker catches it.</summary>
    [Theory]
    [MemberData(nameof(Architectures))]
    public void AMissingShootdownIsCaughtOnEveryArchitecture(string profile, KernelArch arch, string design)
    {
        AssertAMissingShootdownIsCaught(profile, arch, design, "munmap-mt");
    }

    /// <summary>mprotect on 3 CPUs: no stale translation; without the remote part of its flushes a stale (writable or read-only) entry is caught.</summary>
    [Theory]
    [MemberData(nameof(Architectures))]
    public void AMissingMprotectShootdownIsCaughtOnEveryArchitecture(string profile, KernelArch arch, string design)
    {
        AssertAMissingShootdownIsCaught(profile, arch, design, "mprotect-mt");
    }

    [Theory]
    [InlineData("mprotect-mt", 20, 10, 10)] // one flush per operation: CPUs 1 and 3 handle it, CPU 2 (lazy) skips it and catches up on wake-up
    [InlineData("madvise-mt", 20, 10, 10)]
    [InlineData("fork-exit-mt", 120, 0, 0)] // each of the 4 threads forks: flush_tlb_mm of the parent IPIs the 3 others, none lazy
    [InlineData("pipe-smp", 0, 0, 0)] // two mms, each on one CPU: nothing to shoot down
    public void X86NewMultiCpuWorkloadsOnFourCpus(string workload, long handlers, long skips, long catchUps)
    {
        MachineSpec m = Machine("skylake", KernelArch.X86_64, 4);
        RunResult r = Measure(m, "classic", workload, coherenceCheck: true);
        Assert.Equal(new SmpCounters(handlers, skips, catchUps), r.Smp);
        Assert.Equal(0, r.StaleTranslations);
    }

    [Fact]
    public void MprotectMtPastTheX86CeilingFlushesTheWholePcidOnTheTargets()
    {
        // 33 pages: INVLPG each (tlb_single_page_flush_ceiling); 34: a CR3 write on the initiator and in each handler
        MachineSpec m = Machine("skylake", KernelArch.X86_64, 2);
        RunResult at = Measure(m, "classic", "mprotect-mt:33");
        RunResult past = Measure(m, "classic", "mprotect-mt:34");
        double invlpg = m.Profile.Cycles(TlbMaintenanceOp.X86Invlpg);
        double software = new KernelSoftwareCosts().FlushTlbRange;

        // per operation one mprotect: flush_tlb_mm_range on CPU 0 of 33 INVLPGs
        Assert.Equal(software + (33 * invlpg), at.CyclesPerOpByCause[CostCause.TlbMaintenance]);
        Assert.Equal(10 * 2 * 33, at.Tlb.Flushes); // 10 operations × 2 CPUs × 33 INVLPGs
        Assert.Equal(10 * 2, past.Tlb.Flushes); // one CR3 write per CPU per mprotect
        Assert.Equal(new SmpCounters(10, 0, 0), past.Smp);
    }

    [Fact]
    public void ForkFlushesTheParentsMmOnEveryCpuItRunsOn()
    {
        MachineSpec m = Machine("skylake", KernelArch.X86_64, 2);
        (SimKernel k, Process p, VirtualAddress buf) = TwoThreads(m, "classic");
        long before = k.Arch.RemoteCalls;
        k.Syscall(p, new Vmsplit.Kernel.Abi.SyscallRequest(Vmsplit.Kernel.Abi.SyscallKind.Fork));
        Assert.Equal(before + 1, k.Arch.RemoteCalls); // dup_mmap's flush_tlb_mm(oldmm) reached the thread on CPU 1
        k.RunOn(1);
        k.Cpu.Mmu.Counters.Reset();
        k.UserTouch(p, buf, 4 * Page, write: false);
        Assert.Equal(4, k.Cpu.Mmu.Counters.Walks); // its TLB lost the parent's pages
    }

    [Fact]
    public void X86MunmapMtOnFourCpusSendsTwoIpisSkipsTheLazyCpuAndItCatchesUp()
    {
        MachineSpec m = Machine("skylake", KernelArch.X86_64, 4);
        RunResult r = Measure(m, "classic", "munmap-mt");

        // CPUs 1 and 3 run their threads and get the IPI; CPU 2's thread blocked (lazy) and catches up on wake-up
        Assert.Equal(20, r.Smp.RemoteHandlers);
        Assert.Equal(10, r.Smp.LazySkips);
        Assert.Equal(10, r.Smp.LazyCatchUps);
        Assert.Equal(2 * new KernelSoftwareCosts().IpiSend, r.CyclesPerOpByCause[KernelCostCause.IpiSend]);
        Assert.Equal(4, r.Cpus);
    }

    [Fact]
    public void OneCpuRunsNoRemoteMaintenance()
    {
        MachineSpec m = Machine("skylake", KernelArch.X86_64, 1);
        RunResult r = Measure(m, "classic", "munmap-mt");
        Assert.Equal(new SmpCounters(0, 0, 0), r.Smp);
        Assert.False(r.CyclesPerOpByCause.ContainsKey(KernelCostCause.IpiSend));
        Assert.False(r.CyclesPerOpByCause.ContainsKey(KernelCostCause.RemoteFlush));
    }
}
