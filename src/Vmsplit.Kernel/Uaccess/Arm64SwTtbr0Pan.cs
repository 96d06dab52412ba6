using Vmsplit.Hardware;
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

    /// <summary>
    /// enter_lazy_tlb → update_saved_ttbr0(tsk, &amp;init_mm): the saved TTBR0 becomes __pa_symbol(reserved_pg_dir), a
    /// kernel-image address (arch/arm64/include/asm/mmu_context.h, Linux 6.6); reserved_pg_dir lies in the image's
    /// data after its text (arch/arm64/kernel/vmlinux.lds.S), the model's first page after the layout's text.
    /// </summary>
    public override void EnterLazyTlb() => Kernel.VirtToPhys(ReservedPgDir);

    /// <summary>Where the model places reserved_pg_dir: the first image page after the text (the image's last page if the text fills it).</summary>
    public VirtualAddress ReservedPgDir
    {
        get
        {
            ulong text = (Kernel.Layout.ImageTextBytes + 4095) & ~4095UL;
            return Kernel.ImageVa + Math.Min(text, Kernel.ImageBytes - 4096);
        }
    }

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
