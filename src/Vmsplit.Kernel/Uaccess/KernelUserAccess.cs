using Vmsplit.Hardware;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// The common part of the kernel's user-access strategies: one page at a time, the bytes moved through
/// the simulated memory and charged as memcpy, and a user access made on the live user mapping with the
/// page fault handled and retried once. Each strategy class says how it reaches the page.
/// </summary>
public abstract class KernelUserAccess : IUserPageAccess
{
    private protected const ulong Page = 4096;

    private protected KernelUserAccess(SimKernel kernel)
    {
        Kernel = kernel;
    }

    private protected SimKernel Kernel { get; }

    public virtual void Begin(ulong totalBytes, bool write)
    {
    }

    public virtual void End()
    {
    }

    /// <summary>
    /// The copy routine's text, once per call: copy_to_user or copy_from_user's loop (arch/arm/lib/copy_to_user.S and
    /// copy_from_user.S over copy_template.S, 4.4; each architecture's own in its table), run on the user mapping.
    /// </summary>
    public virtual void CopyRoutine(ulong bytes, bool toUser) => Kernel.FetchText(toUser ? KernelPath.CopyToUser : KernelPath.CopyFromUser);

    private VirtualAddress _kernelSide;
    private VirtualAddress _userSide;

    public void KernelSide(VirtualAddress kernel, VirtualAddress user)
    {
        _kernelSide = kernel;
        _userSide = user;
    }

    /// <summary>The kernel address matching <paramref name="user"/> in the copy under way, or null when the kernel side is a register or an unmodelled buffer.</summary>
    private protected VirtualAddress? KernelSideOf(VirtualAddress user) =>
        _kernelSide == default ? null : _kernelSide + (user.Value - _userSide.Value);

    /// <summary>The kernel address of the whole section's first byte, or null (see <see cref="KernelSideOf"/>).</summary>
    private protected VirtualAddress? KernelSideStart => _kernelSide == default ? null : _kernelSide;

    public bool Read(VirtualAddress source, Span<byte> destination) => Transfer(Kernel.Current!, source, destination, default, write: false);

    public bool Write(VirtualAddress destination, ReadOnlySpan<byte> source) => Transfer(Kernel.Current!, destination, default, source, write: true);

    /// <summary>Moves the bytes of one page between <paramref name="user"/> and the kernel buffer; false on an unfixable fault.</summary>
    private protected abstract bool Transfer(Process p, VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write);

    private protected void Move(PhysicalAddress pa, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        if (write)
        {
            Kernel.Memory.Write(pa, from);
            Kernel.Cpu.ChargeMemcpy((ulong)from.Length);
            Kernel.Cpu.TouchDataLines(pa, (ulong)from.Length, store: true); // the user side's lines (the kernel side's are its caller's)
        }
        else
        {
            Kernel.Memory.Read(pa, into);
            Kernel.Cpu.ChargeMemcpy((ulong)into.Length);
            Kernel.Cpu.TouchDataLines(pa, (ulong)into.Length);
        }
    }

    /// <summary>A user access made by kernel code on the live user mapping; a fault is handled and retried once.</summary>
    private protected PhysicalAddress? DirectTranslate(Process p, VirtualAddress user, bool write)
    {
        AccessType a = write ? AccessType.Write : AccessType.Read;
        Privilege privilege = AccessPrivilege;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            PhysicalAddress pa = Kernel.Cpu.AccessAddress(user, a, privilege, out FaultKind fault);
            if (fault == FaultKind.None)
            {
                return pa;
            }

            if (fault != FaultKind.Translation || attempt == 1)
            {
                return null; // a permission fault in uaccess goes to the fixup: bytes not copied
            }

            BeforeFault();
            Kernel.Pan.OnUaccessFault(entering: true);
            bool ok = Kernel.HandleMmFault(p, user.AlignDown(Page), write);
            Kernel.Pan.OnUaccessFault(entering: false);
            AfterFault();
            if (!ok)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>The privilege of the kernel's user accesses (arm64 LDTR/STTR make them as EL0 would).</summary>
    private protected virtual Privilege AccessPrivilege => Privilege.Kernel;

    /// <summary>The fault handler is about to run (it needs the kernel's own tables).</summary>
    private protected virtual void BeforeFault()
    {
    }

    /// <summary>The fault handler returned.</summary>
    private protected virtual void AfterFault()
    {
    }
}
