using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Tests.Mm;

public class VmaSetTests
{
    private static VirtualAddress V(ulong v) => new(v);

    [Fact]
    public void FindVmaReturnsTheFirstAreaEndingAboveTheAddress()
    {
        VmaSet s = new();
        s.Insert(new Vma(V(0x10000), V(0x20000), VmFlags.Read));
        s.Insert(new Vma(V(0x40000), V(0x50000), VmFlags.Read | VmFlags.Write));
        Assert.Equal(V(0x10000), s.FindVma(V(0x0))!.Start);
        Assert.Equal(V(0x40000), s.FindVma(V(0x20000))!.Start); // in the gap: the next area, as find_vma
        Assert.Null(s.Find(V(0x20000)));
        Assert.Equal(V(0x40000), s.Find(V(0x4ffff))!.Start);
        Assert.Null(s.FindVma(V(0x50000)));
    }

    [Fact]
    public void OverlappingInsertIsRefused()
    {
        VmaSet s = new();
        s.Insert(new Vma(V(0x10000), V(0x20000), VmFlags.Read));
        Assert.Throws<InvalidOperationException>(() => s.Insert(new Vma(V(0x1f000), V(0x21000), VmFlags.Read)));
    }

    [Fact]
    public void MunmapInTheMiddleSplitsTheArea()
    {
        VmaSet s = new();
        PageCacheFile f = new("libc.so", 0x10000);
        s.Insert(new Vma(V(0x10000), V(0x20000), VmFlags.Read, f, 0));
        List<Vma> removed = s.Remove(V(0x14000), V(0x16000));
        Assert.Single(removed);
        Assert.Equal(0x4000UL, removed[0].FileOffset);
        Assert.Equal(2, s.Areas.Count);
        Assert.Equal((V(0x10000), V(0x14000), 0UL), (s.Areas[0].Start, s.Areas[0].End, s.Areas[0].FileOffset));
        Assert.Equal((V(0x16000), V(0x20000), 0x6000UL), (s.Areas[1].Start, s.Areas[1].End, s.Areas[1].FileOffset));
    }

    [Fact]
    public void TopDownPlacementTakesTheHighestGapThatFits()
    {
        VmaSet s = new();
        s.Insert(new Vma(V(0xb0000000), V(0xb0100000), VmFlags.Read));
        Assert.True(s.TryFindFree(0x2000, V(0x10000), V(0xb0101000), out VirtualAddress a));
        Assert.Equal(V(0xaffff000 - 0x1000), a);
        Assert.True(s.TryFindFree(0x1000, V(0x10000), V(0xb0101000), out VirtualAddress b));
        Assert.Equal(V(0xb0100000), b); // the 4 KiB between the area and the top
        Assert.False(s.TryFindFree(0xc0000000, V(0x10000), V(0xb0101000), out _));
    }

    [Fact]
    public void RandomMapAndUnmapKeepAreasSortedDisjointAndAccounted()
    {
        // Model: a set of mapped page numbers; VmaSet must cover exactly those pages.
        Gen<(bool Map, int Page, int Pages)> op =
            from map in Gen.Elements(true, false)
            from page in Gen.Choose(0, 255)
            from pages in Gen.Choose(1, 16)
            select (map, page, pages);
        Prop.ForAll(Arb.From(Gen.ListOf(op)), ops =>
        {
            VmaSet s = new();
            HashSet<int> model = new();
            foreach ((bool map, int page, int pages) in ops)
            {
                VirtualAddress start = V((ulong)page * 4096);
                VirtualAddress end = V((ulong)(page + pages) * 4096);
                if (map)
                {
                    if (Enumerable.Range(page, pages).Any(model.Contains))
                    {
                        continue;
                    }

                    s.Insert(new Vma(start, end, VmFlags.Read));
                    model.UnionWith(Enumerable.Range(page, pages));
                }
                else
                {
                    s.Remove(start, end);
                    model.ExceptWith(Enumerable.Range(page, pages));
                }
            }

            for (int i = 1; i < s.Areas.Count; i++)
            {
                if (s.Areas[i - 1].End > s.Areas[i].Start)
                {
                    return false;
                }
            }

            for (int p = 0; p < 272; p++)
            {
                if ((s.Find(V((ulong)p * 4096)) is not null) != model.Contains(p))
                {
                    return false;
                }
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300).WithReplay(12345UL, 67891UL));
    }
}
