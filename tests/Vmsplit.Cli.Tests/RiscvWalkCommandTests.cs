using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// <c>vmsplit walk</c> on the four RISC-V formats. The table bank is 0xff000000 (no map uses it), so the root is
/// 0xff000000 and the next tables are 0xff001000, 0xff002000, ... in the order the maps need them; a pointer to
/// table T is (T >> 12) << 10 | V, e.g. 0xff001000 → 0x3fc00401.
/// </summary>
public sealed class RiscvWalkCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static JsonElement Json(params string[] args)
    {
        (int code, string output, string err) = Run([.. args, "--json"]);
        Assert.Equal(0, code);
        Assert.Equal("", err);
        using JsonDocument doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    private static string[] Descriptors(JsonElement root) =>
        root.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("descriptor").GetString()!).ToArray();

    [Fact]
    public void Sv32UserPageAboveFourGiBOfPhysicalMemory()
    {
        // VA 0x400123: VPN[1] = 1, VPN[0] = 0. The 4 MiB kernel megapage needs no table; the user page needs the
        // level-0 table 0xff001000. Leaf for PA 0x3_0000_5000: PPN 0x300005 << 10 = 0xc0001400 | V|R|W|U|A|D (0xd7).
        JsonElement r = Json(
            "walk", "--format", "riscv-sv32", "--map", "0xc0000000=0x80000000:4M:r,w,x,global", "--map", "0x400000=0x300005000:4K:r,w,user",
            "--va", "0x400123", "--mode", "user", "--access", "write");
        Assert.Equal("ok", r.GetProperty("result").GetString());
        Assert.Equal("0x300005123", r.GetProperty("pa").GetString());
        Assert.Equal(4096, r.GetProperty("pageSize").GetInt64());
        Assert.Equal(0, r.GetProperty("level").GetInt32());

        // satp (RV32): MODE 1 << 31 | PPN 0xff000 = 0x800ff000.
        Assert.Equal("0x800ff000", r.GetProperty("rootValue").GetString());
        Assert.Equal(["0x3fc00401", "0xc00014d7"], Descriptors(r));
        Assert.Equal([1, 0], r.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("index").GetInt32()));

        // Sv32 VAs are 32 bits: a wider one is bad input.
        (int code, _, string err) = Run("walk", "--format", "riscv-sv32", "--va", "0x100000000");
        Assert.Equal(2, code);
        Assert.Contains("riscv-sv32 addresses are 32 bits wide", err);
    }

    [Fact]
    public void Sv39KernelTextMegapageListing()
    {
        // VA 0xffffffff80201234: VPN[2] = 0x1fe (entry 0xff000000 + 0x1fe·8 = 0xff000ff0), VPN[1] = 1.
        // Leaf PAGE_KERNEL_EXEC for 0x80200000: 0x80200 << 10 | 0xef = 0x200800ef.
        (int code, string output, string err) = Run(
            "walk", "--format", "riscv-sv39", "--map", "0xffffffff80200000=0x80200000:2M:r,w,x,global", "--va", "0xffffffff80201234", "--access", "exec");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Contains("satp = 0x80000000000ff000  MODE=Sv39 ASID=0 PPN=0xff000", output); // MODE 8 << 60 | PPN 0xff000
        Assert.Contains("pgd   level 2  table 0xff000000  index  510  [0xff000ff0] = 0x000000003fc00401  table", output);
        Assert.Contains("pmd   level 1  table 0xff001000  index    1  [0xff001008] = 0x00000000200800ef  leaf", output);
        Assert.Contains("V=1 R=1 W=1 X=1 U=0 G=1 A=1 D=1 RSW=0 PPN[0]=0x0 PPN[1]=0x1 PPN[2]=0x2 PBMT=0 N=0", output);
        Assert.Contains("result: ok  pa 0x80201234  page 2M at 0xffffffff80200000 -> 0x80200000", output);
    }

    [Fact]
    public void Sv39FaultsSpeakRiscv()
    {
        // The kernel page read from U-mode: a permission (page) fault at level 1.
        JsonElement user = Json("walk", "--format", "riscv-sv39", "--map", "0xffffffff80200000=0x80200000:2M:r,w,global", "--va", "0xffffffff80200000", "--mode", "user");
        Assert.Equal(("fault", "permission", 1), (user.GetProperty("result").GetString(), user.GetProperty("fault").GetString(), user.GetProperty("level").GetInt32()));

        // Bit 38 set without the bits above: not canonical, nothing read.
        JsonElement hole = Json("walk", "--format", "riscv-sv39", "--va", "0x4000000000");
        Assert.Equal("non-canonical", hole.GetProperty("fault").GetString());
        Assert.Equal(0, hole.GetProperty("steps").GetArrayLength());

        // Device memory goes to PBMT=IO: 2 << 61 | 0x10000 << 10 | V|R|W|A|D (0xc7) = 0x40000000040000c7 (a 4 KiB leaf).
        JsonElement io = Json("walk", "--format", "riscv-sv39", "--map", "0x40000000=0x10000000:4K:r,w,device", "--va", "0x40000000");
        Assert.Equal("0x40000000040000c7", Descriptors(io)[^1]);

        // Without menvcfg.PBMTE those bits are reserved: the same leaf faults at level 0.
        JsonElement noPbmt = Json("walk", "--format", "riscv-sv39", "--map", "0x40000000=0x10000000:4K:r,w,device", "--va", "0x40000000", "--cpu", "nopbmte");
        Assert.Equal(("reserved-bit", 0), (noPbmt.GetProperty("fault").GetString(), noPbmt.GetProperty("level").GetInt32()));

        // A user page read by S-mode: a fault without SUM, fine with it.
        string[] userPage = ["walk", "--format", "riscv-sv39", "--map", "0x10000=0x90000000:4K:r,w,user", "--va", "0x10000"];
        Assert.Equal("permission", Json(userPage).GetProperty("fault").GetString());
        Assert.Equal("ok", Json([.. userPage, "--cpu", "sum"]).GetProperty("result").GetString());
    }

    [Fact]
    public void Sv48LinearMapGigapage()
    {
        // Linux's Sv48 PAGE_OFFSET 0xffffaf8000000000: VPN[3] = 0xaf80 >> 7 = 0x15f (entry 0xff000af8), VPN[2] = 0.
        // 1 GiB PAGE_KERNEL leaf for 0x80000000: 0x80000 << 10 | 0xe7 = 0x200000e7.
        JsonElement r = Json("walk", "--format", "riscv-sv48", "--map", "0xffffaf8000000000=0x80000000:1G:r,w,global", "--va", "0xffffaf8000123456");
        Assert.Equal("0x80123456", r.GetProperty("pa").GetString());
        Assert.Equal(1L << 30, r.GetProperty("pageSize").GetInt64());
        Assert.Equal(2, r.GetProperty("level").GetInt32());
        Assert.Equal("0x90000000000ff000", r.GetProperty("rootValue").GetString());
        Assert.Equal(["0x3fc00401", "0x200000e7"], Descriptors(r));
        Assert.Equal(0x15f, r.GetProperty("steps")[0].GetProperty("index").GetInt32());
    }

    [Fact]
    public void Sv57FiveLevelUserWalk()
    {
        // VA 0x123456789000: VPN[4..0] = 0, 0x24, 0xd1, 0xb3, 0x189 (0x123456789 split into 9-bit groups).
        // Tables 0xff001000..0xff004000 in level order; leaf for 0x87654000: 0x87654 << 10 | 0xd7 = 0x21d950d7.
        JsonElement r = Json(
            "walk", "--format", "riscv-sv57", "--map", "0x123456789000=0x87654000:4K:r,w,user", "--va", "0x123456789abc", "--mode", "user", "--access", "write");
        Assert.Equal("0x87654abc", r.GetProperty("pa").GetString());
        Assert.Equal("0xa0000000000ff000", r.GetProperty("rootValue").GetString());
        Assert.Equal(["0x3fc00401", "0x3fc00801", "0x3fc00c01", "0x3fc01001", "0x21d950d7"], Descriptors(r));
        Assert.Equal([0, 0x24, 0xd1, 0xb3, 0x189], r.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("index").GetInt32()));
        Assert.Equal([4, 3, 2, 1, 0], r.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("level").GetInt32()));
    }
}
