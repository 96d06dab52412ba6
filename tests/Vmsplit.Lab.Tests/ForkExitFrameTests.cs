using Vmsplit.Hardware;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// A fork's child that runs, writes and exits gives back every frame it took: its pages, its page tables, its kernel
/// stack and task_struct (kernel/fork.c and kernel/exit.c, Linux 5.4). A kernel table built on demand while it ran
/// (a kmap's fixmap PTE table) would show as a frame missing: Linux builds those at boot.
/// </summary>
public class ForkExitFrameTests
{
    public static TheoryData<string, string> Cases()
    {
        TheoryData<string, string> d = [];
        foreach (KernelArchInfo a in KernelArchitectures.All.Where(a => MachineSpec.ArchesOf(MachineSpec.Require(a.DefaultProfile)).Contains(a.Arch)))
        {
            foreach (string design in a.DefaultDesigns)
            {
                d.Add(a.Name, design);
            }
        }

        return d;
    }

    private static ulong FreeFrames(SimKernel k) => k.Lowmem.FreePages + (k.Highmem?.FreePages ?? 0);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForkedChildGivesBackEveryFrame(string arch, string design)
    {
        KernelArchInfo a = KernelArchitectures.All.Single(x => x.Name == arch);
        MachineSpec m = new(MachineSpec.Require(a.DefaultProfile), a.Arch, 2 * ByteSize.GiB); // highmem on the 32-bit ones
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        Process parent = k.CreateProcess();
        VirtualAddress data = k.MapRegion(parent, 16 * 4096, VmFlags.Read | VmFlags.Write);
        k.Start(parent);
        k.UserTouch(parent, data, 16 * 4096, write: true);
        ulong beforeFork = FreeFrames(k);

        Process child = k.Syscall(parent, new SyscallRequest(SyscallKind.Fork)).Child!;
        Assert.True(FreeFrames(k) < beforeFork, "fork takes the child's task, stack and tables");
        k.ContextSwitch(parent, child, null, null);
        k.UserTouch(child, data, 16 * 4096, write: true); // 16 pages copied (or written in place: no COW in the model)
        VirtualAddress fresh = k.MapRegion(child, 4 * 4096, VmFlags.Read | VmFlags.Write);
        k.UserTouch(child, fresh, 4 * 4096, write: true); // four more pages, maybe a table
        k.ExitAndSwitch(child, parent);

        Assert.Equal(beforeFork, FreeFrames(k));
        Assert.DoesNotContain(child, k.Processes);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ADestroyedProcessGivesBackWhatItsCreationTook(string arch, string design)
    {
        KernelArchInfo a = KernelArchitectures.All.Single(x => x.Name == arch);
        MachineSpec m = new(MachineSpec.Require(a.DefaultProfile), a.Arch, 2 * ByteSize.GiB);
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design));
        Process first = k.CreateProcess();
        k.Start(first);
        ulong beforeCreate = FreeFrames(k);
        Process p = k.CreateProcess();
        VirtualAddress data = k.MapRegion(p, 16 * 4096, VmFlags.Read | VmFlags.Write);
        k.ContextSwitch(first, p, null, null);
        k.UserTouch(p, data, 16 * 4096, write: true); // highmem pages zeroed through kmap_local on the 32-bit ones
        k.ContextSwitch(p, first, null, null);
        k.DestroyProcess(p);
        Assert.Equal(beforeCreate, FreeFrames(k));
    }
}
