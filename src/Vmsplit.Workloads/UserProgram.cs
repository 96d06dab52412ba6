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

    /// <summary>Text pages: the benchmark loop, then one libc wrapper page per system call kind.</summary>
    public static readonly int TextPages = 1 + Enum.GetValues<SyscallKind>().Count(SyscallRequest.IsWorkloadCall);

    /// <summary>The workload with a text region and a stack region appended, and the program's user step before each call.</summary>
    public static Workload With(Workload w)
    {
        int text = w.Regions.Count;
        int stack = text + 1;
        List<UserRegion> regions = [.. w.Regions, new UserRegion("text", (ulong)TextPages * Page, Executable: true), new UserRegion("stack", Page)];
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
                    if (e.Kind is EventKind.Syscall or EventKind.ContextSwitch)
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
        };
    }

    /// <summary>The text page holding libc's wrapper for <paramref name="call"/>.</summary>
    public static ulong WrapperPage(SyscallKind call) => 1 + (ulong)call;
}
