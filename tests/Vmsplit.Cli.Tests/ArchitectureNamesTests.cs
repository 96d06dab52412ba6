using Vmsplit.Kernel.Layout;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// One set of architecture names for every command: each command's <c>--arch</c> takes the names of
/// <see cref="KernelArchitectures"/>, runs the ones it can and refuses the others in one line (exit 2).
/// </summary>
public sealed class ArchitectureNamesTests
{
    private static readonly string[] s_canonical =
    [
        "arm", "arm-lpae", "aarch64", "x86-32", "x86-pae", "x86-64", "x86-64-la57", "riscv-sv32", "riscv-sv39", "riscv-sv48", "riscv-sv57",
    ];

    // Which architectures each command runs, listed by hand: layout has no documented Sv32 layout; audit and
    // compare need a shipped CPU profile with the architecture's MMU (no LA57 on Skylake, only Sv39 on the U74).
    private static readonly Dictionary<string, string[]> s_runs = new()
    {
        ["tlb"] = s_canonical,
        ["walk"] = s_canonical,
        ["layout"] = [.. s_canonical.Where(n => n != "riscv-sv32")],
        ["audit"] = ["arm", "arm-lpae", "aarch64", "x86-32", "x86-pae", "x86-64", "riscv-sv39"],
        ["compare"] = ["arm", "arm-lpae", "aarch64", "x86-32", "x86-pae", "x86-64", "riscv-sv39"],
    };

    private static string[] Args(string command, string arch) => command switch
    {
        "walk" => ["walk", "--arch", arch, "--va", "0x1000"],
        "layout" => ["layout", "--arch", arch, "--ram", "1G"],
        "compare" => ["compare", "--arch", arch, "--workloads", "null", "--ops", "1", "--serial"],
        _ => [command, "--arch", arch],
    };

    [Fact]
    public void TheCanonicalNamesAreTheTablesRows()
    {
        Assert.Equal(s_canonical, KernelArchitectures.Names);
        Assert.Equal(Enum.GetValues<KernelArch>().Length, KernelArchitectures.All.Count);
        Assert.All(KernelArchitectures.All, row => Assert.Equal(row, row.Arch.Info()));
    }

    [Theory]
    [InlineData("tlb")]
    [InlineData("walk")]
    [InlineData("layout")]
    [InlineData("audit")]
    [InlineData("compare")]
    public void EveryCommandRunsTheArchitecturesItCanAndRefusesTheOthersInOneLine(string command)
    {
        List<string> ran = [];
        foreach (string arch in s_canonical)
        {
            (int code, string output, string error) = CliHarness.Run(Args(command, arch));
            if (code == 0)
            {
                Assert.Equal("", error);
                Assert.NotEqual("", output);
                ran.Add(arch);
            }
            else
            {
                Assert.Equal(2, code);
                string line = Assert.Single(error.TrimEnd('\n').Split('\n'));
                if (command is "compare" or "audit")
                {
                    // the architecture's default CPU cannot run it: said with the CLI's names
                    Assert.Matches($"^vmsplit: --arch: the [a-z0-9-]+ CPU cannot run {arch} \\(it runs [a-z0-9-]+(, [a-z0-9-]+)*\\)$", line);
                }
                else
                {
                    Assert.StartsWith("vmsplit: " + arch + ": ", line, StringComparison.Ordinal);
                }
            }
        }

        Assert.Equal(s_runs[command], ran);
    }

    [Theory]
    [InlineData("tlb")]
    [InlineData("walk")]
    [InlineData("layout")]
    [InlineData("audit")]
    [InlineData("compare")]
    public void AnUnknownNameIsRefusedInOneLineNamingTheChoices(string command)
    {
        (int code, string output, string error) = CliHarness.Run(Args(command, "mips"));
        Assert.Equal((2, ""), (code, output));
        Assert.Equal(
            "vmsplit: --arch: unknown architecture 'mips' (expected one of: " + string.Join(", ", s_canonical) + ")\n",
            error.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("arm32", "arm")]
    [InlineData("arm64", "aarch64")]
    [InlineData("x86", "x86-32")]
    [InlineData("i386", "x86-32")]
    [InlineData("x86_64", "x86-64")]
    [InlineData("amd64", "x86-64")]
    [InlineData("riscv", "riscv-sv39")]
    [InlineData("risc-v", "riscv-sv39")]
    public void OlderSpellingsAreAliasesOfOneRow(string alias, string canonical)
    {
        foreach (string command in new[] { "tlb", "walk", "layout" })
        {
            Assert.Equal(CliHarness.Run(Args(command, canonical)), CliHarness.Run(Args(command, alias)));
        }
    }

    [Fact]
    public void WalkTakesAnArchitectureForItsKernelsMmuFormatOrTheFormatItself()
    {
        string[] maps = ["--map", "0xffff000000000000=0x40000000:1G:r,w,global", "--va", "0xffff000000001234", "--json"];
        (int code, string byArch, _) = CliHarness.Run(["walk", "--arch", "aarch64", .. maps]);
        Assert.Equal(0, code);
        Assert.Equal(byArch, CliHarness.Run(["walk", "--mmu", "aarch64-48", .. maps]).Out);
        Assert.Equal(byArch, CliHarness.Run(["walk", "--format", "aarch64-48", .. maps]).Out);

        // arm64 also builds 39-bit VA tables (VA_BITS=39): naming both is consistent.
        Assert.Equal(0, CliHarness.Run(["walk", "--arch", "aarch64", "--mmu", "aarch64-39", "--va", "0x1000"]).Code);
        Assert.Equal(0, CliHarness.Run(["walk", "--arch", "arm", "--mmu", "arm-short", "--va", "0x1000"]).Code);
    }

    [Fact]
    public void CompareGivenAnotherArchitectureBringsItsOwnMachineAndDesigns()
    {
        (int code, string output, string error) = CliHarness.Run("compare", "--arch", "aarch64", "--workloads", "null", "--ops", "1", "--serial");
        Assert.Equal((0, ""), (code, error));
        Assert.StartsWith("Machine: ARM Cortex-A72 MPCore (RK3399 big cluster), aarch64, 2 GiB RAM\nBaseline: classic\n", output, StringComparison.Ordinal);
        Assert.Contains("kpti", output, StringComparison.Ordinal);

        // An explicit machine wins over the row's.
        (code, output, _) = CliHarness.Run("compare", "--arch", "aarch64", "--machine", "cortex-a53", "--designs", "classic", "--workloads", "null", "--ops", "1", "--serial");
        Assert.Equal(0, code);
        Assert.StartsWith("Machine: ARM Cortex-A53", output, StringComparison.Ordinal);
    }
}
