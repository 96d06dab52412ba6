using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// x86 SMAP (CONFIG_X86_SMAP, Linux 3.7+): CR4.SMAP set, RFLAGS.AC opened by STAC and closed by CLAC around
/// each copy (__uaccess_begin/end, copy_user_generic; arch/x86/include/asm/uaccess_64.h). SYSCALL clears AC
/// through MSR_SYSCALL_MASK (syscall_init, arch/x86/kernel/cpu/common.c); an exception runs ASM_CLAC first
/// (idtentry, arch/x86/entry/entry_64.S); IRET restores the saved AC without an instruction.
/// </summary>
public sealed class X86SmapPan(SimKernel kernel) : PanPolicy(kernel)
{
    private protected override (int Major, int Minor, string What)? Introduced => (3, 7, "SMAP support (CONFIG_X86_SMAP)");

    public override void OnEntry(bool exception)
    {
        Mmu.Registers.Ac = false;
        if (exception)
        {
            Cpu.Charge(CostCause.UserAccessControl, PrimitiveCost.Clac);
        }
    }

    public override void OnExit() => Mmu.Registers.Ac = false;

    public override void ApplyToRoots(ref MmuRegisters registers, bool inKernel) => registers.Cr4 |= Cr4Flags.Smap;

    private protected override void SetUserAccess(bool open)
    {
        Mmu.Registers.Ac = open;
        Cpu.Charge(CostCause.UserAccessControl, open ? PrimitiveCost.Stac : PrimitiveCost.Clac);
    }

    private protected override void FaultInWindow(bool entering)
    {
        Mmu.Registers.Ac = !entering;
        if (entering)
        {
            Cpu.Charge(CostCause.UserAccessControl, PrimitiveCost.Clac);
        }
    }
}
