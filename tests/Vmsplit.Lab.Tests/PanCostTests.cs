using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// PAN is executed, not assumed free: each mechanism runs its instructions where Linux does (around each
/// uaccess, at entry and exit, at a fault inside uaccess) and is charged from the profile.
/// </summary>
public class PanCostTests
{
    private static (SimKernel K, Process P, VirtualAddress Buf) Boot(MachineSpec m, string design)
    {
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, 64 * 1024, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.UserTouch(p, buf, 64 * 1024, write: true);
        k.Ledger.Reset();
        return (k, p, buf);
    }

    private static MachineSpec Skylake => MachineSpec.SkylakeX86();

    private static MachineSpec U74 => new(MachineSpec.Require("sifive-u74"), KernelArch.RiscvSv39, 2 * ByteSize.GiB);

    private static MachineSpec A53 => new(MachineSpec.Require("cortex-a53"), KernelArch.Aarch64, 2 * ByteSize.GiB);

    // An ARMv8.1 board described from the Cortex-A72 file: PAN present, MSR PAN priced at 3 cycles.
    private static MachineSpec PanBoard(LinuxVersion linux)
    {
        string text = CpuProfiles.ShippedText("cortex-a72")!;
        text = string.Join('\n', text.Split('\n').Select(l =>
            l.StartsWith("  pan:", StringComparison.Ordinal) ? "  pan: { value: true, source: \"test board: ID_AA64MMFR1_EL1.PAN = 1\" }"
            : l.StartsWith("  isb:", StringComparison.Ordinal) ? "  msrPan: { value: 3, assumption: \"test\" }\n" + l
            : l));
        return new MachineSpec(CpuProfileLoader.Parse(text, "pan-board.yaml"), KernelArch.Aarch64, 2 * ByteSize.GiB) { Linux = linux };
    }

    private static void CopyOut(SimKernel k, VirtualAddress at, int bytes = 16)
    {
        k.EnterKernel();
        k.Ledger.Reset();
        Assert.Equal(0UL, k.Uaccess.CopyToUser(at, new byte[bytes]));
    }

    [Fact]
    public void SmapRunsStacAndClacAroundEachUaccessAndNothingAroundTheSyscall()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot(Skylake, "classic+pan");
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(0, k.Ledger.Events(CostCause.UserAccessControl)); // SYSCALL masks AC; SYSRET restores the user's

        CopyOut(k, buf);
        Assert.Equal(2, k.Ledger.Events(CostCause.UserAccessControl));
        Assert.Equal(20 + 20, k.Ledger.Cycles(CostCause.UserAccessControl)); // skylake stac + clac
        Assert.False(k.Cpu.Mmu.Registers.Ac); // closed again: a kernel access to user memory now faults
        Assert.True(k.Cpu.Mmu.WalkUncounted(buf, AccessType.Read, Privilege.Kernel).IsFault);
        k.ExitKernel();

        // the same copy under classic executes no such instruction
        (SimKernel c, _, VirtualAddress cbuf) = Boot(Skylake, "classic");
        CopyOut(c, cbuf);
        Assert.Equal(0, c.Ledger.Events(CostCause.UserAccessControl));
    }

    [Fact]
    public void SmapChargesTheClacOfAnExceptionEntryAndOfAFaultInsideUaccess()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot(Skylake, "classic+pan");
        VirtualAddress fresh = k.MapRegion(p, 8192, VmFlags.Read | VmFlags.Write);
        k.UserTouch(p, fresh, 4096, write: true); // a user page fault: idtentry's ASM_CLAC
        Assert.Equal(1, k.Ledger.Events(CostCause.UserAccessControl));

        CopyOut(k, fresh + 4096); // copy_to_user faults on the untouched page: stac, clac (fault entry), clac
        Assert.Equal(3, k.Ledger.Events(CostCause.UserAccessControl));
        Assert.Equal(60, k.Ledger.Cycles(CostCause.UserAccessControl));
        k.ExitKernel();
        _ = buf;
    }

    [Fact]
    public void ReadingSixteenPagesOpensAndClosesUserAccessSixteenTimes()
    {
        // filemap_read copies page by page (copy_page_to_iter): one stac/clac pair per page
        (SimKernel k, Process p, VirtualAddress buf) = Boot(Skylake, "classic+pan");
        k.EnsureFile(64 * 1024);
        k.Ledger.Reset();
        k.Syscall(p, new SyscallRequest(SyscallKind.Read, buf, 64 * 1024, File: FileKind.PageCache));
        Assert.Equal(32, k.Ledger.Events(CostCause.UserAccessControl));
    }

    [Fact]
    public void RiscvSetsAndClearsSumAroundEachUaccess()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot(U74, "classic+pan");
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(0, k.Ledger.Events(CostCause.UserAccessControl)); // handle_exception's csrrc clears SUM anyway

        CopyOut(k, buf);
        Assert.Equal(2, k.Ledger.Events(CostCause.UserAccessControl));
        Assert.Equal(5 + 5, k.Ledger.Cycles(CostCause.UserAccessControl)); // csrs + csrc sstatus on the U74
        Assert.False(k.Cpu.Mmu.Registers.Sum);
        k.ExitKernel();
    }

    [Fact]
    public void Arm64SoftwarePanSwitchesTtbr0AtEntryExitAndAroundUaccessAndDefersSwitchMm()
    {
        (SimKernel k, Process p, VirtualAddress buf) = Boot(A53, "classic+sw-pan");
        (SimKernel c, Process cp, _) = Boot(A53, "classic");
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        c.Syscall(cp, new SyscallRequest(SyscallKind.Getppid));
        // __uaccess_ttbr0_disable at entry and _enable at exit: two TTBR writes and an ISB each
        Assert.Equal(c.Ledger.Events(CostCause.RootRegisterWrite) + 4, k.Ledger.Events(CostCause.RootRegisterWrite));
        Assert.Equal(c.Ledger.Events(CostCause.Barrier) + 2, k.Ledger.Events(CostCause.Barrier));
        Assert.Equal(c.Ledger.Cycles(CostCause.RootRegisterWrite) + (2 * (5 + 5)), k.Ledger.Cycles(CostCause.RootRegisterWrite)); // a53 TTBR writes

        // in the kernel outside uaccess TTBR0 holds the empty reserved table: user memory does not translate
        k.EnterKernel();
        Assert.True(k.Cpu.Mmu.WalkUncounted(buf, AccessType.Read, Privilege.Kernel).IsFault);
        k.Ledger.Reset();
        Assert.Equal(0UL, k.Uaccess.CopyToUser(buf, new byte[16]));
        Assert.Equal(4, k.Ledger.Events(CostCause.RootRegisterWrite));
        Assert.Equal(2, k.Ledger.Events(CostCause.Barrier));
        Assert.True(k.Cpu.Mmu.WalkUncounted(buf, AccessType.Read, Privilege.Kernel).IsFault);

        // switch_mm writes no TTBR under SW PAN: the exit installs the next task's tables
        Process q = k.CreateProcess();
        k.Ledger.Reset();
        k.SwitchMm(q);
        Assert.Equal(0, k.Ledger.Events(CostCause.RootRegisterWrite));
        k.ExitKernel();
        Assert.Equal(q.Tables.Root.Value, k.Cpu.Mmu.Registers.Ttbr0);
    }

    [Fact]
    public void Arm64HardwarePanCostsAMsrPairPerUaccessUntil510AndNothingSinceLdtrSttr()
    {
        (SimKernel old, _, VirtualAddress oldBuf) = Boot(PanBoard(new LinuxVersion(5, 10)), "classic+pan");
        CopyOut(old, oldBuf);
        Assert.Equal(2, old.Ledger.Events(CostCause.UserAccessControl));
        Assert.Equal(3 + 3, old.Ledger.Cycles(CostCause.UserAccessControl));
        Assert.True(old.Cpu.Mmu.Registers.Pan);
        old.ExitKernel();

        (SimKernel now, _, VirtualAddress nowBuf) = Boot(PanBoard(LinuxVersion.Mainline), "classic+pan");
        CopyOut(now, nowBuf);
        Assert.Equal(0, now.Ledger.Events(CostCause.UserAccessControl)); // LDTR/STTR: EL0 checks, PAN stays set
        Assert.True(now.Cpu.Mmu.Registers.Pan);
        Assert.True(now.Cpu.Mmu.WalkUncounted(nowBuf, AccessType.Read, Privilege.Kernel).IsFault);
        now.ExitKernel();

        MachineSpec tooOld = PanBoard(new LinuxVersion(4, 2));
        LabException e = Assert.Throws<LabException>(() => Scenario.Boot(tooOld, Scenario.ParseDesign(tooOld, "classic+pan")));
        Assert.Contains("Linux 4.2 has no PAN support (CONFIG_ARM64_PAN); it arrived in 4.3", e.Message);
    }

    [Fact]
    public void ArmDomainPanWritesDacrWithAnIsbAtEntryAndWithoutOneAtExit()
    {
        MachineSpec a15 = MachineSpec.DefaultArm() with { Arch = KernelArch.Arm };
        (SimKernel k, Process p, _) = Boot(a15, "classic+pan");
        (SimKernel c, Process cp, _) = Boot(a15, "classic");
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        c.Syscall(cp, new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(c.Ledger.Events(CostCause.RootRegisterWrite) + 2, k.Ledger.Events(CostCause.RootRegisterWrite));
        Assert.Equal(c.Ledger.Events(CostCause.Barrier) + 1, k.Ledger.Events(CostCause.Barrier));
    }
}
