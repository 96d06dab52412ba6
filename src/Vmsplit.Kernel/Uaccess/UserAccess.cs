using System.Buffers.Binary;
using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// How one design reaches user memory. Each call touches bytes inside ONE user page and reports
/// whether the access succeeded; the strategy (direct access with PAN lifted, pin+kmap, TTBR0 switch,
/// trampoline) lives behind it, with its costs.
/// </summary>
public interface IUserPageAccess
{
    /// <summary>Opens a uaccess section (uaccess_enable / user_access_begin: lift PAN, switch TTBR0, ...).</summary>
    void Begin(ulong totalBytes, bool write);

    /// <summary>Closes it (uaccess_disable / user_access_end).</summary>
    void End();

    /// <summary>
    /// Where the kernel side of the next copy lives: <paramref name="kernel"/> corresponds to
    /// <paramref name="user"/> (default: a register or a buffer the strategy need not reach through the MMU).
    /// </summary>
    void KernelSide(VirtualAddress kernel, VirtualAddress user)
    {
    }

    /// <summary>
    /// A copy_to_user (<paramref name="toUser"/>) or copy_from_user of <paramref name="bytes"/> is about to run: the text of
    /// the routine that copies, where the strategy runs one per call (a strategy that copies page by page fetches its own).
    /// </summary>
    void CopyRoutine(ulong bytes, bool toUser)
    {
    }

    /// <summary>Reads user bytes within one page; false when the access faults and the fault cannot be fixed up.</summary>
    bool Read(VirtualAddress source, Span<byte> destination);

    /// <summary>Writes user bytes within one page; false on an unfixable fault.</summary>
    bool Write(VirtualAddress destination, ReadOnlySpan<byte> source);
}

/// <summary>
/// The uaccess API with Linux's exact return conventions (include/linux/uaccess.h, lib/usercopy.c,
/// lib/strncpy_from_user.c), on top of a design's <see cref="IUserPageAccess"/>. A copy proceeds page by
/// page and stops at the first page that faults; the count of bytes not copied is exact at that page.
/// </summary>
public sealed class UserAccess
{
    public const int Efault = -14; // -EFAULT
    private const ulong PageSize = 4096;
    private readonly IUserPageAccess _pages;

    // what clear_user writes, a page at most at a time (never written to)
    private static readonly byte[] ZeroPage = new byte[PageSize];

    /// <param name="taskSize">TASK_SIZE (access_ok's limit: the asm-generic __access_ok compares against TASK_SIZE_MAX).</param>
    public UserAccess(ulong taskSize, IUserPageAccess pages)
    {
        TaskSize = taskSize;
        _pages = pages;
    }

    public ulong TaskSize { get; }

    /// <summary>access_ok(addr, size): <c>size &lt;= limit &amp;&amp; addr &lt;= limit - size</c> (include/asm-generic/access_ok.h).</summary>
    public bool AccessOk(VirtualAddress address, ulong size) => size <= TaskSize && address.Value <= TaskSize - size;

    /// <summary>copy_from_user: returns bytes NOT copied; the uncopied tail of <paramref name="to"/> is zeroed (_copy_from_user).</summary>
    /// <param name="kernelTo">The kernel address of <paramref name="to"/> when the copy lands in simulated memory (a page-cache or pipe page).</param>
    public ulong CopyFromUser(Span<byte> to, VirtualAddress from, VirtualAddress kernelTo = default)
    {
        ulong n = (ulong)to.Length;
        ulong left = n;
        if (AccessOk(from, n))
        {
            _pages.KernelSide(kernelTo, from);
            _pages.CopyRoutine(n, toUser: false);
            try
            {
                left = Transfer(from, n, write: false, to, default);
            }
            finally
            {
                _pages.KernelSide(default, default);
            }
        }

        if (left != 0)
        {
            to[(int)(n - left)..].Clear();
        }

        return left;
    }

    /// <summary>copy_to_user: returns bytes NOT copied.</summary>
    /// <param name="kernelFrom">The kernel address of <paramref name="from"/> when it lies in simulated memory (a page-cache or pipe page).</param>
    public ulong CopyToUser(VirtualAddress to, ReadOnlySpan<byte> from, VirtualAddress kernelFrom = default)
    {
        ulong n = (ulong)from.Length;
        if (!AccessOk(to, n))
        {
            return n;
        }

        _pages.KernelSide(kernelFrom, to);
        _pages.CopyRoutine(n, toUser: true);
        try
        {
            return Transfer(to, n, write: true, default, from);
        }
        finally
        {
            _pages.KernelSide(default, default);
        }
    }

    /// <summary>clear_user: returns bytes NOT cleared.</summary>
    public ulong ClearUser(VirtualAddress to, ulong n)
    {
        if (!AccessOk(to, n))
        {
            return n;
        }

        ReadOnlySpan<byte> zeros = ZeroPage;
        ulong done = 0;
        _pages.Begin(n, write: true);
        try
        {
            while (done < n)
            {
                VirtualAddress va = to + done;
                int chunk = (int)Math.Min(n - done, PageSize - (va.Value & (PageSize - 1)));
                if (!_pages.Write(va, zeros[..chunk]))
                {
                    break;
                }

                done += (ulong)chunk;
            }
        }
        finally
        {
            _pages.End();
        }

        return n - done;
    }

    /// <summary>get_user of a 1, 2, 4 or 8 byte value: 0 or -EFAULT, with the value zeroed on a fault.</summary>
    public int GetUser(VirtualAddress address, int size, out ulong value)
    {
        CheckScalar(size);
        value = 0;
        Span<byte> buf = stackalloc byte[8];
        buf.Clear();
        if (!AccessOk(address, (ulong)size) || Transfer(address, (ulong)size, write: false, buf[..size], default) != 0)
        {
            return Efault;
        }

        value = BinaryPrimitives.ReadUInt64LittleEndian(buf);
        return 0;
    }

    /// <summary>put_user of a 1, 2, 4 or 8 byte value: 0 or -EFAULT.</summary>
    public int PutUser(VirtualAddress address, int size, ulong value)
    {
        CheckScalar(size);
        Span<byte> buf = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buf, value);
        return AccessOk(address, (ulong)size) && Transfer(address, (ulong)size, write: true, default, buf[..size]) == 0 ? 0 : Efault;
    }

    /// <summary>
    /// strncpy_from_user: the length of the string (without the NUL) when a NUL lies within
    /// <paramref name="count"/> bytes; <paramref name="count"/> when none does (the destination is then not
    /// terminated); -EFAULT when a fault comes first. The limit is clamped to TASK_SIZE - src.
    /// </summary>
    public long StrncpyFromUser(Span<byte> destination, VirtualAddress source, long count)
    {
        if (count <= 0)
        {
            return 0;
        }

        if (source.Value >= TaskSize)
        {
            return Efault;
        }

        ulong max = Math.Min((ulong)count, TaskSize - source.Value);
        ulong done = 0;
        _pages.Begin(max, write: false);
        try
        {
            while (done < max)
            {
                VirtualAddress va = source + done;
                int chunk = (int)Math.Min(max - done, PageSize - (va.Value & (PageSize - 1)));
                Span<byte> dst = destination.Slice((int)done, chunk);
                if (!_pages.Read(va, dst))
                {
                    return Efault;
                }

                int nul = dst.IndexOf((byte)0);
                if (nul >= 0)
                {
                    return (long)done + nul;
                }

                done += (ulong)chunk;
            }
        }
        finally
        {
            _pages.End();
        }

        // Hit the limit: count if the caller's limit was reached, -EFAULT if TASK_SIZE cut it short (do_strncpy_from_user).
        return max == (ulong)count ? count : Efault;
    }

    private ulong Transfer(VirtualAddress user, ulong n, bool write, Span<byte> into, ReadOnlySpan<byte> from)
    {
        ulong done = 0;
        _pages.Begin(n, write);
        try
        {
            while (done < n)
            {
                VirtualAddress va = user + done;
                int chunk = (int)Math.Min(n - done, PageSize - (va.Value & (PageSize - 1)));
                bool ok = write
                    ? _pages.Write(va, from.Slice((int)done, chunk))
                    : _pages.Read(va, into.Slice((int)done, chunk));
                if (!ok)
                {
                    break;
                }

                done += (ulong)chunk;
            }
        }
        finally
        {
            _pages.End();
        }

        return n - done;
    }

    private static void CheckScalar(int size)
    {
        if (size is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentException($"get_user/put_user of {size} bytes"); // a kernel bug, not a user error
        }
    }
}
