using Vmsplit.Cli.Commands;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// <c>--config FILE</c>: a Linux .config (tests/configs/, derived from real defconfigs) gives the same layouts and
/// machines as the equivalent options; explicit options win; contradictions and malformed lines are one line
/// naming FILE:LINE with exit code 2.
/// </summary>
public sealed class DotConfigTests
{
    private static string Config(string name) => RepoFiles.PathOf($"tests/configs/{name}_defconfig.config");

    private static string Layout(params string[] args)
    {
        (int code, string output, string err) = CliHarness.Run(["layout", "--ram", "2G", "--format", "json", .. args]);
        Assert.True(code == 0, err);
        return output;
    }

    [Theory]
    [InlineData("i386", new[] { "--arch", "x86-32", "--split", "3G", "--nr-cpus", "8" })]
    [InlineData("x86_64", new[] { "--arch", "x86-64" })]
    [InlineData("riscv", new[] { "--arch", "riscv-sv39" })]
    [InlineData("multi_v7", new[] { "--arch", "arm", "--no-highmem" })]
    [InlineData("arm64", new[] { "--arch", "aarch64", "--va-bits", "48" })]
    public void Layout_FromADefconfig_IsTheLayoutOfTheEquivalentOptions(string defconfig, string[] equivalent)
    {
        Assert.Equal(Layout(equivalent), Layout("--config", Config(defconfig)));
    }

    [Fact]
    public void Layout_MultiV7_HasNoHighmem_WhichTheDefaultArmLayoutHas()
    {
        // HIGHMEM has no default in arch/arm/Kconfig: 2 GiB on a 3G split leaves 1.25 GiB ignored
        string fromConfig = Layout("--config", Config("multi_v7"));
        Assert.Contains("\"highmemBytes\": 0,", fromConfig, StringComparison.Ordinal);
        Assert.Contains("\"ignoredBytes\": 1342177280,", fromConfig, StringComparison.Ordinal);
        Assert.Contains("\"highmemBytes\": 1342177280,", Layout("--arch", "arm"), StringComparison.Ordinal);
    }

    [Fact]
    public void Layout_ExplicitOptionsWin()
    {
        Assert.Equal(Layout("--arch", "arm", "--split", "2G", "--no-highmem"), Layout("--config", Config("multi_v7"), "--split", "2G"));
        Assert.Equal(Layout("--arch", "x86-32", "--nr-cpus", "64"), Layout("--config", Config("i386"), "--nr-cpus", "64"));
        Assert.Equal(Layout("--arch", "aarch64", "--va-bits", "39"), Layout("--config", Config("arm64"), "--va-bits", "39"));
    }

    public static TheoryData<string, string, string, string, int, bool, int> Machines => new()
    {
        // defconfig, CPU, architecture, design, VA bits, highmem, NR_CPUS
        { "i386", "pentium4-xeon", "x86-32", "classic", 48, true, 8 },
        { "x86_64", "skylake", "x86-64", "kpti", 48, true, 64 },
        { "riscv", "sifive-u74", "riscv-sv39", "classic+pan", 48, true, 8 },
        { "multi_v7", "cortex-a15", "arm", "classic+pan", 48, false, 16 },
        { "arm64", "cortex-a72", "aarch64", "kpti", 48, true, 8 },
    };

    [Theory]
    [MemberData(nameof(Machines))]
    public void Machine_AndDesign_FromADefconfig(string defconfig, string cpu, string arch, string design, int vaBits, bool highmem, int nrCpus)
    {
        KernelDotConfig c = KernelDotConfig.Load(Config(defconfig));
        MachineSpec m = MachineOptions.Resolve(null, null, MachineSpec.DefaultArm(), c);
        Assert.Equal(cpu, m.Profile.Id);
        Assert.Equal(arch, m.Arch.Name());
        Assert.Equal((vaBits, highmem, nrCpus, VmSplit.Split3G), (m.VaBits, m.Highmem, m.NrCpus, m.Split));
        Assert.Equal(design, MachineOptions.ConfigDesign(m, c).Design);
    }

    [Fact]
    public void Compare_TheConfiguredDesignJoinsTheDefaults_WithItsReason()
    {
        CompareOptions o = CompareCommand.Build(null, null, null, null, null, null, null, null, null, false, KernelDotConfig.Load(Config("multi_v7")));
        Assert.Equal(["classic", "classic+pan"], o.Designs);
        Assert.Equal("classic", o.Baseline);
        Assert.False(o.Machine.Highmem);
        Assert.Contains(o.Notes, n => n.EndsWith("multi_v7_defconfig.config builds classic+pan: CONFIG_CPU_SW_DOMAIN_PAN=y", StringComparison.Ordinal));

        CompareOptions x86 = CompareCommand.Build(null, "core2-e6600", null, null, null, null, null, null, null, false, KernelDotConfig.Load(Config("x86_64")));
        Assert.Equal("core2-e6600", x86.Machine.Profile.Id);
        Assert.Equal(["classic", "kpti"], x86.Designs);
    }

    [Fact]
    public void Layout_X86FixmapOptions_FromTheConfig_WithKconfigOnTop()
    {
        // the fixmap-sizing symbols a .config sets or marks "not set" are the --kconfig of the same names; --kconfig wins
        string path = Temp("CONFIG_X86_32=y\n# CONFIG_64BIT is not set\n# CONFIG_X86_IO_APIC is not set\nCONFIG_ACPI_APEI_GHES=n\n");
        string fromConfig = Layout("--config", path);
        Assert.Equal(Layout("--arch", "x86-32", "--kconfig", "X86_IO_APIC=n,ACPI_APEI_GHES=n"), fromConfig);
        Assert.NotEqual(Layout("--arch", "x86-32"), fromConfig); // 64 IO-APIC slots and 2 GHES pages fewer
        Assert.Equal(Layout("--arch", "x86-32", "--kconfig", "ACPI_APEI_GHES=n"), Layout("--config", path, "--kconfig", "X86_IO_APIC=y"));
        (int code, _, string err) = CliHarness.Run("layout", "--ram", "2G", "--config", Temp("CONFIG_X86_32=y\n# CONFIG_64BIT is not set\nCONFIG_X86_IO_APIC=2\n"));
        Assert.Equal(2, code);
        Assert.Matches("^vmsplit: .*\\.config:3: CONFIG_X86_IO_APIC=2 is not y, m or n\n$", err);
    }

    [Fact]
    public void X86FixmapOptions_ReachCompare_AndStayOffOtherArchitectures()
    {
        string x86 = Temp("CONFIG_X86_32=y\n# CONFIG_64BIT is not set\n# CONFIG_X86_IO_APIC is not set\n");
        MachineSpec m = MachineOptions.Resolve(null, null, MachineSpec.DefaultArm(), KernelDotConfig.Load(x86));
        Assert.False(m.X86Fixmap.IoApic);
        Assert.True(m.X86Fixmap.LocalApic); // not named in the file: the default
        // arm64 has CONFIG_PARAVIRT too; it sizes no fixmap there and must not be refused as an x86-32 option
        string arm64 = Temp("CONFIG_ARM64=y\nCONFIG_PARAVIRT=n\n");
        MachineSpec a = MachineOptions.Resolve("cortex-a72", null, MachineSpec.DefaultArm(), KernelDotConfig.Load(arm64));
        Assert.Equal(new Vmsplit.Kernel.Layout.X86FixmapOptions(), a.X86Fixmap);
        Assert.Equal(0, CliHarness.Run("layout", "--ram", "2G", "--config", arm64).Code);
        Assert.Equal(0, CliHarness.Run("compare", "--config", arm64, "--machine", "cortex-a72", "--workloads", "null", "--ops", "3").Code);
    }

    [Fact]
    public void Arm64_WithoutKaslr_KeepsTheKernelMapped_OnASafeListCore()
    {
        string path = Temp("CONFIG_ARM64=y\nCONFIG_UNMAP_KERNEL_AT_EL0=y\n# CONFIG_RANDOMIZE_BASE is not set\nCONFIG_ARM64_SW_TTBR0_PAN=y\nCONFIG_ARM64_PAN=y\n");
        KernelDotConfig c = KernelDotConfig.Load(path);
        MachineSpec m = MachineOptions.Resolve("cortex-a53", null, MachineSpec.DefaultArm(), c);
        // no hardware PAN on the A53 (ARMv8.0): the software TTBR0 PAN it was built with runs
        Assert.Equal("classic+sw-pan", MachineOptions.ConfigDesign(m, c).Design);
    }

    [Fact]
    public void Audit_WithAConfig_AuditsItsDesign()
    {
        (int code, string output, string err) = CliHarness.Run("audit", "--config", Config("x86_64"));
        Assert.True(code == 0, err);
        Assert.Contains("\nkpti: kernel translatable from user mode 2 MiB;", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\nclassic:", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("arm64", new[] { "--arch", "x86-64" }, ":93: CONFIG_ARM64=y builds a kernel for aarch64, which contradicts --arch x86-64")]
    [InlineData("multi_v7", new[] { "--lpae" }, ":102: CONFIG_ARM=y builds a kernel for arm, which contradicts --arch arm-lpae")]
    public void Layout_Contradictions_NameFileAndLine(string defconfig, string[] options, string expected)
    {
        (int code, string output, string err) = CliHarness.Run(["layout", "--ram", "1G", "--config", Config(defconfig), .. options]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: {Config(defconfig)}{expected}\n", err);
    }

    [Fact]
    public void Compare_AMachineThatCannotRunTheConfiguredKernel_IsRefused()
    {
        (int code, _, string err) = CliHarness.Run("compare", "--machine", "skylake", "--config", Config("multi_v7"));
        Assert.Equal(2, code);
        Assert.Equal($"vmsplit: {Config("multi_v7")}:102: CONFIG_ARM=y builds a kernel for arm, which the skylake CPU cannot run (it runs x86-32, x86-pae, x86-64)\n", err);
    }

    [Theory]
    [InlineData("CONFIG_ARM=y\nfoo bar\n", ":2: 'foo bar' is not a .config line (CONFIG_NAME=VALUE, '# CONFIG_NAME is not set' or a comment)")]
    [InlineData("CONFIG_ARM=y\nCONFIG_HIGHMEM=yes\n", ":2: CONFIG_HIGHMEM: 'yes' is not y, m, n, a number or a \"string\"")]
    [InlineData("CONFIG_CMDLINE=\"console=ttyS0\n", ":1: CONFIG_CMDLINE: the string '\"console=ttyS0' is not closed by a quote")]
    [InlineData("CONFIG_ARM=y\nCONFIG_VMSPLIT_2G=y\nCONFIG_PAGE_OFFSET=0xC0000000\n", ":3: CONFIG_PAGE_OFFSET=0xC0000000 contradicts CONFIG_VMSPLIT_2G=y on line 2 (PAGE_OFFSET 0x80000000)")]
    [InlineData("CONFIG_ARM=y\nCONFIG_PAGE_OFFSET=0xA0000000\n", ":2: CONFIG_PAGE_OFFSET=0xA0000000 is none of the VMSPLIT_* choices (0xc0000000, 0xb0000000, 0x80000000, 0x78000000, 0x40000000)")]
    [InlineData("CONFIG_ARM=y\nCONFIG_X86_64=y\n", ":2: CONFIG_X86_64=y contradicts CONFIG_ARM=y on line 1: one architecture per kernel")]
    [InlineData("CONFIG_ARM=y\nCONFIG_PGTABLE_LEVELS=3\n", ":2: CONFIG_PGTABLE_LEVELS=3 contradicts arm, whose tables have 2 levels")]
    [InlineData("CONFIG_ARM64=y\nCONFIG_ARM64_VA_BITS=52\n", ":2: CONFIG_ARM64_VA_BITS=52: arm64 with 4 KiB pages is modelled with 39- or 48-bit VAs")]
    [InlineData("CONFIG_X86_32=y\nCONFIG_64BIT=y\n", ":2: CONFIG_64BIT=y contradicts CONFIG_X86_32=y on line 1")]
    [InlineData("CONFIG_X86_32=y\nCONFIG_NR_CPUS=lots\n", ":2: CONFIG_NR_CPUS: 'lots' is not y, m, n, a number or a \"string\"")]
    [InlineData("CONFIG_X86_32=y\nCONFIG_NR_CPUS=0\n", ":2: CONFIG_NR_CPUS=0 is not a number in [1, 8192]")]
    public void Layout_BadConfigs_AreOneLineErrors_WithFileAndLine(string text, string expected)
    {
        string path = Temp(text);
        (int code, string output, string err) = CliHarness.Run("layout", "--ram", "1G", "--config", path);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: {path}{expected}\n", err);
    }

    [Fact]
    public void Parser_ReadsEveryLineForm_AndTheLastAssignmentWins()
    {
        KernelDotConfig c = KernelDotConfig.Parse("# comment\n\nCONFIG_A=y\r\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"a \\\"q\\\" b\"\nCONFIG_E=0x1F\nCONFIG_F=-3\nCONFIG_A=n\nCONFIG_UNKNOWN_THING=y\n", "x.config");
        Assert.Equal((false, true, false), (c.Bool("A")!.Value, c.Bool("B")!.Value, c.Bool("C")!.Value));
        Assert.Equal(9, c.Get("A")!.Line);
        Assert.Equal("a \"q\" b", c.Get("D")!.Value);
        Assert.Equal(31UL, c.Number("E", 0, 100));
        Assert.Null(c.Get("Z"));
        Assert.Equal(7, c.Count);
        Assert.Null(DotConfigMachine.Arches(c));
    }

    [Fact]
    public void Config_MissingFile_IsAOneLineError()
    {
        (int code, _, string err) = CliHarness.Run("audit", "--config", "/nonexistent/dir/x.config");
        Assert.Equal(2, code);
        Assert.Equal("vmsplit: --config: /nonexistent/dir/x.config: no such file\n", err);
    }

    private static string Temp(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"vmsplit-dotconfig-{Guid.NewGuid():N}.config");
        File.WriteAllText(path, text);
        return path;
    }
}
