using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>The benchmark program's own pages (loop and wrapper text, stack) in the kernel's TLBs.</summary>
public class UserProgramTests
{
    private static double WalksPerOp(string design, Workload w)
    {
        RunResult r = Runner.Run(MachineSpec.SkylakeX86(), design, w, 200);
        return (double)r.Tlb.Walks / r.Ops;
    }

    [Fact]
    public void WithoutPcidEachCallRefillsTheLoopTheWrapperAndTheStack()
    {
        Workload bare = WorkloadFile.Parse("name: bare\noperation: [ { syscall: getppid } ]", "bare.yaml"); // no implicit program
        Workload null_ = BuiltinWorkloads.Get("null");

        // kpti+nopcid: SWITCH_TO_USER_CR3 drops every non-global entry, so the program's three pages walk again each call.
        Assert.Equal(WalksPerOp("kpti+nopcid", bare) + 3, WalksPerOp("kpti+nopcid", null_));

        // With PCID (and in classic) nothing is flushed: the program's pages stay resident.
        Assert.Equal(0, WalksPerOp("kpti", null_));
        Assert.Equal(0, WalksPerOp("classic", null_));
    }

    [Theory]
    [InlineData("classic")]
    [InlineData("4g4g+hybrid")]
    public void ForkedChildrenExecuteTheirCopiedText(string design)
    {
        // the child returns from fork in libc and calls _exit: its copied text pages must be executable
        // (before fork copied VM_EXEC into the PTEs this run stopped with a permission fault)
        RunResult r = Runner.Run(MachineSpec.DefaultArm(), design, BuiltinWorkloads.Get("fork-exit"), 5);
        Assert.Equal(2, r.ContextSwitchesPerOp); // to the child, and back when it exits
    }
}
