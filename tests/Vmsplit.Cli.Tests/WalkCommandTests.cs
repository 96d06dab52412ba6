using System.Text.Json;

namespace Vmsplit.Cli.Tests;

public sealed class WalkCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void ExampleWalksTheUserPageThroughFourLevels()
    {
        (int code, string output, string err) = Run("walk", "--example");
        Assert.Equal(0, code);
        Assert.Equal("", err);

        // The 1 GiB direct map covers PA 0..1G, so the 16 MiB table bank goes to 0xff000000. Tables: root,
        // then the kernel-text PDPT and PD (0xff001000, 0xff002000), then the user PDPT, PD, PT.
        Assert.Contains("x86-64 walk of 0x400123 (user read)", output);
        Assert.Contains("CR3 = 0xff000000", output);
        Assert.Contains("  PML4  level 4  table 0xff000000  index    0  [0xff000000] = 0x00000000ff003067  table", output);
        Assert.Contains("  PD    level 2  table 0xff004000  index    2  [0xff004010] = 0x00000000ff005067  table", output);
        Assert.Contains("  PT    level 1  table 0xff005000  index    0  [0xff005000] = 0x8000000005000027  leaf", output);
        Assert.Contains("P=1 RW=1 US=1 PWT=0 PCD=0 A=1 D=0 PAT=0 G=0 NX=1 PFN=0x5000", output);
        Assert.Contains("result: ok  pa 0x5000123  page 4K at 0x400000 -> 0x5000000", output);
        Assert.Contains("rights kernel rw- user rw-  user page  not global", output);
    }

    [Fact]
    public void JsonReportsTheResultAndSteps()
    {
        (int code, string output, _) = Run("walk", "--example", "--json", "--va", "0xffff888000123456", "--mode", "kernel", "--access", "write");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        Assert.Equal("ok", root.GetProperty("result").GetString());
        Assert.Equal("0x123456", root.GetProperty("pa").GetString());
        Assert.Equal(1L << 30, root.GetProperty("pageSize").GetInt64());
        Assert.Equal(3, root.GetProperty("level").GetInt32());
        JsonElement steps = root.GetProperty("steps");
        Assert.Equal(2, steps.GetArrayLength());

        // 0xffff888000000000: PML4 index 273, PDPT index 0; the 1G leaf is __PAGE_KERNEL_LARGE = 0x80000000000001e3.
        Assert.Equal(273, steps[0].GetProperty("index").GetInt32());
        Assert.Equal("0xff000000", steps[0].GetProperty("table").GetString());
        Assert.Equal("0x80000000000001e3", steps[1].GetProperty("descriptor").GetString());
    }

    [Fact]
    public void FaultsAreReportedWithKindAndLevel()
    {
        (int code, string output, _) = Run("walk", "--example", "--json", "--va", "0x400123", "--mode", "user", "--access", "exec");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        Assert.Equal("fault", doc.RootElement.GetProperty("result").GetString());
        Assert.Equal("permission", doc.RootElement.GetProperty("fault").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("level").GetInt32());
        Assert.False(doc.RootElement.TryGetProperty("pa", out _));

        (_, string text, _) = Run("walk", "--format", "x86-64", "--map", "0x400000=0x5000000:4K:r,w,user", "--va", "0x7f0000000000");
        Assert.Contains("result: translation fault at level 4 (PML4) after 1 descriptor reads", text);

        (_, string canonical, _) = Run("walk", "--format", "x86-64", "--va", "0x0000800000000000", "--json");
        Assert.Contains("\"fault\": \"non-canonical\"", canonical);
    }

    [Fact]
    public void SmapStopsTheKernelUnlessAcIsSet()
    {
        (_, string smap, _) = Run("walk", "--example", "--mode", "kernel", "--cpu", "smap", "--json");
        Assert.Contains("\"fault\": \"permission\"", smap);
        (_, string ac, _) = Run("walk", "--example", "--mode", "kernel", "--cpu", "smap,ac", "--json");
        Assert.Contains("\"result\": \"ok\"", ac);
    }

    [Fact]
    public void X86_32UsesFourByteDescriptors()
    {
        (int code, string output, _) = Run("walk", "--format", "x86-32", "--map", "0xc0000000=0:4M:r,w,global", "--va", "0xc0123456");
        Assert.Equal(0, code);

        // Bank at 0xff000000; PD index 768; entry P|RW|A|D|PS|G = 0x1e3 printed with 8 hex digits.
        Assert.Contains("  PD    level 2  table 0xff000000  index  768  [0xff000c00] = 0x000001e3  leaf", output);
        Assert.Contains("result: ok  pa 0x123456  page 4M at 0xc0000000 -> 0x0", output);
    }

    [Fact]
    public void PaeShowsThePdpteFromTheRegisters()
    {
        (int code, string output, _) = Run("walk", "--format", "x86-pae", "--map", "0xc0000000=0x40000000:2M:r,w,global", "--va", "0xc0000abc");
        Assert.Equal(0, code);

        // PDPT (32 bytes) at the bank's first frame, the four preallocated PDs after it: PDPTE 3 -> 0xff004000.
        Assert.Contains("  PDPT  level 3  table 0xff000000  index    3  [0xff000018] = 0x00000000ff004001  table", output);
        Assert.Contains("(taken from the copy the CPU loaded at the last write of CR3; not read from memory)", output);
        Assert.Contains("  PD    level 2  table 0xff004000  index    0  [0xff004000] = 0x80000000400001e3  leaf", output);
        Assert.Contains("1 descriptor reads", output);
    }

    [Theory]
    [InlineData("--mmu sparc --va 0", "vmsplit: --mmu: unknown format 'sparc'")]
    [InlineData("--format sparc --va 0", "vmsplit: --format: unknown format 'sparc' (use text, json)")]
    [InlineData("--format x86-64 --mmu arm --va 0", "vmsplit: --format x86-64 is an MMU format, and --mmu arm names one too")]
    [InlineData("--arch sparc --va 0", "vmsplit: --arch: unknown architecture 'sparc'")]
    [InlineData("--arch arm-lpae --mmu x86-64 --va 0", "vmsplit: --arch arm-lpae builds arm-lpae page tables, not --mmu x86-64")]
    [InlineData("--format x86-64 --map 0x400000 --va 0", "vmsplit: --map '0x400000': expected VA=PA:SIZE:PERMS")]
    [InlineData("--format x86-64 --map 0x400000=0x1000:4K:q --va 0", "vmsplit: --map '0x400000=0x1000:4K:q': PERMS: unknown permission 'q'")]
    [InlineData("--format x86-64 --map 0x400000=0x1000:6K:r --va 0", "vmsplit: --map '0x400000=0x1000:6K:r': SIZE 6K is not a non-zero multiple of 4K")]
    [InlineData("--format x86-64 --map 0x400800=0x1000:4K:r --va 0", "vmsplit: --map '0x400800=0x1000:4K:r': VA and PA must be 4K-aligned")]
    [InlineData("--format x86-64 --map 0x400000=0x1000:8K:r --map 0x401000=0x9000:4K:r --va 0", "vmsplit: --map '0x401000=0x9000:4K:r': 0x401000 is already mapped by an earlier --map")]
    [InlineData("--format x86-64 --map 0x800000000000=0:4K:r --va 0", "vmsplit: --map '0x800000000000=0:4K:r': VA range 0x800000000000+4K is outside what x86-64 translates (48-bit VA, canonical)")]
    [InlineData("--format x86-32 --map 0x1000=0x100000000:4K:r --va 0", "vmsplit: --map '0x1000=0x100000000:4K:r': PA range 0x100000000+4K is beyond x86-32's 32-bit physical addresses")]
    [InlineData("--format x86-32 --va 0x100000000", "vmsplit: --va 0x100000000: x86-32 addresses are 32 bits wide")]
    [InlineData("--format x86-64 --va 0 --mode root", "vmsplit: --mode 'root': use user or kernel")]
    [InlineData("--format x86-64 --va 0 --cpu turbo", "vmsplit: --cpu: unknown flag 'turbo'")]
    [InlineData("--va 0", "vmsplit: walk: give --arch or --mmu (or use --example)")]
    public void BadInputIsOneLineAndExitCode2(string args, string expected)
    {
        (int code, string output, string err) = Run(["walk", .. args.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith(expected, err);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }
}
