using Vmsplit.Cli.Commands;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// <c>vmsplit ptdump</c>: hand-built trees (the Hardware table editor) dumped and compared with the text Linux's
/// dumpers print for them, worked out by hand from arch/x86/mm/dump_pagetables.c and arch/arm64/mm/ptdump.c;
/// then the command on booted designs.
/// </summary>
public sealed class PtdumpTests
{
    private static PageTable Tree(MmuFormat format)
    {
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(0x1000_0000), 16 * ByteSize.MiB));
        return PageTable.Create(PageTableFormat.Get(format), new PhysicalMemory(), allocator);
    }

    private static void Map(PageTable t, ulong va, ulong pa, ulong size, PageAttributes a) =>
        Assert.True(t.Map(new VirtualAddress(va), new PhysicalAddress(pa), size, a).Succeeded);

    [Fact]
    public void X86_64_HandBuiltTree_IsDumpedAsDumpPagetablesPrintsIt()
    {
        PageTable t = Tree(MmuFormat.X86_64);
        Map(t, 0x400000, 0x2000000, 4096, PageAttributes.UserData);
        Map(t, 0x401000, 0x2001000, 4096, PageAttributes.UserText);
        // the direct map's first 2 MiB (pgd 273, pud 0, pmd 0), kernel RW, global, NX
        Map(t, 0xffff888000000000, 0, 2 * ByteSize.MiB, PageAttributes.KernelData);
        string dump = PageTableDump.X86(t, [new DumpMarker(0, "User Space"), new DumpMarker(1UL << 63, "Kernel Space")], is64: true);
        const string none = "                              ";
        Assert.Equal(
            "---[ User Space ]---\n"
            + "0x0000000000000000-0x0000000000400000           4M " + none + "pmd\n"
            + "0x0000000000400000-0x0000000000401000           4K USR RW                     NX pte\n"
            + "0x0000000000401000-0x0000000000402000           4K USR ro                     x  pte\n"
            + "0x0000000000402000-0x0000000000600000        2040K " + none + "pte\n"
            + "0x0000000000600000-0x0000000040000000        1018M " + none + "pmd\n"
            + "0x0000000040000000-0x0000008000000000         511G " + none + "pud\n"
            + "0x0000008000000000-0xffff800000000000   17179737600G " + none + "pgd\n"
            + "---[ Kernel Space ]---\n"
            + "0xffff800000000000-0xffff888000000000        8704G " + none + "pgd\n"
            + "0xffff888000000000-0xffff888000200000           2M     RW         PSE     GLB NX pmd\n"
            + "0xffff888000200000-0xffff888040000000        1022M " + none + "pmd\n"
            + "0xffff888040000000-0xffff890000000000         511G " + none + "pud\n"
            + "0xffff890000000000-0x0000000000000000         119T " + none + "pgd\n",
            dump);
    }

    [Fact]
    public void X86_32_HandBuiltTree_HasEightDigitAddresses_AndTheLevelsPgdPte()
    {
        PageTable t = Tree(MmuFormat.X86_32);
        Map(t, 0xc0000000, 0, 4 * ByteSize.MiB, PageAttributes.KernelText);
        Map(t, 0xc0400000, 0x400000, 4096, PageAttributes.KernelData);
        string dump = PageTableDump.X86(t, [new DumpMarker(0, "User Space"), new DumpMarker(0xc0000000, "Kernel Mapping")], is64: false);
        const string none = "                              ";
        // no NX bit on 2-level x86-32: every present range prints "x  "
        Assert.Equal(
            "---[ User Space ]---\n"
            + "0x00000000-0xc0000000           3G " + none + "pgd\n"
            + "---[ Kernel Mapping ]---\n"
            + "0xc0000000-0xc0400000           4M     ro         PSE     GLB x  pgd\n"
            + "0xc0400000-0xc0401000           4K     RW                 GLB x  pte\n"
            + "0xc0401000-0xc0800000        4092K " + none + "pte\n"
            + "0xc0800000-0x00000000        1016M " + none + "pgd\n",
            dump);
    }

    [Fact]
    public void Aarch64_HandBuiltTtbr1Tree_IsDumpedAsArm64PtdumpPrintsIt()
    {
        PageTable t = Tree(MmuFormat.AArch64Va48);
        const ulong ttbr1 = 0xffff000000000000;
        // the linear map's first 2 MiB as a block, then one 4 KiB page of a vmalloc-like area in the same 1 GiB
        Map(t, 0, 0x4000_0000, 2 * ByteSize.MiB, PageAttributes.KernelData);
        Map(t, 0x40_0000, 0x4100_0000, 4096, PageAttributes.KernelText);
        string dump = PageTableDump.Arm64(t, ttbr1, ttbr1, 0, [new DumpMarker(ttbr1, "Linear Mapping start"), new DumpMarker(0xffff800000000000, "Linear Mapping end")]);
        Assert.Equal(
            "---[ Linear Mapping start ]---\n"
            + "0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL\n"
            + "0xffff000000200000-0xffff000000400000           2M PMD\n"
            + "0xffff000000400000-0xffff000000401000           4K PTE       ro x  SHD AF            UXN    MEM/NORMAL\n"
            + "0xffff000000401000-0xffff000000600000        2044K PTE\n"
            + "0xffff000000600000-0xffff000040000000        1018M PMD\n"
            + "0xffff000040000000-0xffff008000000000         511G PUD\n"
            + "0xffff008000000000-0xffff800000000000      130560G PGD\n"
            + "---[ Linear Mapping end ]---\n"
            + "0xffff800000000000-0x0000000000000000         128T PGD\n",
            dump);
    }

    [Fact]
    public void ArmLpae_HandBuiltTree_IsDumpedAsArmDumpPrintsIt()
    {
        PageTable t = Tree(MmuFormat.ArmLpae);
        Map(t, 0x8000, 0x8000_0000, 4096, PageAttributes.UserData);
        Map(t, 0xc0000000, 0, 2 * ByteSize.MiB, PageAttributes.KernelData);
        Map(t, 0xc0200000, 0x20_0000, 4096, PageAttributes.KernelText);
        string dump = PageTableDump.ArmLpae(t, 0, [new DumpMarker(0, "User Space"), new DumpMarker(0xc0000000, "Kernel Mapping")]);
        // only ranges with attributes; a section shows no memory type; normal memory is AttrIndx 7, L_PTE_MT_WRITEALLOC
        Assert.Equal(
            "---[ User Space ]---\n"
            + "0x00008000-0x00009000           4K PTE USR RW NX SHD MEM/CACHED/WBWA\n"
            + "---[ Kernel Mapping ]---\n"
            + "0xc0000000-0xc0200000           2M PMD RW NX SHD\n"
            + "0xc0200000-0xc0201000           4K PTE     ro x  SHD MEM/CACHED/WBWA\n",
            dump);
    }

    [Fact]
    public void ArmLpae_FirstLevelBlocks_PrintWithTheSectionBits()
    {
        // two 1 GiB blocks of the kernel's linear map (as 4g4g's kernel TTBR0 tree holds them) coalesce into one range
        PageTable t = Tree(MmuFormat.ArmLpae);
        Map(t, 0, 0, ByteSize.GiB, PageAttributes.KernelData);
        Map(t, ByteSize.GiB, ByteSize.GiB, ByteSize.GiB, PageAttributes.KernelData);
        string dump = PageTableDump.ArmLpae(t, 0, [new DumpMarker(0, "Linear Mapping")]);
        Assert.Equal("---[ Linear Mapping ]---\n0x00000000-0x80000000           2G PMD RW NX SHD\n", dump);
    }

    [Fact]
    public void Command_4g4gKernel_HoldsTheLinearMapInTheKernelTtbr0Tree_AndTheImageInTtbr1()
    {
        // the kernel's TTBR0 tree maps all 2 GiB of lowmem at 0 in 1 GiB blocks; TTBR1 from 0xf0000000 holds the image
        (int code, string output, string err) = CliHarness.Run("ptdump", "--design", "4g4g", "--kernel");
        Assert.True(code == 0, err);
        Assert.StartsWith(
            "---[ Linear Mapping (kernel TTBR0, kernel ASID) ]---\n"
            + "0x00000000-0x80000000           2G PMD RW NX SHD\n"
            + "---[ Modules ]---\n"
            + "---[ Kernel Image ]---\n"
            + "0xf1000000-0xf1400000           4M PTE     RW x  SHD MEM/CACHED/WBWA\n",
            output,
            StringComparison.Ordinal);
        Assert.Equal(output, CliHarness.Run("ptdump", "--design", "4g4g").Out); // current_kernel: the same two trees
    }

    [Fact]
    public void Command_4g4gUser_IsTheUserTreeWithoutTheLinearMap()
    {
        (int code, string output, string err) = CliHarness.Run("ptdump", "--design", "4g4g", "--user");
        Assert.True(code == 0, err);
        // the 64 KiB region just below mmap_base: TASK_SIZE 0xf0000000 - 128 MiB - seed 1's arch_mmap_rnd of 0x2f pages (mm/util.c, 5.4)
        Assert.StartsWith("---[ User Space ]---\n0xe7fc1000-0xe7fd1000          64K PTE USR RW NX SHD MEM/CACHED/WBWA\n---[ Modules ]---\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Linear Mapping", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Kernel Mapping", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_ClassicLpaeUser_PrintsEachMarkerOnce_AcrossTheTtbr0AndTtbr1Trees()
    {
        (int code, string output, string err) = CliHarness.Run("ptdump", "--design", "classic", "--user");
        Assert.True(code == 0, err);
        // below mmap_base: TASK_SIZE 0xbf000000 - 128 MiB - seed 1's arch_mmap_rnd of 0x2f pages (mm/util.c, 5.4)
        Assert.StartsWith("---[ User Space ]---\n0xb6fc1000-0xb6fd1000          64K PTE USR RW NX SHD MEM/CACHED/WBWA\n---[ Modules ]---\n---[ Kernel Mapping ]---\n0xc0000000-", output, StringComparison.Ordinal);
        foreach (string marker in new[] { "Modules", "Kernel Mapping", "vmalloc() Area", "FDT Area", "Fixmap Area", "Vectors" })
        {
            Assert.Equal(1, output.Split('\n').Count(l => l == $"---[ {marker} ]---"));
        }
    }

    [Fact]
    public void ArmShort_HandBuiltTree_IsDumpedAsArmDumpPrintsIt_WithDomains_AndTheLinuxPteBits()
    {
        // A user page (domain USER), a kernel 1 MiB section and a kernel text page (domain KERNEL): the section prints
        // the ARMv6+ section bits (AP_WRITE only: "    RW"; XN; S), the pages the Linux pte bits recovered from the
        // hardware pte (AP[1] USR, APX ro, XN, S, TEX[0]:C:B = 0b111 L_PTE_MT_WRITEALLOC).
        PageTable t = Tree(MmuFormat.ArmShort);
        Map(t, 0x8000, 0x8000_0000, 4096, PageAttributes.UserData);
        Map(t, 0xc0000000, 0, ByteSize.MiB, PageAttributes.KernelData);
        Map(t, 0xc0100000, 0x10_0000, 4096, PageAttributes.KernelText);
        string dump = PageTableDump.ArmShort(t, [new DumpMarker(0, "User Space"), new DumpMarker(0xc0000000, "Kernel Mapping")]);
        Assert.Equal(
            "---[ User Space ]---\n"
            + "0x00008000-0x00009000           4K PTE USER    USR RW NX SHD MEM/CACHED/WBWA\n"
            + "---[ Kernel Mapping ]---\n"
            + "0xc0000000-0xc0100000           1M PGD KERNEL      RW NX SHD\n"
            + "0xc0100000-0xc0101000           4K PTE KERNEL      ro x  SHD MEM/CACHED/WBWA\n",
            dump);
    }

    [Fact]
    public void Command_ShortDescriptorArm_DumpsTheCortexA8Kernel()
    {
        (int code, string output, string err) = CliHarness.Run("ptdump", "--machine", "cortex-a8", "--kernel");
        Assert.True(code == 0, err);
        Assert.StartsWith("---[ Modules ]---\n---[ Kernel Mapping ]---\n0xc0000000-", output, StringComparison.Ordinal);
        Assert.Contains(" PGD KERNEL      RW NX SHD\n", output, StringComparison.Ordinal); // the linear map in 1 MiB sections
        Assert.EndsWith("---[ Vectors ]---\n0xffff0000-0xffff2000           8K PTE KERNEL      ro x  SHD MEM/CACHED/WBWA\n---[ Vectors End ]---\n", output, StringComparison.Ordinal);
        (code, string user, err) = CliHarness.Run("ptdump", "--machine", "cortex-a8");
        Assert.True(code == 0, err);
        Assert.StartsWith("---[ User Space ]---\n0xb6fc1000-0xb6fd1000          64K PTE USER    USR RW NX SHD MEM/CACHED/WBWA\n", user, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> ArchRows()
    {
        TheoryData<string, string> rows = new();
        foreach (IGrouping<KernelArch, (CpuProfile Profile, KernelArch Arch)> g in EveryCombinationTests.Machines().GroupBy(x => x.Arch))
        {
            rows.Add(g.First().Profile.Id, g.Key.Name());
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(ArchRows))]
    public void Command_EveryAcceptedDesign_DumpsEveryView_OnEveryArchitecture(string profileId, string archName)
    {
        // every design the parser accepts on the architecture's first shipped CPU, each view: a dump, never an error
        CpuProfile profile = CpuProfiles.Find(profileId)!;
        MachineSpec m = MachineSpec.For(profile, KernelArchitectures.Parse(archName), 2 * ByteSize.GiB);
        MmuFormat format = Scenario.FormatOf(m);
        int dumped = 0;
        foreach (string design in EveryCombinationTests.DesignNames(format))
        {
            if (!DesignSpec.TryParse(design, format, profile, out _, out _))
            {
                continue; // refused before any run (a CPU feature the design needs), as compare refuses it
            }

            foreach (string[] view in new[] { new[] { "--kernel" }, [], ["--user"] })
            {
                (int code, string output, string err) = CliHarness.Run(["ptdump", "--machine", profileId, "--arch", archName, "--design", design, .. view]);
                Assert.True(code == 0, $"{archName} {design} {string.Join(' ', view)}: exit {code}: {err}");
                Assert.StartsWith("---[ ", output, StringComparison.Ordinal);
                dumped++;
            }
        }

        Assert.True(dumped >= 3);
    }

    [Fact]
    public void Command_Default_IsTheArmLpaeKernelOfTheSeeds()
    {
        (int code, string output, string err) = CliHarness.Run("ptdump", "--kernel");
        Assert.True(code == 0, err);
        Assert.StartsWith("---[ Modules ]---\n---[ Kernel Mapping ]---\n0xc0000000-", output, StringComparison.Ordinal);
        Assert.EndsWith("---[ Vectors ]---\n0xffff0000-0xffff2000           8K PTE     ro x  SHD MEM/CACHED/WBWA\n---[ Vectors End ]---\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void RiscvSv39_HandBuiltTree_IsDumpedAsRiscvPtdumpPrintsIt()
    {
        PageTable t = Tree(MmuFormat.RiscvSv39);
        Map(t, 0x10000, 0x8020_0000, 4096, PageAttributes.UserData);
        // the Sv39 linear map
        Map(t, 0xffffffd600000000, 0x8000_0000, 2 * ByteSize.MiB, PageAttributes.KernelData);
        string dump = PageTableDump.Riscv(t, 0, ulong.MaxValue, [new DumpMarker(0, "User Space"), new DumpMarker(0xffffffd600000000, "Linear mapping")]);
        // only mapped ranges are printed; PAGE_KERNEL and the editor set A and D
        Assert.Equal(
            "---[ User Space ]---\n"
            + "0x0000000000010000-0x0000000000011000    0x0000000080200000         4K PTE .   ..     ..   D A . U . W R V\n"
            + "---[ Linear mapping ]---\n"
            + "0xffffffd600000000-0xffffffd600200000    0x0000000080000000         2M PMD .   ..     ..   D A G . . W R V\n",
            dump);
    }

    [Fact]
    public void Command_RiscvKernelFile_StartsAtKernVirtStart_WithTheFixmapMarker()
    {
        (int code, string output, string err) = CliHarness.Run("ptdump", "--arch", "riscv-sv39", "--kernel");
        Assert.True(code == 0, err);
        Assert.StartsWith("---[ Fixmap start ]---\n", output, StringComparison.Ordinal);
        Assert.Contains("---[ Linear mapping ]---\n0xffffffd600000000-", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_KptiUserRoot_MapsLessThanTheKernelRoot()
    {
        (int code, string kernelView, string err) = CliHarness.Run("ptdump", "--machine", "skylake", "--design", "kpti");
        Assert.True(code == 0, err);
        (_, string userView, _) = CliHarness.Run("ptdump", "--machine", "skylake", "--design", "kpti", "--user");
        // current_kernel maps the direct map (1 GiB and 2 MiB pages; PTI with PCID leaves the kernel non-global);
        // current_user (the PTI user PGD) only the process, the 2 MiB of entry text and the cpu_entry_area
        Assert.Contains("-0xffff888080000000           1G     RW         PSE         NX pud\n", kernelView, StringComparison.Ordinal);
        Assert.DoesNotContain(" pud\n", userView.Split('\n').Where(l => !l.Contains("                              pud", StringComparison.Ordinal)).Aggregate("", (a, l) => a + l + "\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("GLB", userView, StringComparison.Ordinal);
        Assert.Contains("           2M     RW         PSE         x  pmd\n", userView, StringComparison.Ordinal);
        Assert.Contains("---[ CPU entry Area ]---\n0xfffffe0000000000-0xfffffe0000001000           4K     RW                     NX pte\n", userView, StringComparison.Ordinal);
        Assert.Contains(" USR RW ", userView, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_Classic_UserAndKernelViewsAreTheSameTree()
    {
        (int code, string kernelView, string err) = CliHarness.Run("ptdump", "--machine", "skylake");
        Assert.True(code == 0, err);
        Assert.Equal(kernelView, CliHarness.Run("ptdump", "--machine", "skylake", "--user").Out);
        Assert.StartsWith("---[ User Space ]---\n", kernelView, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_Arm64Kpti_UserRootHoldsTheTrampolineOnly()
    {
        (int code, string userView, string err) = CliHarness.Run("ptdump", "--machine", "cortex-a72", "--design", "kpti", "--user");
        Assert.True(code == 0, err);
        (_, string kernelView, _) = CliHarness.Run("ptdump", "--machine", "cortex-a72", "--design", "kpti", "--kernel");
        Assert.StartsWith("---[ TTBR0_EL1 ]---\n", userView, StringComparison.Ordinal);
        Assert.Contains(" MEM/NORMAL\n", kernelView, StringComparison.Ordinal);
        Assert.True(kernelView.Split('\n').Count(l => l.Contains("MEM/NORMAL", StringComparison.Ordinal)) > userView.Split('\n').Count(l => l.Contains(" RW ", StringComparison.Ordinal) && l.Contains("MEM/NORMAL", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(new[] { "ptdump", "--process", "0" }, "vmsplit: --process: 0 is not in [1, 16]\n")]
    [InlineData(new[] { "ptdump", "--kernel", "--user" }, "vmsplit: --kernel dumps the kernel's tables; give it without --process and --user\n")]
    public void Command_BadOptions_AreOneLineErrors(string[] args, string expected)
    {
        (int code, _, string err) = CliHarness.Run(args);
        Assert.Equal(2, code);
        Assert.Equal(expected, err);
    }

    [Fact]
    public void Command_IsDeterministic()
    {
        Assert.Equal(CliHarness.Run("ptdump", "--machine", "skylake", "--process", "2").Out, CliHarness.Run("ptdump", "--machine", "skylake", "--process", "2").Out);
    }

    [Fact]
    public void Command_TakesAConfig()
    {
        MachineSpec m = MachineOptions.Resolve(null, null, MachineSpec.DefaultArm(), KernelDotConfig.Load(RepoFiles.PathOf("tests/configs/x86_64_defconfig.config")));
        Assert.Equal(PtdumpCommand.Run(m, "kpti", PtdumpCommand.View.User), CliHarness.Run("ptdump", "--config", RepoFiles.PathOf("tests/configs/x86_64_defconfig.config"), "--user").Out);
    }
}
