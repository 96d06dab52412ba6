using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Mm;

/// <summary>
/// get_user_pages as the kernel runs it for one page (mm/gup.c, 5.15: pin_user_pages_fast → gup_pgd_range →
/// gup_pte_range, and on a miss the slow path's faultin_page and retry): a software walk of the process's
/// tables in simulated memory, each descriptor a kernel load of its linear-map address through the kernel's
/// TLB and the line cache; then for a pin a read-modify-write of the page's <c>_refcount</c> in
/// <see cref="MemMap"/> and the re-read of the PTE gup_pte_range makes after taking the reference.
/// Unpinning (unpin_user_page → gup_put_folio) is the read-modify-write back.
/// </summary>
public sealed class Gup
{
    private const ulong PageSize = 4096;
    private readonly SimKernel _kernel;

    public Gup(SimKernel kernel)
    {
        _kernel = kernel;
    }

    /// <summary>Software walks made (one per attempt).</summary>
    public long Walks { get; private set; }

    /// <summary>Descriptors the software walks loaded.</summary>
    public long DescriptorLoads { get; private set; }

    /// <summary>References taken on a struct page (pins), and released.</summary>
    public long Pins { get; private set; }

    public long Unpins { get; private set; }

    /// <summary>
    /// The frame behind the user page holding <paramref name="va"/>, faulting it in when the walk finds no
    /// usable PTE; with <paramref name="pin"/> a reference is taken. Null when no VMA allows the access.
    /// </summary>
    public PhysicalAddress? GetPage(Process p, VirtualAddress va, bool write, bool pin)
    {
        VirtualAddress page = va.AlignDown(PageSize);
        _kernel.FetchText(KernelPath.Gup); // get_user_pages' own code and its release's, from the architecture's symbol table
        for (int attempt = 0; attempt < 2; attempt++)
        {
            WalkOutcome w = Walk(p, page, write);
            _kernel.Cpu.Charge(KernelCostCause.Pinning, _kernel.Software.GupWalkPerPage);
            if (w.Frame is PhysicalAddress frame)
            {
                if (pin)
                {
                    AddRefcount(frame, MemMap.PinCountingBias, KernelCostCause.Pinning);
                    _kernel.Cpu.Load(w.PteVa, KernelCostCause.Pinning); // gup_pte_range: the PTE must not have changed under the reference
                    _kernel.Cpu.Charge(KernelCostCause.Pinning, _kernel.Software.GupGrabPerPage);
                    p.Pin(frame);
                    Pins++;
                }

                // without LPAE 32-bit ARM has no fast GUP (HAVE_FAST_GUP only with ARM_LPAE, arch/arm/Kconfig): the
                // slow path hands each page back after flush_anon_page and flush_dcache_page (mm/gup.c)
                _kernel.Arch.GupCacheMaintenance(frame, page);
                return frame;
            }

            // the fast walk failed: __get_user_pages → faultin_page → handle_mm_fault, then follow_page_mask again
            if (attempt == 0 && !_kernel.HandleMmFault(p, page, write))
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>unpin_user_page: the reference dropped with a read-modify-write of _refcount.</summary>
    public void Unpin(Process p, PhysicalAddress frame)
    {
        p.Unpin(frame);
        AddRefcount(frame, unchecked(0u - MemMap.PinCountingBias), KernelCostCause.Pinning);
        _kernel.Cpu.Charge(KernelCostCause.Pinning, _kernel.Software.GupUnpinPerPage);
        Unpins++;
    }

    /// <summary>page_ref_count() as simulated memory holds it (for tests and audits; charges nothing).</summary>
    public uint Refcount(PhysicalAddress frame) => _kernel.Memory.ReadUInt32(MemMapOrThrow().PhysOf(MemMapOrThrow().RefcountOf(frame)));

    // atomic_add on _refcount: LDREX/STREX or LOCK ADD — a priced load, then the store to the line it brought in.
    private void AddRefcount(PhysicalAddress frame, uint delta, CostCause cause)
    {
        MemMap map = MemMapOrThrow();
        VirtualAddress field = map.RefcountOf(frame);
        Translation t = _kernel.Cpu.Load(field, cause);
        if (t.IsFault)
        {
            throw new InvalidOperationException($"struct page of {frame} at {field} is not mapped: {t.Fault}");
        }

        uint value = _kernel.Memory.ReadUInt32(t.Address);
        _kernel.Cpu.Access(field, AccessType.Write, Privilege.Kernel);
        _kernel.Memory.WriteUInt32(t.Address, unchecked(value + delta));
    }

    private MemMap MemMapOrThrow() =>
        _kernel.MemMap ?? throw new InvalidOperationException("get_user_pages needs mem_map, and this layout has no vmemmap region");

    private readonly record struct WalkOutcome(PhysicalAddress? Frame, VirtualAddress PteVa);

    // The lockless walk of gup_fast (pgdp_get, pudp_get, pmdp_get, ptep_get): each level's descriptor loaded
    // through its linear-map address; present, user and (for a write) writable at the leaf, as
    // pte_access_permitted asks.
    private WalkOutcome Walk(Process p, VirtualAddress page, bool write)
    {
        Walks++;
        PageTable tables = p.Tables;
        PageTableFormat format = tables.Format;
        MmuRegisters registers = tables.Registers;
        WalkRoot root = format.SelectRoot(in registers, page);
        if (root.Fault != FaultKind.None)
        {
            return default;
        }

        ulong table = root.Table.Value;
        for (int i = 0; i < root.Geometry.Levels.Length; i++)
        {
            PageTableLevel level = root.Geometry.Levels[i];
            PhysicalAddress entry = new(table + ((ulong)level.IndexOf(page.Value) * (ulong)level.EntrySize));
            VirtualAddress entryVa = _kernel.PhysToLinear(entry); // __va of the table: tables are lowmem pages
            Translation t = _kernel.Cpu.Load(entryVa, KernelCostCause.Pinning);
            if (t.IsFault)
            {
                throw new InvalidOperationException($"page table entry {entry} at {entryVa} is not mapped in the kernel: {t.Fault}");
            }

            DescriptorLoads++;
            ulong raw = level.EntrySize == 8 ? _kernel.Memory.ReadUInt64(entry) : _kernel.Memory.ReadUInt32(entry);
            DecodedEntry d = format.Decode(in level, raw, in registers);
            switch (d.Kind)
            {
                case DescriptorKind.Table:
                    table = d.Address.Value;
                    continue;
                case DescriptorKind.Leaf:
                    AccessRights need = write ? AccessRights.UserWrite : AccessRights.UserRead;
                    if (d.Fault != FaultKind.None || !d.User || (d.Rights & need) == 0)
                    {
                        return default;
                    }

                    return new WalkOutcome(d.Address + (page.Value & (d.LeafSize - 1)), entryVa);
                default:
                    return default;
            }
        }

        return default;
    }
}
