using System.Numerics;
using System.Runtime.CompilerServices;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Core;

/// <summary>The kernel paths whose footprints (pages touched) the model walks.</summary>
public enum KernelPath : byte
{
    Entry,
    Getppid,
    DevZeroNull,
    FileIo,
    Pipe,
    Stat,
    Open,
    Close,
    Mmap,
    Munmap,
    Fork,
    Exit,
    Wait,
    Schedule,
    Fault,
    Mprotect,
    Madvise,
    Exec,

    /// <summary>get_user_pages of one page and its release (pinned-page uaccess), fetched per page.</summary>
    Gup,

    /// <summary>copy_to_user's copy routine, fetched per call (the direct and user-tables strategies).</summary>
    CopyToUser,

    /// <summary>copy_from_user's copy routine, fetched per call.</summary>
    CopyFromUser,

    /// <summary>memcpy, the copy through a kernel alias of a pinned or looked-up user page, fetched per page.</summary>
    Memcpy,

    /// <summary>clock_nanosleep's handler up to its sleep and back (hrtimer_nanosleep, do_nanosleep, the on-stack sleeper).</summary>
    Nanosleep,

    /// <summary>poll's handler: do_sys_poll, each pipe's poll method, poll_freewait.</summary>
    Poll,

    /// <summary>The expiry that ends a timed sleep: hrtimer_interrupt, hrtimer_wakeup, try_to_wake_up.</summary>
    TimerWakeup,

    /// <summary>The timed sleep of a poll that waits: poll_schedule_timeout, schedule_hrtimeout_range and its on-stack sleeper.</summary>
    PollSleep,
}

public sealed partial class SimKernel
{
    private PageCacheFile? _file;

    // the slab objects of KernelObjects, resolved once at boot (the paths below run on every call)
    private SlabObjects _slab;

    private readonly record struct SlabObjects(VirtualAddress File, VirtualAddress Inode, VirtualAddress Dentry0, VirtualAddress Dentry1, VirtualAddress Dentry2, VirtualAddress Pipe, VirtualAddress Runqueue, VirtualAddress Mm);
    private PhysicalAddress _pipePage;

    // the kernel's copy buffer: ScratchBytes long, as every chunk size assumes, held in a host array that grows to the
    // furthest byte used so far (a 4 KiB call never backs the whole MiB); growing keeps its bytes and zeroes the rest,
    // so every read of it sees what one array of ScratchBytes would hold
    private const int ScratchBytes = 1 << 20;
    private byte[] _scratch = [];

    private Span<byte> Scratch(int start, int length)
    {
        if ((uint)(start + length) > (uint)_scratch.Length)
        {
            GrowScratch(start + length);
        }

        return _scratch.AsSpan(start, length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GrowScratch(int end)
    {
        // a span beyond ScratchBytes (or negative) still throws in AsSpan, as it did on the fixed array
        int size = end <= 0 ? _scratch.Length : (int)Math.Min(ScratchBytes, BitOperations.RoundUpToPowerOf2((uint)Math.Max(end, 4096)));
        Array.Resize(ref _scratch, Math.Max(size, _scratch.Length));
    }

    // The entry stub runs from the design's entry page (EntryVa); the rest of each path's text comes from a real
    // symbol table of the architecture's kernel (ArchMm.TextFootprint), placed on this image's text.
    private VirtualAddress[][]? _pathText;
    private (uint Start, uint Length)[][][]? _pathRuns;

    /// <summary>The kernel text pages <paramref name="path"/> executes on this kernel's image, in first-touch order.</summary>
    public IReadOnlyList<VirtualAddress> PathTextPages(KernelPath path) => TextOf(path);

    private VirtualAddress[] TextOf(KernelPath path) => (_pathText ??= PlaceText(Arch.TextFootprint))[(int)path];

    private VirtualAddress[][] PlaceText(KernelTextTable table) =>
        [.. Enum.GetValues<KernelPath>().Select(kp =>
            table.PageOffsets(kp, Layout.ImageTextBytes, table.EntryStub).Select(o => ImageVa + o).ToArray())];

    private (uint Start, uint Length)[][] RunsOf(KernelPath path) => (_pathRuns ??= PlaceRuns(Arch.TextFootprint))[(int)path];

    private (uint Start, uint Length)[][][] PlaceRuns(KernelTextTable table) =>
        [.. Enum.GetValues<KernelPath>().Select(kp =>
            table.PageRuns(kp, Layout.ImageTextBytes, (ulong)(PathInstructions(kp) * InstructionBytes), table.EntryStub))];

    // Bytes per instruction for the text a path fetches: A32, AArch64 and RISC-V (without C) encode 4 bytes; x86-64's
    // average length is taken as 4 too (an assumption).
    private const double InstructionBytes = 4;

    // The instructions one run of a path executes, as the paths charge them (the file path: the longer of a read's and a
    // write's, one page each; schedule once; a fault its handling).
    private double PathInstructions(KernelPath path) => path switch
    {
        KernelPath.Entry => EntryPath.EntryExitInstructions,
        KernelPath.Getppid => EntryPath.Getppid.Instructions,
        KernelPath.DevZeroNull => Software.DevZeroNull,
        KernelPath.FileIo => Math.Max(Software.FileRead + Software.FileReadPerPage, Software.FileWrite + Software.FileWritePerPage),
        KernelPath.Pipe => Software.PipeIo,
        KernelPath.Stat => Software.Stat,
        KernelPath.Open => Software.Open,
        KernelPath.Close => Software.Close,
        KernelPath.Mmap => Software.Mmap,
        KernelPath.Munmap => Software.Munmap,
        KernelPath.Fork => Software.Fork,
        KernelPath.Exit => Software.Exit,
        KernelPath.Wait => Software.Wait,
        KernelPath.Schedule => Software.Schedule,
        KernelPath.Fault => Software.FaultHandling,
        KernelPath.Mprotect => Software.Mprotect,
        KernelPath.Madvise => Software.Madvise,
        KernelPath.Exec => Software.Exec,
        KernelPath.Gup => Software.GupWalkPerPage + Software.GupGrabPerPage + Software.GupUnpinPerPage,
        KernelPath.CopyToUser or KernelPath.CopyFromUser => Software.UaccessCopyLoop,
        KernelPath.Memcpy => Software.MemcpyLoop,
        KernelPath.Nanosleep => Software.Nanosleep,
        KernelPath.Poll => Software.Poll + Software.PollPerFd,
        KernelPath.TimerWakeup => Software.TimerWakeup,
        KernelPath.PollSleep => Software.PollSleep,
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "a path without an instruction count"),
    };

    /// <summary>A page of kernel text by index, spread 53 pages apart (wrapping in the layout's image text, its last page excepted).</summary>
    public VirtualAddress TextPage(int index)
    {
        ulong textPages = Math.Max(1, Layout.ImageTextBytes / Page - 1);
        return ImageVa + ((ulong)(index * 53) % textPages * Page);
    }

    /// <summary>The syscall table lives in the image's read-only data: the last page of the layout's image text.</summary>
    public VirtualAddress SyscallTablePage => ImageVa + (Math.Max(Page, Layout.ImageTextBytes & ~(Page - 1)) - Page);

    /// <summary>
    /// The text of a path with no data of its own (get_user_pages, the copy routines): its pages through the instruction
    /// TLB and its lines through the L1 instruction cache, as <see cref="TouchFootprint"/> fetches every path's.
    /// </summary>
    public void FetchText(KernelPath path) => TouchFootprint(path, null);

    /// <summary>Walks a path's footprint through the MMU at kernel privilege.</summary>
    public void TouchFootprint(KernelPath path, Process? p)
    {
        if (path == KernelPath.Entry)
        {
            KernelAccess(EntryVa, AccessType.Execute); // entry_SYSCALL_64 / vectors / handle_exception
        }

        VirtualAddress[] text = TextOf(path);
        (uint Start, uint Length)[][] runs = RunsOf(path);
        for (int i = 0; i < text.Length; i++) // arrays: the measured loops allocate nothing
        {
            // the page through the instruction TLB, then the lines its instructions occupy on that page through the L1
            // instruction cache (KernelTextFootprint.PageRuns: each function from its entry, in proportion to what the path executes)
            PhysicalAddress page = KernelAccess(text[i], AccessType.Execute);
            Cpu.FetchInstructionRuns(page, runs[i]);
        }

        switch (path)
        {
            case KernelPath.Entry:
                if (Arch.EntryTouchesEntryArea || Isolation.EntryRunsFromEntryArea)
                {
                    // x86: entry stack in cpu_entry_area; ARM: the vector stubs page holding the trampoline
                    KernelAccess(EntryAreaVa, Arch.EntryAreaAccess);
                }

                if (p is not null)
                {
                    KernelAccess(LinearAddress(p.KernelStack), AccessType.Write);
                    KernelAccess(LinearAddress(p.TaskStruct), AccessType.Read);
                }

                KernelAccess(SyscallTablePage, AccessType.Read); // the entry converts no address (entry_SYSCALL_64, Linux 6.6)
                break;
            case KernelPath.DevZeroNull:
            case KernelPath.Close:
                KernelAccess(_slab.File, AccessType.Read);
                break;
            case KernelPath.FileIo:
                KernelAccess(_slab.File, AccessType.Read);
                KernelAccess(_slab.Inode, AccessType.Read);
                break;
            case KernelPath.Pipe:
                KernelAccess(_slab.Pipe, AccessType.Write);
                break;
            case KernelPath.Stat:
            case KernelPath.Open:
                KernelAccess(_slab.Dentry0, AccessType.Read);
                KernelAccess(_slab.Dentry1, AccessType.Read);
                KernelAccess(_slab.Dentry2, AccessType.Read);
                KernelAccess(_slab.Inode, AccessType.Read);
                break;
            case KernelPath.Mmap:
            case KernelPath.Munmap:
            case KernelPath.Fault:
            case KernelPath.Fork:
            case KernelPath.Exit:
            case KernelPath.Exec:
            case KernelPath.Mprotect:
            case KernelPath.Madvise:
                KernelAccess(_slab.Mm, AccessType.Write);
                break;
            case KernelPath.Poll:
                KernelAccess(_slab.File, AccessType.Read);
                KernelAccess(_slab.Pipe, AccessType.Read);
                break;
            case KernelPath.TimerWakeup:
                KernelAccess(_slab.Runqueue, AccessType.Write);
                break;
            case KernelPath.Schedule:
                KernelAccess(_slab.Runqueue, AccessType.Write);
                if (p is not null)
                {
                    KernelAccess(LinearAddress(p.KernelStack), AccessType.Write);
                    KernelAccess(LinearAddress(p.TaskStruct), AccessType.Write);
                }

                break;
        }
    }

    /// <summary>The entry and exit path this kernel's architecture runs (instruction counts from Linux's source).</summary>
    public EntryPath EntryPath => KernelEntryPaths.For(Layout.Arch);

    /// <summary>Kernel instructions of a path body, executed at the profile's kernel rate and charged as path base.</summary>
    internal void ChargeInstructions(double instructions) => Cpu.Charge(KernelCostCause.PathBase, Profile.Kernel.Cycles(instructions));

    // The physical address alone: every caller needs at most that, and a returned Translation was copied field by field
    // through each inlined level on every text page.
    internal PhysicalAddress KernelAccess(VirtualAddress va, AccessType access)
    {
        PhysicalAddress pa = Cpu.AccessAddress(va, access, Privilege.Kernel, out FaultKind fault);
        if (fault != FaultKind.None)
        {
            ThrowKernelFault(va, access, fault);
        }

        return pa;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowKernelFault(VirtualAddress va, AccessType access, FaultKind fault) =>
        throw new InvalidOperationException($"kernel {access.ToString().ToLowerInvariant()} of {va} faulted ({fault}) under {Design.Name}: the design's tables do not map its own footprint");

    /// <summary>__pa()/virt_to_phys() of <paramref name="va"/> as the design computes it, charged as it runs (see <see cref="KernelImageMapping.VirtToPhys"/>).</summary>
    public PhysicalAddress VirtToPhys(VirtualAddress va)
    {
        AddressConversions++;
        return Image.VirtToPhys(va);
    }

    /// <summary>
    /// __va()/phys_to_virt() of a lowmem frame: one addition, the linear map's offset, wherever the design puts the
    /// image (the image is never a __va result).
    /// </summary>
    public VirtualAddress PhysToVirt(PhysicalAddress pa)
    {
        AddressConversions++;
        Cpu.Charge(KernelCostCause.AddressConversion, Software.PaSubtract, 1);
        return LinearAddress(pa);
    }

    /// <summary>The __pa/__va conversions executed so far on every CPU (<see cref="VirtToPhys"/> and <see cref="PhysToVirt"/>).</summary>
    public long AddressConversions { get; private set; }

    /// <summary>__pa of a linear-map address: one subtraction.</summary>
    internal PhysicalAddress LinearToPhys(VirtualAddress va)
    {
        if (va.Value < Layout.PageOffset || va.Value >= Layout.HighMemory)
        {
            throw new InvalidOperationException($"__pa of {va}, which is neither in the linear map nor in the kernel image");
        }

        return new PhysicalAddress(va.Value - Layout.PageOffset + Layout.Machine.PhysOffset.Value);
    }

    /// <summary>The page-cache file reads and writes use (created on first use, pages from highmem first).</summary>
    public PageCacheFile EnsureFile(ulong bytes)
    {
        if (_file is not null && _file.Size >= bytes)
        {
            return _file;
        }

        _file = CreateFile("tmpfs-file", bytes);
        return _file;
    }

    /// <summary>A file of <paramref name="bytes"/> whose pages are all in the page cache (user frames: highmem first).</summary>
    public PageCacheFile CreateFile(string name, ulong bytes)
    {
        PageCacheFile file = new(name, bytes, Memory);
        for (ulong i = 0; i < (bytes + Page - 1) / Page; i++)
        {
            // each page holds its index, written when the page is first read, written or mapped
            file.AddPendingPage(i, AllocUserFrame());
        }

        return file;
    }

    private PhysicalAddress PipePage
    {
        get
        {
            if (_pipePage.Value == 0)
            {
                _pipePage = AllocUserFrame(); // pipe buffers are GFP_HIGHUSER pages (fs/pipe.c)
            }

            return _pipePage;
        }
    }

    /// <summary>
    /// Runs one system call of <paramref name="p"/> from user mode to user mode and returns what it returns; without
    /// <paramref name="returnToUser"/> the task stays in the kernel after the handler (a call a signal interrupted, whose
    /// way out runs the signal code) until <see cref="ReturnToUser"/>.
    /// </summary>
    public SyscallResult Syscall(Process p, SyscallRequest rq, bool returnToUser = true)
    {
        if (Current != p)
        {
            throw new InvalidOperationException($"{p} makes a system call while {Current} is running");
        }

        EnterSyscall(p);
        SyscallResult result = RunHandler(p, rq);
        if (rq.Kind == SyscallKind.Exit || !returnToUser)
        {
            return result; // do_exit never returns; the caller switches to the next task
        }

        ExitKernel();
        return result;
    }

    private SyscallResult RunHandler(Process p, SyscallRequest rq)
    {
        switch (rq.Kind)
        {
            case SyscallKind.Getppid:
                TouchFootprint(KernelPath.Getppid, p);
                ChargeInstructions(EntryPath.Getppid.Instructions);
                return default;
            case SyscallKind.Read:
            case SyscallKind.Write:
                return ReadWrite(p, rq);
            case SyscallKind.Stat:
                {
                    TouchFootprint(KernelPath.Stat, p);
                    ChargeInstructions(Software.Stat);
                    long path = Uaccess.StrncpyFromUser(Scratch(0, 4096), rq.User, 4096); // getname(): PATH_MAX
                    if (path >= 0 && rq.OutBytes > 0)
                    {
                        // the walk done, cp_new_stat (cp_new_stat64, cp_statx) fills the structure on the kernel stack
                        // and copies it out with copy_to_user (fs/stat.c 5.4); readlink's readlink_copy the link's
                        // target (fs/namei.c)
                        GenericCopy(rq.Out, rq.OutBytes, toUser: true);
                    }

                    return new(path);
                }

            case SyscallKind.Open:
                TouchFootprint(KernelPath.Open, p);
                ChargeInstructions(Software.Open);
                return new(Uaccess.StrncpyFromUser(Scratch(0, 4096), rq.User, 4096)); // getname(): PATH_MAX
            case SyscallKind.Close:
                TouchFootprint(KernelPath.Close, p);
                ChargeInstructions(Software.Close);
                return default;
            case SyscallKind.Mmap:
                TouchFootprint(KernelPath.Mmap, p);
                ChargeInstructions(Software.Mmap);
                return new((long)MapRegion(p, rq.Bytes, VmFlags.Read | VmFlags.Write).Value);
            case SyscallKind.Munmap:
                TouchFootprint(KernelPath.Munmap, p);
                ChargeInstructions(Software.Munmap);
                UnmapRegion(p, rq.User, rq.Bytes);
                return default;
            case SyscallKind.Mprotect:
                TouchFootprint(KernelPath.Mprotect, p);
                ChargeInstructions(Software.Mprotect);
                return new(ProtectRegion(p, rq.User, rq.Bytes, rq.Prot));
            case SyscallKind.MadviseDontneed:
                TouchFootprint(KernelPath.Madvise, p);
                ChargeInstructions(Software.Madvise);
                return new(AdviseDontNeed(p, rq.User, rq.Bytes));
            case SyscallKind.Fork:
                TouchFootprint(KernelPath.Fork, p);
                ChargeInstructions(Software.Fork);
                Process child = Fork(p);
                return new(child.Pid, child);
            case SyscallKind.Execve:
                return Exec(p, rq);
            case SyscallKind.Exit:
                TouchFootprint(KernelPath.Exit, p);
                ChargeInstructions(Software.Exit);
                return default;
            case SyscallKind.Wait4:
                TouchFootprint(KernelPath.Wait, p);
                ChargeInstructions(Software.Wait);
                return default;
            case SyscallKind.Nanosleep:
                return Nanosleep(p, rq);
            case SyscallKind.Poll:
                return Poll(p, rq);
            case SyscallKind.GenericIn:
            case SyscallKind.GenericOut:
                // a handler the model does not have: getppid's text and instructions (the same in every design, so they cancel out)
                TouchFootprint(KernelPath.Getppid, p);
                ChargeInstructions(EntryPath.Getppid.Instructions);
                return new(GenericCopy(rq.User, rq.Bytes, toUser: rq.Kind == SyscallKind.GenericOut));
            case SyscallKind.SignalDelivery:
            case SyscallKind.RtSigreturn:
                // setup_rt_frame writes the frame with copy_to_user and __put_user, rt_sigreturn reads it back with
                // copy_from_user and __get_user (arch/*/kernel/signal.c); their own work is unknown and the same in every
                // design: getppid's text and instructions, as a generic call's
                TouchFootprint(KernelPath.Getppid, p);
                ChargeInstructions(EntryPath.Getppid.Instructions);
                return new(GenericCopy(rq.User, rq.Bytes, toUser: rq.Kind == SyscallKind.SignalDelivery));
            default:
                throw new ArgumentOutOfRangeException(nameof(rq), rq.Kind, "a system call the kernel does not have");
        }
    }

    // vfs_read / vfs_write call the descriptor's file_operations: read_zero/write_null (drivers/char/mem.c),
    // pipe_read/pipe_write (fs/pipe.c), the page cache's read_iter/write_iter.
    private SyscallResult ReadWrite(Process p, SyscallRequest rq)
    {
        bool read = rq.Kind == SyscallKind.Read;
        Arch.IndirectCall(); // vfs_read/vfs_write call file->f_op->read(_iter)/write(_iter) indirectly (fs/read_write.c, v5.2)
        switch (rq.File)
        {
            case FileKind.DevZero when read:
                TouchFootprint(KernelPath.DevZeroNull, p);
                ChargeInstructions(Software.DevZeroNull);
                return new((long)(rq.Bytes - Uaccess.ClearUser(rq.User, rq.Bytes)));
            case FileKind.DevZero or FileKind.DevNull:
                // write_zero is write_null, which returns the count without touching the buffer; read_null returns 0
                TouchFootprint(KernelPath.DevZeroNull, p);
                ChargeInstructions(Software.DevZeroNull);
                return new(read ? 0 : (long)rq.Bytes);
            case FileKind.Pipe:
                TouchFootprint(KernelPath.Pipe, p);
                ChargeInstructions(Software.PipeIo);
                return new(PipeIo(rq.User, rq.Bytes, toUser: read));
            case FileKind.PageCache:
                return new(FileIo(p, rq));
            default:
                throw new ArgumentOutOfRangeException(nameof(rq), rq.File, $"{rq.Kind.ToString().ToLowerInvariant()} of a file the kernel has no handler for");
        }
    }

    private long FileIo(Process p, SyscallRequest rq)
    {
        TouchFootprint(KernelPath.FileIo, p);
        bool read = rq.Kind == SyscallKind.Read;
        ChargeInstructions(read ? Software.FileRead : Software.FileWrite);
        PageCacheFile file = _file ?? throw new InvalidOperationException("file I/O without a page-cache file");
        ulong done = 0;
        while (done < rq.Bytes)
        {
            ulong pos = (rq.FileOffset + done) % file.Size;
            ulong index = pos / Page;
            int chunk = (int)Math.Min(rq.Bytes - done, Page - (pos % Page));
            PhysicalAddress frame = file.PageAt(index);
            ChargeInstructions(read ? Software.FileReadPerPage : Software.FileWritePerPage);
            VirtualAddress kva = KmapFrame(frame); // copy_page_to_iter kmaps the page-cache page
            PhysicalAddress pa = Cpu.AccessAddress(kva + (pos % Page), read ? AccessType.Read : AccessType.Write, Privilege.Kernel, out _);
            Cpu.TouchDataLines(pa, (ulong)chunk, store: !read); // the page-cache side of the copy; the user side's lines in the uaccess
            ulong left;
            Span<byte> buf = Scratch(0, chunk);
            if (read)
            {
                Memory.Read(pa, buf);
                left = Uaccess.CopyToUser(rq.User + done, buf, kva + (pos % Page));
            }
            else
            {
                left = Uaccess.CopyFromUser(buf, rq.User + done, kva + (pos % Page));
                Memory.Write(pa, buf[..(int)((ulong)chunk - left)]);
            }

            KunmapFrame(frame, kva);
            done += (ulong)chunk - left;
            if (left != 0)
            {
                break;
            }
        }

        return (long)done;
    }

    // pipe_read/pipe_write copy a page-sized buffer at a time (fs/pipe.c); the model's pipe reuses its one buffer page
    private long PipeIo(VirtualAddress user, ulong bytes, bool toUser)
    {
        ulong done = 0;
        do
        {
            ulong chunk = Math.Min(Page, bytes - done);
            long copied = PipeCopy(user + done, chunk, toUser);
            done += (ulong)copied;
            if ((ulong)copied != chunk)
            {
                break;
            }
        }
        while (done < bytes);

        return (long)done;
    }

    private long PipeCopy(VirtualAddress user, ulong bytes, bool toUser)
    {
        PhysicalAddress frame = PipePage;
        VirtualAddress kva = KmapFrame(frame);
        Translation t = Cpu.Access(kva, toUser ? AccessType.Read : AccessType.Write, Privilege.Kernel);
        Span<byte> buf = Scratch(0, (int)Math.Min(bytes, Page));
        Cpu.TouchDataLines(t.Address, (ulong)buf.Length, store: !toUser); // the pipe buffer's side of the copy
        ulong left;
        if (toUser)
        {
            Memory.Read(t.Address, buf);
            left = Uaccess.CopyToUser(user, buf, kva);
        }
        else
        {
            left = Uaccess.CopyFromUser(buf, user, kva);
            Memory.Write(t.Address, buf);
        }

        KunmapFrame(frame, kva);
        return (long)((ulong)buf.Length - left);
    }

    /// <summary>
    /// One more copy of the call <see cref="Current"/> is in (copy_to_user or copy_from_user through the design's strategy):
    /// a handler that copies more than once, such as poll's __put_user of each revents after its copy of the array. Returns
    /// the bytes copied.
    /// </summary>
    public long UserCopy(VirtualAddress user, ulong bytes, bool toUser)
    {
        if (!InKernel)
        {
            throw new InvalidOperationException("a user copy outside a system call");
        }

        return GenericCopy(user, bytes, toUser);
    }

    // a generic call's copy_from_user / copy_to_user of its argument or result bytes, through the design's uaccess
    private long GenericCopy(VirtualAddress user, ulong bytes, bool toUser)
    {
        ulong done = 0;
        while (done < bytes)
        {
            int chunk = (int)Math.Min(bytes - done, (ulong)ScratchBytes);
            Span<byte> buf = Scratch(0, chunk);
            ulong left = toUser ? Uaccess.CopyToUser(user + done, buf) : Uaccess.CopyFromUser(buf, user + done);
            done += (ulong)chunk - left;
            if (left != 0)
            {
                break;
            }
        }

        return (long)done;
    }

    /// <summary>User code touching its memory, one access per page; page faults are taken and handled as the design does.</summary>
    public void UserTouch(Process p, VirtualAddress start, ulong bytes, bool write) =>
        UserAccess(p, start, bytes, write ? AccessType.Write : AccessType.Read);

    /// <summary>User code executing from its text, one instruction fetch per page (through the instruction TLB).</summary>
    public void UserFetch(Process p, VirtualAddress start, ulong bytes) => UserAccess(p, start, bytes, AccessType.Execute);

    private void UserAccess(Process p, VirtualAddress start, ulong bytes, AccessType a)
    {
        bool write = a == AccessType.Write;
        VirtualAddress end = start + bytes;
        int line = _setup.Profile.Cache.LineBytes;
        for (VirtualAddress va = start.AlignDown(Page); va < end; va += Page)
        {
            // the user code's own work: one load, store or fetch per cache line it covers in this page (assumed 1 cycle each)
            ulong from = Math.Max(va.Value, start.Value);
            ulong to = Math.Min(va.Value + Page, end.Value);
            Cpu.Charge(CostCause.UserWork, (double)((to - from + (ulong)line - 1) / (ulong)line));
            Cpu.AccessAddress(va, a, Privilege.User, out FaultKind fault);
            if (fault == FaultKind.None)
            {
                continue;
            }

            if (fault != FaultKind.Translation)
            {
                throw new InvalidOperationException($"user {a} of {va} in {p}: {fault} fault");
            }

            EnterKernel(exception: true);
            TouchFootprint(KernelPath.Entry, p);
            bool ok = HandleMmFault(p, va, write);
            ExitKernel();
            if (!ok)
            {
                throw new InvalidOperationException($"user {a} of {va} in {p}: segmentation fault (no VMA allows it)");
            }

            Cpu.AccessAddress(va, a, Privilege.User, out fault);
            if (fault != FaultKind.None)
            {
                throw new InvalidOperationException($"user {a} of {va} in {p} faults again after the fault was handled ({fault})");
            }
        }
    }

    /// <summary>
    /// <paramref name="from"/> blocks in the kernel and the CPU switches to <paramref name="to"/>, which
    /// returns to user mode completing its own pending system call (<paramref name="pending"/>).
    /// <paramref name="blocking"/> is the call <paramref name="from"/> blocks in (its handler runs before the switch).
    /// Without <paramref name="returnToUser"/> <paramref name="to"/> stays in the kernel after <paramref name="pending"/>
    /// until <see cref="ReturnToUser"/> (or dies there: <see cref="ExitAndSwitch"/> with inKernel).
    /// </summary>
    public void ContextSwitch(Process from, Process to, SyscallRequest? blocking, SyscallRequest? pending, bool returnToUser = true)
    {
        if (Current != from)
        {
            throw new InvalidOperationException($"switch from {from} while {Current} is running");
        }

        EnterSyscall(from);
        if (blocking is SyscallRequest b)
        {
            RunHandler(from, b);
        }

        SwitchTo(from, to);
        if (pending is SyscallRequest q)
        {
            RunHandler(to, q);
        }

        if (returnToUser)
        {
            ExitKernel();
        }
    }

    /// <summary>schedule() from a task already in the kernel to another (the exit path uses it too).</summary>
    public void SwitchTo(Process? from, Process to)
    {
        TouchFootprint(KernelPath.Schedule, from);
        ChargeInstructions(Software.Schedule);
        Arch.TaskSwitch(); // __switch_to_asm
        SwitchMm(to);
        TouchFootprint(KernelPath.Schedule, to);
    }

    /// <summary>fork(): a new mm with copies of every VMA and page (no copy-on-write: docs/designs.md).</summary>
    public Process Fork(Process parent)
    {
        Process child = CreateProcess();
        (child.MmapBase, child.StackTop) = (parent.MmapBase, parent.StackTop); // dup_mm copies the mm_struct (kernel/fork.c 5.4)
        foreach (Vma v in parent.Vmas.Areas)
        {
            child.Vmas.Insert(new Vma(v.Start, v.End, v.Flags, v.File, v.FileOffset));
        }

        foreach ((ulong va, PhysicalAddress src) in parent.AnonPages.OrderBy(kv => kv.Key))
        {
            PhysicalAddress dst = AllocUserFrame();
            VirtualAddress s = KmapFrame(src);
            VirtualAddress d = KmapFrame(dst);
            Cpu.Access(s, AccessType.Read, Privilege.Kernel);
            Cpu.Access(d, AccessType.Write, Privilege.Kernel);
            Memory.Read(src, Scratch(0, (int)Page));
            Memory.Write(dst, Scratch(0, (int)Page));
            Cpu.ChargeMemcpy(Page);
            Cpu.TouchDataLines(src, Page); // copy_user_highpage: every line of both pages
            Cpu.TouchDataLines(dst, Page, store: true);
            KunmapFrame(dst, d);
            KunmapFrame(src, s);
            child.AnonPages[va] = dst;
            Vma vma = parent.Vmas.Find(new VirtualAddress(va))!;
            MapUserPage(child, new VirtualAddress(va), dst, vma.Flags, "fork: copying the PTE of");

            Isolation.OnUserEntryInstalled(child, new VirtualAddress(va));
        }

        FlushTlbMm(parent); // dup_mmap ends with flush_tlb_mm(oldmm) (kernel/fork.c, Linux 5.4): every CPU of the parent's mm
        return child;
    }

    /// <summary>
    /// exit() of the running process and the switch to <paramref name="next"/>, whose wait4 completes; without
    /// <paramref name="returnToUser"/> <paramref name="next"/> stays in the kernel until <see cref="ReturnToUser"/>. With
    /// <paramref name="inKernel"/> <paramref name="dying"/> is already in the kernel (a fatal signal found on its way out:
    /// get_signal's do_group_exit, kernel/signal.c 5.4) and exits from there, with no entry.
    /// </summary>
    public void ExitAndSwitch(Process dying, Process next, bool returnToUser = true, bool inKernel = false)
    {
        Exit(dying, inKernel);
        SwitchTo(dying, next);
        DestroyProcess(dying);
        RunHandler(next, new SyscallRequest(SyscallKind.Wait4));
        if (returnToUser)
        {
            ExitKernel();
        }
    }

    /// <summary>
    /// The return to user mode of <paramref name="p"/>, which is in the kernel; <paramref name="onReturn"/> (a signal
    /// delivery) runs first, as exit_to_usermode_loop's do_signal runs setup_rt_frame on the way out (arch/x86/entry/common.c,
    /// Linux 5.4; arm64's do_notify_resume, arm's do_work_pending, RISC-V's do_notify_resume).
    /// </summary>
    public void ReturnToUser(Process p, SyscallRequest? onReturn = null)
    {
        if (Current != p)
        {
            throw new InvalidOperationException($"{p} returns to user mode while {Current} is running");
        }

        if (onReturn is SyscallRequest q)
        {
            RunInKernel(p, q);
        }

        ExitKernel();
    }

    /// <summary>
    /// exit() of <paramref name="p"/>: through its own entry, or with <paramref name="inKernel"/> from the kernel it is
    /// already in (a fatal signal found on its way out: get_signal's do_group_exit, kernel/signal.c 5.4), with no entry.
    /// </summary>
    public void Exit(Process p, bool inKernel = false)
    {
        SyscallRequest exit = new(SyscallKind.Exit);
        if (inKernel)
        {
            RunInKernel(p, exit);
        }
        else
        {
            Syscall(p, exit);
        }
    }

    /// <summary>
    /// Runs <paramref name="rq"/>'s handler for <paramref name="p"/>, which is in the kernel and running, with no entry or
    /// exit: a signal delivered on a return already under way (exit_to_usermode_loop runs do_signal once per pending
    /// signal, arch/x86/entry/common.c 5.4), or the exit of a task killed there (get_signal's do_group_exit).
    /// </summary>
    public SyscallResult RunInKernel(Process p, SyscallRequest rq)
    {
        if (Current != p)
        {
            throw new InvalidOperationException($"{p} runs a kernel path while {Current} is running");
        }

        if (!InKernel)
        {
            throw new InvalidOperationException($"{p} runs a kernel path in user mode");
        }

        return RunHandler(p, rq);
    }
}

/// <summary>What a system call returns: its return value and, for fork, the child (for execve, the process with its new mm).</summary>
public readonly record struct SyscallResult(long Value, Process? Child = null);
