using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>get_user_pages: the frame behind a user page, faulting it in; null when the access is not allowed (<see cref="Gup"/>).</summary>
    public PhysicalAddress? GetUserPage(Process p, VirtualAddress va, bool write, bool pin) => Gup.GetPage(p, va, write, pin);

    public void UnpinUserPage(Process p, PhysicalAddress frame) => Gup.Unpin(p, frame);

    /// <summary>kmap_local of any frame: lowmem through the linear map, highmem through a fixmap slot.</summary>
    public VirtualAddress KmapFrame(PhysicalAddress frame)
    {
        if (!IsHighmem(frame))
        {
            Cpu.Charge(CostCause.Kmap, Software.KmapLowmem);
            return LinearAddress(frame);
        }

        Cpu.Charge(CostCause.Kmap, Software.KmapSoftware);
        return KmapLocal.Map(Cpu.Id, frame);
    }

    public void KunmapFrame(PhysicalAddress frame, VirtualAddress va)
    {
        if (IsHighmem(frame))
        {
            KmapLocal.Unmap(Cpu.Id, va);
        }
    }

    // flush_dcache_page on a VIPT-aliasing cache: clean+invalidate every line of the page.
    internal void FlushDcachePage()
    {
        CacheGeometry c = _setup.Profile.Cache;
        if (c.ViptAliasing)
        {
            Cpu.Charge(CostCause.CacheFlush, c.LinesPerPage * c.CleanInvalidateLineCycles, c.LinesPerPage);
        }
    }

    /// <summary>The PTE attributes of a user page in a VMA with <paramref name="flags"/> (vm_get_page_prot, without COW).</summary>
    internal static PageAttributes UserPageAttributes(VmFlags flags) => new(
        PagePermissions.Read
            | ((flags & VmFlags.Write) != 0 ? PagePermissions.Write : 0)
            | ((flags & VmFlags.Exec) != 0 ? PagePermissions.Execute : 0),
        User: true,
        Global: false);

    /// <summary>
    /// handle_mm_fault for a user address: a zero-filled anonymous page (or the page-cache page) mapped
    /// with the VMA's permissions. False when no VMA allows the access (SIGSEGV or uaccess fixup).
    /// </summary>
    public bool HandleMmFault(Process p, VirtualAddress page, bool write)
    {
        Vma? vma = p.Vmas.Find(page);
        if (vma is null || !vma.Allows(write ? VmFlags.Write : VmFlags.Read))
        {
            return false;
        }

        TouchFootprint(KernelPath.Fault, p);
        Cpu.Charge(CostCause.FaultHandling, Software.FaultHandling);
        PhysicalAddress frame;
        if (vma.File is not null && vma.File.TryGetPage((vma.FileOffset + (page - vma.Start)) / Page, out PhysicalAddress cached))
        {
            frame = cached;
        }
        else
        {
            frame = AllocUserFrame();
            VirtualAddress kva = KmapFrame(frame); // clear_user_highpage
            Cpu.Access(kva, AccessType.Write, Privilege.Kernel);
            Memory.Clear(frame, Page);
            Cpu.Charge(CostCause.PageZeroing, Cpu.Cycles(PrimitiveCost.PageZeroCycles));
            KunmapFrame(frame, kva);
            if (MemMap is not null)
            {
                // prep_new_page → set_page_refcounted: the allocator's store, part of the fault's own work
                Memory.WriteUInt32(MemMap.PhysOf(MemMap.RefcountOf(frame)), 1);
            }

            p.AnonPages[page.Value] = frame;
        }

        Require(p.Tables.Map(page, frame, Page, UserPageAttributes(vma.Flags), Page), $"installing the PTE for {page}");

        Isolation.OnUserEntryInstalled(p, page);
        return true;
    }
}
