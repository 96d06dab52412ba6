using Vmsplit.Kernel.Abi;

namespace Vmsplit.Workloads;

/// <summary>
/// The benchmark program's own user-mode footprint, which the built-in workloads carry besides their
/// buffers: before every system call its process runs the benchmark loop (one text page), the libc
/// wrapper of that call (one text page per wrapper: libc's wrappers are far apart) and touches its
/// stack. After a TLB flush (a CR3 write without PCID, an ASID rollover) these are the translations a
/// real lmbench loop refills; docs/workloads.md gives the reasoning.
/// </summary>
public static class UserProgram
{
    private const ulong Page = 4096;

    /// <summary>Bytes of the loop and of a wrapper executed per call: a few cache lines of code.</summary>
    public const ulong TextBytesPerPage = 128;

    /// <summary>Bytes of stack the loop and the wrapper touch per call (one frame).</summary>
    public const ulong StackBytes = 64;

    /// <summary>Where in the stack page a stat's struct stat lies: below the touched frame, room for the largest ABI's.</summary>
    public const ulong StatBufferOffset = Page - StackBytes - UserStructs.MaxStatBytes;

    /// <summary>Text pages: the benchmark loop, then one libc wrapper page per system call kind.</summary>
    public static readonly int TextPages = 1 + Enum.GetValues<SyscallKind>().Count(SyscallRequest.IsWorkloadCall);

    /// <summary>Text pages of a program that also makes mprotect and madvise (the built-in mprotect-mt and madvise-mt): their wrapper pages follow.</summary>
    public static readonly int AllCallsTextPages = 2 + (int)SyscallKind.MadviseDontneed;

    /// <summary>
    /// The workload with a text region and a stack region appended, and the program's user step before each call;
    /// <paramref name="allCalls"/>: its program links the wrappers of every call kind, not only the suite's.
    /// </summary>
    public static Workload With(Workload w, bool allCalls = false)
    {
        int text = w.Regions.Count;
        int stack = text + 1;
        int textPages = allCalls ? AllCallsTextPages : TextPages;
        List<UserRegion> regions = [.. w.Regions, new UserRegion("text", (ulong)textPages * Page, Executable: true), new UserRegion("stack", Page, Stack: true)];
        return new Workload(
            w.Name,
            w.Description,
            w.Mirrors,
            w.Processes,
            regions,
            w.FileBytes,
            w.DefaultOps,
            (op, sink) =>
            {
                // the benchmark's events go straight into the sink; the user step is inserted before each
                // call in place (no scratch state, so the wrapper is reentrant and allocation-free)
                int first = sink.Count;
                w.EmitOperation(op, sink);
                for (int i = sink.Count - 1; i >= first; i--)
                {
                    WorkloadEvent e = sink[i];
                    if (e.Kind == EventKind.Syscall && e.Call == SyscallKind.Stat && e.OutRegion < 0)
                    {
                        // lmbench's do_stat keeps its struct stat on the stack, below the frame the loop touches
                        e = e with { OutRegion = stack, OutOffset = StatBufferOffset };
                        sink[i] = e;
                    }

                    if (e.Kind is EventKind.Syscall or EventKind.ContextSwitch || (e.Kind == EventKind.Block && e.File == FileKind.Pipe))
                    {
                        // the user code that runs before the call: loop, wrapper, stack frame
                        sink.Insert(i, WorkloadEvent.Touch(e.Process, stack, Page - StackBytes, StackBytes, write: true) with { Cpu = e.Cpu });
                        sink.Insert(i, WorkloadEvent.Fetch(e.Process, text, WrapperPage(e.Call) * Page, TextBytesPerPage) with { Cpu = e.Cpu });
                        sink.Insert(i, WorkloadEvent.Fetch(e.Process, text, 0, TextBytesPerPage) with { Cpu = e.Cpu });
                    }
                }
            })
        {
            ThreadPerCpu = w.ThreadPerCpu,
            ProcessPerCpu = w.ProcessPerCpu,
            EveryThreadInTurn = w.EveryThreadInTurn,
            OnOneCpu = w.OnOneCpu is null ? null : With(w.OnOneCpu, allCalls),
        };
    }

    /// <summary>The text page holding libc's wrapper for <paramref name="call"/>.</summary>
    public static ulong WrapperPage(SyscallKind call) => 1 + (ulong)call;
}
