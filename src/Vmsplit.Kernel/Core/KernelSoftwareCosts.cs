namespace Vmsplit.Kernel.Core;

/// <summary>
/// Kernel software work that the CPU profiles do not hold because it is instructions, not hardware
/// primitives. <b>Every figure here is an assumption</b>. The path bodies (from <see cref="DevZeroNull"/> to
/// <see cref="FaultHandling"/>) are instruction counts of the Linux paths read off the C, executed at the
/// profile's kernel rate (<c>kernel.ipc</c>); the small per-operation figures after them (flush set-up, gup,
/// kmap, __pa, the uaccess call) are cycles. The entry and exit of a system call and getppid() are counted
/// from Linux's source per architecture in <see cref="KernelEntryPaths"/>. The design-independent ones are
/// charged identically in every design and so cancel out of every overhead. docs/designs.md lists the reasoning.
/// </summary>
public sealed record KernelSoftwareCosts
{
    /// <summary>read() of /dev/zero or write() of /dev/null: fdget, rw_verify_area, the driver's trivial method.</summary>
    public double DevZeroNull { get; init; } = 150;

    /// <summary>
    /// read() of a tmpfs file once per call, read off the C of Linux 5.4 (an estimate, not counted from a compiled kernel):
    /// ksys_read's fdget_pos/fdput_pos and file_pos_write 35, vfs_read's mode checks and rw_verify_area 40, new_sync_read's
    /// kiocb and iov_iter_init 30, shmem_file_read_iter's set-up and return 25 (mm/shmem.c), file_accessed's touch_atime with
    /// relatime 60, fsnotify_access 20, the prologues and epilogues 20: about 230 instructions.
    /// </summary>
    public double FileRead { get; init; } = 230;

    /// <summary>
    /// shmem_file_read_iter's loop per page-cache page (mm/shmem.c, Linux 5.4; an estimate read off the C): the i_size and
    /// index checks twice 20, shmem_getpage → shmem_getpage_gfp on a present page (find_lock_entry's xarray walk of two
    /// levels for the 4 MiB file, page_cache_get_speculative, trylock_page, the uptodate and mapping checks: 100),
    /// unlock_page 10, mark_page_accessed 25, copy_page_to_iter's iov_iter dispatch and advance around the copy (the kmap
    /// and the copy itself are priced by the model) 40, put_page 10, the count test and cond_resched 10: about 215.
    /// </summary>
    public double FileReadPerPage { get; init; } = 215;

    /// <summary>
    /// write() of a tmpfs file once per call (Linux 5.4, an estimate read off the C): ksys_write's fdget_pos/fdput_pos 35,
    /// vfs_write's checks, rw_verify_area and file_start_write/file_end_write 60, new_sync_write 30, generic_file_write_iter's
    /// inode_lock/unlock 25, generic_write_checks 40, file_remove_privs 30, file_update_time with the inode's mtime and ctime
    /// and __mark_inode_dirty 90, generic_perform_write's set-up 15, generic_write_sync and fsnotify_modify 30, the prologues
    /// and epilogues 25: about 380 instructions.
    /// </summary>
    public double FileWrite { get; init; } = 380;

    /// <summary>
    /// generic_perform_write's loop per page (mm/filemap.c, Linux 5.4; an estimate read off the C): iov_iter_fault_in_readable
    /// 20, fatal_signal_pending 5, shmem_write_begin's seal checks and shmem_getpage_gfp on a present page 110,
    /// mapping_writably_mapped 5, iov_iter_copy_from_user_atomic around the copy 35, flush_dcache_page (ARM: clears
    /// PG_dcache_clean of a page-cache page nobody maps) 15, shmem_write_end's i_size and uptodate checks, set_page_dirty,
    /// unlock_page and put_page 40, iov_iter_advance 25, balance_dirty_pages_ratelimited's fast path 30, the loop's
    /// bookkeeping 20: about 305.
    /// </summary>
    public double FileWritePerPage { get; init; } = 305;

    /// <summary>pipe_write/pipe_read: locking, buffer bookkeeping, wake-up.</summary>
    public double PipeIo { get; init; } = 350;

    /// <summary>
    /// stat(): path walk of a three-component path in the dcache and cp_new_stat's filling of the structure; the path's
    /// strncpy_from_user and the structure's copy_to_user are executed by the model, not counted here.
    /// </summary>
    public double Stat { get; init; } = 900;

    /// <summary>open(): path walk, file allocation, fd install; close(): fput.</summary>
    public double Open { get; init; } = 1500;

    public double Close { get; init; } = 250;

    /// <summary>mmap()/munmap() of an anonymous range: VMA allocation/merge, unmapped-area search; unmap's teardown without the PTEs.</summary>
    public double Mmap { get; init; } = 1200;

    public double Munmap { get; init; } = 1400;

    /// <summary>mprotect(): do_mprotect_pkey's VMA lookup and checks, mprotect_fixup, vma_set_page_prot and change_protection's set-up, without the PTEs and the flush.</summary>
    public double Mprotect { get; init; } = 900;

    /// <summary>madvise(MADV_DONTNEED): do_madvise's VMA walk, the mmu_gather set-up and teardown, without the PTEs, the flush and the pages freed.</summary>
    public double Madvise { get; init; } = 700;

    /// <summary>fork(): task and mm duplication without the page tables and pages (counted by the model itself).</summary>
    public double Fork { get; init; } = 12000;

    /// <summary>execve(): the bprm set-up, the ELF handler's header checks and mappings, begin_new_exec, without the new and old page tables, the pages and the switch (counted by the model itself); taken equal to fork's.</summary>
    public double Exec { get; init; } = 12000;

    /// <summary>exit() and wait4(): task teardown and reaping without the page tables and pages.</summary>
    public double Exit { get; init; } = 6000;

    public double Wait { get; init; } = 600;


    /// <summary>schedule() and switch_to() without switch_mm's register writes and flushes.</summary>
    public double Schedule { get; init; } = 450;

    /// <summary>
    /// clock_nanosleep's handler around its copy and its schedule() (Linux 5.4, an estimate read off the C, not counted from a
    /// compiled kernel): the system call's clockid_to_kclock, timespec64_valid and restart_block set-up 30, common_nsleep 10,
    /// hrtimer_nanosleep's slack and hrtimer_init_sleeper_on_stack (__hrtimer_init's clear and base choice) 60, do_nanosleep's
    /// set_current_state 5, hrtimer_sleeper_start_expires → hrtimer_start_range_ns (lock_hrtimer_base, remove_hrtimer, the
    /// clock read for a relative time, switch_hrtimer_base, enqueue_hrtimer's rbtree insert, hrtimer_reprogram of the clock
    /// event as the first timer) 230, after the sleep hrtimer_cancel of the expired timer and the task test 30, the
    /// prologues and epilogues 35: about 400 instructions. restart_syscall's hrtimer_nanosleep_restart is taken as the same.
    /// </summary>
    public double Nanosleep { get; init; } = 400;

    /// <summary>
    /// The expiry that wakes a timed sleeper (Linux 5.4, an estimate read off the C): hrtimer_interrupt's lock, clock read and
    /// base update 70, __hrtimer_run_queues' walk to the expired timer and __run_hrtimer's __remove_hrtimer (rbtree erase) 80,
    /// hrtimer_wakeup 10, wake_up_process → try_to_wake_up (pi_lock, select_task_rq, ttwu_do_activate's enqueue_task_fair,
    /// check_preempt_curr) 350, the clock event reprogrammed for the next timer 80, the unlock 10: about 600. The timer
    /// interrupt's own entry and exit (irq_enter/irq_exit, the interrupt controller's acknowledgement) are not counted.
    /// </summary>
    public double TimerWakeup { get; init; } = 600;

    /// <summary>
    /// poll's handler once per call around its copies (fs/select.c, Linux 5.4, an estimate read off the C): the timeout's
    /// poll_select_set_timeout (clock read, timespec64_add_safe) 60, do_sys_poll's limit check and the pollfd list set-up
    /// around copy_from_user 40, poll_initwait 15, do_poll's loop set-up and timeout conversion 20, the restart block and
    /// return 20, the prologues and epilogues 45: about 200 instructions.
    /// </summary>
    public double Poll { get; init; } = 200;

    /// <summary>
    /// poll's work per descriptor and pass of do_poll (fs/select.c, Linux 5.4, an estimate read off the C): do_pollfd's
    /// fdget/fdput 25, the file's poll method (pipe_poll's poll_wait → __pollwait on the first pass: poll_get_entry, get_file,
    /// add_wait_queue 50; its reads of the pipe's buffers, readers and writers 25), mangle_poll and the loop 20,
    /// poll_freewait's remove_wait_queue and fput for the entry 30, the revents loop around its __put_user 10: about 160.
    /// </summary>
    public double PollPerFd { get; init; } = 160;

    /// <summary>
    /// A poll that waits until its timeout (fs/select.c and kernel/time/hrtimer.c, Linux 5.4, an estimate read off the C):
    /// poll_schedule_timeout's set_current_state 15, schedule_hrtimeout_range_clock's on-stack sleeper set-up 60,
    /// hrtimer_sleeper_start_expires → hrtimer_start_range_ns 230, hrtimer_cancel after the sleep 20, the checks 25: about
    /// 350; the pass over the descriptors that follows the timeout is charged per descriptor.
    /// </summary>
    public double PollSleep { get; init; } = 350;

    /// <summary>handle_mm_fault(): VMA lookup, page allocation, PTE install, without zeroing (charged as page zeroing).</summary>
    public double FaultHandling { get; init; } = 700;

    /// <summary>
    /// get_user_pages per page around its descriptor loads (each load is priced by the model): local_irq_save and
    /// restore, the pgd/pmd_addr_end loop bookkeeping, the pmd and pte checks of gup_pte_range (pte_protnone,
    /// pte_access_permitted, pte_special) and pfn_to_page's arithmetic (mm/gup.c, 5.15). Assumption: about 50
    /// instructions read off the C, not counted from a compiled kernel.
    /// </summary>
    public double GupWalkPerPage { get; init; } = 50;

    /// <summary>
    /// pin: try_grab_folio's checks and the NR_FOLL_PIN_ACQUIRED statistic around the _refcount update and the
    /// PTE re-read (both priced by the model). Assumption: about 25 instructions read off mm/gup.c (5.15).
    /// </summary>
    public double GupGrabPerPage { get; init; } = 25;

    /// <summary>unpin_user_page → gup_put_folio around the _refcount update: NR_FOLL_PIN_RELEASED, the zero test. Assumption: about 15 instructions.</summary>
    public double GupUnpinPerPage { get; init; } = 15;

    /// <summary>
    /// The distinct instructions one copy_to_user or copy_from_user runs on its aligned path, which is the text fetched
    /// for it (the copy itself is priced by the memcpy rate, not by these): arch/arm/lib/copy_template.S (4.4) counted for
    /// a copy of at least 32 bytes with both sides word-aligned: the entry (mov, stmdb) and alignment tests 9, the 32-byte loop's set-up
    /// and preloads 10, the loop with eight single user stores (copy_to_user.S's str8w) or loads (copy_from_user.S's
    /// ldr8w) 13, the word tail's computed jumps 22, the byte tail 7, the exit 3: 64. Other architectures take the same
    /// count (an assumption).
    /// </summary>
    public double UaccessCopyLoop { get; init; } = 64;

    /// <summary>
    /// memcpy's distinct instructions on the same path (arch/arm/lib/memcpy.S over copy_template.S, 4.4): the loop's
    /// eight-register ldm and stm instead of eight single user accesses (7 fewer), a one-instruction entry and exit (2 fewer): 55.
    /// Other architectures take the same count (an assumption).
    /// </summary>
    public double MemcpyLoop { get; init; } = 55;

    /// <summary>
    /// Sending one IPI: the interrupt command register write per target CPU (x2APIC: one WRMSR of the ICR per
    /// CPU in x2apic_send_IPI_mask's loop; RISC-V: the firmware's CLINT MSIP store). Assumption: 100 cycles.
    /// </summary>
    public double IpiSend { get; init; } = 100;

    /// <summary>
    /// From the interrupt command register write until the target starts its interrupt entry (the interrupt
    /// controller's delivery). Assumption: 500 ns; no published per-hop latency was found to cite.
    /// </summary>
    public double IpiDeliveryNs { get; init; } = 500;

    /// <summary>
    /// The target's smp_call_function handler around the flush: flush_smp_call_function_queue's llist walk,
    /// the csd unlock (kernel/smp.c), irq_enter/irq_exit. Assumption: about 150 instructions.
    /// </summary>
    public double CallFunctionHandler { get; init; } = 150;

    /// <summary>
    /// The SBI firmware's remote fence (OpenSBI sbi_tlb.c): the ecall's dispatch, enqueueing the request for each
    /// target hart, and on each target the M-mode handler's dequeue and acknowledgement. Assumption: about 300
    /// instructions on each side.
    /// </summary>
    public double SbiRemoteFence { get; init; } = 300;

    /// <summary>flush_tlb_mm_range()'s own work around the TLB instructions: preemption, the cpumask test, the loop set-up.</summary>
    public double FlushTlbRange { get; init; } = 50;

    /// <summary>
    /// kmap_local of a highmem page around its priced accesses (the page-&gt;flags load, the PTE store, the TLB
    /// maintenance): migrate_disable, kmap_local_idx_push and its bound check, __fix_to_virt, pfn_pte, the
    /// kmap_ctrl.pteval store of CONFIG_KMAP_LOCAL (mm/highmem.c __kmap_local_pfn_prot, 5.11+).
    /// Assumption: about 20 instructions read off the C.
    /// </summary>
    public double KmapLocalMap { get; init; } = 20;

    /// <summary>kunmap_local_indexed around its PTE clear and flush: the index pop and check, migrate_enable. Assumption: about 15 instructions.</summary>
    public double KmapLocalUnmap { get; init; } = 15;

    /// <summary>
    /// kmap of a lowmem page after the PageHighMem load: page_address() = __va(PFN_PHYS(page - mem_map + ARCH_PFN_OFFSET)),
    /// four operations counted from the C, of which the __va is charged as an address conversion (<see cref="PaSubtract"/>).
    /// </summary>
    public double KmapLowmem { get; init; } = 3;

    /// <summary>__pa()/__va() as one subtraction (linear-map kernel image).</summary>
    public double PaSubtract { get; init; } = 1;

    /// <summary>__pa() with a compare and branch between the linear and the image offset (kernel image in vmalloc).</summary>
    public double PaCompareBranch { get; init; } = 3;

    /// <summary>
    /// virt_to_phys() of an address in an image over permuted pages, after the compare: the index (subtract, shift) and
    /// the frame number shifted back and or-ed with the offset, four operations counted from the C; the table load
    /// itself is priced by the model.
    /// </summary>
    public double PaTableIndex { get; init; } = 4;

    /// <summary>
    /// The call around each user access (access_ok, the fixup bookkeeping), in every design; the PAN
    /// instructions themselves (stac/clac, MSR PAN, csrs/csrc, DACR/TTBCR/TTBR writes) are charged from the profile.
    /// </summary>
    public double UaccessToggle { get; init; } = 2;
}
