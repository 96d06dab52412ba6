using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Arch.Arm;

/// <summary>
/// arch/arm/mm/flush.c (Linux 6.x) on a data cache that aliases (cache_is_vipt_aliasing(): an ARMv6 core whose cache
/// way is larger than a page, so that two virtual addresses of one frame can index different sets). A user page the
/// kernel reaches through its own alias must be written back and invalidated at both addresses:
/// <list type="bullet">
/// <item>flush_anon_page (get_user_pages, per page returned): flush_pfn_alias maps the frame at the user address's
/// colour in the alias window (set_top_pte: the PTE stored, local_flush_tlb_kernel_page), cleans and invalidates the
/// page through it (MCRR p15 c14, a range operation by MVA) and drains (DSB), invalidates the instruction cache
/// (__flush_icache_all), then cleans and invalidates the kernel alias (__cpuc_flush_dcache_area of
/// page_address);</item>
/// <item>flush_dcache_page of an anonymous page (folio_flush_mapping is NULL): the kernel alias only
/// (__flush_dcache_folio), after get_user_pages returns it and again after the kernel wrote it.</item>
/// </list>
/// Every line operation is a line of the page (v6_flush_kern_dcache_area, arch/arm/mm/cache-v6.S: one MCR c7, c14, 1
/// per line) priced at the profile's <c>cleanInvalidateLineCycles</c>; the MVA each operation names is translated
/// through the TLB like any kernel access.
/// </summary>
public sealed class ArmViptAliasingCache
{
    /// <summary>FLUSH_ALIAS_START (arch/arm/mm/mm.h): the window of one page per colour in the vectors' page table.</summary>
    public const ulong FlushAliasStart = 0xffff4000;

    /// <summary>SHMLBA = 4 * PAGE_SIZE (arch/arm/include/asm/shmparam.h): four colours, enough for ways up to 16 KiB.</summary>
    public const ulong Shmlba = 4 * Page;

    private const ulong Page = 4096;
    private readonly SimKernel _kernel;
    private readonly ArmMm _arm;
    private readonly CacheGeometry _cache;

    public ArmViptAliasingCache(SimKernel kernel, ArmMm arm, CacheGeometry cache)
    {
        _kernel = kernel;
        _arm = arm;
        _cache = cache;
    }

    /// <summary>Pages mapped in the alias window (flush_pfn_alias).</summary>
    public long AliasMappings { get; private set; }

    /// <summary>Data-cache lines cleaned and invalidated by MVA.</summary>
    public long LinesFlushed { get; private set; }

    /// <summary>CACHE_COLOUR(vaddr): the page's colour within SHMLBA.</summary>
    public static int Colour(VirtualAddress va) => (int)((va.Value & (Shmlba - 1)) / Page);

    /// <summary>The alias-window page of <paramref name="user"/>'s colour.</summary>
    public static VirtualAddress AliasOf(VirtualAddress user) => new(FlushAliasStart + ((ulong)Colour(user) * Page));

    /// <summary>__flush_anon_page for the frame mapped at <paramref name="user"/>.</summary>
    public void FlushAnonPage(PhysicalAddress frame, VirtualAddress user)
    {
        // flush_pfn_alias: set_top_pte(to, pfn_pte(pfn, PAGE_KERNEL)) = set_pte_ext + local_flush_tlb_kernel_page
        VirtualAddress to = AliasOf(user);
        if (_kernel.KernelTreeFor(to).Lookup(to).Found)
        {
            _kernel.ReplaceKernelPage(to, frame); // the slot's PTE overwritten, as set_pte_ext does
        }
        else
        {
            _kernel.MapKernelPage(to, frame); // the first use of this colour's slot (its PTE table is the kernel's)
        }

        _kernel.StoreKernelPte(to, CostCause.CacheFlush);
        _arm.FlushTlbKernelPage(to);
        AliasMappings++;
        CleanInvalidatePage(to); // mcrr p15, 0, to + PAGE_SIZE - 1, to, c14; dsb()
        _kernel.Cpu.Charge(CostCause.CacheFlush, _cache.IcacheInvalidateAllCycles); // __flush_icache_all: MCR c7, c5, 0
        FlushKernelAlias(frame);
    }

    /// <summary>flush_dcache_page of an anonymous page: the kernel alias.</summary>
    public void FlushDcachePage(PhysicalAddress frame) => FlushKernelAlias(frame);

    // __cpuc_flush_dcache_area(page_address(page), PAGE_SIZE); aliasing caches have no highmem (adjust_lowmem_bounds)
    private void FlushKernelAlias(PhysicalAddress frame)
    {
        if (_kernel.IsHighmem(frame))
        {
            throw new InvalidOperationException($"{frame} is a highmem page on an aliasing data cache, which Linux does not configure");
        }

        CleanInvalidatePage(_kernel.LinearAddress(frame));
    }

    // one page by MVA, line by line, then the DSB that drains the write buffer
    private void CleanInvalidatePage(VirtualAddress va) => LinesFlushed += _arm.CleanInvalidatePage(va);
}
