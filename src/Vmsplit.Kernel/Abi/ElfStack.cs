using System.Text;

namespace Vmsplit.Kernel.Abi;

/// <summary>
/// What create_elf_tables (fs/binfmt_elf.c, Linux 5.4) writes on a new program's stack that differs per architecture:
/// ELF_PLATFORM (without its NUL; empty where it is NULL), the entries ARCH_DLINFO adds to the auxiliary vector,
/// whether ELF_HWCAP2 is defined (AT_HWCAP2), whether arch_align_stack rounds the stack pointer down to 16 bytes
/// (the generic one returns it unchanged) and the range of the random offset it first subtracts when the address space
/// is randomized (<see cref="AlignRandomBytes"/>: the offset is get_random_int() modulo it; 0 where there is none). Each
/// architecture room gives its row (<c>ArchMm.ElfStack</c>).
/// </summary>
public sealed record ElfStack(string Platform, int DlinfoEntries, bool Hwcap2, bool AlignsStack, uint AlignRandomBytes = 0)
{
    /// <summary>ELF_PLATFORM and its NUL, as __copy_to_user writes it; empty without a platform.</summary>
    public byte[] PlatformBytes { get; } = Platform.Length == 0 ? [] : Encoding.ASCII.GetBytes(Platform + "\0");

    /// <summary>
    /// The auxiliary vector's entries, AT_NULL included: ARCH_DLINFO's, the fifteen every architecture writes (AT_HWCAP
    /// to AT_RANDOM), AT_HWCAP2, AT_EXECFN, AT_PLATFORM when there is one, AT_NULL.
    /// </summary>
    public int AuxvEntries => DlinfoEntries + 15 + (Hwcap2 ? 1 : 0) + 1 + (Platform.Length == 0 ? 0 : 1) + 1;
}
