using Vmsplit.Hardware;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Core;

public sealed partial class SimKernel
{
    /// <summary>The stack VMA an execve gives the new program: setup_arg_pages' stack_expand of 128 KiB (fs/exec.c, Linux 5.4) below its top.</summary>
    public const ulong ExecStackBytes = 128UL << 10;

    // what the kernel-side copies of execve use of the scratch buffer: getname's copy of the path in the first page,
    // copy_strings' bounce of one string chunk after it
    private const int ExecChunkAt = 4096;

    /// <summary>
    /// execve(2)'s memory side as Linux 5.4's fs/exec.c runs it: getname copies the path in (PATH_MAX); bprm_mm_init's
    /// mm_alloc makes a new mm with fresh page tables (mm_init → mm_alloc_pgd → pgd_alloc, the kernel part as the design
    /// shares it) and a new context, and the layout of its own (<see cref="Process.MmapBase"/> and
    /// <see cref="Process.StackTop"/>: setup_new_exec's arch_pick_mmap_layout and setup_arg_pages' randomize_stack_top and
    /// arch_align_stack, the next draw of the seeded streams), and with <see cref="SyscallRequest.Exec"/> the stack VMA
    /// below that top its arguments are copied into; count() and copy_strings read argv and envp from the old program and write them into the
    /// new mm's stack pages; exec_mmap makes the new mm the task's and activate_mm switches to it (switch_mm: the new
    /// root, with the ASID or PCID the allocator gives a new context, and the flush its rule asks for); then mmput of the
    /// old mm runs exit_mmap: its pages and page tables freed (no flush, as at exit: the allocator flushes before an ASID
    /// is used again); do_close_on_exec; create_elf_tables (fs/binfmt_elf.c) writes the platform string, AT_RANDOM's
    /// bytes, argc, the argv and envp pointers and the auxiliary vector below the strings, through the new mm. The task
    /// (pid, kernel stack, task_struct) stays. The result's <see cref="SyscallResult.Child"/> is the process with its new
    /// mm; a path or argument that faults ends the call with -EFAULT and leaves the old mm running.
    /// </summary>
    private SyscallResult Exec(Process old, SyscallRequest rq)
    {
        TouchFootprint(KernelPath.Exec, old);
        ChargeInstructions(Software.Exec);
        long name = Uaccess.StrncpyFromUser(Scratch(0, 4096), rq.User, 4096);
        if (name < 0)
        {
            return new(name);
        }

        ExecArgs? args = rq.Exec;
        Process next = NewMm(old);
        // the new mm's layout; the streams move on only if the exec gets past its point of no return (flush_old_exec), as
        // arch_pick_mmap_layout and randomize_stack_top run after it (fs/exec.c, fs/binfmt_elf.c 5.4)
        SplitMix64 mmapRandom = _mmapRandom, stackRandom = _stackRandom;
        (next.MmapBase, next.StackTop) = PickProcessLayout(ref mmapRandom, ref stackRandom);
        ulong bprmP = 0;
        if (args is not null)
        {
            // __bprm_mm_init: the stack VMA, bprm->p one pointer below its end; setup_arg_pages' move to the randomized top
            // and expansion to 128 KiB are where and how big the VMA is from the start (the model's VMAs neither move nor grow)
            ulong top = next.StackTop;
            next.Vmas.Insert(new Vma(new VirtualAddress(top - ExecStackBytes), new VirtualAddress(top), VmFlags.Read | VmFlags.Write));
            bprmP = top - WordBytes;
            if (CountArgs(args) < 0 || CopyStrings(next, args, (ulong)name + 1, ref bprmP) < 0)
            {
                ReleaseMm(next, exec: true); // free_bprm → mmput of the mm that never ran
                return new(Vmsplit.Kernel.Uaccess.UserAccess.Efault);
            }
        }

        (_mmapRandom, _stackRandom) = (mmapRandom, stackRandom);
        SwitchMm(next);
        ReleaseMm(old, exec: true);
        for (int fd = 0; fd < (args?.CloseOnExec ?? 0); fd++)
        {
            // do_close_on_exec (setup_new_exec, fs/exec.c 5.4): filp_close of each close-on-exec descriptor, close's path
            TouchFootprint(KernelPath.Close, next);
            ChargeInstructions(Software.Close);
        }

        if (args is not null)
        {
            next.ExecStackPointer = CreateElfTables(args, bprmP);
        }

        return new(0, next);
    }

    /// <summary>sizeof(elf_addr_t): the width of a user pointer on the stack execve builds.</summary>
    public ulong WordBytes => Format.VirtualAddressBits <= 32 ? 4UL : 8UL;

    // The kernel's random numbers (get_random_int, get_random_bytes): SplitMix64 (Steele, Lea and Flood, "Fast splittable
    // pseudorandom number generators", OOPSLA 2014) from the run's seed, so the same seed gives the same stack offsets and
    // AT_RANDOM bytes; a stream of its own, drawn only by execve, so nothing else the seed drives moves.
    private SplitMix64 _random;
    private bool _randomSeeded;

    private ref SplitMix64 RandomStream()
    {
        if (!_randomSeeded)
        {
            _random = new SplitMix64(Seed ^ 0x5241_4e44_4f4d_5354UL); // "RANDOMST"
            _randomSeeded = true;
        }

        return ref _random;
    }

    private ulong NextRandom() => RandomStream().Next();

    /// <summary>SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): one stream of the kernel's random numbers.</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        /// <summary>get_random_int()'s 32 bits: the high half of the next value.</summary>
        public uint NextInt() => (uint)(Next() >> 32);

        public ulong Next()
        {
            ulong z = _state += 0x9e37_79b9_7f4a_7c15UL;
            z = (z ^ (z >> 30)) * 0xbf58_476d_1ce4_e5b9UL;
            z = (z ^ (z >> 27)) * 0x94d0_49bb_1331_11ebUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>get_random_int(): 32 random bits from the run's seed.</summary>
    internal uint GetRandomInt() => RandomStream().NextInt();

    private void GetRandomBytes(Span<byte> into)
    {
        for (int i = 0; i < into.Length; i += 8)
        {
            ulong v = NextRandom();
            for (int b = i; b < Math.Min(into.Length, i + 8); b++, v >>= 8)
            {
                into[b] = (byte)v;
            }
        }
    }

    // count() (fs/exec.c, Linux 5.4) reads argv's and envp's pointers up to their NULLs with get_user
    private long CountArgs(ExecArgs args)
    {
        int size = (int)WordBytes;
        for (int i = 0; i < args.Argc + 1 + args.Envc + 1; i++)
        {
            if (Uaccess.GetUser(args.Pointers + ((ulong)i * (ulong)size), size, out _) != 0)
            {
                return Vmsplit.Kernel.Uaccess.UserAccess.Efault;
            }
        }

        return 0;
    }

    // copy_strings_kernel of bprm->filename, then copy_strings of envp and of argv (fs/exec.c, Linux 5.4): each string,
    // the last first, read by its pointer (get_user) and its length (strnlen_user), then copied page piece by page piece
    // from its end down to bprm->p into the new mm's stack: get_arg_page (get_user_pages_remote with FOLL_WRITE, which
    // faults the page in the new mm) and kmap when the piece lies on another page than the last, then copy_from_user into
    // the kmapped page. 0, or -EFAULT when the old program's memory faults.
    private long CopyStrings(Process mm, ExecArgs args, ulong filenameBytes, ref ulong bprmP)
    {
        ArgPage page = default;
        // copy_strings_kernel: the kernel's copy of the path under KERNEL_DS, strnlen_user and copy_from_user over it
        // (the names_cache object's own lines are not modelled)
        Cpu.ChargeMemcpy(filenameBytes);
        ulong pos = bprmP;
        bprmP -= filenameBytes;
        for (ulong left = filenameBytes; left > 0;)
        {
            ulong bytes = NextPiece(ref pos, ref left);
            Translation t = ArgPageAt(mm, pos, ref page);
            Cpu.ChargeMemcpy(bytes);
            Cpu.TouchDataLines(t.Address, bytes, store: true);
            Memory.Write(t.Address, Scratch((int)left, (int)bytes));
        }

        page.Release(this);

        int size = (int)WordBytes;
        for (int set = 0; set < 2; set++)
        {
            // envp's strings (set 0), then argv's (set 1), each from its last string down
            int from = set == 0 ? args.Argc : 0, to = set == 0 ? args.Strings.Count : args.Argc;
            for (int i = to - 1; i >= from; i--)
            {
                (VirtualAddress str, ulong n) = args.Strings[i];
                int slot = i < args.Argc ? i : i + 1; // envp's pointers follow argv's NULL
                Span<byte> buf = Scratch(ExecChunkAt, (int)Math.Min(n, (ulong)(ScratchBytes - ExecChunkAt)));
                if (Uaccess.GetUser(args.Pointers + ((ulong)slot * (ulong)size), size, out _) != 0
                    || Uaccess.StrncpyFromUser(buf, str, buf.Length) < 0)
                {
                    page.Release(this);
                    return Vmsplit.Kernel.Uaccess.UserAccess.Efault;
                }

                pos = bprmP;
                bprmP -= n;
                for (ulong left = n; left > 0;)
                {
                    ulong bytes = NextPiece(ref pos, ref left);
                    Translation t = ArgPageAt(mm, pos, ref page);
                    PhysicalAddress at = t.Address;
                    Cpu.TouchDataLines(at, bytes, store: true); // the stack page's side; the old program's in the uaccess
                    Span<byte> piece = Scratch(ExecChunkAt, (int)bytes);
                    if (Uaccess.CopyFromUser(piece, str + left, page.Kva + (pos % Page)) != 0)
                    {
                        page.Release(this);
                        return Vmsplit.Kernel.Uaccess.UserAccess.Efault;
                    }

                    Memory.Write(at, piece);
                }
            }

            page.Release(this); // the end of each copy_strings: kunmap and put_arg_page of the last page
        }

        return 0;
    }

    // copy_strings' step: the piece of the string that ends at pos and lies on pos's page; pos (then where the piece
    // starts) and the bytes left move down past it
    private static ulong NextPiece(ref ulong pos, ref ulong left)
    {
        ulong offset = pos % Page;
        if (offset == 0)
        {
            offset = Page;
        }

        ulong bytes = Math.Min(offset, left);
        pos -= bytes;
        left -= bytes;
        return bytes;
    }

    // copy_strings: a piece on another page than the kmapped one gets that page by get_arg_page and kmaps it (the one
    // before kunmapped); the kernel's store to the piece is a priced access of its kmap address
    private Translation ArgPageAt(Process mm, ulong pos, ref ArgPage page)
    {
        ulong kpos = pos & ~(Page - 1);
        if (!page.Mapped || page.Kpos != kpos)
        {
            PhysicalAddress frame = Gup.GetPage(mm, new VirtualAddress(kpos), write: true, pin: false)
                ?? throw new InvalidOperationException($"execve's stack page {kpos:x} is outside the stack VMA");
            page.Release(this);
            page = new ArgPage(true, kpos, frame, KmapFrame(frame));
        }

        return Cpu.Access(page.Kva + (pos % Page), AccessType.Write, Privilege.Kernel);
    }

    // a store of create_elf_tables to the stack VMA setup_arg_pages made: it cannot fault
    private static void Require(bool done, string what)
    {
        if (!done)
        {
            throw new InvalidOperationException($"{what} faulted in the new stack");
        }
    }

    private record struct ArgPage(bool Mapped, ulong Kpos, PhysicalAddress Frame, VirtualAddress Kva)
    {
        public void Release(SimKernel k)
        {
            if (Mapped)
            {
                k.KunmapFrame(Frame, Kva);
                this = default;
            }
        }
    }

    // create_elf_tables (fs/binfmt_elf.c, Linux 5.4) on the new mm, now the current one: below the strings (bprm->p),
    // moved down by arch_align_stack's random offset (x86: below 8 KiB, arm64: below 4 KiB; none with randomize_va_space 0
    // or where it is the identity) and rounded, the platform string and AT_RANDOM's 16 bytes (__copy_to_user),
    // then at STACK_ROUND's 16-byte boundary argc, each argv pointer (__put_user, and strnlen_user over its string on
    // the new stack), NULL, the same for envp, NULL, and the auxiliary vector (copy_to_user). An envp string the trace
    // did not show has its pointer written and no length read.
    private ulong CreateElfTables(ExecArgs args, ulong bprmP)
    {
        ElfStack elf = Arch.ElfStack;
        ulong w = WordBytes;
        ulong p = bprmP;
        if (elf.AlignRandomBytes > 0 && _setup.RandomizeVaSpace > 0)
        {
            p -= GetRandomInt() % elf.AlignRandomBytes; // arch_align_stack's random offset (randomize_va_space 2, the default)
        }

        p = elf.AlignsStack ? p & ~15UL : p; // and its rounding
        if (elf.PlatformBytes.Length > 0)
        {
            p -= (ulong)elf.PlatformBytes.Length;
            Require(Uaccess.CopyToUser(new VirtualAddress(p), elf.PlatformBytes) == 0, "execve's platform string");
        }

        p -= 16;
        GetRandomBytes(Scratch(ExecChunkAt, 16)); // get_random_bytes(k_rand_bytes, 16)
        Require(Uaccess.CopyToUser(new VirtualAddress(p), Scratch(ExecChunkAt, 16)) == 0, "execve's AT_RANDOM bytes");

        int auxWords = 2 * elf.AuxvEntries;
        int items = (args.Argc + 1) + (args.Envc + 1) + 1;
        ulong sp = (p - ((ulong)auxWords * w) - ((ulong)items * w)) & ~15UL; // STACK_ADD, then STACK_ROUND
        ulong start = sp; // bprm->p, the stack pointer start_thread gives the program: argc
        Require(Uaccess.PutUser(new VirtualAddress(sp), (int)w, (ulong)args.Argc) == 0, "execve's argc");
        sp += w;
        ulong str = bprmP; // mm->arg_start: argv[0], then the rest of argv and envp's strings above it
        for (int i = 0; i < args.Argc + 1 + args.Envc + 1; i++, sp += w)
        {
            bool end = i == args.Argc || i == args.Argc + 1 + args.Envc;
            Require(Uaccess.PutUser(new VirtualAddress(sp), (int)w, end ? 0 : str) == 0, "execve's argv and envp pointers");
            int s = i < args.Argc ? i : i - 1;
            if (!end && s < args.Strings.Count)
            {
                ulong n = args.Strings[s].Bytes;
                Span<byte> buf = Scratch(ExecChunkAt, (int)n);
                Require(Uaccess.StrncpyFromUser(buf, new VirtualAddress(str), buf.Length) >= 0, "execve's strings on the new stack"); // strnlen_user
                str += n;
            }
        }

        Scratch(ExecChunkAt, auxWords * (int)w).Clear(); // the saved_auxv values are not modelled
        Require(Uaccess.CopyToUser(new VirtualAddress(sp), Scratch(ExecChunkAt, auxWords * (int)w)) == 0, "execve's auxiliary vector");
        return start;
    }
}
