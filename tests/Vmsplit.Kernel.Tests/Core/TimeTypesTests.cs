using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>
/// The timespec a time call copies per ABI (Linux 5.4): x86-32 and 32-bit ARM have the time32 calls (struct
/// old_timespec32, 8 bytes); riscv32 has only the _time64 calls (asm-generic/unistd.h without
/// __ARCH_WANT_TIME32_SYSCALLS), so its C library's calls copy __kernel_timespec, 16, as every 64-bit ABI's do.
/// </summary>
public sealed class TimeTypesTests
{
    [Theory]
    [InlineData(KernelArch.X86, 8)]
    [InlineData(KernelArch.X86Pae, 8)]
    [InlineData(KernelArch.Arm, 8)]
    [InlineData(KernelArch.ArmLpae, 8)]
    [InlineData(KernelArch.RiscvSv32, 16)]
    [InlineData(KernelArch.RiscvSv39, 16)]
    [InlineData(KernelArch.Aarch64, 16)]
    [InlineData(KernelArch.X86_64, 16)]
    [InlineData(KernelArch.X86_64La57, 16)]
    public void ANativeTimespecIsOldTimespec32OnlyWhereTheTime32CallsExist(KernelArch arch, int bytes)
    {
        Assert.Equal((ulong)bytes, TimeTypes.Bytes(TimeStruct.Native, arch));
        Assert.Equal(16UL, TimeTypes.Bytes(TimeStruct.Time64, arch));
        Assert.Equal(0UL, TimeTypes.Bytes(TimeStruct.None, arch));
    }
}
