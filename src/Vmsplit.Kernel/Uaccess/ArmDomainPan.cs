using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Arch.Arm;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// ARMv7 short descriptors, CONFIG_CPU_SW_DOMAIN_PAN: the user domain is client in user mode and inside
/// uaccess, no access elsewhere in the kernel. vector_swi's uaccess_disable writes DACR and ISBs
/// (arch/arm/kernel/entry-common.S); restore_user_regs' uaccess_enable writes it without an ISB, the
/// exception return synchronises (arch/arm/kernel/entry-header.S); uaccess_save_and_enable/uaccess_restore
/// write it and ISB around each copy (arch/arm/include/asm/uaccess.h).
/// </summary>
public sealed class ArmDomainPan(SimKernel kernel) : PanPolicy(kernel)
{
    public override void OnEntry(bool exception) => WriteDacr(ArmMm.DacrUserNoAccess, isb: true);

    public override void OnExit() => WriteDacr(ArmMm.DacrUserClient, isb: false);

    private protected override void SetUserAccess(bool open) => WriteDacr(open ? ArmMm.DacrUserClient : ArmMm.DacrUserNoAccess, isb: true);

    private protected override void FaultInWindow(bool entering) => SetUserAccess(open: !entering);

    private void WriteDacr(uint dacr, bool isb)
    {
        Mmu.Registers.Dacr = dacr;
        Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.ContextidrWrite); // an MCR to CP15 like CONTEXTIDR
        if (isb)
        {
            Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        }
    }
}
