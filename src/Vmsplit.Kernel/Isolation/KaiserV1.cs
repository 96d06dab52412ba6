using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Arch.X86;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Isolation;

/// <summary>
/// KAISER v1, Dave Hansen's first posting of the KAISER patches (LKML 2017-10-31, "[PATCH 00/23] KAISER: unmap
/// most of the kernel from userspace page tables", Msg-ID 20171031223146.6B47C861@viggo.jf.intel.com), x86-64:
/// CR3 switching and PCIDs as <see cref="X86Pti"/>, but no global page anywhere, a shadow kernel half of
/// 4 KiB mappings in tables of its own shared by every process, every task's kernel stack in it, pt_regs
/// pushed onto that stack before SWITCH_TO_KERNEL_CR3, and a global flush when a stack leaves it.
/// </summary>
public sealed class KaiserV1 : X86Pti
{
    /// <summary>
    /// Pages of the per-CPU user-mapped section KAISER v1 maps for each CPU (__per_cpu_user_mapped_start to _end,
    /// "x86, kaiser: introduce user-mapped percpu areas", Msg-ID 20171031223158.A60B4068@viggo.jf.intel.com):
    /// vector_irq (2 KiB), rsp_scratch and cpu_current_top_of_stack, cpu_tss (about 8.8 KiB with its I/O
    /// bitmap), page-aligned to 3 pages, then gdt_page (1 page) and exception_stacks (20 KiB). The struct sizes
    /// are Linux 4.14's on x86-64, summed here: an assumption of this model.
    /// </summary>
    public const int PerCpuUserMappedPages = 9;

    private PageTable? _shadowKernel;

    public KaiserV1(SimKernel kernel, X86Mm x86)
        : base(kernel, x86, globalEntryPages: false)
    {
    }

    /// <summary>The shadow kernel half whose top-level entries every process's shadow PGD shares.</summary>
    public PageTable ShadowKernel => _shadowKernel ?? throw new InvalidOperationException("KAISER's shadow is built at boot");

    /// <summary>v1 made _PAGE_GLOBAL zero ("You basically disable _PAGE_GLOBAL entirely", Linus Torvalds, Msg-ID CA+55aFzS8GZ7QHzMU-JsievHU5T9LBrFx2fRwkbCB8a_YAxmsw@mail.gmail.com).</summary>
    public override bool IsGlobal(VirtualAddress va) => false;

    /// <summary>
    /// kaiser_init: the per-CPU user-mapped section, __entry_text, the IDT and the GDT's read-only fixmap alias
    /// (patch 11/23), each as 4 KiB PTEs in tables of the shadow's own ("For the kernel half, we don't share any
    /// of the lower levels", Dave Hansen, Msg-ID 9e45a167-3528-8f93-80bf-c333ae6acb71@linux.intel.com). The
    /// 4.14 entry spills to rsp_scratch in the per-CPU section: that page is the model's entry area (v1 had no
    /// cpu_entry_area). espfix and LDTs (patches 12, 13) are not modelled, as for kpti.
    /// </summary>
    public override void MapEntryTrampoline()
    {
        _shadowKernel = Kernel.NewTree();
        _shadowKernel.KeepEmptyTables = true; // kaiser.c never frees its tables
        PagePermissions rw = PagePermissions.Read | PagePermissions.Write;
        VirtualAddress perCpu = default;
        for (int i = 0; i < PerCpuUserMappedPages; i++)
        {
            VirtualAddress va = Kernel.LinearAddress(Kernel.AllocLowmem());
            perCpu = i == 0 ? va : perCpu;
            AddMapping(va, rw);
        }

        AddMapping(Kernel.EntryVa, PagePermissions.Read | PagePermissions.Execute); // __entry_text_start.._end
        AddMapping(Kernel.LinearAddress(Kernel.AllocLowmem()), PagePermissions.Read); // idt_table: 256 gates of 16 bytes
        AddMapping(Kernel.LinearAddress(Kernel.AllocLowmem()), PagePermissions.Read); // get_cpu_gdt_ro(): the GDT's read-only alias
        Kernel.EntryAreaVa = perCpu;
    }

    /// <summary>The shadow PGD, then the task's stack mapped into the shared shadow half (v1's kernel/fork.c).</summary>
    public override void OnProcessCreated(Process p)
    {
        base.OnProcessCreated(p);
        AddMapping(StackOf(p), PagePermissions.Read | PagePermissions.Write);
    }

    /// <summary>execve: the new mm's shadow PGD; the task's stack, a task's and not an mm's, is in the shared shadow half already.</summary>
    public override void OnExecMmCreated(Process p) => base.OnProcessCreated(p);

    /// <summary>execve's old mm: its shadow PGD goes; the stack stays mapped for the task that goes on.</summary>
    public override void OnExecMmReleased(Process p) => base.OnProcessDestroyed(p);

    /// <summary>
    /// The stack leaves the shadow and the TLB is flushed globally: kaiser_remove_mapping ends in
    /// __native_flush_tlb_global(), commented in the series as "called to unmap process stacks in the exit() path".
    /// </summary>
    public override void OnProcessDestroyed(Process p)
    {
        ShadowKernel.Unmap(StackOf(p), Page);
        X86.FlushTlbAll();
        base.OnProcessDestroyed(p);
    }

    /// <summary>
    /// The user half as kpti's; the kernel half the shared shadow tables (kaiser_init_all_pgds populated every
    /// kernel-half entry once, so each process copies them all and later mappings reach every process).
    /// </summary>
    private protected override PageTable CreateUserPgd(PageTable kernelCopy)
    {
        PageTable shadow = Kernel.NewTree();
        ulong span = ShadowKernel.TopLevelEntrySpan;
        ulong start = X86.KernelSpaceStart;
        for (ulong va = start; va >= start; va += span)
        {
            if (ShadowKernel.HasTopLevelEntry(new VirtualAddress(va)))
            {
                PageTableResult r = shadow.ShareEntry(ShadowKernel, new VirtualAddress(va), 0);
                if (!r.Succeeded)
                {
                    throw new InvalidOperationException($"KAISER shadow PGD: {r.Message}");
                }
            }

            if (va > ulong.MaxValue - span)
            {
                break;
            }
        }

        return shadow;
    }

    /// <summary>
    /// v1's entry_SYSCALL_64 spills %rsp to rsp_scratch, loads cpu_current_top_of_stack and builds pt_regs on the
    /// task's stack before SWITCH_TO_KERNEL_CR3 (patch 01/23, Msg-ID 20171031223148.5334003A@viggo.jf.intel.com).
    /// </summary>
    private protected override void BeforeSwitchToKernelCr3(Process p)
    {
        Kernel.KernelAccess(Kernel.EntryVa, AccessType.Execute);
        Kernel.KernelAccess(Kernel.EntryAreaVa, AccessType.Write);
        Kernel.KernelAccess(StackOf(p), AccessType.Write);
    }

    /// <summary>syscall_return_via_sysret switches to the user CR3 first, then pops pt_regs from the task's stack.</summary>
    private protected override void AfterSwitchToUserCr3(Process p)
    {
        Kernel.KernelAccess(StackOf(p), AccessType.Read);
        Kernel.KernelAccess(Kernel.EntryVa, AccessType.Execute);
    }

    private VirtualAddress StackOf(Process p) => Kernel.LinearAddress(p.KernelStack);

    // kaiser_add_mapping: one 4 KiB PTE in the shadow half, pointing where the kernel tables do, never global.
    private void AddMapping(VirtualAddress va, PagePermissions perms)
    {
        PageTableLookup l = KernelTree.Lookup(va);
        if (!l.Found)
        {
            throw new KernelSetupException($"KAISER: {va} is not mapped in the kernel tables");
        }

        PageTableResult r = ShadowKernel.Map(va, l.Translate(va), Page, new PageAttributes(perms, User: false, Global: false), Page);
        if (!r.Succeeded)
        {
            throw new KernelSetupException($"KAISER: mapping {va} into the shadow: {r.Message}");
        }
    }
}
