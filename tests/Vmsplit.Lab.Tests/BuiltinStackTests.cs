using Vmsplit.Hardware;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Mm;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// The built-in program's stack lies where exec puts it: the top page of the 128 KiB stack VMA setup_arg_pages leaves
/// below the process's stack top (fs/exec.c 5.4), the boot's draw of the layout, not in the mmap area. Seed 1 on x86-64:
/// randomize_stack_top and arch_align_stack give 0x7ffc358cf000 (ProcessLayoutTests.SeedOneGivesTheHandComputedLayout).
/// </summary>
public class BuiltinStackTests
{
    [Fact]
    public void TheBuiltinProgramsStackIsAtTheProcessesStackTop()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic"), seed: 1);
        Runner runner = new(k, BuiltinWorkloads.Get("null"));
        runner.Measure(2);
        Process p = k.Current!;
        Assert.Equal(0x7ffc_358c_f000UL, p.StackTop);
        Vma stack = p.Vmas.Find(new VirtualAddress(p.StackTop - 1))!;
        Assert.Equal((p.StackTop - SimKernel.ExecStackBytes, p.StackTop), (stack.Start.Value, stack.End.Value));
        Assert.True(p.Tables.Lookup(new VirtualAddress(p.StackTop - 64)).Found); // the frame the loop touches before each call
        Assert.True(stack.Start.Value > p.MmapBase);
    }
}
