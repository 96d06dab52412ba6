using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// The x86 speculation mitigations of Linux v5.2 run as executed work on a CPU with the bugs: a retpoline per
/// indirect call (3 instructions and a mispredicted return), VERW on every return to user mode (1 instruction and
/// the profile's verw), the 67-instruction return-stack fill per task switch; nothing on a CPU without the bugs,
/// on other architectures, or with +nomitigations.
/// </summary>
public class MitigationTests
{
    private static (SimKernel K, Process P) Boot(string cpu, KernelArch arch, string design)
    {
        MachineSpec m = new(MachineSpec.Require(cpu), arch, 2 * ByteSize.GiB);
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design));
        Process p = k.CreateProcess();
        k.Start(p);
        k.Ledger.Reset();
        return (k, p);
    }

    [Theory]
    // Skylake, IPC 2: retpoline 3/2 + 20, VERW 1/2 + 100 = 21.5 + 100.5
    [InlineData("skylake", "classic", 122.0, 2)]
    [InlineData("skylake", "kpti", 122.0, 2)]
    // Core 2, IPC 2: 1.5 + 15 and 0.5 + 20 (the old VERW: no MD_CLEAR microcode)
    [InlineData("core2-e6600", "classic", 37.0, 2)]
    [InlineData("skylake", "classic+nomitigations", 0.0, 0)]
    [InlineData("skylake", "kpti+nomitigations", 0.0, 0)]
    public void GetppidRunsOneRetpolineAndOneVerw(string cpu, string design, double cycles, long events)
    {
        (SimKernel k, Process p) = Boot(cpu, KernelArch.X86_64, design);
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(cycles, k.Ledger.Cycles(KernelCostCause.SpeculationMitigation), 9);
        Assert.Equal(events, k.Ledger.Events(KernelCostCause.SpeculationMitigation));
    }

    [Fact]
    public void AReadCallsTheFileThroughASecondRetpoline()
    {
        (SimKernel k, Process p) = Boot("skylake", KernelArch.X86_64, "classic");
        VirtualAddress buf = k.MapRegion(p, 4096, Vmsplit.Kernel.Mm.VmFlags.Read | Vmsplit.Kernel.Mm.VmFlags.Write);
        k.UserTouch(p, buf, 4096, write: true);
        k.Ledger.Reset();
        k.Syscall(p, new SyscallRequest(SyscallKind.Read, buf, 64, File: FileKind.DevZero));
        Assert.Equal((2 * 21.5) + 100.5, k.Ledger.Cycles(KernelCostCause.SpeculationMitigation), 9);
        Assert.Equal(3, k.Ledger.Events(KernelCostCause.SpeculationMitigation));
    }

    [Fact]
    public void AContextSwitchFillsTheReturnStackOnce()
    {
        (SimKernel k, Process a) = Boot("skylake", KernelArch.X86_64, "classic");
        Process b = k.CreateProcess();
        k.Ledger.Reset();
        k.ContextSwitch(a, b, blocking: null, pending: null);
        // the table's retpoline 21.5, __switch_to_asm's fill 67 / 2 = 33.5, VERW on the way out 100.5
        Assert.Equal(21.5 + 33.5 + 100.5, k.Ledger.Cycles(KernelCostCause.SpeculationMitigation), 9);
        Assert.Equal(3, k.Ledger.Events(KernelCostCause.SpeculationMitigation));
        Assert.Equal(67, X86Mitigations.FillReturnBufferInstructions);
    }

    [Theory]
    [InlineData("atom-n270", KernelArch.X86Pae, "classic")] // NO_SPECULATION: Linux sets none of the bugs
    [InlineData("cortex-a53", KernelArch.Aarch64, "classic")] // in spectre_v2_safe_list, in no BHB list
    [InlineData("cortex-a72", KernelArch.Aarch64, "classic+nomitigations")]
    [InlineData("cortex-a72", KernelArch.Aarch64, "kpti+nomitigations")]
    [InlineData("cortex-a15", KernelArch.ArmLpae, "classic")] // the 32-bit kernel's BHB loop is not modelled
    [InlineData("sifive-u74", KernelArch.RiscvSv39, "classic")]
    public void NoMitigationWorkWhereLinuxAppliesNone(string cpu, KernelArch arch, string design)
    {
        (SimKernel k, Process p) = Boot(cpu, arch, design);
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(0, k.Ledger.Events(KernelCostCause.SpeculationMitigation));
    }

    // arm64 v5.17 on a Cortex-A72 (IPC 1.5, DSB 30, ISB 15): the BHB loop's vector on every entry from EL0, 32
    // instructions without KPTI (msr tpidrro_el0, mov, 8 x (b, subs, b.ne), dsb nsh, isb, ldr, add, ret, the
    // kernel_ventry cleanup's extra instruction), 27 with KPTI (the loop alone: the trampoline is KPTI's own)
    [Theory]
    [InlineData("classic", (32 / 1.5) + 30 + 15)]
    [InlineData("kpti", (27 / 1.5) + 30 + 15)]
    public void Arm64A72RunsTheBhbLoopOnEveryEntryFromUserMode(string design, double cycles)
    {
        (SimKernel k, Process p) = Boot("cortex-a72", KernelArch.Aarch64, design);
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(cycles, k.Ledger.Cycles(KernelCostCause.SpeculationMitigation), 9);
        Assert.Equal(1, k.Ledger.Events(KernelCostCause.SpeculationMitigation));
        Assert.Equal(32, Vmsplit.Kernel.Arch.Arm64.Arm64Mitigations.BhbVectorInstructions);
        Assert.Equal(27, Vmsplit.Kernel.Arch.Arm64.Arm64Mitigations.BhbLoopInstructions);
    }

    [Fact]
    public void Arm64A72CallsTheFirmwaresSpectreV2WorkaroundOnSwitchMm()
    {
        (SimKernel k, Process a) = Boot("cortex-a72", KernelArch.Aarch64, "classic");
        Process b = k.CreateProcess();
        k.Ledger.Reset();
        k.ContextSwitch(a, b, blocking: null, pending: null);

        // the switch's own entry (the BHB vector, 66.33) and switch_mm's arm64_apply_bp_hardening: 10 instructions of
        // the call and an assumed 15 in the firmware at 1.5 per cycle, the SMC and its return (30 + 30), two ISBs (15 each)
        double smc = (25 / 1.5) + 30 + 30 + (2 * 15);
        Assert.Equal((32 / 1.5) + 45 + smc, k.Ledger.Cycles(KernelCostCause.SpeculationMitigation), 9);
        Assert.Equal(2, k.Ledger.Events(KernelCostCause.SpeculationMitigation));
    }
}
