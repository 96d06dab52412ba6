using Vmsplit.Hardware;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// The kernel text each built-in path executes comes from a real symbol table (Data/kernel-text-footprint.tsv,
/// /proc/kallsyms of x86-64 Linux 6.18.44): each function keeps its offset and size, a source page lands on the
/// image page of the same number modulo the image's text pages, so a path spans the pages its functions really span.
/// </summary>
public class KernelFootprintTests
{
    // Pages each path's text spans (the entry stub, run from the design's entry page, not counted), pinned per
    // architecture on its default machine; every architecture's default image has 3 MiB of text (Typical32Bit).
    public static TheoryData<string, KernelPath, int> Spans()
    {
        (KernelPath Path, int Pages)[] pages =
        [
            (KernelPath.Entry, 3), (KernelPath.Getppid, 2), (KernelPath.DevZeroNull, 6), (KernelPath.FileIo, 8),
            (KernelPath.Pipe, 5), (KernelPath.Stat, 9), (KernelPath.Open, 11), (KernelPath.Close, 4),
            (KernelPath.Mmap, 7), (KernelPath.Munmap, 8), (KernelPath.Fork, 9), (KernelPath.Exit, 7),
            (KernelPath.Wait, 3), (KernelPath.Schedule, 8), (KernelPath.Fault, 8), (KernelPath.Mprotect, 3), (KernelPath.Madvise, 6), (KernelPath.Exec, 16),
        ];
        TheoryData<string, KernelPath, int> d = [];
        foreach (KernelArchInfo a in KernelArchitectures.All.Where(a => MachineSpec.ArchesOf(MachineSpec.Require(a.DefaultProfile)).Contains(a.Arch)))
        {
            foreach ((KernelPath path, int n) in pages)
            {
                d.Add(a.Name, path, n);
            }
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(Spans))]
    public void EachBuiltInPathSpansThePagesItsFunctionsSpan(string arch, KernelPath path, int pages)
    {
        KernelArchInfo a = KernelArchitectures.All.Single(x => x.Name == arch);
        MachineSpec m = new(MachineSpec.Require(a.DefaultProfile), a.Arch, 2 * ByteSize.GiB);
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic"));
        IReadOnlyList<VirtualAddress> text = k.PathTextPages(path);
        Assert.Equal(pages, text.Count);
        Assert.Equal(text.Count, text.Distinct().Count());
        Assert.All(text, va => Assert.True(va >= k.ImageVa && va < k.SyscallTablePage, $"{va} outside the image text"));
    }

    [Fact]
    public void GetppidsTwoFunctionsLandOnTheirScaledPages()
    {
        // __x64_sys_getppid at 3682192 (page 898, +3984), 64 bytes; __task_pid_nr_ns at 3743776 (page 914, +32), 192
        // bytes; the image's 3 MiB of text has 767 usable pages (the last holds the syscall table):
        // 898 mod 767 = 131, 914 mod 767 = 147.
        Assert.Equal([131 * 4096UL, 147 * 4096UL], KernelTextFootprint.PageOffsets(KernelPath.Getppid, 3 * 1024 * 1024));
        Assert.Equal(19241728UL, KernelTextFootprint.SourceTextBytes);
    }

    [Fact]
    public void AFunctionThatCrossesAPageBoundarySpansBothPages()
    {
        // x64_sys_call: 5376 bytes from offset 2400672 (page 586, +384): 384 + 5376 = 5760 > 4096, two pages
        FootprintFunction f = KernelTextFootprint.Of(KernelPath.Entry).Single(x => x.Name == "x64_sys_call");
        Assert.Equal((2400672UL, 5376UL), (f.Offset, f.Size));
        ulong page = 586; // 586 < 767: the same page number in the image
        ulong[] entry = KernelTextFootprint.PageOffsets(KernelPath.Entry, 3 * 1024 * 1024, "entry_SYSCALL_64");
        Assert.Contains(page * 4096, entry);
        Assert.Contains((page + 1) * 4096, entry);
    }

    [Fact]
    public void EveryPathHasItsFunctionsInTheTable()
    {
        foreach (KernelPath path in Enum.GetValues<KernelPath>())
        {
            Assert.NotEmpty(KernelTextFootprint.Of(path));
        }

        Assert.Equal("dev-zero-null", KernelTextFootprint.Key(KernelPath.DevZeroNull));
    }
}

/// <summary>
/// Under 4g4g on the default machine a null call walks the TLB for the kernel's pages once the user touches enough
/// pages between calls to push them out of the 512-entry 4-way main TLB (docs/designs.md, "4g4g and the user's
/// working set"): below 512 pages per call only the user's pages walk, from 512 on three kernel pages do.
/// </summary>
public class FourGKernelTlbPressureTests
{
    [Theory]
    [InlineData("wss:4M:256", 256, 256)]
    [InlineData("wss:4M:512", 515, 516)]
    [InlineData("wss:16M:1024", 1027, 1028)]
    public void ANullCallWalksForKernelPagesWhenTheUserPushesThemOut(string workload, long fourGWalks, long classicWalks)
    {
        MachineSpec m = MachineSpec.DefaultArm();
        RunResult fourG = Runner.Run(m, "4g4g", Vmsplit.Workloads.BuiltinWorkloads.Get(workload), 40);
        RunResult classic = Runner.Run(m, "classic", Vmsplit.Workloads.BuiltinWorkloads.Get(workload), 40);
        Assert.Equal(fourGWalks * fourG.Ops, fourG.Tlb.Walks);
        Assert.Equal(classicWalks * classic.Ops, classic.Tlb.Walks);
    }

    /// <summary>
    /// getppid's two functions (kallsyms: __x64_sys_getppid at 3682192, 64 bytes; __task_pid_nr_ns at 3743776, 192 bytes)
    /// lie on source pages 898 and 914 at offsets 3984 and 32; a path that executes 128 bytes of its 256 fetches each
    /// from its entry for half its size.
    /// </summary>
    [Fact]
    public void APathFetchesEachFunctionFromItsEntryInProportionToWhatItExecutes()
    {
        const ulong text = 64UL << 20; // enough text pages that no source page wraps
        Assert.Equal([898UL * 4096, 914UL * 4096], KernelTextFootprint.PageOffsets(KernelPath.Getppid, text));
        (uint, uint)[][] all = KernelTextFootprint.PageRuns(KernelPath.Getppid, text, 4096);
        Assert.Equal([(3984u, 64u)], all[0]);
        Assert.Equal([(32u, 192u)], all[1]);
        (uint, uint)[][] half = KernelTextFootprint.PageRuns(KernelPath.Getppid, text, 128);
        Assert.Equal([(3984u, 32u)], half[0]);
        Assert.Equal([(32u, 96u)], half[1]);
    }
}
