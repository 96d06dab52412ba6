using System.Text;
using Vmsplit.Hardware;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Tests.Uaccess;

/// <summary>User pages as plain arrays: present pages with a writable flag; everything else faults.</summary>
internal sealed class FakeUserPages : IUserPageAccess
{
    public Dictionary<ulong, (byte[] Data, bool Writable)> Pages { get; } = new();

    public int Sections { get; private set; }

    public int Open { get; private set; }

    public void Add(ulong va, bool writable = true) => Pages[va] = (new byte[4096], writable);

    public void Begin(ulong totalBytes, bool write)
    {
        Sections++;
        Open++;
    }

    public void End() => Open--;

    public bool Read(VirtualAddress source, Span<byte> destination)
    {
        Assert.True((source.Value & 0xfff) + (ulong)destination.Length <= 4096, "a chunk crossed a page");
        if (!Pages.TryGetValue(source.Value & ~0xfffUL, out var p))
        {
            return false;
        }

        p.Data.AsSpan((int)(source.Value & 0xfff), destination.Length).CopyTo(destination);
        return true;
    }

    public bool Write(VirtualAddress destination, ReadOnlySpan<byte> source)
    {
        Assert.True((destination.Value & 0xfff) + (ulong)source.Length <= 4096, "a chunk crossed a page");
        if (!Pages.TryGetValue(destination.Value & ~0xfffUL, out var p) || !p.Writable)
        {
            return false;
        }

        source.CopyTo(p.Data.AsSpan((int)(destination.Value & 0xfff)));
        return true;
    }
}

public class UserAccessTests
{
    private const ulong TaskSize = 0xbf000000; // ARM VMSPLIT_3G: PAGE_OFFSET - 16 MiB

    private static VirtualAddress V(ulong v) => new(v);

    [Fact]
    public void AccessOkFollowsTheAsmGenericFormula()
    {
        UserAccess u = new(TaskSize, new FakeUserPages());
        Assert.True(u.AccessOk(V(TaskSize - 16), 16));
        Assert.False(u.AccessOk(V(TaskSize - 16), 17));
        Assert.True(u.AccessOk(V(TaskSize), 0));
        Assert.False(u.AccessOk(V(0), TaskSize + 1));
        Assert.False(u.AccessOk(V(ulong.MaxValue), 2)); // no wrap-around
    }

    [Fact]
    public void CopyRoundTripsAStringAcrossAPageBoundary()
    {
        FakeUserPages pages = new();
        pages.Add(0x10000);
        pages.Add(0x11000);
        UserAccess u = new(TaskSize, pages);
        byte[] text = Encoding.ASCII.GetBytes("across the boundary between two user pages");
        VirtualAddress at = V(0x11000 - 10);
        Assert.Equal(0UL, u.CopyToUser(at, text));
        Assert.Equal("across the", Encoding.ASCII.GetString(pages.Pages[0x10000].Data, 4096 - 10, 10));
        byte[] back = new byte[text.Length];
        Assert.Equal(0UL, u.CopyFromUser(back, at));
        Assert.Equal(text, back);
        Assert.Equal(0, pages.Open);
    }

    [Fact]
    public void AFaultMidCopyReturnsTheExactRemainderAndZeroesTheTail()
    {
        FakeUserPages pages = new();
        pages.Add(0x10000);
        pages.Pages[0x10000].Data.AsSpan().Fill(0xaa); // page 0x11000 is not mapped
        UserAccess u = new(TaskSize, pages);
        byte[] buf = Enumerable.Repeat((byte)0x55, 100).ToArray();
        ulong left = u.CopyFromUser(buf, V(0x11000 - 30));
        Assert.Equal(70UL, left); // 30 bytes came from the mapped page
        Assert.All(buf[..30], b => Assert.Equal(0xaa, b));
        Assert.All(buf[30..], b => Assert.Equal(0, b)); // _copy_from_user zeroes what it could not copy
        Assert.Equal(100UL, u.CopyToUser(V(0x11000), buf)); // nothing mapped: nothing copied
    }

    [Fact]
    public void CopyBeyondTaskSizeCopiesNothingAndZeroesEverything()
    {
        FakeUserPages pages = new();
        UserAccess u = new(TaskSize, pages);
        byte[] buf = [1, 2, 3, 4];
        Assert.Equal(4UL, u.CopyFromUser(buf, V(TaskSize - 2)));
        Assert.Equal(new byte[4], buf);
        Assert.Equal(0, pages.Sections); // access_ok failed before any access
    }

    [Fact]
    public void ReadOnlyPagesRefuseCopyToUserAndClearUser()
    {
        FakeUserPages pages = new();
        pages.Add(0x20000);
        pages.Add(0x21000, writable: false);
        UserAccess u = new(TaskSize, pages);
        pages.Pages[0x20000].Data.AsSpan().Fill(7);
        Assert.Equal(4096UL + 100, u.ClearUser(V(0x20000 + 4096 - 100), 4096 + 200));
        Assert.All(pages.Pages[0x20000].Data[^100..], b => Assert.Equal(0, b));
        Assert.Equal(7, pages.Pages[0x20000].Data[^101]);
    }

    [Fact]
    public void GetUserAndPutUserReturnZeroOrEfault()
    {
        FakeUserPages pages = new();
        pages.Add(0x30000);
        UserAccess u = new(TaskSize, pages);
        Assert.Equal(0, u.PutUser(V(0x30ffc), 4, 0x11223344)); // the last word of the page
        Assert.Equal(0, u.PutUser(V(0x30010), 4, 0xdeadbeef));
        Assert.Equal(0, u.GetUser(V(0x30010), 4, out ulong v));
        Assert.Equal(0xdeadbeefUL, v);
        Assert.Equal(UserAccess.Efault, u.GetUser(V(0x40000), 4, out ulong w));
        Assert.Equal(0UL, w);
        Assert.Equal(UserAccess.Efault, u.GetUser(V(TaskSize - 2), 4, out _));
    }

    [Fact]
    public void PutUserAcrossIntoAnUnmappedPageFaults()
    {
        FakeUserPages pages = new();
        pages.Add(0x30000);
        UserAccess u = new(TaskSize, pages);
        Assert.Equal(UserAccess.Efault, u.PutUser(V(0x30ffc), 8, 1)); // last 4 bytes land on 0x31000
    }

    [Fact]
    public void StrncpyFromUserConventions()
    {
        FakeUserPages pages = new();
        pages.Add(0x50000);
        pages.Add(0x51000);
        UserAccess u = new(TaskSize, pages);
        byte[] path = Encoding.ASCII.GetBytes("/etc/passwd\0");
        Assert.Equal(0UL, u.CopyToUser(V(0x51000 - 5), path)); // "/etc/" on the first page, the rest on the second
        byte[] dst = new byte[64];
        Assert.Equal(11, u.StrncpyFromUser(dst, V(0x51000 - 5), 64));
        Assert.Equal("/etc/passwd", Encoding.ASCII.GetString(dst, 0, 11));
        Assert.Equal(4, u.StrncpyFromUser(dst, V(0x51000 - 5), 4)); // no NUL within count: returns count
        Assert.Equal(0, u.StrncpyFromUser(dst, V(0x51000 - 5), 0));
        pages.Pages[0x51000].Data[^2] = (byte)'x';
        pages.Pages[0x51000].Data[^1] = (byte)'y';
        Assert.Equal(UserAccess.Efault, u.StrncpyFromUser(dst, V(0x52000 - 2), 64)); // "xy" then an unmapped page
        Assert.Equal(UserAccess.Efault, u.StrncpyFromUser(dst, V(TaskSize), 8));
    }

    [Fact]
    public void StrncpyCutShortByTaskSizeIsEfault()
    {
        FakeUserPages pages = new();
        pages.Add(TaskSize - 0x1000);
        UserAccess u = new(TaskSize, pages);
        pages.Pages[TaskSize - 0x1000].Data.AsSpan().Fill((byte)'a');
        byte[] dst = new byte[64];
        Assert.Equal(UserAccess.Efault, u.StrncpyFromUser(dst, V(TaskSize - 8), 64)); // do_strncpy_from_user: hit max before count
        Assert.Equal(8, u.StrncpyFromUser(dst, V(TaskSize - 8), 8)); // the caller's limit was reached first
    }
}
