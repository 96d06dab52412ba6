using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// The kernel text each built-in path executes comes from a real symbol table of the architecture's own kernel
/// (Data/kernel-text-footprint*.tsv: x86-64 kallsyms of Linux 6.18.44, the System.maps of arm64 Linux 4.19.76, 32-bit
/// ARM Linux 4.4.34 and RISC-V Linux 5.4.61): each function keeps its offset and size, a source page lands on the image
/// page of the same number modulo the image's text pages, so a path spans the pages its functions really span.
/// </summary>
public class KernelFootprintTests
{
    // Pages each path's text spans (the entry stub, run from the design's entry page, not counted), pinned per
    // architecture family on each architecture's default machine; every default image has 3 MiB of text, 767 usable
    // pages. Hand-checkable from the data file: the pages each row's [offset, offset + size) covers, modulo 767, once.
    private static readonly Dictionary<ArchFamily, int[]> s_pages = new()
    {
        // entry, getppid, dev-zero-null, file-io, pipe, stat, open, close, mmap, munmap, fork, exit, wait, schedule,
        // fault, mprotect, madvise, exec, gup, copy-to-user, copy-from-user, memcpy, nanosleep, poll, timer-wakeup, poll-sleep (KernelPath order)
        [ArchFamily.X86] = [3, 2, 6, 8, 5, 9, 11, 4, 7, 8, 9, 7, 3, 8, 8, 3, 6, 16, 4, 1, 1, 1, 6, 6, 5, 4],
        [ArchFamily.Arm64] = [4, 2, 4, 9, 4, 8, 11, 4, 6, 7, 4, 5, 3, 7, 7, 1, 5, 14, 2, 1, 2, 1, 6, 4, 3, 3],
        [ArchFamily.Arm32] = [1, 2, 4, 9, 5, 7, 11, 3, 6, 6, 5, 6, 3, 6, 7, 1, 4, 15, 9, 1, 1, 1, 6, 4, 3, 4],
        [ArchFamily.Riscv] = [1, 2, 4, 8, 4, 6, 10, 4, 6, 4, 3, 3, 2, 5, 4, 2, 3, 9, 7, 2, 2, 1, 5, 4, 3, 2],
    };

    // 32-bit x86 (x86-32 and PAE) runs its own table, Debian 10's Linux 4.19 686-pae System.map
    private static readonly int[] s_x86_32Pages = [1, 2, 5, 9, 5, 9, 14, 3, 6, 6, 4, 5, 3, 8, 7, 1, 5, 16, 3, 1, 1, 1, 5, 3, 3, 4];

    public static TheoryData<string, KernelPath, int> Spans()
    {
        TheoryData<string, KernelPath, int> d = [];
        foreach (KernelArchInfo a in KernelArchitectures.All.Where(a => MachineSpec.ArchesOf(MachineSpec.Require(a.DefaultProfile)).Contains(a.Arch)))
        {
            foreach (KernelPath path in Enum.GetValues<KernelPath>())
            {
                d.Add(a.Name, path, (a.Family == ArchFamily.X86 && a.Arch.Is32Bit() ? s_x86_32Pages : s_pages[a.Family])[(int)path]);
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
    public void EveryPathHasItsFunctionsInEveryTable()
    {
        foreach (KernelTextTable t in KernelTextFootprint.All)
        {
            foreach (KernelPath path in Enum.GetValues<KernelPath>())
            {
                Assert.NotEmpty(t.Of(path));
            }

            Assert.All(t.Functions, f => Assert.True(f.Offset + f.Size <= t.SourceTextBytes, $"{t.Resource}: {f.Name} beyond the text"));
        }

        Assert.Equal("dev-zero-null", KernelTextFootprint.Key(KernelPath.DevZeroNull));
    }
}

/// <summary>Each architecture runs its own kernel's table, with the entry stub its entry page stands for.</summary>
public class KernelTextTablePerArchitectureTests
{
    [Theory]
    [InlineData("x86-64", "data/kernel-text-footprint.tsv", "entry_SYSCALL_64", 19241728UL)]
    [InlineData("x86-32", "data/kernel-text-footprint-x86-32.tsv", "entry_SYSENTER_32", 6976312UL)]
    [InlineData("x86-pae", "data/kernel-text-footprint-x86-32.tsv", "entry_SYSENTER_32", 6976312UL)]
    [InlineData("aarch64", "data/kernel-text-footprint-arm64.tsv", "vectors", 9306112UL)]
    [InlineData("arm", "data/kernel-text-footprint-arm.tsv", null, 8181108UL)]
    [InlineData("arm-lpae", "data/kernel-text-footprint-arm.tsv", null, 8181108UL)]
    [InlineData("riscv-sv39", "data/kernel-text-footprint-riscv.tsv", "handle_exception", 5019318UL)]
    public void EachArchitectureRunsItsOwnKernelsTable(string arch, string resource, string? stub, ulong textBytes)
    {
        KernelArchInfo a = KernelArchitectures.All.Single(x => x.Name == arch);
        MachineSpec m = new(MachineSpec.Require(a.DefaultProfile), a.Arch, 2 * ByteSize.GiB);
        KernelTextTable t = Scenario.Boot(m, Scenario.ParseDesign(m, "classic")).Arch.TextFootprint;
        Assert.Equal((resource, stub, textBytes), (t.Resource, t.EntryStub, t.SourceTextBytes));
    }

    [Fact]
    public void Arm64GetppidLandsOnTheScaledPagesOfItsTwoFunctions()
    {
        // __arm64_sys_getppid at 448624 (page 109, +2160), 80 bytes; __task_pid_nr_ns at 489920 (page 119, +2496), 240
        // bytes: both below 767, so the same page numbers in the 3 MiB image
        Assert.Equal([109 * 4096UL, 119 * 4096UL], KernelTextFootprint.Arm64.PageOffsets(KernelPath.Getppid, 3 * 1024 * 1024));
    }

    [Fact]
    public void Arm64EntrySkipsTheVectorsAndRunsTheAssemblyAndTheCPath()
    {
        // vectors (8192, page 2) is the stub; el0_sync 13504 on page 3, el0_svc 16512 on page 4, el0_svc_handler 90512 on
        // page 22, el0_svc_common 90096 (page 21, +4080) 416 bytes into page 22, ret_to_user 16260 and finish_ret_to_user
        // 16276 (+236, to 16511) on pages 3 and 4 already counted: four pages, in first-touch order
        ulong[] pages = KernelTextFootprint.Arm64.PageOffsets(KernelPath.Entry, 3 * 1024 * 1024, "vectors");
        Assert.Equal([3 * 4096UL, 4 * 4096UL, 22 * 4096UL, 21 * 4096UL], pages);
    }

    [Fact]
    public void X86_32GetppidAndEntryLandOnTheirOwnPages()
    {
        // Debian 10's 4.19.0-17-686-pae System.map: sys_getppid at 510256 (page 124, +2352), 48 bytes; __task_pid_nr_ns at
        // 548928 (page 134, +64), 128 bytes. entry_SYSENTER_32 (.entry.text, 6961152) is the stub; do_fast_syscall_32
        // (14976, 416 bytes) and prepare_exit_to_usermode (14544, 80 bytes) share page 3 of the text
        Assert.Equal([124 * 4096UL, 134 * 4096UL], KernelTextFootprint.X86_32.PageOffsets(KernelPath.Getppid, 3 * 1024 * 1024));
        Assert.Equal([3 * 4096UL], KernelTextFootprint.X86_32.PageOffsets(KernelPath.Entry, 3 * 1024 * 1024, "entry_SYSENTER_32"));
    }

    [Fact]
    public void ArmHasNoStubInItsTextAndRunsVectorSwiToRetFastSyscallOnOnePage()
    {
        // vector_swi 31040, local_restart 31148, ret_fast_syscall 30880: all on page 7 of the text (28672 to 32767)
        Assert.Equal([7 * 4096UL], KernelTextFootprint.Arm.PageOffsets(KernelPath.Entry, 3 * 1024 * 1024));
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
