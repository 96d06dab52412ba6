using Vmsplit.Hardware;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Tests.Mm;

/// <summary>Records what vmalloc and kmap ask of the page tables and TLBs, in order.</summary>
internal sealed class RecordingMapper : IKernelMapper
{
    public List<string> Log { get; } = new();

    public Dictionary<ulong, ulong> Ptes { get; } = new();

    public void MapKernelPage(VirtualAddress va, PhysicalAddress frame)
    {
        Ptes[va.Value] = frame.Value;
        Log.Add($"map {va}->{frame}");
    }

    public void UnmapKernelPage(VirtualAddress va)
    {
        Ptes.Remove(va.Value);
        Log.Add($"clear {va}");
    }

    public void FlushKernelRange(VirtualAddress start, VirtualAddress end) => Log.Add($"flush {start}-{end}");

    public void FlushKernelPageLocal(VirtualAddress va) => Log.Add($"flush1 {va}");
}

public class HighmemAndVmallocTests
{
    private static PhysicalAddress P(ulong v) => new(v);

    [Fact]
    public void PkmapReusesAMappedPageAndFlushesStaleSlotsOnlyOnWrap()
    {
        RecordingMapper m = new();
        PkmapPool pool = new(new VirtualAddress(0xbfe00000), 4, m);

        VirtualAddress a = pool.Kmap(P(0x80000000))!.Value; // cursor 0→1: slot 1
        Assert.Equal(new VirtualAddress(0xbfe01000), a);
        Assert.Equal(a, pool.Kmap(P(0x80000000))); // already mapped: same slot, count 3
        Assert.Equal(3, pool.Count(1));
        pool.Kunmap(a);
        pool.Kunmap(a); // count 1: unused but still mapped
        Assert.Equal(new VirtualAddress(0xbfe02000), pool.Kmap(P(0x80001000)));
        Assert.Equal(new VirtualAddress(0xbfe03000), pool.Kmap(P(0x80002000)));
        Assert.Equal(0, pool.Wraps);

        // Cursor wraps to 0: slot 1 (count 1) is cleared and the whole range flushed once; slot 0 is free.
        Assert.Equal(new VirtualAddress(0xbfe00000), pool.Kmap(P(0x80003000)));
        Assert.Equal(1, pool.Wraps);
        Assert.Equal(
            [
                "map 0xbfe01000->0x80000000", "map 0xbfe02000->0x80001000", "map 0xbfe03000->0x80002000",
                "clear 0xbfe01000", "flush 0xbfe00000-0xbfe04000", "map 0xbfe00000->0x80003000",
            ],
            m.Log);

        // The first page lost its mapping, so mapping it again takes a new slot (1, freed by the wrap).
        Assert.Equal(new VirtualAddress(0xbfe01000), pool.Kmap(P(0x80000000)));
        // All four slots busy: Linux would sleep; the model reports null.
        Assert.Null(pool.Kmap(P(0x80009000)));
    }

    [Fact]
    public void KmapLocalUsesPerCpuFixmapSlotsAndFlushesOnUnmap()
    {
        RecordingMapper m = new();
        KmapLocal k = new(new VirtualAddress(0xffeff000), fixKmapBegin: 1, cpus: 2, m, flushAfterMap: true);
        VirtualAddress a = k.Map(0, P(0x90000000));
        VirtualAddress b = k.Map(0, P(0x90001000));
        VirtualAddress c = k.Map(1, P(0x90002000));
        Assert.Equal(new VirtualAddress(0xffeff000 - 0x1000), a); // FIXADDR_TOP - (1 << 12)
        Assert.Equal(new VirtualAddress(0xffeff000 - 0x2000), b);
        Assert.Equal(new VirtualAddress(0xffeff000 - ((1 + 16) * 0x1000UL)), c); // CPU 1 starts KM_MAX_IDX further down
        Assert.Throws<InvalidOperationException>(() => k.Unmap(0, a)); // not the top of the stack
        k.Unmap(0, b);
        k.Unmap(0, a);
        Assert.Equal(0, k.Depth(0));
        Assert.Equal(["clear 0xffefd000", "flush1 0xffefd000", "clear 0xffefe000", "flush1 0xffefe000"], m.Log.Skip(6));
    }

    [Fact]
    public void VmallocIsFirstFitWithGuardPagesAndLazyPurge()
    {
        RecordingMapper m = new();
        VmallocSpace v = new(new VirtualAddress(0xf0000000), new VirtualAddress(0xf0010000), m);
        VmapArea a = v.Map([P(0x1000), P(0x2000)])!;
        VmapArea b = v.Map([P(0x3000)])!;
        Assert.Equal(new VirtualAddress(0xf0000000), a.Start);
        Assert.Equal(0x3000UL, a.Size); // two pages and the guard
        Assert.Equal(new VirtualAddress(0xf0003000), b.Start);

        v.Unmap(a); // PTEs cleared now, range held lazily, no flush yet
        Assert.Equal(3UL, v.LazyPages);
        Assert.DoesNotContain(m.Log, l => l.StartsWith("flush", StringComparison.Ordinal));
        VmapArea c = v.Map([P(0x4000)])!;
        Assert.Equal(new VirtualAddress(0xf0005000), c.Start); // the lazy range is not reused before a purge

        // 0x10000 bytes total: c holds 0x5000..0x7000; eight pages and a guard fill the rest exactly.
        VmapArea d = v.Map(Enumerable.Range(0, 8).Select(i => P(0x10000 + ((ulong)i * 0x1000))).ToArray())!;
        Assert.Equal(new VirtualAddress(0xf0007000), d.Start);
        VmapArea? e = v.Map([P(0x20000), P(0x21000)]);
        Assert.NotNull(e);
        Assert.Equal(new VirtualAddress(0xf0000000), e!.Start); // reclaimed by the purge on failure
        Assert.Contains("flush 0xf0000000-0xf0003000", m.Log);
        Assert.Equal(1, v.Purges);
    }

    [Fact]
    public void LazyMaxPagesFollowsOnlineCpus()
    {
        RecordingMapper m = new();
        Assert.Equal(8192UL, new VmallocSpace(new VirtualAddress(0xf0000000), new VirtualAddress(0xff000000), m, 1).LazyMaxPages);
        Assert.Equal(3 * 8192UL, new VmallocSpace(new VirtualAddress(0xf0000000), new VirtualAddress(0xff000000), m, 4).LazyMaxPages);
    }
}
