using Vmsplit.Hardware;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// A system call's entry, dispatch and exit run as counted from Linux's source per architecture, at the
/// profile's kernel rate: getppid() charges exactly those instructions divided by the profile's IPC to path-base.
/// </summary>
public class EntryPathTests
{
    [Theory]
    // x86-64: 40 + 47 + 41 entry/dispatch/exit + 30 getppid = 158 instructions at 2 per cycle (Skylake, 4-wide)
    [InlineData("skylake", KernelArch.X86_64, 158, 79.0)]
    // arm64: 90 + 100 + 47 + 30 = 267 at 1 per cycle (A53, dual-issue) and at 1.5 (A72, 3-wide)
    [InlineData("cortex-a53", KernelArch.Aarch64, 267, 267.0)]
    [InlineData("cortex-a72", KernelArch.Aarch64, 267, 178.0)]
    // 32-bit ARM: 25 + 0 + 17 + 30 = 72 at 1.5 (A15) and at 1 (A17)
    [InlineData("cortex-a15", KernelArch.ArmLpae, 72, 48.0)]
    [InlineData("cortex-a17", KernelArch.ArmLpae, 72, 72.0)]
    // RISC-V: 71 + 0 + 50 + 30 = 151 at 1 per cycle (U74, dual-issue)
    [InlineData("sifive-u74", KernelArch.RiscvSv39, 151, 151.0)]
    public void GetppidChargesTheCountedPathAtTheCoresRate(string cpu, KernelArch arch, int instructions, double cycles)
    {
        EntryPath path = KernelEntryPaths.For(arch);
        Assert.Equal(instructions, path.EntryExitInstructions + path.Getppid.Instructions);
        MachineSpec m = new(MachineSpec.Require(cpu), arch, 2 * ByteSize.GiB);
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic"));
        Process p = k.CreateProcess();
        k.Start(p);
        k.Ledger.Reset();
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(cycles, k.Ledger.Cycles(KernelCostCause.PathBase), 9);
        Assert.Equal(2, k.Ledger.Events(KernelCostCause.PathBase));
    }

    [Fact]
    public void EveryPartSaysHowItWasCountedAndOnlyCPartsAreEstimates()
    {
        foreach (EntryPath path in new[] { KernelEntryPaths.Arm64, KernelEntryPaths.Arm32, KernelEntryPaths.X86_64, KernelEntryPaths.Riscv })
        {
            Assert.False(path.EntryAsm.IsAssumption, path.Name);
            Assert.False(path.ExitAsm.IsAssumption, path.Name);
            Assert.All(path.Parts, part => Assert.False(string.IsNullOrWhiteSpace(part.Count.How)));
        }

        // 31 registers saved by 15 stp plus x30 with the frame: the arm64 entry is the longest counted entry
        Assert.True(KernelEntryPaths.Arm64.EntryAsm.Instructions > KernelEntryPaths.X86_64.EntryAsm.Instructions);
        Assert.True(KernelEntryPaths.X86_32.EntryAsm.IsAssumption);
    }
}
