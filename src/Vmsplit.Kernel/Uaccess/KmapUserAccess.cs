using Vmsplit.Hardware;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// User memory reached through a kernel alias: get_user_pages finds (and faults in) the page, kmap maps it,
/// the bytes move, kunmap; on a VIPT-aliasing cache get_user_pages flushes both aliases and a write is followed
/// by flush_dcache_page.
/// <see cref="PinKmapUserAccess"/> pins the page for the copy, <see cref="AtomicKmapUserAccess"/> does not.
/// </summary>
public abstract class KmapUserAccess : KernelUserAccess
{
    private readonly bool _pin;

    private protected KmapUserAccess(SimKernel kernel, bool pin)
        : base(kernel)
    {
        _pin = pin;
    }

    /// <summary>No copy routine per call: each page is copied by memcpy through its kernel alias (<see cref="Transfer"/>).</summary>
    public override void CopyRoutine(ulong bytes, bool toUser)
    {
    }

    private protected override bool Transfer(Process p, VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        SimKernel k = Kernel;
        PhysicalAddress? frame = k.GetUserPage(p, user, write, _pin);
        if (frame is null)
        {
            return false;
        }

        VirtualAddress kva = k.KmapFrame(frame.Value);
        VirtualAddress at = kva + (user.Value & (Page - 1));
        Translation t = k.Cpu.Access(at, write ? AccessType.Write : AccessType.Read, Privilege.Kernel);
        if (t.IsFault)
        {
            throw new InvalidOperationException($"kmap alias {at} of {frame} does not translate: {t.Fault}");
        }

        k.FetchText(KernelPath.Memcpy); // the copy through the alias is memcpy, once per page (lib/uaccess_gup_kmap_memcpy.c in the 2020 vmsplit 4g/4g RFC)
        Move(t.Address, into, from, write);
        k.KunmapFrame(frame.Value, kva);
        if (write)
        {
            k.Arch.FlushDcachePage(frame.Value); // "if written to page, flush_dcache_page()" (arch/arm/mm/flush.c on gup users)
        }

        if (_pin)
        {
            k.UnpinUserPage(p, frame.Value);
        }

        return true;
    }
}

/// <summary>Pin the user page (get_user_pages), kmap it, copy, kunmap, unpin, page by page (the 4g4g default).</summary>
public sealed class PinKmapUserAccess(SimKernel kernel) : KmapUserAccess(kernel, pin: true);

/// <summary>x86-4g4g (2003): the user page found by a software walk (follow_page, no reference) and copied through an atomic kmap.</summary>
public sealed class AtomicKmapUserAccess(SimKernel kernel) : KmapUserAccess(kernel, pin: false);
