using Vmsplit.Hardware;
using Vmsplit.Kernel.Abi;
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

        Assert.Equal(5000, k.Syscall(p, new SyscallRequest(SyscallKind.Read, at + 100, 5000, File: FileKind.DevZero)).Value);
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

    [Theory]
    [InlineData(KernelArch.X86_64, "classic", "skylake")]
    [InlineData(KernelArch.ArmLpae, "4g4g+pin-kmap", "cortex-a15")]
    public void DevZeroAndDevNullFollowTheirFileOperations(KernelArch arch, string design, string cpu)
    {
        (SimKernel k, Process p) = KernelBoot.BootRunning(arch, design, cpu);
        VirtualAddress at = new((ulong)k.Syscall(p, new SyscallRequest(SyscallKind.Mmap, default, 4096)).Value);
        k.Syscall(p, new SyscallRequest(SyscallKind.Read, at, 64, File: FileKind.DevZero)); // faults the page in
        k.Syscall(p, new SyscallRequest(SyscallKind.Write, at, 64, File: FileKind.DevNull)); // refills the path's text lines the fault path evicted from the L1I

        // drivers/char/mem.c: write_null and write_zero return the count, read_null returns 0; none of them copies
        double before = k.Ledger.TotalCycles;
        Assert.Equal(64, k.Syscall(p, new SyscallRequest(SyscallKind.Write, at, 64, File: FileKind.DevNull)).Value);
        double writeNull = k.Ledger.TotalCycles - before;
        before = k.Ledger.TotalCycles;
        Assert.Equal(64, k.Syscall(p, new SyscallRequest(SyscallKind.Write, at, 64, File: FileKind.DevZero)).Value);
        Assert.Equal(writeNull, k.Ledger.TotalCycles - before, 6);
        before = k.Ledger.TotalCycles;
        Assert.Equal(0, k.Syscall(p, new SyscallRequest(SyscallKind.Read, at, 64, File: FileKind.DevNull)).Value);
        Assert.Equal(writeNull, k.Ledger.TotalCycles - before, 6);

        // read_zero clears the buffer through uaccess, which costs more than the bare path
        before = k.Ledger.TotalCycles;
        Assert.Equal(64, k.Syscall(p, new SyscallRequest(SyscallKind.Read, at, 64, File: FileKind.DevZero)).Value);
        Assert.True(k.Ledger.TotalCycles - before > writeNull);
    }

    // stat copies the path in and, after the walk, its struct stat out (cp_new_stat, fs/stat.c): on 4g4g+pin-kmap each copy
    // pins its user page (the path's page, then the buffer's), on classic neither pins; the copy out is memcpy of the
    // ABI's struct stat64 (104 bytes on ARM EABI); a stat without a buffer (access) copies only the path
    [Theory]
    [InlineData("classic", 0, 0)]
    [InlineData("4g4g+pin-kmap", 1, 2)]
    public void StatCopiesItsPathInAndItsStructureOut(string design, int accessPins, int statPins)
    {
        (SimKernel k, Process p) = KernelBoot.BootRunning(KernelArch.ArmLpae, design, "cortex-a15");
        VirtualAddress at = new((ulong)k.Syscall(p, new SyscallRequest(SyscallKind.Mmap, default, 2 * 4096)).Value);
        k.Syscall(p, new SyscallRequest(SyscallKind.Read, at, 8192, File: FileKind.DevZero)); // faults both pages in
        SyscallRequest access = new(SyscallKind.Stat, at, 21);
        SyscallRequest stat = access with { Out = at + 4096, OutBytes = UserStructs.StatBytes(KernelArch.ArmLpae) };
        k.Syscall(p, stat); // the path's text and lines warm

        long pins = k.Gup.Pins;
        double memcpy = k.Ledger.Cycles(Vmsplit.Hardware.Costs.CostCause.Memcpy);
        Assert.True(k.Syscall(p, access).Value >= 0);
        Assert.Equal(accessPins, k.Gup.Pins - pins);
        double pathCopy = k.Ledger.Cycles(Vmsplit.Hardware.Costs.CostCause.Memcpy) - memcpy;

        pins = k.Gup.Pins;
        memcpy = k.Ledger.Cycles(Vmsplit.Hardware.Costs.CostCause.Memcpy);
        Assert.True(k.Syscall(p, stat).Value >= 0);
        Assert.Equal(statPins, k.Gup.Pins - pins);
        Assert.Equal(pathCopy + k.Cpu.Profile.MemcpyCycles(104), k.Ledger.Cycles(Vmsplit.Hardware.Costs.CostCause.Memcpy) - memcpy, 6);
    }

    [Fact]
    public void AReadWithoutAFileKindIsRefused()
    {
        (SimKernel k, Process p) = KernelBoot.BootRunning(KernelArch.X86_64, "classic", "skylake");
        Assert.Throws<ArgumentOutOfRangeException>(() => k.Syscall(p, new SyscallRequest(SyscallKind.Read, default, 1)));
    }
}
