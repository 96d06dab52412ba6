#!/usr/bin/env python3
"""Writes a kernel text footprint table (src/Vmsplit.Kernel/Data/kernel-text-footprint*.tsv) from a symbol table.

Usage:
  kallsyms-footprint.py /proc/kallsyms RELEASE > kernel-text-footprint.tsv                  (x86-64, kallsyms)
  kallsyms-footprint.py --arch arm64 System.map 4.19.76 > kernel-text-footprint-arm64.tsv   (a System.map)
  kallsyms-footprint.py --arch arm System.map 4.4.34 > kernel-text-footprint-arm.tsv
  kallsyms-footprint.py --arch riscv System.map 5.4.61 > kernel-text-footprint-riscv.tsv
  kallsyms-footprint.py --arch x86-32 System.map 4.19.0-17-686-pae > kernel-text-footprint-x86-32.tsv

/proc/kallsyms and System.map share a format ("address type name", kallsyms may add "[module]"). Neither has
sizes: a function's size is the distance to the next symbol in address order. A name in a path's list is the
symbol of that name, or, when the compiler renamed it (name.isra.N, name.part.N, name.constprop.N), the one symbol
that starts with "name."; a function the compiler inlined into its callers has no symbol and is left out of the
list. Each architecture's list names the functions its own kernel of that release runs for the path.
"""
import argparse
import sys

# The functions each path runs on x86-64 Linux 6.18 (the kallsyms of SOURCES["x86-64"]).
X86_64 = {
    "entry": ["entry_SYSCALL_64", "do_syscall_64", "x64_sys_call"],
    "getppid": ["__x64_sys_getppid", "__task_pid_nr_ns"],
    "dev-zero-null": ["__x64_sys_read", "ksys_read", "vfs_read", "rw_verify_area", "read_iter_zero", "iov_iter_zero",
                      "__x64_sys_write", "ksys_write", "vfs_write", "write_null"],
    "file-io": ["ksys_read", "vfs_read", "shmem_file_read_iter", "shmem_get_folio_gfp", "copy_page_to_iter",
                "ksys_write", "vfs_write", "shmem_file_write_iter", "generic_perform_write", "shmem_write_begin",
                "shmem_write_end"],
    "pipe": ["ksys_read", "vfs_read", "anon_pipe_read", "ksys_write", "vfs_write", "anon_pipe_write", "__wake_up"],
    "stat": ["__x64_sys_newstat", "vfs_statx", "getname_flags", "strncpy_from_user", "filename_lookup",
             "path_lookupat", "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu", "cp_new_stat"],
    "open": ["__x64_sys_openat", "do_sys_openat2", "getname_flags", "strncpy_from_user", "do_filp_open", "path_openat",
             "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu", "alloc_empty_file",
             "do_dentry_open", "fd_install"],
    "close": ["__x64_sys_close", "file_close_fd", "filp_close", "fput"],
    "mmap": ["__x64_sys_mmap", "ksys_mmap_pgoff", "vm_mmap_pgoff", "do_mmap", "__get_unmapped_area", "mmap_region",
             "vm_area_alloc"],
    "munmap": ["__x64_sys_munmap", "__vm_munmap", "do_vmi_munmap", "unmap_vmas", "unmap_page_range", "free_pgtables",
               "tlb_finish_mmu"],
    "fork": ["__x64_sys_fork", "kernel_clone", "copy_process", "dup_mmap", "copy_page_range"],
    "exit": ["do_exit", "exit_mmap", "unmap_vmas", "unmap_page_range", "free_pgtables"],
    "wait": ["__x64_sys_wait4", "__do_sys_wait4", "kernel_wait4", "do_wait", "wait_consider_task"],
    "schedule": ["__schedule", "pick_next_task_fair", "switch_mm_irqs_off", "__switch_to_asm", "__switch_to",
                 "finish_task_switch.isra.0"],
    "fault": ["asm_exc_page_fault", "exc_page_fault", "lock_vma_under_rcu", "handle_mm_fault", "__handle_mm_fault",
              "do_anonymous_page", "vma_alloc_folio_noprof"],
    "mprotect": ["__x64_sys_mprotect", "do_mprotect_pkey", "mprotect_fixup", "change_protection", "change_pte_range"],
    "exec": ["__x64_sys_execve", "getname_flags", "strncpy_from_user", "alloc_bprm", "mm_alloc", "mm_init", "pgd_alloc",
             "bprm_execve", "load_elf_binary", "begin_new_exec", "switch_mm_irqs_off", "mmput", "__mmput", "exit_mmap",
             "unmap_vmas", "free_pgtables", "setup_new_exec", "setup_arg_pages"],
    "madvise": ["__x64_sys_madvise", "do_madvise", "madvise_vma_behavior", "tlb_gather_mmu", "zap_page_range_single_batched",
                "unmap_page_range", "tlb_finish_mmu"],
    # clock_nanosleep (kernel/time/posix-timers.c; glibc's nanosleep makes it) up to the sleep and back: common_nsleep,
    # hrtimer_nanosleep with do_nanosleep (kernel/time/hrtimer.c, 6.18), the on-stack sleeper started and cancelled; the
    # sleep's schedule() is the schedule path; get/put_timespec64 around the copy are not listed
    "nanosleep": ["__x64_sys_clock_nanosleep", "common_nsleep", "hrtimer_nanosleep", "hrtimer_setup_sleeper_on_stack",
                  "do_nanosleep", "hrtimer_sleeper_start_expires", "hrtimer_start_range_ns", "hrtimer_cancel",
                  "hrtimer_try_to_cancel", "hrtimer_try_to_cancel.part.0"],
    # poll (fs/select.c, 6.18; do_poll and do_pollfd inlined into do_sys_poll) on a pipe (fs/pipe.c pipe_poll, whose
    # poll_wait registers through __pollwait), with the timed sleep of a poll that waits (poll_schedule_timeout →
    # schedule_hrtimeout_range_clock's on-stack sleeper)
    "poll": ["__x64_sys_poll", "poll_select_set_timeout", "do_sys_poll", "poll_initwait", "pipe_poll", "__pollwait",
             "poll_freewait"],
    # the timed sleep of a poll that waits (a poll that returns at once does not run it)
    "poll-sleep": ["poll_schedule_timeout.constprop.0", "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock",
                   "hrtimer_setup_sleeper_on_stack", "hrtimer_sleeper_start_expires", "hrtimer_start_range_ns",
                   "hrtimer_cancel", "hrtimer_try_to_cancel", "hrtimer_try_to_cancel.part.0"],
    # the timer that ends a sleep: the clock event's hrtimer_interrupt runs the expired timers (__run_hrtimer inlined),
    # the sleeper's hrtimer_wakeup wakes the task (kernel/time/hrtimer.c, kernel/sched/core.c); the interrupt's entry
    # and exit are not listed
    "timer-wakeup": ["hrtimer_interrupt", "__hrtimer_run_queues", "hrtimer_wakeup", "wake_up_process", "try_to_wake_up"],
    # the uaccess paths (SimKernel fetches them per call or per page): pin_user_pages_fast's fast walk of one page and
    # unpin_user_page (mm/gup.c, 6.18; gup_fast's levels are inlined into gup_fast_fallback); copy_to_user and
    # copy_from_user (lib/usercopy.c: the out-of-line _copy_*_user with copy_user_generic's rep movsb inlined, as on a CPU
    # with FSRM); memcpy (arch/x86/lib/memcpy_64.S), the copy through a kernel alias
    "gup": ["pin_user_pages_fast", "gup_fast_fallback", "try_grab_folio_fast", "unpin_user_page", "gup_put_folio"],
    "copy-to-user": ["_copy_to_user"],
    "copy-from-user": ["_copy_from_user"],
    "memcpy": ["memcpy"],
}

# arm64 Linux 4.19: the el0_sync vector's assembly (kernel_entry, the el0_svc stub, ret_to_user and kernel_exit in
# finish_ret_to_user), the C system-call path of 4.19 (el0_svc_handler, el0_svc_common) and the pt_regs wrappers
# __arm64_sys_*. arm64 has no stat, open or fork: the C library calls newfstatat, openat and clone.
ARM64 = {
    "entry": ["vectors", "el0_sync", "el0_svc", "el0_svc_handler", "el0_svc_common", "ret_to_user", "finish_ret_to_user"],
    "getppid": ["__arm64_sys_getppid", "__task_pid_nr_ns"],
    "dev-zero-null": ["__arm64_sys_read", "ksys_read", "vfs_read", "__vfs_read", "rw_verify_area", "read_iter_zero",
                      "iov_iter_zero", "__arm64_sys_write", "ksys_write", "vfs_write", "__vfs_write", "write_null"],
    "file-io": ["ksys_read", "vfs_read", "__vfs_read", "shmem_file_read_iter", "shmem_getpage_gfp", "copy_page_to_iter",
                "ksys_write", "vfs_write", "__vfs_write", "generic_file_write_iter", "generic_perform_write",
                "shmem_write_begin", "shmem_write_end"],
    "pipe": ["ksys_read", "vfs_read", "__vfs_read", "pipe_read", "ksys_write", "vfs_write", "__vfs_write", "pipe_write",
             "__wake_up"],
    "stat": ["__arm64_sys_newfstatat", "vfs_statx", "user_path_at_empty", "getname_flags", "strncpy_from_user",
             "filename_lookup", "path_lookupat", "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu",
             "cp_new_stat"],
    "open": ["__arm64_sys_openat", "do_sys_open", "getname_flags", "strncpy_from_user", "do_filp_open", "path_openat",
             "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu", "alloc_empty_file", "do_dentry_open",
             "fd_install"],
    "close": ["__arm64_sys_close", "__close_fd", "filp_close", "fput"],
    "mmap": ["__arm64_sys_mmap", "ksys_mmap_pgoff", "vm_mmap_pgoff", "do_mmap", "get_unmapped_area", "mmap_region",
             "vm_area_alloc"],
    "munmap": ["__arm64_sys_munmap", "vm_munmap", "do_munmap", "unmap_region", "unmap_vmas", "unmap_page_range",
               "free_pgtables", "tlb_finish_mmu"],
    "fork": ["__arm64_sys_clone", "_do_fork", "copy_process", "copy_page_range"],
    "exit": ["do_exit", "exit_mmap", "unmap_vmas", "unmap_page_range", "free_pgtables"],
    "wait": ["__arm64_sys_wait4", "kernel_wait4", "do_wait", "wait_consider_task"],
    "schedule": ["__schedule", "pick_next_task_fair", "check_and_switch_context", "__switch_to", "cpu_switch_to",
                 "finish_task_switch"],
    "fault": ["el0_da", "do_mem_abort", "do_translation_fault", "do_page_fault", "handle_mm_fault", "__handle_mm_fault",
              "__alloc_pages_nodemask"],
    "mprotect": ["__arm64_sys_mprotect", "mprotect_fixup", "change_protection", "change_protection_range"],
    "madvise": ["__arm64_sys_madvise", "zap_page_range", "tlb_gather_mmu", "arch_tlb_gather_mmu", "unmap_page_range",
                "tlb_finish_mmu"],
    "exec": ["__arm64_sys_execve", "getname_flags", "strncpy_from_user", "__do_execve_file", "mm_alloc", "mm_init",
             "pgd_alloc", "search_binary_handler", "load_elf_binary", "flush_old_exec", "check_and_switch_context", "mmput",
             "exit_mmap", "unmap_vmas", "free_pgtables", "setup_new_exec", "setup_arg_pages"],
    # clock_nanosleep → common_nsleep → hrtimer_nanosleep (hrtimer_init_on_stack is hrtimer_init) → do_nanosleep
    # (.sched.text) with hrtimer_init_sleeper, hrtimer_start_expires (inline) → hrtimer_start_range_ns, hrtimer_cancel
    # (kernel/time/posix-timers.c, hrtimer.c, 4.19)
    "nanosleep": ["__arm64_sys_clock_nanosleep", "common_nsleep", "hrtimer_nanosleep", "hrtimer_init", "do_nanosleep",
                  "hrtimer_init_sleeper", "hrtimer_start_range_ns", "hrtimer_cancel", "hrtimer_try_to_cancel"],
    # arm64 has no poll: the C library calls ppoll (fs/select.c, 4.19: do_poll and poll_schedule_timeout inlined into
    # do_sys_poll; the timed sleep is schedule_hrtimeout_range_clock's)
    "poll": ["__arm64_sys_ppoll", "poll_select_set_timeout", "do_sys_poll", "poll_initwait", "pipe_poll",
             "__pollwait", "poll_freewait", "poll_select_copy_remaining"],
    # the timed sleep of a poll that waits (a poll that returns at once does not run it)
    "poll-sleep": ["schedule_hrtimeout_range", "schedule_hrtimeout_range_clock", "hrtimer_init",
                   "hrtimer_init_sleeper", "hrtimer_start_range_ns", "hrtimer_cancel", "hrtimer_try_to_cancel"],
    "timer-wakeup": ["hrtimer_interrupt", "__hrtimer_run_queues", "hrtimer_wakeup", "wake_up_process", "try_to_wake_up"],
    # the uaccess paths: get_user_pages_fast's lockless walk (mm/gup.c, 4.19, HAVE_GENERIC_GUP: gup_pgd_range with the
    # pud, pmd and pte levels inlined; put_page is inline); arch/arm64/lib/copy_to_user.S and copy_from_user.S; memcpy.S
    "gup": ["get_user_pages_fast", "gup_pgd_range"],
    "copy-to-user": ["__arch_copy_to_user"],
    "copy-from-user": ["__arch_copy_from_user"],
    "memcpy": ["__memcpy"],
}

# 32-bit ARM Linux 4.4 (EABI): vector_swi and local_restart up to the table call, ret_fast_syscall; the vectors
# page itself sits at 0xffff0000, outside the text. The table calls sys_* directly (SyS_* are the same addresses).
ARM = {
    "entry": ["vector_swi", "local_restart", "ret_fast_syscall"],
    "getppid": ["sys_getppid", "__task_pid_nr_ns"],
    "dev-zero-null": ["sys_read", "vfs_read", "__vfs_read", "rw_verify_area", "read_iter_zero", "iov_iter_zero",
                      "sys_write", "vfs_write", "__vfs_write", "write_null"],
    "file-io": ["sys_read", "vfs_read", "__vfs_read", "shmem_file_read_iter", "shmem_getpage_gfp", "copy_page_to_iter",
                "sys_write", "vfs_write", "__vfs_write", "generic_file_write_iter", "generic_perform_write",
                "shmem_write_begin", "shmem_write_end"],
    "pipe": ["sys_read", "vfs_read", "__vfs_read", "pipe_read", "sys_write", "vfs_write", "__vfs_write", "pipe_write",
             "__wake_up"],
    "stat": ["sys_stat64", "vfs_stat", "vfs_fstatat", "user_path_at_empty", "getname_flags", "strncpy_from_user",
             "filename_lookup", "path_lookupat", "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu",
             "cp_new_stat64"],
    "open": ["sys_open", "do_sys_open", "getname_flags", "strncpy_from_user", "do_filp_open", "path_openat",
             "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu", "get_empty_filp", "do_dentry_open",
             "fd_install"],
    "close": ["sys_close", "__close_fd", "filp_close", "fput"],
    "mmap": ["sys_mmap2", "sys_mmap_pgoff", "vm_mmap_pgoff", "do_mmap", "get_unmapped_area", "mmap_region"],
    "munmap": ["sys_munmap", "vm_munmap", "do_munmap", "unmap_region", "unmap_vmas", "unmap_single_vma",
               "free_pgtables"],
    "fork": ["sys_fork", "_do_fork", "copy_process", "copy_page_range"],
    "exit": ["do_exit", "exit_mmap", "unmap_vmas", "unmap_single_vma", "free_pgtables"],
    "wait": ["sys_wait4", "do_wait", "wait_consider_task"],
    "schedule": ["__schedule", "pick_next_task_fair", "check_and_switch_context", "cpu_v7_switch_mm", "__switch_to",
                 "finish_task_switch"],
    "fault": ["__dabt_usr", "do_DataAbort", "do_translation_fault", "do_page_fault", "handle_mm_fault",
              "__alloc_pages_nodemask", "ret_from_exception"],
    "mprotect": ["sys_mprotect", "mprotect_fixup", "change_protection", "change_protection_range"],
    "madvise": ["sys_madvise", "zap_page_range", "unmap_single_vma"],
    "exec": ["sys_execve", "getname", "getname_flags", "strncpy_from_user", "do_execveat_common", "mm_alloc", "mm_init",
             "pgd_alloc", "search_binary_handler", "load_elf_binary", "flush_old_exec", "check_and_switch_context",
             "cpu_v7_switch_mm", "mmput", "exit_mmap", "unmap_vmas", "unmap_single_vma", "free_pgtables",
             "setup_new_exec", "setup_arg_pages"],
    # clock_nanosleep → common_nsleep → hrtimer_nanosleep (hrtimer_init) → do_nanosleep (.sched.text) with
    # hrtimer_init_sleeper, hrtimer_start_range_ns, hrtimer_cancel (kernel/time/posix-timers.c, hrtimer.c, 4.4)
    "nanosleep": ["sys_clock_nanosleep", "common_nsleep", "hrtimer_nanosleep", "hrtimer_init", "do_nanosleep",
                  "hrtimer_init_sleeper", "hrtimer_start_range_ns", "hrtimer_cancel", "hrtimer_try_to_cancel"],
    # poll (fs/select.c, 4.4: do_poll inlined into do_sys_poll; poll_schedule_timeout still a function of its own)
    "poll": ["sys_poll", "poll_select_set_timeout", "do_sys_poll", "poll_initwait", "pipe_poll", "__pollwait",
             "poll_freewait"],
    # the timed sleep of a poll that waits (a poll that returns at once does not run it)
    "poll-sleep": ["poll_schedule_timeout", "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock",
                   "hrtimer_init", "hrtimer_init_sleeper", "hrtimer_start_range_ns", "hrtimer_cancel",
                   "hrtimer_try_to_cancel"],
    "timer-wakeup": ["hrtimer_interrupt", "__hrtimer_run_queues", "hrtimer_wakeup", "wake_up_process", "try_to_wake_up"],
    # the uaccess paths. 32-bit ARM has no fast GUP in 4.4: get_user_pages_fast is mm/util.c's weak one, which calls
    # get_user_pages_unlocked (FOLL_TOUCH) → __get_user_pages_unlocked (mmap_sem) → __get_user_pages → find_extend_vma,
    # follow_page_mask (follow_page_pte inlined; mark_page_accessed for FOLL_TOUCH); put_page drops the reference
    # (mm/gup.c, mm/util.c, mm/swap.c, 4.4). copy_to_user/copy_from_user run copy_template.S as arm_copy_to_user and
    # arm_copy_from_user (arch/arm/lib/copy_to_user.S, copy_from_user.S, 4.4), which this Raspberry Pi build names
    # __copy_to_user_std and __copy_from_user_std (its UACCESS_WITH_MEMCPY wrappers took the arm_ names); memcpy.
    "gup": ["get_user_pages_fast", "get_user_pages_unlocked", "__get_user_pages_unlocked", "down_read",
            "__get_user_pages", "find_extend_vma", "find_vma", "follow_page_mask", "mark_page_accessed", "up_read",
            "put_page"],
    "copy-to-user": ["__copy_to_user_std"],
    "copy-from-user": ["__copy_from_user_std"],
    "memcpy": ["memcpy"],
}

# RISC-V (RV64) Linux 5.4: handle_exception, handle_syscall, ret_from_syscall, ret_from_exception and
# resume_userspace in entry.S; sys_* called straight from the table. RISC-V has no stat, open or fork either.
RISCV = {
    "entry": ["handle_exception", "handle_syscall", "ret_from_syscall", "ret_from_exception", "resume_userspace"],
    "getppid": ["sys_getppid", "__task_pid_nr_ns"],
    "dev-zero-null": ["sys_read", "ksys_read", "vfs_read", "__vfs_read", "rw_verify_area", "read_iter_zero",
                      "iov_iter_zero", "sys_write", "ksys_write", "vfs_write", "__vfs_write", "write_null"],
    "file-io": ["ksys_read", "vfs_read", "__vfs_read", "shmem_file_read_iter", "shmem_getpage_gfp", "copy_page_to_iter",
                "ksys_write", "vfs_write", "__vfs_write", "generic_file_write_iter", "generic_perform_write",
                "shmem_write_begin", "shmem_write_end"],
    "pipe": ["ksys_read", "vfs_read", "__vfs_read", "pipe_read", "ksys_write", "vfs_write", "__vfs_write", "pipe_write",
             "__wake_up"],
    "stat": ["sys_newfstatat", "vfs_statx", "user_path_at_empty", "getname_flags", "strncpy_from_user",
             "filename_lookup", "filename_lookup.part.82", "path_lookupat", "link_path_walk", "walk_component",
             "lookup_fast", "__d_lookup_rcu", "cp_new_stat"],
    "open": ["sys_openat", "do_sys_open", "getname_flags", "strncpy_from_user", "do_filp_open", "path_openat",
             "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu", "alloc_empty_file", "do_dentry_open",
             "fd_install"],
    "close": ["sys_close", "__close_fd", "filp_close", "fput"],
    "mmap": ["sys_mmap", "ksys_mmap_pgoff", "vm_mmap_pgoff", "do_mmap", "get_unmapped_area", "mmap_region",
             "vm_area_alloc"],
    "munmap": ["sys_munmap", "__vm_munmap", "__do_munmap", "unmap_region", "unmap_vmas", "unmap_page_range",
               "free_pgtables", "tlb_finish_mmu"],
    "fork": ["sys_clone", "_do_fork", "copy_process", "dup_mm", "copy_page_range"],
    "exit": ["do_exit", "exit_mmap", "unmap_vmas", "unmap_page_range", "free_pgtables"],
    "wait": ["sys_wait4", "kernel_wait4", "do_wait", "wait_consider_task"],
    "schedule": ["__schedule", "pick_next_task_fair", "switch_mm", "__switch_to", "finish_task_switch"],
    "fault": ["handle_exception", "do_page_fault", "handle_mm_fault", "__handle_mm_fault", "__alloc_pages_nodemask",
              "ret_from_exception"],
    "mprotect": ["sys_mprotect", "mprotect_fixup", "change_protection"],
    "madvise": ["sys_madvise", "zap_page_range", "tlb_gather_mmu", "unmap_page_range", "tlb_finish_mmu"],
    "exec": ["sys_execve", "getname_flags", "strncpy_from_user", "__do_execve_file", "mm_alloc", "mm_init",
             "search_binary_handler", "load_elf_binary", "flush_old_exec", "switch_mm", "mmput", "__mmput", "exit_mmap",
             "unmap_vmas", "free_pgtables", "setup_new_exec", "setup_arg_pages"],
    # clock_nanosleep → common_nsleep → hrtimer_nanosleep (hrtimer_init_sleeper_on_stack is hrtimer_init_sleeper) →
    # do_nanosleep (.sched.text) with hrtimer_sleeper_start_expires → hrtimer_start_range_ns, hrtimer_cancel
    # (kernel/time/posix-timers.c, hrtimer.c, 5.4)
    "nanosleep": ["sys_clock_nanosleep", "common_nsleep", "hrtimer_nanosleep", "hrtimer_init_sleeper", "do_nanosleep",
                  "hrtimer_sleeper_start_expires", "hrtimer_start_range_ns", "hrtimer_cancel", "hrtimer_try_to_cancel"],
    # RISC-V has no poll: ppoll (fs/select.c, 5.4: set_user_sigmask, do_sys_poll with do_poll and poll_schedule_timeout
    # inlined, poll_select_finish)
    "poll": ["sys_ppoll", "poll_select_set_timeout", "set_user_sigmask", "do_sys_poll", "poll_initwait", "pipe_poll",
             "__pollwait", "poll_freewait", "poll_select_finish"],
    # the timed sleep of a poll that waits (a poll that returns at once does not run it)
    "poll-sleep": ["schedule_hrtimeout_range", "schedule_hrtimeout_range_clock", "hrtimer_init_sleeper",
                   "hrtimer_sleeper_start_expires", "hrtimer_start_range_ns", "hrtimer_cancel",
                   "hrtimer_try_to_cancel"],
    "timer-wakeup": ["hrtimer_interrupt", "__hrtimer_run_queues", "hrtimer_wakeup", "wake_up_process", "try_to_wake_up"],
    # the uaccess paths. RISC-V has no fast GUP in 5.4: get_user_pages_fast falls back to get_user_pages_unlocked →
    # __get_user_pages (follow_page_mask inlined) with find_extend_vma and mark_page_accessed; put_page is inline
    # (mm/gup.c, 5.4). lib/usercopy.c's out-of-line _copy_to_user/_copy_from_user and arch/riscv/lib/uaccess.S (one
    # body under both names); memcpy.S.
    "gup": ["get_user_pages_fast", "get_user_pages_unlocked", "down_read", "__get_user_pages", "find_extend_vma",
            "find_vma", "mark_page_accessed", "up_read"],
    "copy-to-user": ["_copy_to_user", "__asm_copy_to_user"],
    "copy-from-user": ["_copy_from_user", "__asm_copy_from_user"],
    "memcpy": ["memcpy"],
}

# 32-bit x86 Linux 4.19 (i386, glibc's sysenter through the vDSO): entry_SYSENTER_32 and do_fast_syscall_32 with
# prepare_exit_to_usermode (the table call and SYSEXIT are inside them); sys_* called straight from the table (no pt_regs
# wrappers on 32-bit x86 before 5.7); a page fault enters at page_fault/common_exception and leaves by
# ret_from_exception/restore_all in .entry.text; __handle_mm_fault and do_anonymous_page are inlined into
# handle_mm_fault in this build; the C library opens with openat and stats with stat64.
X86_32 = {
    "entry": ["entry_SYSENTER_32", "do_fast_syscall_32", "prepare_exit_to_usermode"],
    "getppid": ["sys_getppid", "__task_pid_nr_ns"],
    "dev-zero-null": ["sys_read", "ksys_read", "vfs_read", "__vfs_read", "rw_verify_area", "read_iter_zero",
                      "iov_iter_zero", "sys_write", "ksys_write", "vfs_write", "__vfs_write", "write_null"],
    "file-io": ["ksys_read", "vfs_read", "__vfs_read", "shmem_file_read_iter", "shmem_getpage_gfp", "copy_page_to_iter",
                "ksys_write", "vfs_write", "__vfs_write", "generic_file_write_iter", "generic_perform_write",
                "shmem_write_begin", "shmem_write_end"],
    "pipe": ["ksys_read", "vfs_read", "__vfs_read", "pipe_read", "ksys_write", "vfs_write", "__vfs_write", "pipe_write",
             "__wake_up"],
    "stat": ["sys_stat64", "__do_sys_stat64", "vfs_statx", "user_path_at_empty", "getname_flags", "strncpy_from_user",
             "filename_lookup", "path_lookupat", "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu",
             "cp_new_stat64"],
    "open": ["sys_openat", "do_sys_open", "getname_flags", "strncpy_from_user", "do_filp_open", "path_openat",
             "link_path_walk", "walk_component", "lookup_fast", "__d_lookup_rcu", "alloc_empty_file", "do_dentry_open",
             "fd_install"],
    "close": ["sys_close", "__close_fd", "filp_close", "fput"],
    "mmap": ["sys_mmap_pgoff", "ksys_mmap_pgoff", "vm_mmap_pgoff", "do_mmap", "get_unmapped_area", "mmap_region",
             "vm_area_alloc"],
    "munmap": ["sys_munmap", "vm_munmap", "do_munmap", "unmap_region", "unmap_vmas", "unmap_page_range",
               "free_pgtables", "tlb_finish_mmu"],
    "fork": ["sys_fork", "_do_fork", "copy_process", "copy_page_range"],
    "exit": ["do_exit", "exit_mmap", "unmap_vmas", "unmap_page_range", "free_pgtables"],
    "wait": ["sys_wait4", "kernel_wait4", "do_wait", "wait_consider_task"],
    "schedule": ["__schedule", "pick_next_task_fair", "switch_mm_irqs_off", "__switch_to_asm", "__switch_to",
                 "finish_task_switch"],
    "fault": ["page_fault", "common_exception", "do_page_fault", "__do_page_fault", "handle_mm_fault",
              "__alloc_pages_nodemask", "ret_from_exception", "restore_all"],
    "mprotect": ["sys_mprotect", "mprotect_fixup", "change_protection"],
    "madvise": ["sys_madvise", "zap_page_range", "tlb_gather_mmu", "unmap_single_vma", "unmap_page_range",
                "tlb_finish_mmu"],
    "exec": ["sys_execve", "getname", "getname_flags", "strncpy_from_user", "__do_execve_file", "mm_alloc", "mm_init",
             "pgd_alloc", "search_binary_handler", "load_elf_binary", "flush_old_exec", "switch_mm_irqs_off", "mmput",
             "exit_mmap", "unmap_vmas", "free_pgtables", "setup_new_exec", "setup_arg_pages"],
    # clock_nanosleep → common_nsleep → hrtimer_nanosleep (hrtimer_init; do_nanosleep in .sched.text) with
    # hrtimer_init_sleeper, hrtimer_start_range_ns, hrtimer_cancel (kernel/time/posix-timers.c, hrtimer.c, 4.19)
    "nanosleep": ["sys_clock_nanosleep", "common_nsleep", "hrtimer_nanosleep", "hrtimer_init", "do_nanosleep",
                  "hrtimer_init_sleeper", "hrtimer_start_range_ns", "hrtimer_cancel", "hrtimer_try_to_cancel"],
    # poll (fs/select.c, 4.19: do_poll inlined into do_sys_poll)
    "poll": ["sys_poll", "poll_select_set_timeout", "do_sys_poll", "poll_initwait", "pipe_poll", "__pollwait",
             "poll_freewait"],
    # the timed sleep of a poll that waits (a poll that returns at once does not run it)
    "poll-sleep": ["poll_schedule_timeout.constprop.13", "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock",
                   "hrtimer_init", "hrtimer_init_sleeper", "hrtimer_start_range_ns", "hrtimer_cancel",
                   "hrtimer_try_to_cancel"],
    "timer-wakeup": ["hrtimer_interrupt", "__hrtimer_run_queues", "hrtimer_wakeup", "wake_up_process", "try_to_wake_up"],
    # the uaccess paths: get_user_pages_fast's lockless walk (mm/gup.c, 4.19, HAVE_GENERIC_GUP: gup_pgd_range with the
    # lower levels inlined); raw_copy_to_user and raw_copy_from_user call __copy_user_ll for a size not known at compile
    # time (arch/x86/include/asm/uaccess_32.h, arch/x86/lib/usercopy_32.c, 4.19), lib/usercopy.c's _copy_to_user and
    # _copy_from_user wrappers around it not read from the map; memcpy (arch/x86/lib/memcpy_32.c), the copy through a
    # kernel alias
    "gup": ["get_user_pages_fast", "gup_pgd_range"],
    "copy-to-user": ["__copy_user_ll"],
    "copy-from-user": ["__copy_user_ll"],
    "memcpy": ["memcpy"],
}

# Where each table comes from, printed into its header; entry_stub is the function the design's entry page stands
# for (it runs from EntryVa, so its own page is not counted again), "-" when the entry vectors are outside the text.
SOURCES = {
    "x86-64": dict(paths=X86_64, stub="entry_SYSCALL_64", kind="kallsyms", provenance=[
        "Source: /proc/kallsyms of a running x86-64 Linux {release}",
        "kernel (kptr_restrict=0), written by scripts/footprints/kallsyms-footprint.py. The kernel's configuration",
        "is not known beyond what the symbols show (16-byte __pfx_ function padding, so call-depth tracking or",
        "function alignment is built in). kallsyms has no sizes: a function's size is the distance to the next",
        "symbol. Functions the compiler inlined into their callers have no symbol and are counted in the caller.",
        "The nanosleep, poll and timer-wakeup rows come from /proc/kallsyms of a later build of the same release",
        "(6.18.44-fc-v1252, 19236736 bytes of text), the first build's symbols being no longer at hand; they were",
        "added by hand as this script writes them, and the other rows kept, so that no other output changed.",
    ]),
    "x86-32": dict(paths=X86_32, stub="entry_SYSENTER_32", kind="map", provenance=[
        "Source: the System.map of 32-bit x86 Linux {release} as Debian 10.10 ships it",
        "(/boot/System.map-4.19.0-17-686-pae of linux-image-4.19.0-17-686-pae), copied into repository fanlv/blog as",
        "backup/Content/Foundation/x86-debian-10.10.0-System.map-4.19.0-17-686-pae, commit",
        "dd7d11e39b84484188a3f1f881825240d64d7e56. Configuration (the flavour's name and the symbols): i686, X86_PAE",
        "(HIGHMEM64G), SMP, paravirt (Xen, KVM, Hyper-V), GCC 8 hot/cold splitting (.cold clones in .text.unlikely).",
        "The map is 2.6 MB; only each listed function's line and the line after it were read from the stored copy",
        "(the size is that distance), with _text and _etext. Written by scripts/footprints/kallsyms-footprint.py",
        "--arch x86-32. A function the compiler inlined has no symbol and is counted in its caller. It serves x86-32",
        "with and without PAE: no map of a non-PAE build was found.",
    ]),
    "arm64": dict(paths=ARM64, stub="vectors", kind="map", provenance=[
        "Source: the System.map of arm64 Linux {release}-v8 as the Raspberry Pi Foundation built it for the",
        "Raspberry Pi 3 (Cortex-A53): repository XECDesign/bcmrpi3-kernel-bis, file boot/System.map.xz (decompressed),",
        "commit c19fb777474433d111aeb3d960b0f2d5d128ab40 ('Update changelog for 4.19.76.20191008-1 release').",
        "Configuration (boot/config beside it): GCC 8.3, ARM64_4K_PAGES, ARM64_VA_BITS=39, PREEMPT,",
        "CC_OPTIMIZE_FOR_PERFORMANCE, UNMAP_KERNEL_AT_EL0, HARDEN_BRANCH_PREDICTOR, ARM64_SSBD, RANDOMIZE_BASE.",
        "Written by scripts/footprints/kallsyms-footprint.py --arch arm64. A size is the distance to the next symbol;",
        "a function the compiler inlined has no symbol and is counted in its caller; renamed clones keep their names.",
    ]),
    "arm": dict(paths=ARM, stub="-", kind="map", provenance=[
        "Source: the System.map of 32-bit ARM Linux {release}-v7, a Raspberry Pi kernel tree built for the",
        "Raspberry Pi 2 (BCM2709, Cortex-A7): repository AndyGitMain/linux-rpi-4.4.y, file System.map at its root,",
        "commit fee1c6fe43335f25a9200ed3a5f29212dee5bbaa ('add compiled kernel for rpi', 2017-02-20).",
        "Configuration (include/generated/autoconf.h and compile.h beside it): Linaro GCC 4.8.3, CPU_V7, AEABI, SMP",
        "(NR_CPUS 4), VMSPLIT_2G, PREEMPT_VOLUNTARY, FRAME_POINTER, short descriptors (no ARM_LPAE), ARM (not Thumb-2)",
        "kernel. It serves LPAE kernels too: no System.map of an LPAE build was found. Written by",
        "scripts/footprints/kallsyms-footprint.py --arch arm. A size is the distance to the next symbol; a function",
        "the compiler inlined has no symbol and is counted in its caller. The vectors page is outside the text.",
    ]),
    "riscv": dict(paths=RISCV, stub="handle_exception", kind="map", provenance=[
        "Source: the System.map of RISC-V (RV64) Linux {release} from Allwinner's Tina SDK for the D1",
        "(T-Head C906): repository FengQingQi/tina-d1x-linux-5.4, file System.map at its root, commit",
        "5d06293fb01c68b371b4cf1a6934b4245132d1f3 ('add tina-d1x-linux-5.4', 2022-10-12). Configuration",
        "(include/generated/autoconf.h and compile.h beside it): C-SKY RISCV Tools GCC 8.1, ARCH_SUN20IW1P1, 64BIT,",
        "RISCV_ISA_C (compressed instructions), PREEMPT, CC_OPTIMIZE_FOR_SIZE, FRAME_POINTER, no SMP. Written by",
        "scripts/footprints/kallsyms-footprint.py --arch riscv. A size is the distance to the next symbol; a function",
        "the compiler inlined has no symbol and is counted in its caller.",
    ]),
}


def resolve(name, where):
    if name in where:
        return name
    clones = [n for n in where if n.startswith(name + ".")]
    if len(clones) == 1:
        return clones[0]
    sys.exit(f"{name}: {'not in the symbol table' if not clones else 'ambiguous: ' + ', '.join(clones)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="x86-64", choices=sorted(SOURCES))
    ap.add_argument("symbols")
    ap.add_argument("release")
    a = ap.parse_args()
    src = SOURCES[a.arch]
    # kallsyms: t/T are functions; a System.map also has weak (W/w) text symbols
    text_types = "tT" if src["kind"] == "kallsyms" else "tTwW"
    syms = []
    for line in open(a.symbols):
        parts = line.split()
        if len(parts) < 3 or parts[1] not in text_types + "dDrRbB":
            continue
        syms.append((int(parts[0], 16), parts[1], parts[2]))
    syms.sort()
    text = next(s for s, _, n in syms if n == "_text")
    etext = next(s for s, _, n in syms if n == "_etext")
    size = {}
    where = {}
    for i, (s, t, n) in enumerate(syms):
        if t in text_types and text <= s < etext and n not in where:
            nxt = next((b for b, _, _ in syms[i + 1:] if b > s), etext)
            where[n] = s - text
            size[n] = nxt - s
    print("# Kernel text footprint of the built-in workloads' kernel paths: the functions each path runs, where they")
    print("# sit in the kernel text and how long they are. " + src["provenance"][0].format(release=a.release))
    for line in src["provenance"][1:]:
        print("# " + line.format(release=a.release))
    print(f"# text_bytes\t{etext - text}")
    print(f"# entry_stub\t{src['stub']}")
    print("# path\tfunction\toffset\tsize")
    for p, fns in src["paths"].items():
        for f in fns:
            n = resolve(f, where)
            print(f"{p}\t{n}\t{where[n]}\t{size[n]}")


main()
