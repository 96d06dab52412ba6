using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Abi;

/// <summary>
/// Which time structure a time system call copies, as Linux 5.4 picks it per ABI (include/linux/time32.h,
/// include/uapi/linux/time_types.h, kernel/time/time.c).
/// </summary>
public enum TimeStruct : byte
{
    None,

    /// <summary>
    /// The call's own struct timespec or struct timeval: on a 32-bit ABI with the time32 calls (nanosleep →
    /// sys_nanosleep_time32, clock_gettime → sys_clock_gettime32, ...) struct old_timespec32 or struct timeval of two
    /// 32-bit longs (8 bytes, get_old_timespec32/put_old_timespec32); elsewhere struct __kernel_timespec (16 bytes).
    /// </summary>
    Native,

    /// <summary>The _time64 calls (clock_nanosleep_time64, clock_gettime64, ...): struct __kernel_timespec, 16 bytes on every ABI.</summary>
    Time64,
}

/// <summary>The sizes of the time structures the system calls copy, per architecture (Linux 5.4).</summary>
public static class TimeTypes
{
    /// <summary>sizeof(struct __kernel_timespec): two 64-bit fields (include/uapi/linux/time_types.h).</summary>
    public const ulong KernelTimespecBytes = 16;

    /// <summary>sizeof(struct old_timespec32): two s32 (include/linux/time32.h).</summary>
    public const ulong OldTimespec32Bytes = 8;

    /// <summary>
    /// Whether the 32-bit ABI of <paramref name="arch"/> has the time32 system calls: x86-32 and 32-bit ARM do
    /// (arch/x86/entry/syscalls/syscall_32.tbl and arch/arm/tools/syscall.tbl, 5.4: nanosleep is sys_nanosleep_time32);
    /// riscv32 does not (arch/riscv/include/uapi/asm/unistd.h 5.4 defines no __ARCH_WANT_TIME32_SYSCALLS, so
    /// asm-generic/unistd.h gives it only the _time64 calls, which its C library's nanosleep and clock_gettime use);
    /// 64-bit ABIs have only the one native variant.
    /// </summary>
    public static bool HasTime32Calls(KernelArch arch) => arch.Is32Bit() && arch.Family() != Vmsplit.Hardware.Paging.ArchFamily.Riscv;

    /// <summary>The bytes a call of <paramref name="kind"/> copies for one timespec (or timeval) on <paramref name="arch"/>.</summary>
    public static ulong Bytes(TimeStruct kind, KernelArch arch) => kind switch
    {
        TimeStruct.None => 0,
        TimeStruct.Native when HasTime32Calls(arch) => OldTimespec32Bytes,
        _ => KernelTimespecBytes,
    };
}
