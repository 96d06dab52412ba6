using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// 4g4g uaccess with the user's tables put back in TTBR0 around the access, so that the kernel reaches
/// user memory directly; the fault handler runs on the kernel's own tables.
/// </summary>
public abstract class UserTablesUserAccess : KernelUserAccess
{
    private readonly ArmFourGFourG _fourG;
    private bool _switched;

    private protected UserTablesUserAccess(SimKernel kernel, ArmFourGFourG fourG)
        : base(kernel)
    {
        _fourG = fourG;
    }

    public override void Begin(ulong totalBytes, bool write) => SwitchTtbr0(toUser: true);

    public override void End() => SwitchTtbr0(toUser: false);

    private protected override void BeforeFault()
    {
        if (_switched)
        {
            SwitchTtbr0(toUser: false); // the fault handler needs the kernel tables
            _restore = true;
        }
    }

    private protected override void AfterFault()
    {
        if (_restore)
        {
            _restore = false;
            SwitchTtbr0(toUser: true);
        }
    }

    private bool _restore;

    private void SwitchTtbr0(bool toUser)
    {
        if (_switched == toUser)
        {
            return;
        }

        _switched = toUser;
        _fourG.SwitchUserTtbr0(toUser);
    }
}

/// <summary>
/// A temporary TTBR0 switch to the user's tables for the access; copies larger than a register bounce
/// through a per-CPU buffer in the TTBR1 region (get_user/put_user and small copies in seed 002).
/// </summary>
public sealed class Ttbr0SwitchUserAccess(SimKernel kernel, ArmFourGFourG fourG) : UserTablesUserAccess(kernel, fourG)
{
    private protected override bool Transfer(Process p, VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        PhysicalAddress? pa = DirectTranslate(p, user, write);
        if (pa is null)
        {
            return false;
        }

        int n = write ? from.Length : into.Length;
        if (n > 8)
        {
            Kernel.Cpu.ChargeMemcpy((ulong)n); // bounce through a per-CPU buffer in the TTBR1 region
        }

        Move(pa.Value, into, from, write);
        return true;
    }
}

/// <summary>
/// Catalin Marinas' alternative: uaccess runs in a trampoline that restores the user pgd with a couple of
/// kernel pmds mapped; the kernel side is reached through a fixmap window the trampoline maps.
/// </summary>
public sealed class TrampolineUserAccess(SimKernel kernel, ArmFourGFourG fourG) : UserTablesUserAccess(kernel, fourG)
{
    private protected override bool Transfer(Process p, VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        PhysicalAddress? pa = DirectTranslate(p, user, write);
        if (pa is null)
        {
            return false;
        }

        // the kernel side is reached through a fixmap window mapped by the trampoline
        Kernel.Cpu.Charge(KernelCostCause.Kmap, Kernel.Software.KmapLocalMap);
        Kernel.FlushKernelPageLocal(new VirtualAddress(Kernel.FixaddrTop - (32 * Page)));
        Move(pa.Value, into, from, write);
        return true;
    }
}
