using System.Runtime.InteropServices;

namespace Vmsplit.Cli;

/// <summary>What a path names, as far as writing an output is concerned.</summary>
internal enum FileKind
{
    Missing,
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
}

/// <summary>
/// One stat of a path: its kind, the device and inode that identify the object (two spellings of one file
/// have the same pair), and the system's reason when the path could not be examined.
/// </summary>
internal readonly record struct FileProbe(FileKind Kind, string Device, ulong Inode, string? Error)
{
    public string Identity => Device + ":" + Inode;
}

/// <summary>
/// The file type of a path, which .NET does not expose (FileAttributes calls a FIFO or a device "Normal"):
/// statx(2) on Linux. Where statx is missing (other systems, a C library before glibc 2.28, a seccomp filter
/// that refuses it) <see cref="Stat"/> returns null and callers tell directories and files apart with
/// System.IO alone.
/// </summary>
internal static class FileProbes
{
    // AT_FDCWD and AT_SYMLINK_NOFOLLOW: include/uapi/linux/fcntl.h
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;

    // STATX_TYPE | STATX_MODE | STATX_INO: include/uapi/linux/stat.h (Linux 4.11+)
    private const uint StatxMask = 0x1 | 0x2 | 0x100;

    // S_IFMT and the S_IF* types: include/uapi/linux/stat.h
    private const int TypeMask = 0xF000;

    // errno values from include/uapi/asm-generic/errno-base.h and errno.h (the same on x86, arm, arm64, riscv)
    private const int Eperm = 1;
    private const int Enoent = 2;
    private const int Enotdir = 20;
    private const int Enosys = 38;

    // W_OK: POSIX <unistd.h>
    private const int WriteOk = 2;

    private static volatile bool s_statxMissing;
    private static string? s_procDevice;

    /// <summary>
    /// statx of <paramref name="path"/>, following symbolic links or not. A path that does not exist is
    /// <see cref="FileKind.Missing"/> with no error; one that cannot be examined (permission, a link loop)
    /// carries the system's message. Null where statx is not available.
    /// </summary>
    public static FileProbe? Stat(string path, bool followLinks)
    {
        if (s_statxMissing || !OperatingSystem.IsLinux())
        {
            return null;
        }

        int rc;
        Statx buffer;
        try
        {
            rc = NativeMethods.statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxMask, out buffer);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_statxMissing = true;
            return null;
        }

        if (rc != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Enosys or Eperm:
                    s_statxMissing = true; // the call itself is unavailable (old kernel, container seccomp profile)
                    return null;
                case Enoent or Enotdir:
                    return new FileProbe(FileKind.Missing, "", 0, null);
                default:
                    return new FileProbe(FileKind.Missing, "", 0, Marshal.GetPInvokeErrorMessage(errno));
            }
        }

        FileKind kind = (buffer.Mode & TypeMask) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            _ => FileKind.Socket, // 0xC000; nothing else is defined
        };
        return new FileProbe(kind, buffer.DevMajor + "," + buffer.DevMinor, buffer.Inode, null);
    }

    /// <summary>
    /// True when <paramref name="path"/>, or a link on the way to what it names, lives in procfs: /dev/stdout,
    /// /dev/fd/N and /proc/self/fd/N are links to an open descriptor (fs/proc/fd.c), not to a path that could
    /// be replaced by renaming over it.
    /// </summary>
    public static bool IsDescriptorLink(string path)
    {
        s_procDevice ??= Stat("/proc/self", followLinks: false) is { Kind: not FileKind.Missing } proc ? proc.Device : "";
        if (s_procDevice.Length == 0)
        {
            return false;
        }

        string current = path;
        for (int hop = 0; hop < 40; hop++) // MAXSYMLINKS, include/linux/namei.h
        {
            FileProbe? link = Stat(current, followLinks: false);
            if (link is not { Kind: not FileKind.Missing } l)
            {
                return false;
            }

            if (l.Device == s_procDevice)
            {
                return true;
            }

            if (l.Kind != FileKind.SymbolicLink || new FileInfo(current).LinkTarget is not string next)
            {
                return false;
            }

            current = Path.GetFullPath(next, Path.GetDirectoryName(current) ?? "/");
        }

        return false;
    }

    /// <summary>access(2) with W_OK: null where it cannot be asked (Windows).</summary>
    public static bool? CanWrite(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        try
        {
            return NativeMethods.access(path, WriteOk) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    // struct statx, include/uapi/linux/stat.h: the same layout on every architecture, 256 bytes
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Statx
    {
        [FieldOffset(28)]
        public ushort Mode;

        [FieldOffset(32)]
        public ulong Inode;

        [FieldOffset(136)]
        public uint DevMajor;

        [FieldOffset(140)]
        public uint DevMinor;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out Statx buffer);

        [DllImport("libc", SetLastError = true)]
        public static extern int access([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);
    }
}
