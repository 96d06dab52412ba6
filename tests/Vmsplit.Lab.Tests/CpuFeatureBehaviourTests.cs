using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Lab.Tests;

/// <summary>What a CPU's features change in the running kernel, not only in the parser.</summary>
public class CpuFeatureBehaviourTests
{
    internal static CpuProfile Edited(string id, string line, string with)
    {
        string text = CpuProfiles.ShippedText(id)!;
        Assert.Contains(line, text);
        return CpuProfileLoader.Parse(text.Replace(line, with, StringComparison.Ordinal), id + "-edited.yaml");
    }

    [Fact]
    public void WithoutGlobalPagesTheKernelMapsNothingGlobalAndLeavesPgeClear()
    {
        MachineSpec pge = MachineSpec.SkylakeX86();
        MachineSpec noPge = pge with { Profile = Edited("skylake", "  global: { value: true,", "  global: { value: false,") };
        List<long> walksAfterSwitch = [];
        foreach ((MachineSpec m, bool global) in new[] { (pge, true), (noPge, false) })
        {
            SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic"));
            Process p = k.CreateProcess();
            k.Start(p);
            PageTableLookup text = k.KernelTree.Lookup(k.ImageVa);
            Assert.True(text.Found);
            Assert.Equal(global, text.Attributes.Global);
            Assert.Equal(global, (k.Cpu.Mmu.Registers.Cr4 & Cr4Flags.Pge) != 0);

            // the kernel text entry survives a switch to another mm only with global pages
            k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
            Process q = k.CreateProcess();
            k.EnterKernel();
            k.SwitchMm(q);
            k.ExitKernel();
            long walksBefore = k.Cpu.Mmu.Counters.Walks;
            k.Syscall(q, new SyscallRequest(SyscallKind.Getppid));
            walksAfterSwitch.Add(k.Cpu.Mmu.Counters.Walks - walksBefore);
        }

        // getppid touches four translations: the image's first 2 MiB block (entry and getppid text), the
        // block holding the syscall table, cpu_entry_area, and the linear-map block of the stack and task;
        // all cached under the global bit, all walked again without it
        Assert.Equal([0L, 4L], walksAfterSwitch);
    }
}
