using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vmsplit.Hardware.Memory;

/// <summary>
/// Sparse physical memory: a 4 KiB page is backed only once written; reads of unbacked memory return
/// zeros. Addresses reach 2^52 through a three-level radix of page arrays, so nothing is allocated for
/// the holes between RAM banks.
/// </summary>
public sealed class PhysicalMemory
{
    public const int PageShift = 12;
    public const int PageSize = 1 << PageShift;
    private const int LeafBits = 14;
    private const int MidBits = 14;
    private const int TopBits = PhysicalAddress.MaxBits - PageShift - LeafBits - MidBits;
    private const ulong LeafMask = (1UL << LeafBits) - 1;
    private const ulong MidMask = (1UL << MidBits) - 1;

    private readonly byte[]?[]?[]?[] _top = new byte[]?[]?[]?[1 << TopBits];
    private long _pagesBacked;

    /// <summary>Bytes of simulated memory that have been written at least once.</summary>
    public long BytesBacked => _pagesBacked * PageSize;

    public long PagesBacked => _pagesBacked;

    /// <summary>Counts every word read (page-table walks read descriptors through here).</summary>
    /// <remarks>Settable inside the hardware assembly so that the coherence checker's verification walks leave no trace.</remarks>
    public long Reads { get; internal set; }

    public long Writes { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte[]? PageOrNull(ulong pa)
    {
        ulong pfn = pa >> PageShift;
        byte[]?[]?[]? mid = _top[pfn >> (LeafBits + MidBits)];
        if (mid is null)
        {
            return null;
        }

        byte[]?[]? leaf = mid[(pfn >> LeafBits) & MidMask];
        return leaf?[pfn & LeafMask];
    }

    private byte[] PageForWrite(ulong pa)
    {
        ulong pfn = pa >> PageShift;
        ref byte[]?[]?[]? mid = ref _top[pfn >> (LeafBits + MidBits)];
        mid ??= new byte[]?[]?[1 << MidBits];
        ref byte[]?[]? leaf = ref mid[(pfn >> LeafBits) & MidMask];
        leaf ??= new byte[]?[1 << LeafBits];
        ref byte[]? page = ref leaf[pfn & LeafMask];
        if (page is null)
        {
            page = new byte[PageSize];
            _pagesBacked++;
        }

        return page;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Check(ulong pa, int width)
    {
        if (pa >= PhysicalAddress.Limit || (pa & (ulong)(width - 1)) != 0)
        {
            ThrowBadAccess(pa, width);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadAccess(ulong pa, int width) =>
        throw new ArgumentOutOfRangeException(nameof(pa), $"physical access of {width} bytes at {ByteSize.Hex(pa)} is misaligned or beyond 2^52");

    /// <summary>Reads a little-endian 64-bit word (naturally aligned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadUInt64(PhysicalAddress address)
    {
        ulong pa = address.Value;
        Check(pa, 8);
        Reads++;
        byte[]? page = PageOrNull(pa);
        if (page is null)
        {
            return 0;
        }

        // Check() made the word naturally aligned inside the 4 KiB page, so the read needs no bounds check.
        ulong value = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(page), (nint)(pa & (PageSize - 1))));
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }

    /// <summary>Reads a little-endian 32-bit word (naturally aligned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadUInt32(PhysicalAddress address)
    {
        ulong pa = address.Value;
        Check(pa, 4);
        Reads++;
        byte[]? page = PageOrNull(pa);
        if (page is null)
        {
            return 0;
        }

        uint value = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(page), (nint)(pa & (PageSize - 1))));
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }

    public void WriteUInt64(PhysicalAddress address, ulong value)
    {
        ulong pa = address.Value;
        Check(pa, 8);
        Writes++;
        if (value == 0 && PageOrNull(pa) is null)
        {
            return; // writing zero to unbacked memory changes nothing observable
        }

        BinaryPrimitives.WriteUInt64LittleEndian(PageForWrite(pa).AsSpan((int)(pa & (PageSize - 1))), value);
    }

    public void WriteUInt32(PhysicalAddress address, uint value)
    {
        ulong pa = address.Value;
        Check(pa, 4);
        Writes++;
        if (value == 0 && PageOrNull(pa) is null)
        {
            return;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(PageForWrite(pa).AsSpan((int)(pa & (PageSize - 1))), value);
    }

    /// <summary>Copies bytes out of physical memory, across page boundaries; unbacked bytes read as zero.</summary>
    public void Read(PhysicalAddress address, Span<byte> destination)
    {
        ulong pa = address.Value;
        CheckRange(pa, destination.Length);
        while (!destination.IsEmpty)
        {
            int offset = (int)(pa & (PageSize - 1));
            int chunk = Math.Min(destination.Length, PageSize - offset);
            byte[]? page = PageOrNull(pa);
            if (page is null)
            {
                destination[..chunk].Clear();
            }
            else
            {
                page.AsSpan(offset, chunk).CopyTo(destination);
            }

            destination = destination[chunk..];
            pa += (ulong)chunk;
        }
    }

    /// <summary>Copies bytes into physical memory, across page boundaries, backing pages as needed.</summary>
    public void Write(PhysicalAddress address, ReadOnlySpan<byte> source)
    {
        ulong pa = address.Value;
        CheckRange(pa, source.Length);
        while (!source.IsEmpty)
        {
            int offset = (int)(pa & (PageSize - 1));
            int chunk = Math.Min(source.Length, PageSize - offset);
            source[..chunk].CopyTo(PageForWrite(pa).AsSpan(offset, chunk));
            source = source[chunk..];
            pa += (ulong)chunk;
        }
    }

    /// <summary>Zeroes a range; pages that were never backed stay unbacked.</summary>
    public void Clear(PhysicalAddress address, ulong length)
    {
        ulong pa = address.Value;
        CheckRange(pa, 0);
        if (length > PhysicalAddress.Limit - pa)
        {
            ThrowBadAccess(pa, 0);
        }

        while (length > 0)
        {
            int offset = (int)(pa & (PageSize - 1));
            int chunk = (int)Math.Min(length, (ulong)(PageSize - offset));
            PageOrNull(pa)?.AsSpan(offset, chunk).Clear();
            length -= (ulong)chunk;
            pa += (ulong)chunk;
        }
    }

    /// <summary>Whether the page holding <paramref name="address"/> has ever been written.</summary>
    public bool IsBacked(PhysicalAddress address) => address.Value < PhysicalAddress.Limit && PageOrNull(address.Value) is not null;

    private static void CheckRange(ulong pa, int length)
    {
        if (pa >= PhysicalAddress.Limit || (ulong)length > PhysicalAddress.Limit - pa)
        {
            ThrowBadAccess(pa, length);
        }
    }
}
