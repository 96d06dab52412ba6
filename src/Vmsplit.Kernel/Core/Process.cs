using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Asid;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Core;

/// <summary>
/// A process: its mm (VMAs, page tables, ASID context) and its task (kernel stack and task_struct in
/// lowmem). The page tables depend on the design: <see cref="Tables"/> is the tree the process runs
/// user code on (the kernel-copy PGD under x86 KPTI), <see cref="UserShadow"/> the KPTI user PGD.
/// </summary>
public sealed class Process
{
    private readonly Dictionary<ulong, int> _pins = new();

    internal Process(int pid, PageTable tables, MmContext context, PhysicalAddress stack, PhysicalAddress task)
    {
        Pid = pid;
        Tables = tables;
        Context = context;
        KernelStack = stack;
        TaskStruct = task;
    }

    public int Pid { get; }

    /// <summary>
    /// mm->mmap_base: below this the mmap area grows down, as arch_pick_mmap_layout set it at the execve that made the mm
    /// (mm/util.c, arch/x86/mm/mmap.c, Linux 5.4); a fork's mm keeps its parent's (dup_mm), a process the kernel did not
    /// exec has the boot's (<see cref="SimKernel.MmapBase"/>).
    /// </summary>
    public ulong MmapBase { get; internal set; }

    /// <summary>The top of the program's stack: randomize_stack_top(STACK_TOP) after setup_arg_pages' arch_align_stack and PAGE_ALIGN at the execve that made the mm (fs/binfmt_elf.c, fs/exec.c 5.4); kept by fork.</summary>
    public ulong StackTop { get; internal set; }

    /// <summary>The user stack pointer execve started the program with (start_thread's sp: below argc, argv, envp and the auxiliary vector); 0 before an execve.</summary>
    public ulong ExecStackPointer { get; internal set; }

    public PageTable Tables { get; }

    /// <summary>x86 KPTI: the user copy of the PGD (user half shared with <see cref="Tables"/>, plus the entry area).</summary>
    public PageTable? UserShadow { get; internal set; }

    public VmaSet Vmas { get; } = new();

    public MmContext Context { get; }

    /// <summary>Physical frame of the top page of the kernel stack (THREAD_SIZE stacks: the top page is where entry pushes).</summary>
    public PhysicalAddress KernelStack { get; }

    /// <summary>Physical frame holding task_struct (a slab object; one page stands for its lines).</summary>
    public PhysicalAddress TaskStruct { get; }

    /// <summary>The anonymous pages this process owns (freed at exit).</summary>
    internal Dictionary<ulong, PhysicalAddress> AnonPages { get; } = new();

    /// <summary>Pages pinned by get_user_pages and not yet unpinned (frame → count).</summary>
    public IReadOnlyDictionary<ulong, int> Pins => _pins;

    public bool Exited { get; internal set; }

    /// <summary>mm_cpumask: the CPUs this mm has been loaded on and that a flush of it must reach (bit = CPU id; each architecture clears bits as its switch_mm does).</summary>
    public ulong CpuMask { get; internal set; }

    /// <summary>Threads of this process beyond the first (clone(CLONE_VM | CLONE_THREAD)): they share the mm.</summary>
    public int ExtraThreads { get; internal set; }

    internal void Pin(PhysicalAddress frame) => _pins[frame.Value] = _pins.GetValueOrDefault(frame.Value) + 1;

    internal void Unpin(PhysicalAddress frame)
    {
        int c = _pins.GetValueOrDefault(frame.Value);
        if (c <= 0)
        {
            throw new InvalidOperationException($"unpin of {frame}, which is not pinned");
        }

        if (c == 1)
        {
            _pins.Remove(frame.Value);
        }
        else
        {
            _pins[frame.Value] = c - 1;
        }
    }

    public override string ToString() => $"pid {Pid}";
}
