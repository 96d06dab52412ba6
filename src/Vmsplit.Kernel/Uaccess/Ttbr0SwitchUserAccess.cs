using Vmsplit.Hardware;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
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

    private protected ArmFourGFourG FourG => _fourG;

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
/// A temporary TTBR0 switch to the user's tables for the access (get_user/put_user and small copies: Arnd Bergmann, LKML "ARM: static kernel in vmalloc space", May 2020):
/// the user side goes through the MMU under the user ASID. A kernel side in lowmem is not mapped while TTBR0
/// holds the user tables, so it bounces through a per-CPU page mapped in both (LPAE: in the TTBR1 region; short
/// descriptors: in the trampoline) — a second memcpy, and that page's own TLB accesses; a kernel side in LPAE's
/// TTBR1 region (a kmap'ed highmem page) is reached directly,
/// and a register (get_user/put_user, the kernel side unknown to the model, at most 8 bytes) needs no buffer.
/// </summary>
public sealed class Ttbr0SwitchUserAccess : UserTablesUserAccess
{
    public Ttbr0SwitchUserAccess(SimKernel kernel, ArmFourGFourG fourG)
        : base(kernel, fourG)
    {
        fourG.RequestBouncePage();
    }

    private protected override bool Transfer(Process p, VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        PhysicalAddress? pa = DirectTranslate(p, user, write);
        if (pa is null)
        {
            return false;
        }

        int n = write ? from.Length : into.Length;
        VirtualAddress? kernelSide = KernelSideOf(user);
        if (kernelSide is VirtualAddress k && FourG.MappedUnderUserTables(k))
        {
            Kernel.Cpu.Access(k, write ? AccessType.Read : AccessType.Write, Privilege.Kernel); // LPAE's TTBR1: mapped under either TTBR0
        }
        else if (kernelSide is not null || n > 8)
        {
            VirtualAddress bounce = FourG.BouncePage;
            Translation b = Kernel.Cpu.Access(bounce + (user.Value & (Page - 1)), write ? AccessType.Read : AccessType.Write, Privilege.Kernel);
            Kernel.Cpu.ChargeMemcpy((ulong)n); // between the lowmem side and the bounce page, with the kernel tables loaded
            Kernel.Cpu.TouchDataLines(b.Address, (ulong)n, store: !write);
        }

        Move(pa.Value, into, from, write);
        return true;
    }
}
