namespace Vmsplit.Hardware.Tests;

public sealed class AddressesTests
{
    [Theory]
    [InlineData("4K", 4096UL)]
    [InlineData("4k", 4096UL)]
    [InlineData("4KiB", 4096UL)]
    [InlineData("4 KB", 4096UL)]
    [InlineData("240M", 251_658_240UL)]
    [InlineData("2G", 2_147_483_648UL)]
    [InlineData("1T", 1_099_511_627_776UL)]
    [InlineData("15E", 15UL << 60)]
    [InlineData("0xC0000000", 0xC000_0000UL)]
    [InlineData("0xffff_8880_0000_0000", 0xFFFF_8880_0000_0000UL)]
    [InlineData("1_000", 1000UL)]
    [InlineData(" 16M ", 16UL << 20)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("0xFFFFFFFFFFFFFFFF", ulong.MaxValue)]
    [InlineData("0", 0UL)]
    public void ParsesSizesAndAddresses(string text, ulong expected)
    {
        Assert.True(ByteSize.TryParse(text, out ulong value, out string error), error);
        Assert.Equal(expected, value);
        Assert.Equal(expected, ByteSize.Parse(text));
    }

    [Theory]
    [InlineData("", "empty size")]
    [InlineData("K", "'K' is not a size")]
    [InlineData("-4K", "'-4K' is not a size")]
    [InlineData("4X", "'4X' has an unknown unit 'X'")]
    [InlineData("1.5G", "'1.5G' has an unknown unit '.5G'")]
    [InlineData("0x", "'0x' is not a hexadecimal number")]
    [InlineData("0xg", "'0xg' is not a hexadecimal number")]
    [InlineData("0x10000000000000000", "'0x10000000000000000' does not fit in 64 bits")]
    [InlineData("18446744073709551616", "'18446744073709551616' does not fit in 64 bits")]
    [InlineData("16E", "'16E' does not fit in 64 bits")]
    [InlineData("17179869184G", "'17179869184G' does not fit in 64 bits")]
    public void RejectsWithOneLineMessages(string text, string message)
    {
        Assert.False(ByteSize.TryParse(text, out ulong value, out string error));
        Assert.Equal(0UL, value);
        Assert.StartsWith(message, error);
        Assert.DoesNotContain('\n', error);
        FormatException e = Assert.Throws<FormatException>(() => ByteSize.Parse(text));
        Assert.Equal(error, e.Message);
    }

    [Fact]
    public void RangeCheckNamesWhatWasParsed()
    {
        Assert.True(ByteSize.TryParse("3G", "--ram", 0, 4 * ByteSize.GiB, out ulong v, out _));
        Assert.Equal(3 * ByteSize.GiB, v);
        Assert.False(ByteSize.TryParse("5G", "--ram", ByteSize.MiB, 4 * ByteSize.GiB, out _, out string error));
        Assert.Equal("--ram: 5G is out of range [1M, 4G]", error);
        Assert.False(ByteSize.TryParse("lots", "--ram", 0, 1, out _, out error));
        Assert.StartsWith("--ram: 'lots' is not a size", error);
    }

    [Theory]
    [InlineData(0UL, "0")]
    [InlineData(4096UL, "4K")]
    [InlineData(4097UL, "4097")]
    [InlineData(1_610_612_736UL, "1536M")]
    [InlineData(2_147_483_648UL, "2G")]
    [InlineData(1UL << 60, "1E")]
    [InlineData(3UL << 50, "3P")]
    [InlineData(ulong.MaxValue, "18446744073709551615")]
    public void FormatsInTheLargestExactUnit(ulong bytes, string expected)
    {
        Assert.Equal(expected, ByteSize.Format(bytes));
        Assert.Equal(bytes, ByteSize.Parse(expected));
    }

    [Theory]
    [InlineData(100UL, "100 B")]
    [InlineData(12_288UL, "12 KiB")]
    [InlineData(1_610_612_736UL, "1.5 GiB")]
    [InlineData(939_524_096UL, "896 MiB")]
    [InlineData(1_234_567UL, "1.18 MiB")]
    public void HumanSizesUseBinaryUnits(ulong bytes, string expected) => Assert.Equal(expected, ByteSize.Human(bytes));

    [Fact]
    public void HexIsLowerCaseWithPrefix()
    {
        Assert.Equal("0xc0000000", ByteSize.Hex(0xC000_0000));
        Assert.Equal("0x00ff", ByteSize.Hex(0xFF, 4));
        Assert.Equal("0x0", ByteSize.Hex(0));
        Assert.Equal("0xffff888000000000", new VirtualAddress(0xFFFF_8880_0000_0000).ToString());
    }

    [Fact]
    public void AddressArithmeticAndAlignment()
    {
        VirtualAddress va = new(0x40_1234);
        Assert.Equal(new VirtualAddress(0x40_1000), va.AlignDown(4096));
        Assert.False(va.IsAligned(4096));
        Assert.True(va.AlignDown(4096).IsAligned(4096));
        Assert.Equal(0x234UL, va - new VirtualAddress(0x40_1000));
        Assert.True(va > new VirtualAddress(0x40_0000));
        PhysicalAddress pa = PhysicalAddress.FromFrame(0x1234);
        Assert.Equal(0x123_4000UL, pa.Value);
        Assert.Equal(0x1234UL, pa.FrameNumber);
        Assert.Equal(0x123_5000UL, (pa + 4096).Value);
        Assert.Equal(1UL << 52, PhysicalAddress.Limit);
    }
}
