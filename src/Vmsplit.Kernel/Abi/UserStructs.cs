using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Abi;

/// <summary>A structure of fixed size a system call writes to the user, sized per ABI by <see cref="UserStructs.Bytes"/>.</summary>
public enum UserStruct : byte
{
    None,

    /// <summary>The buffer of fstat, stat, lstat and fstatat: struct stat on 64-bit ABIs, struct stat64 of the *64 calls on 32-bit ones.</summary>
    Stat,

    /// <summary>statx's buffer: struct statx, 0x100 bytes on every ABI (include/uapi/linux/stat.h).</summary>
    Statx,

    /// <summary>struct rusage: two struct timeval and fourteen longs (include/uapi/linux/resource.h).</summary>
    Rusage,

    /// <summary>struct sysinfo (include/uapi/linux/sysinfo.h).</summary>
    Sysinfo,

    /// <summary>struct tms: four __kernel_clock_t, longs (include/uapi/linux/times.h).</summary>
    Tms,

    /// <summary>struct rlimit of getrlimit/ugetrlimit: two unsigned longs (include/uapi/linux/resource.h).</summary>
    Rlimit,
}

/// <summary>The sizes of the fixed structures the replayed system calls copy out, per architecture (Linux 5.4 uapi headers).</summary>
public static class UserStructs
{
    /// <summary>The bytes a call copies to the user for one <paramref name="s"/> on <paramref name="arch"/>.</summary>
    public static ulong Bytes(UserStruct s, KernelArch arch)
    {
        bool narrow = arch.Is32Bit();
        ulong word = narrow ? 4UL : 8UL;
        return s switch
        {
            UserStruct.None => 0,
            UserStruct.Stat => StatBytes(arch),
            UserStruct.Statx => StatxBytes,
            // 2 × struct timeval (two longs each) + 14 longs: 144 on 64-bit, 72 on 32-bit
            UserStruct.Rusage => (4 + 14) * word,
            // long uptime, 3 loads, 6 ram/swap counts, u16 procs and pad, totalhigh, freehigh, u32 mem_unit, char
            // _f[20 - 2 * sizeof(long) - sizeof(int)], rounded to the long's alignment: 112 on 64-bit, 64 on 32-bit
            UserStruct.Sysinfo => narrow ? 64UL : 112UL,
            UserStruct.Tms => 4 * word,
            UserStruct.Rlimit => 2 * word,
            _ => throw new ArgumentOutOfRangeException(nameof(s)),
        };
    }

    /// <summary>struct statx: fixed at 0x100 bytes on every ABI, its spare fields included (include/uapi/linux/stat.h, 5.4).</summary>
    public const ulong StatxBytes = 256;

    /// <summary>The largest struct stat or stat64 of the modelled ABIs (x86-64's): the room a workload leaves for one.</summary>
    public const ulong MaxStatBytes = 144;

    /// <summary>
    /// The buffer of fstat, stat, lstat and fstatat (cp_new_stat, fs/stat.c): x86-64's struct stat, 144 (arch/x86/include/uapi/asm/stat.h); the asm-generic struct stat of arm64
    /// and riscv64, 128 (include/uapi/asm-generic/stat.h); on 32-bit ABIs the C library calls fstat64, stat64, lstat64 or fstatat64
    /// and gets struct stat64 (cp_new_stat64): i386's 96 (its long long fields 4-byte aligned, arch/x86/include/uapi/asm/stat.h), ARM EABI's 104
    /// (arch/arm/include/uapi/asm/stat.h, long long 8-byte aligned) and asm-generic's 104 (riscv32, which in 5.4 exports
    /// no fstat64 and whose C library uses statx: an assumption, no shipped CPU runs it).
    /// </summary>
    public static ulong StatBytes(KernelArch arch) => (arch.Family(), arch.Is32Bit()) switch
    {
        (ArchFamily.X86, false) => 144,
        (_, false) => 128,
        (ArchFamily.X86, true) => 96,
        _ => 104,
    };
}
