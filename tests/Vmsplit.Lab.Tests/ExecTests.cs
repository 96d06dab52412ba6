using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// execve as fs/exec.c (Linux 5.4) runs it: a new mm with fresh tables, switch_mm to it, the old mm's pages and tables
/// freed; the task stays.
/// </summary>
public class ExecTests
{
    public static TheoryData<string, string> Cases()
    {
        TheoryData<string, string> d = [];
        foreach (KernelArchInfo a in KernelArchitectures.All.Where(a => MachineSpec.ArchesOf(MachineSpec.Require(a.DefaultProfile)).Contains(a.Arch)))
        {
            d.Add(a.Name, "classic");
        }

        d.Add("x86-64", "kpti");
        d.Add("x86-64", "kpti+nopcid");
        d.Add("x86-64", "kpti+kaiser-v1");
        d.Add("arm-lpae", "4g4g");
        return d;
    }

    private static MachineSpec Machine(string arch)
    {
        KernelArchInfo a = KernelArchitectures.All.Single(x => x.Name == arch);
        return new(MachineSpec.Require(a.DefaultProfile), a.Arch, 2 * ByteSize.GiB);
    }

    private static ulong FreeFrames(SimKernel k) => k.Lowmem.FreePages + (k.Highmem?.FreePages ?? 0);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ExecRunsOnANewMmAndFreesTheOldOne(string arch, string design)
    {
        MachineSpec m = Machine(arch);
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design), coherenceCheck: true);
        Process old = k.CreateProcess();
        ulong created = FreeFrames(k); // the task's stack and task_struct, the mm's first tables
        VirtualAddress data = k.MapRegion(old, 16 * 4096, VmFlags.Read | VmFlags.Write);
        k.Start(old);
        k.UserTouch(old, data, 16 * 4096, write: true); // 16 pages and the tables above them, in the TLB
        ushort oldAsid = k.Cpu.Mmu.CurrentAsid;
        PhysicalAddress oldRoot = old.Tables.Root;
        long flushes = k.Cpu.Mmu.Counters.TotalFlushes;
        Assert.True(FreeFrames(k) < created - 16);

        SyscallResult r = k.Syscall(old, new SyscallRequest(SyscallKind.Execve, data, 1)); // the path: an empty string
        Process next = r.Child!;

        // the same task on a new mm: new root, the old mm gone
        Assert.Equal(0, r.Value);
        Assert.Equal((old.Pid, old.KernelStack, old.TaskStruct), (next.Pid, next.KernelStack, next.TaskStruct));
        Assert.Same(next, k.Current);
        Assert.NotEqual(oldRoot, next.Tables.Root);
        Assert.True(old.Exited);
        Assert.DoesNotContain(old, k.Processes);
        Assert.Empty(next.Vmas.Areas);

        // every frame of the old mm is back (its pages and tables), as exit's teardown returns them: a twin kernel that
        // creates another process and destroys this one ends with as many free frames (the task's stack and task_struct
        // are freed and allocated once each there, kept here) ...
        Assert.Equal(TwinAfterExit(m, design), FreeFrames(k));

        // ... which is, by hand, what the process held when created: the new mm's first tables and the task
        Assert.Equal(created, FreeFrames(k));

        // no translation of the old program survives: its address faults in the new mm (the coherence checker would
        // catch a stale TLB hit) ...
        Assert.True(k.Cpu.Mmu.Translate(data, AccessType.Read, Privilege.User).IsFault);

        // ... because the switch changed the ASID (ARM, arm64, x86-64 classic and kpti with PCID) or flushed (x86 without
        // PCID; KAISER v1 and a RISC-V core without ASIDs: one or the other)
        bool asidChanged = k.Cpu.Mmu.CurrentAsid != oldAsid;
        bool flushed = k.Cpu.Mmu.Counters.TotalFlushes > flushes;
        if (m.Arch is KernelArch.X86 or KernelArch.X86Pae || design == "kpti+nopcid")
        {
            Assert.True(flushed, "without PCID the CR3 write flushes the old mm's entries");
        }
        else if (m.Arch is KernelArch.Arm or KernelArch.ArmLpae or KernelArch.Aarch64 || (m.Arch == KernelArch.X86_64 && design is "classic" or "kpti"))
        {
            Assert.True(asidChanged, $"the new mm runs with ASID {k.Cpu.Mmu.CurrentAsid}, the old one's was {oldAsid}");
        }
        else
        {
            Assert.True(asidChanged || flushed, $"ASID {k.Cpu.Mmu.CurrentAsid} as before and no flush");
        }

        // the new program runs: its first touch faults a page in
        VirtualAddress fresh = k.MapRegion(next, 4096, VmFlags.Read | VmFlags.Write);
        k.UserTouch(next, fresh, 4096, write: true);
        Assert.False(k.Cpu.Mmu.Translate(fresh, AccessType.Read, Privilege.User).IsFault);
    }

    // the same process set up, then another process created, switched to, and this one destroyed (exit's teardown)
    private static ulong TwinAfterExit(MachineSpec m, string design)
    {
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design));
        Process old = k.CreateProcess();
        VirtualAddress data = k.MapRegion(old, 16 * 4096, VmFlags.Read | VmFlags.Write);
        k.Start(old);
        k.UserTouch(old, data, 16 * 4096, write: true);
        Process next = k.CreateProcess();
        k.ContextSwitch(old, next, null, null);
        k.DestroyProcess(old);
        return FreeFrames(k);
    }

    [Fact]
    public void AnExecWhosePathFaultsChangesNothing()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic"));
        Process p = k.CreateProcess();
        k.Start(p);
        ulong free = FreeFrames(k);
        SyscallResult r = k.Syscall(p, new SyscallRequest(SyscallKind.Execve, new VirtualAddress(0x10000), 1)); // nothing mapped there
        Assert.Equal((-14L, (Process?)null), (r.Value, r.Child));
        Assert.Same(p, k.Current);
        Assert.Equal(free, FreeFrames(k));
    }
}
