using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>-ENOMEM: part of the range is not mapped (include/uapi/asm-generic/errno-base.h).</summary>
    public const long Enomem = -12;

    private const VmFlags ProtBits = VmFlags.Read | VmFlags.Write | VmFlags.Exec;

    /// <summary>PTEs mprotect rewrote (present PTEs of the VMAs whose flags changed), since boot.</summary>
    public long ProtectedPtes { get; private set; }

    /// <summary>PTEs madvise(MADV_DONTNEED) cleared, since boot.</summary>
    public long ZappedPtes { get; private set; }

    /// <summary>
    /// mprotect(2) of [<paramref name="start"/>, +<paramref name="size"/>) to <paramref name="prot"/> as Linux 5.4 runs it:
    /// do_mprotect_pkey walks the VMAs in order and stops with -ENOMEM at a hole; mprotect_fixup returns at once for a VMA
    /// whose flags do not change, otherwise splits it at the range's edges (split_vma) and sets the new flags;
    /// change_protection_range rewrites every present PTE of the piece and, if it rewrote any, calls
    /// flush_tlb_range(vma, start, end) over the whole piece (mm/mprotect.c). The model has no copy-on-write, so a
    /// private writable page is exclusive and its PTE becomes writable at once (Linux 5.4 kept it read-only until a
    /// write fault reused the page; 6.0+ does the same as the model for exclusive anonymous pages, can_change_pte_writable).
    /// PROT_NONE is not modelled. Returns 0 or <see cref="Enomem"/>.
    /// </summary>
    public long ProtectRegion(Process p, VirtualAddress start, ulong size, VmFlags prot)
    {
        if ((prot & VmFlags.Read) == 0 || (prot & ~ProtBits) != 0)
        {
            throw new ArgumentException($"mprotect to {prot}: only protections with PROT_READ are modelled", nameof(prot));
        }

        VirtualAddress end = (start + size + (Page - 1)).AlignDown(Page);
        VirtualAddress at = start.AlignDown(Page);
        while (at < end)
        {
            Vma? v = p.Vmas.Find(at);
            if (v is null)
            {
                return Enomem; // do_mprotect_pkey: "if (!vma || vma->vm_start > nstart) goto out" with -ENOMEM
            }

            VirtualAddress pieceEnd = v.End < end ? v.End : end;
            VmFlags newFlags = (v.Flags & ~ProtBits) | prot;
            if (newFlags != v.Flags)
            {
                p.Vmas.SetFlags(at, pieceEnd, newFlags); // mprotect_fixup: split_vma at both edges, vma->vm_flags = newflags
                ChangeProtection(p, at, pieceEnd, newFlags);
            }

            at = pieceEnd;
        }

        return 0;
    }

    // change_protection_range (mm/mprotect.c, Linux 5.4): the present PTEs rewritten, then one flush of the whole piece if any was
    private void ChangeProtection(Process p, VirtualAddress start, VirtualAddress end, VmFlags flags)
    {
        PageAttributes attributes = UserPageAttributes(flags);
        long pages = 0;
        for (VirtualAddress va = start; va < end; va += Page)
        {
            if (!p.Tables.Lookup(va).Found)
            {
                continue; // change_pte_range: only pte_present entries are modified
            }

            Require(p.Tables.Protect(va, Page, attributes), $"mprotect of {va}"); // ptep_modify_prot_start/commit
            pages++;
        }

        ProtectedPtes += pages;
        if (pages > 0)
        {
            FlushTlbMmRange(p, start, end); // "Only flush the TLB if we actually modified any entries"
        }
    }

    /// <summary>
    /// madvise(MADV_DONTNEED) of [<paramref name="start"/>, +<paramref name="size"/>) as Linux 5.4 runs it: madvise_dontneed_single_vma
    /// for each VMA the range meets, each a zap_page_range with its own mmu_gather (mm/madvise.c, mm/memory.c): the present PTEs are
    /// cleared, tlb_finish_mmu flushes the range of the PTEs it cleared, then frees the anonymous pages; the VMAs and the page
    /// tables stay (emptied tables too), so the next touch faults in a zeroed page. A hole in the range makes the result -ENOMEM, but the VMAs
    /// around it are still zapped ("unmapped_error"). Page-cache pages stay in the cache.
    /// </summary>
    public long AdviseDontNeed(Process p, VirtualAddress start, ulong size)
    {
        VirtualAddress end = (start + size + (Page - 1)).AlignDown(Page);
        VirtualAddress at = start.AlignDown(Page);
        long result = 0;
        List<PhysicalAddress> gathered = new();
        while (at < end)
        {
            Vma? v = p.Vmas.FindVma(at);
            if (v is null || v.Start >= end)
            {
                return Enomem;
            }

            if (v.Start > at)
            {
                result = Enomem;
                at = v.Start;
            }

            VirtualAddress pieceEnd = v.End < end ? v.End : end;
            (ulong Low, ulong High) range = (ulong.MaxValue, 0);
            bool keep = p.Tables.KeepEmptyTables;
            p.Tables.KeepEmptyTables = true; // zap_page_range frees no page tables (no free_pgtables)
            try
            {
                ZappedPtes += ZapPtes(p, v, at, pieceEnd, gathered, ref range);
            }
            finally
            {
                p.Tables.KeepEmptyTables = keep;
            }

            if (range.High != 0)
            {
                FlushTlbMmRange(p, new VirtualAddress(range.Low), new VirtualAddress(range.High)); // tlb_finish_mmu → tlb_flush_mmu
            }

            foreach (PhysicalAddress frame in gathered)
            {
                FreeFrame(frame); // tlb_batch_pages_flush: after the TLB flush
            }

            gathered.Clear();
            at = pieceEnd;
        }

        return result;
    }

    /// <summary>
    /// zap_pte_range over [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="v"/>: clears each present PTE, gathers
    /// the anonymous frames (freed by the caller after its flush) and widens <paramref name="range"/> to the PTEs cleared
    /// (tlb_remove_tlb_entry's __tlb_adjust_range). Returns the PTEs cleared.
    /// </summary>
    private int ZapPtes(Process p, Vma v, VirtualAddress from, VirtualAddress to, List<PhysicalAddress> gathered, ref (ulong Low, ulong High) range)
    {
        int cleared = 0;
        for (VirtualAddress va = from; va < to; va += Page)
        {
            bool anon = p.AnonPages.Remove(va.Value, out PhysicalAddress frame);
            if (!anon && (v.File is null || !p.Tables.Lookup(va).Found))
            {
                continue; // never faulted in
            }

            Require(p.Tables.Unmap(va, Page), $"zap of {va}");
            cleared++;
            if (anon)
            {
                gathered.Add(frame);
            }

            range = (Math.Min(range.Low, va.Value), Math.Max(range.High, va.Value + Page));
        }

        return cleared;
    }
}
