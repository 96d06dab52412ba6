using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    private UserAccess? _uaccess;

    /// <summary>The uaccess API of the running process, by the design's strategy.</summary>
    public UserAccess Uaccess => _uaccess ??= new UserAccess(Layout.TaskSize, new DesignUserAccess(this));

    /// <summary>get_user_pages: the frame behind a user page, faulting it in; null when the access is not allowed.</summary>
    public PhysicalAddress? GetUserPage(Process p, VirtualAddress va, bool write, bool pin)
    {
        VirtualAddress page = va.AlignDown(Page);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            PageTableLookup l = p.Tables.Lookup(page);
            if (l.Found && l.Attributes.User && (!write || l.Attributes.Write))
            {
                PhysicalAddress frame = l.Translate(page);
                if (pin)
                {
                    p.Pin(frame);
                    Cpu.Charge(CostCause.Pinning, Software.PinPerPage);
                }
                else
                {
                    Cpu.Charge(CostCause.Pinning, Software.PinPerPage / 2); // follow_page without a reference
                }

                return frame;
            }

            if (attempt == 0 && !HandleMmFault(p, page, write))
            {
                return null;
            }
        }

        return null;
    }

    public void UnpinUserPage(Process p, PhysicalAddress frame)
    {
        p.Unpin(frame);
        Cpu.Charge(CostCause.Pinning, Software.UnpinPerPage);
    }

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
    private void FlushDcachePage()
    {
        CacheGeometry c = _setup.Profile.Cache;
        if (c.ViptAliasing)
        {
            Cpu.Charge(CostCause.CacheFlush, c.LinesPerPage * c.CleanInvalidateLineCycles, c.LinesPerPage);
        }
    }

    /// <summary>The design's way into user memory, one page at a time.</summary>
    private sealed class DesignUserAccess(SimKernel k) : IUserPageAccess
    {
        private UaccessStrategy _active;
        private bool _switched;

        public void Begin(ulong totalBytes, bool write)
        {
            _active = k.Design.Uaccess;
            if (_active == UaccessStrategy.Hybrid)
            {
                _active = totalBytes < k.Design.HybridThresholdBytes ? UaccessStrategy.Ttbr0Switch : UaccessStrategy.PinKmap;
            }

            switch (_active)
            {
                case UaccessStrategy.Direct:
                    k.UserAccessWindow(open: true);
                    break;
                case UaccessStrategy.Ttbr0Switch:
                case UaccessStrategy.Trampoline:
                    SwitchTtbr0(toUser: true);
                    break;
            }
        }

        public void End()
        {
            switch (_active)
            {
                case UaccessStrategy.Direct:
                    k.UserAccessWindow(open: false);
                    break;
                case UaccessStrategy.Ttbr0Switch:
                case UaccessStrategy.Trampoline:
                    SwitchTtbr0(toUser: false);
                    break;
            }
        }

        public bool Read(VirtualAddress source, Span<byte> destination) => Transfer(source, destination, default, write: false);

        public bool Write(VirtualAddress destination, ReadOnlySpan<byte> source) => Transfer(destination, default, source, write: true);

        private bool Transfer(VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write)
        {
            Process p = k.Current!;
            int n = write ? from.Length : into.Length;
            switch (_active)
            {
                case UaccessStrategy.Direct:
                case UaccessStrategy.Ttbr0Switch:
                case UaccessStrategy.Trampoline:
                    {
                        PhysicalAddress? pa = DirectTranslate(p, user, write);
                        if (pa is null)
                        {
                            return false;
                        }

                        if (_active == UaccessStrategy.Ttbr0Switch && n > 8)
                        {
                            k.Cpu.ChargeMemcpy((ulong)n); // bounce through a per-CPU buffer in the TTBR1 region
                        }
                        else if (_active == UaccessStrategy.Trampoline)
                        {
                            // the kernel side is reached through a fixmap window mapped by the trampoline
                            k.Cpu.Charge(CostCause.Kmap, k.Software.KmapSoftware);
                            k.FlushKernelPageLocal(new VirtualAddress(k.FixaddrTop - (32 * Page)));
                        }

                        Move(pa.Value, into, from, write);
                        return true;
                    }

                default:
                    {
                        bool pin = _active == UaccessStrategy.PinKmap;
                        PhysicalAddress? frame = k.GetUserPage(p, user, write, pin);
                        if (frame is null)
                        {
                            return false;
                        }

                        if (!write)
                        {
                            k.FlushDcachePage(); // make the user's writes visible through the kernel alias
                        }

                        VirtualAddress kva = k.KmapFrame(frame.Value);
                        VirtualAddress at = kva + (user.Value & (Page - 1));
                        Translation t = k.Cpu.Access(at, write ? AccessType.Write : AccessType.Read, Privilege.Kernel);
                        if (t.IsFault)
                        {
                            throw new InvalidOperationException($"kmap alias {at} of {frame} does not translate: {t.Fault}");
                        }

                        Move(t.Address, into, from, write);
                        k.KunmapFrame(frame.Value, kva);
                        if (write)
                        {
                            k.FlushDcachePage(); // push the kernel's writes out before user space reads its alias
                        }

                        if (pin)
                        {
                            k.UnpinUserPage(p, frame.Value);
                        }

                        return true;
                    }
            }
        }

        private void Move(PhysicalAddress pa, Span<byte> into, ReadOnlySpan<byte> from, bool write)
        {
            if (write)
            {
                k.Memory.Write(pa, from);
                k.Cpu.ChargeMemcpy((ulong)from.Length);
            }
            else
            {
                k.Memory.Read(pa, into);
                k.Cpu.ChargeMemcpy((ulong)into.Length);
            }
        }

        // A user access made by kernel code on the live user mapping; a fault is handled and retried once.
        private PhysicalAddress? DirectTranslate(Process p, VirtualAddress user, bool write)
        {
            AccessType a = write ? AccessType.Write : AccessType.Read;
            Privilege privilege = _active == UaccessStrategy.Direct && k.UnprivilegedUaccess ? Privilege.User : Privilege.Kernel; // arm64 LDTR/STTR
            for (int attempt = 0; attempt < 2; attempt++)
            {
                Translation t = k.Cpu.Access(user, a, privilege);
                if (!t.IsFault)
                {
                    return t.Address;
                }

                if (t.Fault != FaultKind.Translation || attempt == 1)
                {
                    return null; // a permission fault in uaccess goes to the fixup: bytes not copied
                }

                bool switched = _switched;
                if (switched)
                {
                    SwitchTtbr0(toUser: false); // the fault handler needs the kernel tables
                }

                k.UaccessFault(entering: true);
                bool ok = k.HandleMmFault(p, user.AlignDown(Page), write);
                k.UaccessFault(entering: false);
                if (switched)
                {
                    SwitchTtbr0(toUser: true);
                }

                if (!ok)
                {
                    return null;
                }
            }

            return null;
        }

        private void SwitchTtbr0(bool toUser)
        {
            if (k.Design.Scheme != IsolationScheme.FourGFourG || _switched == toUser)
            {
                return;
            }

            _switched = toUser;
            MemoryManagementUnit m = k.Cpu.Mmu;
            m.WriteTtbr0(toUser ? ArmLpaeFormat.Ttbr(k.Current!.Tables.Root, k.UserAsid) : ArmLpaeFormat.Ttbr(k._kernelLowTree!.Root, FourGKernelAsid));
            k.Cpu.Charge(CostCause.RootRegisterWrite, PrimitiveCost.Ttbr0Write);
            k.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
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
            p.AnonPages[page.Value] = frame;
        }

        PageTableResult r = p.Tables.Map(page, frame, Page, UserPageAttributes(vma.Flags), Page);
        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"installing the PTE for {page}: {r.Message}");
        }

        SyncShadow(p, page);
        return true;
    }
}
