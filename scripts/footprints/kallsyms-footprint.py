#!/usr/bin/env python3
"""Writes the kernel text footprint table (src/Vmsplit.Kernel/Data/kernel-text-footprint.tsv) from a kallsyms file.

Usage: kallsyms-footprint.py /proc/kallsyms RELEASE > kernel-text-footprint.tsv
kallsyms gives addresses only; a function's size is the distance to the next symbol in address order.
"""
import sys

PATHS = {
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
}


def main():
    path, release = sys.argv[1], sys.argv[2]
    syms = []
    for line in open(path):
        parts = line.split()
        if len(parts) < 3 or parts[1] not in "tTdDrRbB":
            continue
        syms.append((int(parts[0], 16), parts[1], parts[2]))
    syms.sort()
    text = next(a for a, _, n in syms if n == "_text")
    etext = next(a for a, _, n in syms if n == "_etext")
    size = {}
    where = {}
    for i, (a, t, n) in enumerate(syms):
        if t in "tT" and text <= a < etext and n not in where:
            nxt = next((b for b, _, _ in syms[i + 1:] if b > a), etext)
            where[n] = a - text
            size[n] = nxt - a
    print("# Kernel text footprint of the built-in workloads' kernel paths: the functions each path runs, where they")
    print(f"# sit in the kernel text and how long they are. Source: /proc/kallsyms of a running x86-64 Linux {release}")
    print("# kernel (kptr_restrict=0), written by scripts/footprints/kallsyms-footprint.py. The kernel's configuration")
    print("# is not known beyond what the symbols show (16-byte __pfx_ function padding, so call-depth tracking or")
    print("# function alignment is built in). kallsyms has no sizes: a function's size is the distance to the next")
    print("# symbol. Functions the compiler inlined into their callers have no symbol and are counted in the caller.")
    print(f"# text_bytes\t{etext - text}")
    print("# path\tfunction\toffset\tsize")
    for p, fns in PATHS.items():
        for f in fns:
            if f not in where:
                sys.exit(f"{f}: not in {path}")
            print(f"{p}\t{f}\t{where[f]}\t{size[f]}")


main()
