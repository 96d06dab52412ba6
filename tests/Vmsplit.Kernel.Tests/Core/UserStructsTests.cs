using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>
/// The fixed structures a replayed call copies out, per ABI (Linux 5.4 uapi headers), each size worked out by hand from
/// the structure's fields: stat (x86-64 144, asm-generic 128, i386 stat64 96, ARM EABI stat64 104), rusage (2 timeval +
/// 14 longs), sysinfo, tms (4 longs), rlimit (2 longs).
/// </summary>
public sealed class UserStructsTests
{
    [Theory]
    [InlineData(KernelArch.X86_64, 144, 144, 112, 32, 16)]
    [InlineData(KernelArch.X86_64La57, 144, 144, 112, 32, 16)]
    [InlineData(KernelArch.Aarch64, 128, 144, 112, 32, 16)]
    [InlineData(KernelArch.RiscvSv39, 128, 144, 112, 32, 16)]
    [InlineData(KernelArch.X86, 96, 72, 64, 16, 8)]
    [InlineData(KernelArch.X86Pae, 96, 72, 64, 16, 8)]
    [InlineData(KernelArch.Arm, 104, 72, 64, 16, 8)]
    [InlineData(KernelArch.ArmLpae, 104, 72, 64, 16, 8)]
    [InlineData(KernelArch.RiscvSv32, 104, 72, 64, 16, 8)]
    public void EachStructureHasItsAbisSize(KernelArch arch, int stat, int rusage, int sysinfo, int tms, int rlimit)
    {
        Assert.Equal((ulong)stat, UserStructs.Bytes(UserStruct.Stat, arch));
        Assert.Equal((ulong)rusage, UserStructs.Bytes(UserStruct.Rusage, arch));
        Assert.Equal((ulong)sysinfo, UserStructs.Bytes(UserStruct.Sysinfo, arch));
        Assert.Equal((ulong)tms, UserStructs.Bytes(UserStruct.Tms, arch));
        Assert.Equal((ulong)rlimit, UserStructs.Bytes(UserStruct.Rlimit, arch));
        Assert.Equal(0UL, UserStructs.Bytes(UserStruct.None, arch));
    }
}
