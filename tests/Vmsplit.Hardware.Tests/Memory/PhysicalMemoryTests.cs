using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Tests.Memory;

public sealed class PhysicalMemoryTests
{
    [Fact]
    public void UnbackedMemoryReadsZeroAndStaysUnbacked()
    {
        PhysicalMemory m = new();
        Assert.Equal(0UL, m.ReadUInt64(new PhysicalAddress(0x1234_5000)));
        Assert.Equal(0U, m.ReadUInt32(new PhysicalAddress(0xFFFF_FFFC)));
        m.WriteUInt64(new PhysicalAddress(0x8000), 0); // zero to unbacked memory changes nothing
        Assert.Equal(0, m.PagesBacked);
        Assert.Equal(2, m.Reads);
        Assert.Equal(1, m.Writes);
        Assert.False(m.IsBacked(new PhysicalAddress(0x8000)));
    }

    [Fact]
    public void WritesBackOnePagePerPageTouched()
    {
        PhysicalMemory m = new();
        m.WriteUInt64(new PhysicalAddress(0x1000_0008), 0x0123_4567_89AB_CDEF);
        m.WriteUInt32(new PhysicalAddress(0x1000_0FFC), 7);
        Assert.Equal(1, m.PagesBacked);
        Assert.Equal(4096, m.BytesBacked);
        m.WriteUInt32(new PhysicalAddress(0x1000_1000), 1);
        Assert.Equal(8192, m.BytesBacked);

        // Little-endian: the low word comes first.
        Assert.Equal(0x89AB_CDEFU, m.ReadUInt32(new PhysicalAddress(0x1000_0008)));
        Assert.Equal(0x0123_4567U, m.ReadUInt32(new PhysicalAddress(0x1000_000C)));
        Span<byte> b = stackalloc byte[2];
        m.Read(new PhysicalAddress(0x1000_0008), b);
        Assert.Equal([0xEF, 0xCD], b.ToArray());
    }

    [Fact]
    public void TopOfTheFiftyTwoBitSpaceIsAddressable()
    {
        PhysicalMemory m = new();
        PhysicalAddress last = new(PhysicalAddress.Limit - 8);
        m.WriteUInt64(last, 0xDEAD_BEEF);
        Assert.Equal(0xDEAD_BEEFUL, m.ReadUInt64(last));
        Assert.Equal(1, m.PagesBacked);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.ReadUInt64(new PhysicalAddress(PhysicalAddress.Limit)));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.WriteUInt32(new PhysicalAddress(PhysicalAddress.Limit), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Write(new PhysicalAddress(PhysicalAddress.Limit - 4), new byte[8]));
        Assert.False(m.IsBacked(new PhysicalAddress(PhysicalAddress.Limit)));
    }

    [Fact]
    public void MisalignedWordAccessesThrow()
    {
        PhysicalMemory m = new();
        Assert.Throws<ArgumentOutOfRangeException>(() => m.ReadUInt64(new PhysicalAddress(4)));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.ReadUInt32(new PhysicalAddress(2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.WriteUInt64(new PhysicalAddress(12), 1));
    }

    [Fact]
    public void SpansCrossPageBoundariesAndHolesReadZero()
    {
        PhysicalMemory m = new();
        byte[] data = new byte[6000];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i * 7);
        }

        m.Write(new PhysicalAddress(0x2F00), data); // 0x2F00..0x4670 touches pages 2, 3 and 4
        Assert.Equal(3, m.PagesBacked);
        byte[] back = new byte[12000];
        m.Read(new PhysicalAddress(0x2000), back);
        Assert.All(back[..0xF00], b => Assert.Equal(0, b));
        Assert.Equal(data, back[0xF00..(0xF00 + 6000)]);
        Assert.All(back[(0xF00 + 6000)..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void ClearZeroesWithoutBackingNewPages()
    {
        PhysicalMemory m = new();
        m.WriteUInt64(new PhysicalAddress(0x5000), ulong.MaxValue);
        m.Clear(new PhysicalAddress(0x4000), 0x10_0000);
        Assert.Equal(0UL, m.ReadUInt64(new PhysicalAddress(0x5000)));
        Assert.Equal(1, m.PagesBacked);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Clear(new PhysicalAddress(PhysicalAddress.Limit - 4096), 8192));
    }
}
