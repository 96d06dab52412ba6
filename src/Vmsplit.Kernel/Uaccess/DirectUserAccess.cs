using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// Direct loads and stores through the user mapping that is live while the kernel runs, inside a
/// uaccess_enable/disable window that lifts PAN (stac/clac, DACR, TTBR0 PAN, PSTATE.PAN, SUM).
/// </summary>
public sealed class DirectUserAccess(SimKernel kernel) : KernelUserAccess(kernel)
{
    public override void Begin(ulong totalBytes, bool write) => Kernel.Pan.Window(open: true);

    public override void End() => Kernel.Pan.Window(open: false);

    private protected override Privilege AccessPrivilege => Kernel.Arch.UaccessUnprivileged ? Privilege.User : Privilege.Kernel; // arm64 LDTR/STTR

    private protected override bool Transfer(Process p, VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        PhysicalAddress? pa = DirectTranslate(p, user, write);
        if (pa is null)
        {
            return false;
        }

        Move(pa.Value, into, from, write);
        return true;
    }
}
