using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Arch.X86;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>
/// x86 page-table isolation (KAISER/KPTI, arch/x86/mm/pti.c): each process gets a second, user PGD
/// (<see cref="Process.UserShadow"/>) whose user half is the process's own and whose kernel half maps only
/// the cpu_entry_area and the entry text; entry and exit switch CR3 between the two (with PCID: the
/// kernel/user pair, NOFLUSH, the deferred user flush); kernel entries are not global unless
/// <c>+global</c> keeps the bit on the always-mapped entry pages.
/// </summary>
public class X86Pti : IsolationPolicy
{
    private readonly X86Mm _x86;
    private readonly bool _globalEntryPages;
    private PageTable? _ptiUserInit;

    public X86Pti(SimKernel kernel, X86Mm x86, bool globalEntryPages)
        : base(kernel, x86)
    {
        _x86 = x86;
        _globalEntryPages = globalEntryPages;
    }

    /// <summary>
    /// __default_kernel_pte_mask &amp;= ~_PAGE_GLOBAL under PTI; with +global the always-mapped entry pages (the
    /// entry text's 2 MiB block, cpu_entry_area) keep the global bit.
    /// </summary>
    public override bool IsGlobal(VirtualAddress va) =>
        _globalEntryPages && (va.Value >> 21 == Kernel.ImageVa.Value >> 21 || va.Value >> 21 == Kernel.EntryAreaVa.Value >> 21);

    public override void OnProcessCreated(Process p) => p.UserShadow = CreateUserPgd(p.Tables);

    /// <summary>The x86 memory-management room (CR3, PCIDs, the flush family).</summary>
    private protected X86Mm X86 => _x86;

    /// <summary>After the process's tree gained user tables, the user PGD shares the new top-level entries.</summary>
    public override void OnUserEntryInstalled(Process p, VirtualAddress va)
    {
        if (p.UserShadow is null)
        {
            return;
        }

        PageTableResult r = p.UserShadow.ShareEntry(p.Tables, va, 0);
        if (r.Status == PageTableStatus.Overlap)
        {
            // the shadow still holds an entry the kernel tree has since replaced: take the new one
            p.UserShadow.Unshare(va, 0);
            r = p.UserShadow.ShareEntry(p.Tables, va, 0);
        }

        SimKernel.Require(r, $"KPTI user copy of {va} in {p}");
    }

    /// <summary>
    /// After user tables were freed in [<paramref name="start"/>, <paramref name="end"/>), the user PGD drops
    /// top-level entries the kernel PGD no longer has, as set_p4d/set_pgd keep the user copy in step
    /// (pti_set_user_pgtbl, arch/x86/mm/pti.c).
    /// </summary>
    public override void OnUserTablesFreed(Process p, VirtualAddress start, VirtualAddress end)
    {
        if (p.UserShadow is null)
        {
            return;
        }

        ulong span = p.Tables.TopLevelEntrySpan;
        for (ulong va = start.Value & ~(span - 1); va < end.Value; va += span)
        {
            if (!p.Tables.HasTopLevelEntry(new VirtualAddress(va)))
            {
                p.UserShadow.Unshare(new VirtualAddress(va), 0);
            }
        }
    }

    public override void OnProcessDestroyed(Process p) => p.UserShadow?.Release();

    public override long ProcessTableBytes(Process p) => p.Tables.TableBytes + (p.UserShadow?.TableBytes ?? 0);

    /// <summary>SWITCH_TO_KERNEL_CR3 (arch/x86/entry/calling.h), after what the entry code does on the user PGD.</summary>
    public override void Enter(Process p, bool exception)
    {
        BeforeSwitchToKernelCr3(p);
        _x86.SwitchToKernelCr3(p);
    }

    /// <summary>SWITCH_TO_USER_CR3, then what the exit code does on the user PGD.</summary>
    public override void Exit(Process p)
    {
        _x86.SwitchToUserCr3(p);
        AfterSwitchToUserCr3(p);
    }

    /// <summary>
    /// What the entry code touches while the user PGD is still loaded: its own text and the scratch it spills
    /// a register to, the TSS in the entry area since 4.15 (entry_SYSCALL_64: movq %rsp, cpu_tss_rw + TSS_sp2,
    /// arch/x86/entry/entry_64.S; the 32-bit entry stack likewise). 4.19 and later spill to the per-CPU
    /// cpu_tss_rw page, which pti_clone_user_shared maps separately; the model folds it into the entry-area page.
    /// </summary>
    private protected virtual void BeforeSwitchToKernelCr3(Process p)
    {
        Kernel.KernelAccess(Kernel.EntryVa, AccessType.Execute);
        Kernel.KernelAccess(Kernel.EntryAreaVa, AccessType.Write);
    }

    /// <summary>What the exit touches after SWITCH_TO_USER_CR3: the trampoline stack it pops (syscall_return_via_sysret) and its text.</summary>
    private protected virtual void AfterSwitchToUserCr3(Process p)
    {
        Kernel.KernelAccess(Kernel.EntryAreaVa, AccessType.Read);
        Kernel.KernelAccess(Kernel.EntryVa, AccessType.Execute);
    }

    public override PhysicalAddress UserHalfRoot(Process p, bool inKernel) =>
        !inKernel && p.UserShadow is not null ? p.UserShadow.Root : p.Tables.Root;

    public override ushort RootAsid(ushort asid, ushort userAsid, bool inKernel) => inKernel ? asid : userAsid;

    public override IReadOnlyList<LiveRoot> LiveRootsInUserMode(Process p) => Arch.LiveRoots(p.UserShadow ?? p.Tables, KernelTree);

    /// <summary>
    /// The user PGD of a process whose kernel PGD is <paramref name="kernelCopy"/>. Its user half is the
    /// process's own (x86-64: the same top-level entries; 32-bit PAE: the same preallocated user PMDs, which
    /// native_set_pud copies through pti_set_user_pgtbl, arch/x86/include/asm/pgtable-3level.h); its kernel half
    /// copies the user-side init tables, which map only the cpu_entry_area and the entry text
    /// (x86-64: clone_pgd_range of the user copy, arch/x86/include/asm/pgtable.h; PAE: a PMD of its own filled by
    /// pgd_prepopulate_user_pmd, arch/x86/mm/pgtable.c, Linux 4.19+).
    /// </summary>
    private protected virtual PageTable CreateUserPgd(PageTable kernelCopy)
    {
        PageTable init = _ptiUserInit ??= CreatePtiUserInit();
        if (Kernel.Format.Id == MmuFormat.X86Pae)
        {
            PageTable pae = Kernel.NewTree(preallocateRootEntries: false);
            ulong span = pae.TopLevelEntrySpan;
            for (ulong va = 0; va + span <= Kernel.Layout.PageOffset; va += span)
            {
                Require(pae.ShareEntry(kernelCopy, new VirtualAddress(va), 0), "the user PMDs");
            }

            foreach (VirtualAddress va in PtiClonedEntries)
            {
                Require(pae.ShareEntry(init, va, 1), "a cloned kernel PMD");
            }

            return pae;
        }

        PageTable shadow = Kernel.NewTree();
        foreach (VirtualAddress va in PtiClonedEntries)
        {
            Require(shadow.ShareEntry(init, va, 0), "a cloned kernel PGD entry");
        }

        return shadow;

        static void Require(PageTableResult r, string what) => SimKernel.Require(r, $"KPTI user PGD: {what}");
    }

    // The addresses whose entries pti_init cloned into the user-side init tables.
    private VirtualAddress[] PtiClonedEntries => [Kernel.EntryAreaVa, Kernel.EntryVa];

    /// <summary>
    /// pti_init (arch/x86/mm/pti.c): the user-side copy of swapper_pg_dir. pti_clone_user_shared clones the
    /// CPU_ENTRY_AREA p4d on x86-64 and, on 32-bit, the PMDs covering the cpu_entry_area (one pgd covers the whole
    /// kernel there); pti_clone_entry_text clones __entry_text at PMD level on x86-64 and at PTE level on 32-bit
    /// (PTI_LEVEL_KERNEL_IMAGE, 16a3fe634f6a, v5.3), where a large PMD is still cloned whole.
    /// </summary>
    private PageTable CreatePtiUserInit()
    {
        PageTable t = Kernel.NewTree();
        PageTableFormat format = Kernel.Format;
        int levels = format.Geometry.LevelCount;
        if (format.Id == MmuFormat.X86Pae)
        {
            ulong ceaSize = Kernel.Layout.CpuEntryAreaSize != 0 ? Kernel.Layout.CpuEntryAreaSize : Page;
            PtiClonePgtable(t, Kernel.EntryAreaVa, Kernel.EntryAreaVa + ceaSize, pteLevel: false);
            PtiClonePgtable(t, Kernel.EntryVa, Kernel.EntryVa + Page, pteLevel: true);
        }
        else
        {
            // pti_clone_p4d: the p4d entry is the top level with 4-level paging, the second with LA57
            PageTableResult r = t.ShareEntry(KernelTree, Kernel.EntryAreaVa, levels - 4);
            if (!r.Succeeded)
            {
                throw new KernelSetupException($"KPTI: cloning the cpu_entry_area p4d: {r.Message}");
            }

            PtiClonePgtable(t, Kernel.EntryVa, Kernel.EntryVa + Page, pteLevel: false);
        }

        return t;
    }

    // pti_clone_pgtable: the populated PMDs covering [start, end) (or their PTEs when asked and the PMD is a table).
    private void PtiClonePgtable(PageTable target, VirtualAddress start, VirtualAddress end, bool pteLevel)
    {
        PageTableGeometry geometry = Kernel.Format.Geometry;
        int pmdLevel = geometry.LevelCount - 2;
        ulong pmdSpan = geometry[pmdLevel].EntrySpan;
        for (ulong addr = start.Value; addr < end.Value;)
        {
            PageTableLookup l = KernelTree.Lookup(new VirtualAddress(addr));
            bool large = l.Found && l.PageSize >= pmdSpan;
            if (l.Found && l.PageSize > pmdSpan)
            {
                throw new KernelSetupException($"KPTI: {ByteSize.Hex(addr)} is mapped by a block larger than a PMD; pti_clone_pgtable cannot clone it");
            }

            bool wholePmd = large || !pteLevel;
            int level = wholePmd ? pmdLevel : pmdLevel + 1;
            PageTableResult r = target.ShareEntry(KernelTree, new VirtualAddress(addr), level);
            if (!r.Succeeded && r.Status != PageTableStatus.NotMapped)
            {
                throw new KernelSetupException($"KPTI: cloning the kernel entry for {ByteSize.Hex(addr)}: {r.Message}");
            }

            addr = wholePmd ? (addr & ~(pmdSpan - 1)) + pmdSpan : addr + Page;
        }
    }
}
