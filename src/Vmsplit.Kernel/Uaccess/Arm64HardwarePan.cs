using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch.Arm64;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// ARMv8.1 hardware PAN (CONFIG_ARM64_PAN, Linux 4.3+). SCTLR_EL1.SPAN is clear, so an exception sets
/// PSTATE.PAN and ERET restores it (cpu_enable_pan, arch/arm64/kernel/cpufeature.c): no instruction at entry
/// or exit. Around each copy SET_PSTATE_PAN(0/1) from uaccess_enable_not_uao/disable_not_uao (Linux 4.3 to
/// 5.10); since 5.11 the copies use LDTR/STTR, which PAN does not restrict, and nothing is written.
/// </summary>
public sealed class Arm64HardwarePan(SimKernel kernel, Arm64Mm arm64) : PanPolicy(kernel)
{
    private protected override (int Major, int Minor, string What)? Introduced => (4, 3, "PAN support (CONFIG_ARM64_PAN)");

    public override void OnEntry(bool exception) => Mmu.Registers.Pan = true;

    public override void OnExit() => Mmu.Registers.Pan = false;

    public override void ApplyToRoots(ref MmuRegisters registers, bool inKernel) => registers.Pan = inKernel;

    private protected override void SetUserAccess(bool open)
    {
        if (arm64.UaccessUnprivileged)
        {
            return;
        }

        Mmu.Registers.Pan = !open;
        Cpu.Charge(CostCause.UserAccessControl, PrimitiveCost.MsrPan);
    }

    private protected override void FaultInWindow(bool entering)
    {
        if (!arm64.UaccessUnprivileged)
        {
            Mmu.Registers.Pan = entering;
        }
    }
}
