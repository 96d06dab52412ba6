using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>get_user_pages: the frame behind a user page, faulting it in; null when the access is not allowed (<see cref="Gup"/>).</summary>
    public PhysicalAddress? GetUserPage(Process p, VirtualAddress va, bool write, bool pin) => Gup.GetPage(p, va, write, pin);

    public void UnpinUserPage(Process p, PhysicalAddress frame) => Gup.Unpin(p, frame);

    /// <summary>
    /// kmap_local_page of any frame (include/linux/highmem-internal.h, mm/highmem.c): PageHighMem loads
    /// page-&gt;flags from mem_map; a lowmem page is its linear-map address, a highmem page gets the next fixmap
    /// slot: its PTE stored (a priced store through the kernel's TLB and line cache) and, where the
    /// architecture needs it, the page invalidated locally.
    /// </summary>
    public VirtualAddress KmapFrame(PhysicalAddress frame)
    {
        if (MemMap is { HighmemConfigured: true })
        {
            Cpu.Load(MemMap.PageOf(frame), KernelCostCause.Kmap); // PageHighMem(page): the zone bits of page->flags
        }

        if (!IsHighmem(frame))
        {
            Cpu.Charge(KernelCostCause.Kmap, Software.KmapLowmem);
            return PhysToVirt(frame); // lowmem_page_address: __va(PFN_PHYS(page_to_pfn(page))) (include/linux/mm.h, Linux 6.6)
        }

        Cpu.Charge(KernelCostCause.Kmap, Software.KmapLocalMap);
        VirtualAddress va = KmapLocal.Map(Cpu.Id, frame);
        StoreKernelPte(va, KernelCostCause.Kmap);
        return va;
    }

    /// <summary>kunmap_local: the PTE cleared (a priced store) and the page invalidated on this CPU.</summary>
    public void KunmapFrame(PhysicalAddress frame, VirtualAddress va)
    {
        if (IsHighmem(frame))
        {
            Cpu.Charge(KernelCostCause.Kmap, Software.KmapLocalUnmap);
            StoreKernelPte(va, KernelCostCause.Kmap);
            KmapLocal.Unmap(Cpu.Id, va);
        }
    }

    /// <summary>The store of <paramref name="va"/>'s kernel PTE through its linear-map address (page tables are lowmem pages).</summary>
    internal void StoreKernelPte(VirtualAddress va, CostCause cause)
    {
        PhysicalAddress pte = KernelTreeFor(va).Lookup(va).EntryAddress;
        Translation t = Cpu.Store(PhysToLinear(pte), cause);
        if (t.IsFault)
        {
            throw new InvalidOperationException($"the PTE of {va} at {pte} is not mapped in the kernel: {t.Fault}");
        }

        DescriptorWrites++;
    }

    /// <summary>
    /// Descriptors the kernel stored itself on its uaccess and kmap paths (kmap PTEs, the trampoline's and
    /// pmd-copy's entries), each a priced store through the kernel's TLB and line cache.
    /// </summary>
    public long DescriptorWrites { get; private set; }

    /// <summary>Descriptors loaded by the kernel's software walks: get_user_pages' and <see cref="LoadDescriptor"/>'s.</summary>
    public long SoftwareWalkLoads => Gup.DescriptorLoads + _descriptorLoads;

    private long _descriptorLoads;

    /// <summary>A descriptor load by kernel code: its linear-map address through the kernel's TLB and line cache.</summary>
    public ulong LoadDescriptor(PhysicalAddress entry, CostCause cause)
    {
        _descriptorLoads++;
        Translation t = Cpu.Load(PhysToLinear(entry), cause);
        if (t.IsFault)
        {
            throw new InvalidOperationException($"page table entry {entry} is not mapped in the kernel: {t.Fault}");
        }

        return Format.Geometry[0].EntrySize == 8 ? Memory.ReadUInt64(entry) : Memory.ReadUInt32(entry);
    }

    /// <summary>A descriptor store by kernel code (set_pmd, pmd_clear): a priced store, the raw value written.</summary>
    public void StoreDescriptor(PhysicalAddress entry, ulong value, CostCause cause)
    {
        Translation t = Cpu.Store(PhysToLinear(entry), cause);
        if (t.IsFault)
        {
            throw new InvalidOperationException($"page table entry {entry} is not mapped in the kernel: {t.Fault}");
        }

        if (Format.Geometry[0].EntrySize == 8)
        {
            Memory.WriteUInt64(entry, value);
        }
        else
        {
            Memory.WriteUInt32(entry, (uint)value);
        }

        DescriptorWrites++;
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
        Cpu.Charge(KernelCostCause.FaultHandling, Profile.Kernel.Cycles(Software.FaultHandling));
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
            Cpu.TouchDataLines(frame, Page, store: true); // clear_page writes every line
            KunmapFrame(frame, kva);
            if (MemMap is not null)
            {
                // prep_new_page → set_page_refcounted: the allocator's store, part of the fault's own work
                Memory.WriteUInt32(MemMap.PhysOf(MemMap.RefcountOf(frame)), 1);
            }

            p.AnonPages[page.Value] = frame;
        }

        MapUserPage(p, page, frame, vma.Flags, "installing the PTE for");

        Isolation.OnUserEntryInstalled(p, page);
        return true;
    }

    /// <summary>
    /// Installs a user PTE; every table the edit had to allocate is linked by the architecture's p?d_populate, whose
    /// __va/__pa conversions run here (<see cref="Arch.ArchMm.PopulateConversions"/>): x86-64's pud_populate(__pa(pmd)),
    /// RISC-V's pmd_populate(virt_to_pfn(page_address(pte))), and so on.
    /// </summary>
    internal void MapUserPage(Process p, VirtualAddress page, PhysicalAddress frame, VmFlags flags, string what)
    {
        PageTable t = p.Tables;
        int levels = t.Geometry.LevelCount;
        Span<long> before = stackalloc long[PageTableGeometry.MaxLevels];
        for (int i = 1; i < levels; i++)
        {
            before[i] = t.TablesAllocatedAt(i);
        }

        Require(t.Map(page, frame, Page, UserPageAttributes(flags), Page), $"{what} {page}");
        for (int i = 1; i < levels; i++)
        {
            long linked = t.TablesAllocatedAt(i) - before[i];
            if (linked == 0)
            {
                continue;
            }

            (int va, int pa) = Arch.PopulateConversions(pteTable: i == levels - 1);
            VirtualAddress table = LinearAddress(t.TableOf(page, i) ?? throw new InvalidOperationException($"{page}: no table at level {i} after mapping it"));
            for (long n = 0; n < linked; n++)
            {
                for (int k = 0; k < va; k++)
                {
                    PhysToVirt(LinearToPhys(table)); // page_address(pte): the table page's lowmem address
                }

                for (int k = 0; k < pa; k++)
                {
                    VirtToPhys(table);
                }
            }
        }
    }
}
