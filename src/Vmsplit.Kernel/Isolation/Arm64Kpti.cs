using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Arch.Arm64;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>
/// arm64 KPTI (arch/arm64/kernel/entry.S tramp_vectors, arch/arm64/mm/mmu.c): while user code runs TTBR1
/// holds tramp_pg_dir, which maps only the trampoline text; entry switches TTBR1 to swapper_pg_dir with
/// the kernel ASID of the pair, exit back with the user ASID. Every kernel mapping is non-global (PTE_NG).
/// </summary>
public sealed class Arm64Kpti : IsolationPolicy
{
    private readonly Arm64Mm _arm64;
    private PageTable? _trampolineTree;

    public Arm64Kpti(SimKernel kernel, Arm64Mm arm64)
        : base(kernel, arm64)
    {
        _arm64 = arm64;
    }

    /// <summary>
    /// <c>.entry.tramp.text</c>: tramp_vectors (four 2 KiB vector tables with the Spectre-BHB variants,
    /// CONFIG_MITIGATE_SPECTRE_BRANCH_HISTORY, v5.17) then tramp_exit, page-aligned by TRAMP_TEXT in
    /// arch/arm64/kernel/vmlinux.lds.S (which asserts at most three pages): three pages.
    /// </summary>
    public const int TrampTextPages = 3;

    /// <summary>TRAMP_VALIAS: where the trampoline text is mapped in tramp_pg_dir and in swapper's fixmap.</summary>
    public VirtualAddress TrampolineVa { get; private set; }

    /// <summary>tramp_pg_dir: a TTBR1 tree holding only the trampoline text (built at boot).</summary>
    public PageTable TrampolineTree => _trampolineTree ?? throw new InvalidOperationException("tramp_pg_dir is built at boot (map_entry_trampoline)");

    /// <summary>
    /// map_entry_trampoline (arch/arm64/mm/mmu.c): tramp_pg_dir maps only the trampoline text, with 4 KiB pages
    /// (NO_BLOCK_MAPPINGS), global ("always mapped and can therefore be global"), at TRAMP_VALIAS; swapper maps the
    /// same pages in its fixmap slots FIX_ENTRY_TRAMP_TEXT1..3 and the data page after them read-only
    /// (FIX_ENTRY_TRAMP_TEXT4, CONFIG_RELOCATABLE). The trampoline text lies in the image's .text after the entry
    /// page. TRAMP_VALIAS's fixmap index depends on the configuration (FDT window, KVM and GHES slots, see
    /// arch/arm64/include/asm/fixmap.h): Vmsplit puts the four slots right below FIXADDR_TOP (an assumption).
    /// </summary>
    public override void MapEntryTrampoline()
    {
        TrampolineVa = new VirtualAddress(Kernel.Layout.FixaddrEnd - ((TrampTextPages + 1) * Page)); // FIX_ENTRY_TRAMP_TEXT1
        PageAttributes rx = new(PagePermissions.Read | PagePermissions.Execute, User: false, Global: true);
        PageAttributes ro = new(PagePermissions.Read, User: false, Global: false); // PAGE_KERNEL_RO: PTE_NG under KPTI
        PageTable tramp = Kernel.NewTree();
        for (int i = 0; i <= TrampTextPages; i++)
        {
            VirtualAddress text = Kernel.ImageVa + ((ulong)(i + 1) * Page);
            PhysicalAddress pa = KernelTree.Lookup(text).Translate(text);
            VirtualAddress alias = TrampolineVa + ((ulong)i * Page); // FIX_ENTRY_TRAMP_TEXT1 - i
            PageTableResult r = KernelTree.Map(alias, pa, Page, i < TrampTextPages ? rx : ro, Page);
            if (r.Succeeded && i < TrampTextPages)
            {
                r = tramp.Map(alias, pa, Page, rx, Page);
            }

            if (!r.Succeeded)
            {
                throw new KernelSetupException($"map_entry_trampoline at {alias}: {r.Message}");
            }
        }

        _trampolineTree = tramp;
    }

    public override bool IsGlobal(VirtualAddress va) => false; // PTE_NG on every kernel mapping (arm64_kernel_unmapped_at_el0)

    /// <summary>tramp_vectors: TTBR1 := swapper_pg_dir with the kernel ASID (user ASID &amp; ~1), ISB.</summary>
    public override void Enter(Process p, bool exception) => _arm64.WriteTtbr1(KernelTree.Root, (ushort)(Kernel.UserAsid & ~1));

    /// <summary>tramp_exit: TTBR1 := tramp_pg_dir with the user ASID, ISB.</summary>
    public override void Exit(Process p) => _arm64.WriteTtbr1(TrampolineTree.Root, Kernel.UserAsid);

    public override PhysicalAddress KernelHalfRoot(bool inKernel) => inKernel ? KernelTree.Root : TrampolineTree.Root;

    public override IReadOnlyList<LiveRoot> LiveRootsInUserMode(Process p) => Arch.LiveRoots(p.Tables, TrampolineTree);
}
