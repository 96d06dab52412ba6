using Vmsplit.Hardware;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>A system call returns its result (the value user space gets, and fork's child) instead of writing it into its request.</summary>
public class SyscallTests
{
    [Theory]
    [InlineData(KernelArch.ArmLpae, "classic", "cortex-a15")]
    [InlineData(KernelArch.ArmLpae, "4g4g", "cortex-a15")]
    [InlineData(KernelArch.X86_64, "kpti", "skylake")]
    public void MmapReturnsTheAddressOfTheNewAreaAndReadZeroTheBytesCleared(KernelArch arch, string design, string cpu)
    {
        (SimKernel k, Process p) = KernelBoot.BootRunning(arch, design, cpu);
        SyscallResult mapped = k.Syscall(p, new SyscallRequest(SyscallKind.Mmap, default, 3 * 4096));
        VirtualAddress at = new((ulong)mapped.Value);
        Vma vma = Assert.IsType<Vma>(p.Vmas.Find(at));
        Assert.Equal(at, vma.Start);
        Assert.Equal(3 * 4096UL, vma.End - vma.Start);
        Assert.Null(mapped.Child);

        Assert.Equal(5000, k.Syscall(p, new SyscallRequest(SyscallKind.ReadZero, at + 100, 5000)).Value);
        Assert.Equal(0, k.Syscall(p, new SyscallRequest(SyscallKind.Getppid)).Value);
    }

    [Fact]
    public void ForkReturnsTheChildAndItsPid()
    {
        (SimKernel k, Process p) = KernelBoot.BootRunning(KernelArch.ArmLpae, "classic", "cortex-a15");
        SyscallResult forked = k.Syscall(p, new SyscallRequest(SyscallKind.Fork));
        Process child = Assert.IsType<Process>(forked.Child);
        Assert.NotSame(p, child);
        Assert.Equal(child.Pid, forked.Value);
        Assert.Contains(child, k.Processes);
    }
}
