using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// RISC-V: sstatus.SUM set only around uaccess (csrs/csrc, __enable_user_access/__disable_user_access,
/// arch/riscv/include/asm/uaccess.h and lib/uaccess.S). handle_exception's csrrc of sstatus clears SUM with
/// the rest (arch/riscv/kernel/entry.S) and sret restores it: no instruction of its own at entry or exit.
/// </summary>
public sealed class RiscvSumPan(SimKernel kernel) : PanPolicy(kernel)
{
    public override void OnEntry(bool exception) => Mmu.Registers.Sum = false;

    public override void OnExit() => Mmu.Registers.Sum = false;

    public override void ApplyToRoots(ref MmuRegisters registers, bool inKernel) => registers.Sum = false;

    private protected override void SetUserAccess(bool open)
    {
        Mmu.Registers.Sum = open;
        Cpu.Charge(CostCause.UserAccessControl, PrimitiveCost.SstatusWrite);
    }

    private protected override void FaultInWindow(bool entering) => Mmu.Registers.Sum = !entering;
}
