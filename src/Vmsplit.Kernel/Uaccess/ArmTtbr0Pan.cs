using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// ARMv7 LPAE, CONFIG_CPU_TTBR0_PAN: TTBCR.EPD0 disables TTBR0 walks in the kernel outside uaccess, at the
/// same points as the domain PAN (arch/arm/include/asm/uaccess.h, arch/arm/kernel/entry-header.S).
/// </summary>
public sealed class ArmTtbr0Pan(SimKernel kernel, ArmMm arm) : PanPolicy(kernel)
{
    public override void OnEntry(bool exception) => WriteTtbcr(epd0: true, isb: true);

    public override void OnExit() => WriteTtbcr(epd0: false, isb: false);

    /// <summary>In the kernel the loaded TTBCR has EPD0 set.</summary>
    public override void ApplyToRoots(ref MmuRegisters registers, bool inKernel)
    {
        if (inKernel)
        {
            registers.Ttbcr = ArmLpaeFormat.Ttbcr(0, arm.Ttbr1Size, epd0: true);
        }
    }

    private protected override void SetUserAccess(bool open) => WriteTtbcr(epd0: !open, isb: true);

    private protected override void FaultInWindow(bool entering) => SetUserAccess(open: !entering);

    private void WriteTtbcr(bool epd0, bool isb)
    {
        Mmu.WriteTtbcr(ArmLpaeFormat.Ttbcr(0, arm.Ttbr1Size, epd0));
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.TtbcrWrite);
        if (isb)
        {
            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        }
    }
}
