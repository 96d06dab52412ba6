using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// <c>vmsplit walk</c> on the four ARM formats. The table bank is 0xff000000 (no map uses it): the root is 0xff000000
/// and later tables follow in the order the maps need them (arm-short: the 16 KiB L1, then 1 KiB L2 tables from
/// 0xff004000; long descriptors: 4 KiB tables from 0xff001000, the LPAE 32-byte L1 sharing the first frame).
/// </summary>
public sealed class ArmWalkCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static JsonElement Json(params string[] args)
    {
        (int code, string output, string err) = Run([.. args, "--json"]);
        Assert.Equal("", err);
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    private static string[] Descriptors(JsonElement root) =>
        root.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("descriptor").GetString()!).ToArray();

    [Fact]
    public void ArmShortUserSmallPageAndDomainPan()
    {
        // L1[0] = L2 table 0xff004000 | domain 1 (0x20) | PXNTABLE (0x4) | 01 = 0xff004025; L2[0x10] = Linux's user RW page 0x12345c7f.
        string[] args = ["walk", "--format", "arm-short", "--map", "0xc0000000=0x80000000:1M:r,w,x,global", "--map", "0x10000=0x12345000:4K:r,w,user", "--va", "0x10abc"];
        JsonElement r = Json([.. args, "--mode", "user", "--access", "write"]);
        Assert.Equal(("ok", "0x12345abc", 4096, 2), (r.GetProperty("result").GetString(), r.GetProperty("pa").GetString(), r.GetProperty("pageSize").GetInt32(), r.GetProperty("level").GetInt32()));
        Assert.Equal(["0xff004025", "0x12345c7f"], Descriptors(r));

        // CONFIG_CPU_SW_DOMAIN_PAN outside uaccess (DACR 0x51): the kernel's read is a domain fault at level 2.
        JsonElement pan = Json([.. args, "--cpu", "domainpan"]);
        Assert.Equal(("fault", "domain", 2), (pan.GetProperty("result").GetString(), pan.GetProperty("fault").GetString(), pan.GetProperty("level").GetInt32()));

        // The kernel section: Linux's 0x8001140e (AP=01, TEX=001 C B, S, domain 0) one level deep.
        (int code, string output, _) = Run("walk", "--format", "arm-short", "--map", "0xc0000000=0x80000000:1M:r,w,x,global", "--va", "0xc0012345");
        Assert.Equal(0, code);
        Assert.Contains("L1    level 1  table 0xff000000  index 3072  [0xff003000] = 0x8001140e  section", output);
        Assert.Contains("PA=0x80000000 NS=0 nG=0 S=1 AP[2]=0 TEX[2:0]=1 AP[1:0]=1 Domain=0 XN=0 C=1 B=1 PXN=0", output);
    }

    [Fact]
    public void ArmShortSupersectionAboveFourGiB()
    {
        // PA 0xa5_f100_0000: PA[39:36] = 0xa in bits 8:5, PA[35:32] = 5 in bits 23:20 → 0xf155155e in L1[0x1a].
        JsonElement r = Json("walk", "--format", "arm-short", "--map", "0x01000000=0xa5f1000000:16M:r,w,global", "--va", "0x01abcdef");
        Assert.Equal(("0xa5f1abcdef", 16 << 20), (r.GetProperty("pa").GetString(), r.GetProperty("pageSize").GetInt32()));
        Assert.Equal(["0xf155155e"], Descriptors(r));

        // A 1 MiB section cannot reach above 4 GiB.
        (int code, _, string err) = Run("walk", "--format", "arm-short", "--map", "0x01000000=0xa5f1000000:1M:r,w", "--va", "0x01000000");
        Assert.Equal(2, code);
        Assert.Contains("--map '0x01000000=0xa5f1000000:1M:r,w': PA range", err);
    }

    [Fact]
    public void ArmLpaeThreeLevelsAndEpd0()
    {
        // L1[0] → L2 0xff002000 (the kernel 2 MiB block took L2 0xff001000 first) → L3 0xff003000; leaf 0x0060000123456f5f.
        string[] args = ["walk", "--format", "arm-lpae", "--map", "0xc0000000=0x80000000:2M:r,w,x,global", "--map", "0x401000=0x123456000:4K:r,w,user", "--va", "0x401abc"];
        JsonElement r = Json([.. args, "--mode", "user", "--access", "write"]);
        Assert.Equal(("ok", "0x123456abc", 3), (r.GetProperty("result").GetString(), r.GetProperty("pa").GetString(), r.GetProperty("level").GetInt32()));
        Assert.Equal(["0xff002003", "0xff003003", "0x60000123456f5f"], Descriptors(r));
        Assert.Equal([0, 2, 1], r.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("index").GetInt32()));

        // TTBCR.EPD0 (Linux's TTBR0-PAN): no walk from TTBR0 at all.
        JsonElement epd = Json([.. args, "--cpu", "epd0"]);
        Assert.Equal(("translation", 1, 0), (epd.GetProperty("fault").GetString(), epd.GetProperty("level").GetInt32(), epd.GetProperty("steps").GetArrayLength()));

        // The 2 MiB kernel block: 0x8000071d (AttrIndx 7, SH 3, AF).
        JsonElement k = Json("walk", "--format", "arm-lpae", "--map", "0xc0000000=0x80000000:2M:r,w,x,global", "--va", "0xc0001000", "--access", "exec");
        Assert.Equal(["0xff001003", "0x8000071d"], Descriptors(k));
    }

    [Fact]
    public void AArch64FourLevelsAndPan()
    {
        string[] args = ["walk", "--format", "aarch64-48", "--map", "0xffff000000000000=0x40000000:1G:r,w,global", "--map", "0x123456789000=0x80000000:4K:r,w,user", "--va", "0x123456789abc"];
        JsonElement r = Json([.. args, "--mode", "user"]);
        Assert.Equal(("ok", "0x80000abc", 3, "TTBR0"), (r.GetProperty("result").GetString(), r.GetProperty("pa").GetString(), r.GetProperty("level").GetInt32(), r.GetProperty("root").GetString()));
        Assert.Equal([0x24, 0xd1, 0xb3, 0x189], r.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("index").GetInt32()));
        Assert.Equal("0x60000080000f43", Descriptors(r)[^1]);

        // PSTATE.PAN: an EL1 read of EL0 data is a permission fault.
        JsonElement pan = Json([.. args, "--cpu", "pan"]);
        Assert.Equal(("permission", 3), (pan.GetProperty("fault").GetString(), pan.GetProperty("level").GetInt32()));

        // The kernel half walks TTBR1 to the 1 GiB block at level 1.
        JsonElement k = Json([.. args[..^1], "0xffff000012345678", "--access", "write"]);
        Assert.Equal(("0x52345678", 1, "TTBR1"), (k.GetProperty("pa").GetString(), k.GetProperty("level").GetInt32(), k.GetProperty("root").GetString()));
    }

    [Fact]
    public void AArch64ThirtyNineBitsAndOutOfRange()
    {
        JsonElement r = Json("walk", "--format", "aarch64-39", "--map", "0xffffff8000000000=0x40000000:2M:r,x,global", "--va", "0xffffff8000001234", "--access", "exec");
        Assert.Equal(("0x40001234", 2, "TTBR1"), (r.GetProperty("pa").GetString(), r.GetProperty("level").GetInt32(), r.GetProperty("root").GetString()));
        Assert.Equal(["0xff001003", "0x40000040000781"], Descriptors(r)); // block: AP=10, UXN, AF, SH, AttrIndx 0

        // Bits 63:39 neither all zero nor all one: a level 0 translation fault, nothing read.
        JsonElement bad = Json("walk", "--format", "aarch64-39", "--va", "0x8000000000");
        Assert.Equal(("translation", 0, 0), (bad.GetProperty("fault").GetString(), bad.GetProperty("level").GetInt32(), bad.GetProperty("steps").GetArrayLength()));

        (int code, _, string err) = Run("walk", "--format", "aarch64-39", "--map", "0x8000000000=0x0:4K:r", "--va", "0x0");
        Assert.Equal(2, code);
        Assert.Contains("is outside what aarch64-39 translates", err);
    }
}
