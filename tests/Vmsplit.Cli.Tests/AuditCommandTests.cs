using System.Text.Json;

namespace Vmsplit.Cli.Tests;

public class AuditCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void ClassicExposesTheKernelKptiOnlyTheEntryAreaAnd4g4gTheTtbr1Region()
    {
        (int code, string output, string err) = Run("audit", "--arch", "x86-64", "--design", "classic,kpti", "--json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement classic = doc.RootElement[0];
        JsonElement kpti = doc.RootElement[1];
        Assert.Equal("classic", classic.GetProperty("design").GetString());
        Assert.True(classic.GetProperty("exposedKernelBytes").GetInt64() >= 2L << 30); // the whole direct map of 2 GiB
        Assert.Equal((2L << 20) + 4096, kpti.GetProperty("exposedKernelBytes").GetInt64()); // entry text PMD + cpu_entry_area page
        Assert.Equal(65536, kpti.GetProperty("reachableUserBytes").GetInt64()); // no SMAP in plain kpti
        Assert.StartsWith("0x", kpti.GetProperty("exposedKernelRanges")[0].GetProperty("start").GetString());

        (code, output, err) = Run("audit", "--arch", "arm-lpae", "--design", "classic+pan,4g4g", "--json");
        Assert.True(code == 0, err);
        using JsonDocument arm = JsonDocument.Parse(output);
        Assert.Equal(0, arm.RootElement[0].GetProperty("reachableUserBytes").GetInt64()); // TTBR0 PAN
        Assert.Equal(0, arm.RootElement[1].GetProperty("reachableUserBytes").GetInt64()); // user tables not loaded
        foreach (JsonElement r in arm.RootElement[1].GetProperty("exposedKernelRanges").EnumerateArray())
        {
            Assert.True(Convert.ToUInt64(r.GetProperty("start").GetString(), 16) >= 0xf0000000UL); // only the TTBR1 region
        }
    }

    [Fact]
    public void Arm64ClassicExposesTheLinearMapAndKptiOnlyTheTrampolineText()
    {
        (int code, string output, string err) = Run("audit", "--arch", "aarch64", "--json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement classic = doc.RootElement[0];
        JsonElement kpti = doc.RootElement[1];
        Assert.Equal("kpti", kpti.GetProperty("design").GetString());
        Assert.Equal((2L << 30) + (32L << 20), classic.GetProperty("exposedKernelBytes").GetInt64()); // swapper_pg_dir at EL0: the linear map of 2 GiB and its 32 MiB vmemmap
        Assert.Equal("0xffff000000000000", classic.GetProperty("exposedKernelRanges")[0].GetProperty("start").GetString()); // PAGE_OFFSET, 48-bit VA
        Assert.Equal(3 * 4096, kpti.GetProperty("exposedKernelBytes").GetInt64()); // tramp_pg_dir: the trampoline text at TRAMP_VALIAS
        JsonElement tramp = Assert.Single(kpti.GetProperty("exposedKernelRanges").EnumerateArray());
        Assert.Equal("r-x global", tramp.GetProperty("perms").GetString());

        (code, output, err) = CliHarness.Run("compare", "--machine", "cortex-a72", "--arch", "aarch64", "--designs", "classic,kpti", "--workloads", "null", "--ops", "5");
        Assert.True(code == 0, err);
        // the isolation table of compare: one row per design, kernel translatable from user mode first
        Assert.Matches(@"\n  classic +2.03 GiB in \d+ ranges +64 KiB\n", output);
        Assert.Matches(@"\n  kpti +12 KiB in 1 range +64 KiB\n", output);
    }

    [Theory]
    [InlineData("--arch", "vax", "--arch")]
    [InlineData("--design", "4g4g", "4g4g is a 32-bit ARM design (LPAE or short descriptors), not x86-64")]
    [InlineData("--machine", "nope", "unknown CPU profile")]
    [InlineData("--ram", "1Z", "--ram")]
    public void BadInputIsOneLineAndExitCodeTwo(string option, string value, string fragment)
    {
        (int code, _, string err) = Run("audit", "--arch", "x86-64", option, value);
        Assert.Equal(2, code);
        Assert.Contains(fragment, err);
        Assert.Single(err.TrimEnd().Split('\n'));
    }
}
