using Vmsplit.Kernel.Arch.Arm64;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// arm64 CONFIG_ARM64_SW_TTBR0_PAN (Linux 4.10+): outside uaccess TTBR0 holds reserved_pg_dir and TTBR1 the
/// reserved ASID. __swpan_entry_el0 / __swpan_exit_el0 run __uaccess_ttbr0_disable / _enable, two TTBR writes
/// and an ISB each way (arch/arm64/kernel/entry.S, asm/asm-uaccess.h); uaccess_ttbr0_enable/disable do the
/// same around each copy; switch_mm leaves TTBR0 alone (check_and_switch_context, arch/arm64/mm/context.c).
/// </summary>
public sealed class Arm64SwTtbr0Pan(SimKernel kernel, Arm64Mm arm64) : PanPolicy(kernel)
{
    private protected override (int Major, int Minor, string What)? Introduced => (4, 10, "SW PAN (CONFIG_ARM64_SW_TTBR0_PAN)");

    public override bool DefersUserTablesToUaccess => true;

    public override void OnEntry(bool exception) => SetUserAccess(open: false);

    public override void OnExit() => SetUserAccess(open: true);

    private protected override void SetUserAccess(bool open)
    {
        if (open)
        {
            arm64.UaccessTtbr0Enable(Kernel.Current!, Kernel.UserAsid);
        }
        else
        {
            arm64.UaccessTtbr0Disable();
        }
    }

    private protected override void FaultInWindow(bool entering) => SetUserAccess(open: !entering);
}
