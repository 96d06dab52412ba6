using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary><c>vmsplit layout</c> end to end: formats, files, and one-line errors with exit code 2.</summary>
public sealed class LayoutCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void Boot_ReproducesLogA()
    {
        (int code, string output, _) = Run("layout", "--arch", "arm", "--mem", "0x10000000:2G", "--linux", "4.19.25", "--format", "boot", "--image", "text=9184K,init=1024K,data=358K,bss=399K");
        Assert.Equal(0, code);
        Assert.StartsWith("Virtual kernel memory layout:\n    vector  : 0xffff0000 - 0xffff1000   (   4 kB)\n", output, StringComparison.Ordinal);
        Assert.Contains("    lowmem  : 0xc0000000 - 0xf0000000   ( 768 MB)\n", output, StringComparison.Ordinal);
        Assert.EndsWith("       .bss : 0x(ptrval) - 0x(ptrval)   ( 399 kB)\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void LpaeFlag_And_PaeFlag_SelectTheArchitectures()
    {
        Assert.Contains("\"arch\": \"arm-lpae\"", Run("layout", "--arch", "arm", "--lpae", "--ram", "1G", "--format", "json").Out, StringComparison.Ordinal);
        Assert.Contains("\"arch\": \"x86-pae\"", Run("layout", "--arch", "x86", "--pae", "--ram", "1G", "--format", "json").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_HasTheIssueFieldNames_AndLowerCaseHex()
    {
        (int code, string output, _) = Run("layout", "--arch", "arm", "--mem", "0x10000000:2G", "--linux", "4.19", "--format", "json");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        Assert.Equal("arm", root.GetProperty("arch").GetString());
        Assert.Equal("3G", root.GetProperty("split").GetString());
        Assert.Equal("0xc0000000", root.GetProperty("pageOffset").GetString());
        Assert.Equal("0xbf000000", root.GetProperty("taskSize").GetString());
        Assert.Equal(768L << 20, root.GetProperty("lowmemBytes").GetInt64());
        Assert.Equal(1280L << 20, root.GetProperty("highmemBytes").GetInt64());
        Assert.Equal(0, root.GetProperty("ignoredBytes").GetInt64());
        JsonElement vmalloc = root.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "vmalloc");
        Assert.Equal("0xf0800000", vmalloc.GetProperty("start").GetString());
        Assert.Equal("0xff800000", vmalloc.GetProperty("end").GetString());
        Assert.Equal(240L << 20, vmalloc.GetProperty("sizeBytes").GetInt64());
        Assert.Equal("TTBR0", vmalloc.GetProperty("ttbr").GetString());
        Assert.False(string.IsNullOrEmpty(vmalloc.GetProperty("purpose").GetString()));
        foreach (string name in new[] { "vector", "fixmap", "lowmem", "pkmap", "modules", "user" })
        {
            Assert.Contains(root.GetProperty("regions").EnumerateArray(), r => r.GetProperty("name").GetString() == name);
        }
    }

    [Fact]
    public void Json_64BitTopRegionEndsAt2To64()
    {
        using JsonDocument doc = JsonDocument.Parse(Run("layout", "--arch", "riscv-sv39", "--ram", "4G", "--format", "json").Out);
        JsonElement kernel = doc.RootElement.GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "kernel");
        Assert.Equal("0xffffffff80000000", kernel.GetProperty("start").GetString());
        Assert.Equal("0x10000000000000000", kernel.GetProperty("end").GetString());
    }

    [Fact]
    public void Table_ShowsBinarySizes_AndSeedDefaults()
    {
        (int code, string output, _) = Run("layout", "--arch", "arm-lpae", "--mem", "0x80000000:4G", "--design", "4g4g");
        Assert.Equal(0, code);
        Assert.Contains("3.75 GiB", output, StringComparison.Ordinal);
        Assert.Contains("(default, Arnd Bergmann, May 2020)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Budget_ShowsDesignsSideBySide()
    {
        (int code, string output, _) = Run("layout", "--arch", "arm", "--mem", "0x10000000:2G", "--budget");
        Assert.Equal(0, code);
        Assert.Contains("kimage-vmalloc", output, StringComparison.Ordinal);
        Assert.Contains("0.098 %", output, StringComparison.Ordinal);
        Assert.Contains("1.56 %", output, StringComparison.Ordinal);
        Assert.Contains("page tables per minimal process", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Svg_WrittenAtomically_WithBoundaries()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vmsplit-layout-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "layout.svg");
            (int code, string output, _) = Run("layout", "--arch", "arm-lpae", "--ram", "2G", "--format", "svg", "--output", file);
            Assert.Equal(0, code);
            Assert.Equal("", output);
            string svg = File.ReadAllText(file);
            Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
            Assert.Contains(">TTBR0 | TTBR1 boundary</text>", svg, StringComparison.Ordinal);
            Assert.Contains(">0xc0000000</text>", svg, StringComparison.Ordinal);
            Assert.Contains(">user/kernel boundary</text>", svg, StringComparison.Ordinal);
            Assert.Contains(">TASK_SIZE 0xbf000000</text>", svg, StringComparison.Ordinal);
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void X86FixaddrStart_IsDerivedFromTheConfiguration()
    {
        // 6.18, PAE, NR_CPUS 8, HIGHMEM: HOLE, DBGP, EARLYCON, APIC, 64 IO-APIC, 16 x 8 KMAP, PCIE_MCFG, 2 APEI_GHES = 199
        // pages below 0xfffff000; without the IO-APIC and GHES slots 133.
        (int code, string output, string err) = CliHarness.Run("layout", "--arch", "x86-pae", "--ram", "2G", "--format", "boot");
        Assert.True(code == 0, err);
        Assert.Contains("    fixmap  : 0xfff38000 - 0xfffff000   ( 796 kB)\n", output);
        (code, output, err) = CliHarness.Run("layout", "--arch", "x86-pae", "--ram", "2G", "--format", "boot", "--kconfig", "X86_IO_APIC=n,ACPI_APEI_GHES=n");
        Assert.True(code == 0, err);
        Assert.Contains("    fixmap  : 0xfff7a000 - 0xfffff000   ( 532 kB)\n", output);
        (code, output, err) = CliHarness.Run("layout", "--arch", "x86-pae", "--ram", "2G", "--format", "boot", "--fixaddr-start", "0xffc57000");
        Assert.True(code == 0, err);
        Assert.Contains("    fixmap  : 0xffc57000 - 0xfffff000   (3744 kB)\n", output);
    }

    [Fact]
    public void PerMachineConstants_DescribeAPre34Machine()
    {
        // The HiSilicon Hi3518 3.0.8 log in BootLogTests: mach/vmalloc.h VMALLOC_END 0xfe000000, 40 MiB at 0x80000000, 4 MiB DMA.
        (int code, string output, _) = Run("layout", "--arch", "arm", "--mem", "0x80000000:40M", "--linux", "3.0.8", "--no-highmem", "--vmalloc-end", "0xfe000000", "--consistent-dma-size", "4M", "--format", "boot");
        Assert.Equal(0, code);
        Assert.Contains("    DMA     : 0xffa00000 - 0xffe00000   (   4 MB)\n    vmalloc : 0xc3000000 - 0xfe000000   ( 944 MB)\n", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3G_OPT depends on !ARM_LPAE", "layout", "--arch", "arm", "--lpae", "--split", "3G_OPT", "--ram", "1G")]
    [InlineData("exceeds the 976 MiB the 3G split allows", "layout", "--arch", "arm", "--ram", "1G", "--vmalloc", "1G")]
    [InlineData("beyond what arm can address", "layout", "--arch", "arm", "--mem", "0x80000000:3G")]
    [InlineData("unknown architecture", "layout", "--arch", "mips", "--ram", "1G")]
    [InlineData("--format boot: Linux prints no virtual memory layout block for x86-64", "layout", "--arch", "x86-64", "--ram", "1G", "--format", "boot")]
    [InlineData("--image needs all of", "layout", "--arch", "arm", "--ram", "1G", "--image", "text=1M")]
    [InlineData("--vmalloc-end: from Linux 3.4 VMALLOC_END is 0xff000000 for every machine", "layout", "--arch", "arm", "--ram", "512M", "--linux", "3.8", "--vmalloc-end", "0xf8000000")]
    [InlineData("--vmalloc-end 0xf8000800 must be page-aligned", "layout", "--arch", "arm", "--ram", "512M", "--linux", "3.0", "--vmalloc-end", "0xf8000800")]
    [InlineData("at most CONSISTENT_BASE 0xff000000", "layout", "--arch", "arm", "--ram", "512M", "--linux", "3.0", "--vmalloc-end", "0xff800000", "--consistent-dma-size", "14M")]
    [InlineData("above PAGE_OFFSET + 32 MiB (0xc2000000)", "layout", "--arch", "arm", "--ram", "512M", "--linux", "2.6.37", "--vmalloc-end", "0xc1000000")]
    [InlineData("CONSISTENT_DMA_SIZE must be a multiple of 2M between 2M and 14M", "layout", "--arch", "arm", "--ram", "512M", "--linux", "3.0", "--consistent-dma-size", "3M")]
    [InlineData("CONSISTENT_DMA_SIZE must be a multiple of 2M between 2M and 14M", "layout", "--arch", "arm", "--ram", "512M", "--linux", "3.0", "--consistent-dma-size", "16M")]
    [InlineData("--consistent-dma-size: Linux 3.6 has no consistent DMA region", "layout", "--arch", "arm", "--ram", "512M", "--linux", "3.6", "--consistent-dma-size", "4M")]
    [InlineData("they do not apply to x86-32", "layout", "--arch", "x86", "--ram", "512M", "--linux", "3.0", "--vmalloc-end", "0xf8000000")]
    [InlineData("--kconfig: 'X86_IOAPIC=n': unknown option", "layout", "--arch", "x86", "--ram", "512M", "--kconfig", "X86_IOAPIC=n")]
    [InlineData("--kconfig: 'PARAVIRT=1': give PARAVIRT=y or PARAVIRT=n", "layout", "--arch", "x86", "--ram", "512M", "--kconfig", "PARAVIRT=1")]
    [InlineData("--fixaddr-start and --kconfig size x86-32's fixmap; they do not apply to arm", "layout", "--arch", "arm", "--ram", "512M", "--kconfig", "PARAVIRT=n")]
    public void ImpossibleConfigurations_OneLine_Exit2(string message, params string[] args)
    {
        (int code, string output, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }
}
