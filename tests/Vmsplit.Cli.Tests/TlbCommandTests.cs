using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary><c>vmsplit tlb</c>: the maintenance matrix as executed, in table and JSON, and its usage errors.</summary>
public sealed class TlbCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    // Columns after the operands: TLB G,VA G,other ASID,VA ASID,other oASID,VA oASID,other, then walk cache
    // ASID,VA ASID,other oASID,VA oASID,other. One character per column, in that order.
    private static string Marks(string output, string mnemonic)
    {
        string line = Assert.Single(output.Split('\n'), l => l.TrimStart().StartsWith(mnemonic + " ", StringComparison.Ordinal));
        return string.Concat(line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(t => t is "x" or "."));
    }

    private static List<string> Operations(string output) =>
        JsonDocument.Parse(output).RootElement.GetProperty("operations").EnumerateArray().Select(o => o.GetProperty("operation").GetString()!).ToList();

    [Fact]
    public void X86_64TableShowsInvlpgTakesTheGlobalEntryButInvpcidZeroDoesNot()
    {
        (int code, string output, _) = Run("tlb", "--arch", "x86-64");
        Assert.Equal(0, code);

        // INVLPG: the VA's global and current-PCID entries; every paging-structure-cache entry of the current PCID.
        Assert.Equal("x.x...|xx..", Marks(output, "INVLPG").Insert(6, "|"));
        Assert.Equal("..x...|xx..", Marks(output, "INVPCID 0").Insert(6, "|"));
        Assert.Equal("......|....", Marks(output, "MOV CR3 (PCID, no flush)").Insert(6, "|"));
    }

    [Fact]
    public void X86_32HasNoPcidFormsOfMovCr3()
    {
        // CR4.PCIDE can be set only in IA-32e mode (Intel SDM 3A 4.10.1); the old spelling "x86" is x86-32.
        foreach (string name in new[] { "x86-32", "x86", "x86-pae" })
        {
            (int code, string output, _) = Run("tlb", "--arch", name, "--format", "json");
            Assert.Equal(0, code);
            Assert.Equal(["MOV CR3", "INVLPG", "INVPCID 0", "INVPCID 1", "INVPCID 2", "INVPCID 3", "CR4.PGE toggle"], Operations(output));
        }

        // Without PCIDs every non-global entry is in one untagged address space: INVLPG takes the VA's entry
        // whatever "ASID" filled it, and all paging-structure-cache entries (SDM 3A 4.10.4.1).
        (int code32, string table, _) = Run("tlb", "--arch", "x86-32");
        Assert.Equal(0, code32);
        Assert.StartsWith("x86-32: operands VA 0x400000, PCID 0 (untagged).", table, StringComparison.Ordinal);
        Assert.Equal("x.x.x.|xxxx", Marks(table, "INVLPG").Insert(6, "|"));
        Assert.Equal("..xxxx|xxxx", Marks(table, "MOV CR3").Insert(6, "|"));
        Assert.Contains("so the ASID and other-ASID columns coincide", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Aarch64ListsAarch64sOwnOperationsWithTheirWalkCacheEffects()
    {
        (int code, string output, _) = Run("tlb", "--arch", "aarch64");
        Assert.Equal(0, code);
        Assert.DoesNotContain("TLBIMVA", output, StringComparison.Ordinal);
        Assert.StartsWith("aarch64: operands VA 0x400000, ASID/PCID 1, range 8 KiB from VA (SCALE 0, NUM 0).", output, StringComparison.Ordinal);

        // Computed by hand from DDI 0487F D5.10.2: TLB marks, then walk-cache marks.
        Assert.Equal("xxxxxx|xxxx", Marks(output, "TLBI VMALLE1").Insert(6, "|"));
        Assert.Equal("..xx..|xx..", Marks(output, "TLBI ASIDE1").Insert(6, "|"));
        Assert.Equal("x.x...|x...", Marks(output, "TLBI VAE1").Insert(6, "|"));
        Assert.Equal("x.x...|....", Marks(output, "TLBI VALE1").Insert(6, "|"));
        Assert.Equal("x.x.x.|x.x.", Marks(output, "TLBI VAAE1").Insert(6, "|"));
        Assert.Equal("x.x.x.|....", Marks(output, "TLBI VAALE1").Insert(6, "|"));
        Assert.Equal("x.x...|....", Marks(output, "TLBI VALE1IS").Insert(6, "|"));
        Assert.Equal("x.x...|x...", Marks(output, "TLBI RVAE1").Insert(6, "|"));
        Assert.Equal("x.x.x.|....", Marks(output, "TLBI RVAALE1IS").Insert(6, "|"));
        Assert.Contains("FEAT_TLBIRANGE", Assert.Single(output.Split('\n'), l => l.TrimStart().StartsWith("TLBI RVALE1 ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("inner-shareable domain (ARM ARM DDI 0487F D5.10.2)", output, StringComparison.Ordinal);

        (code, string json, _) = Run("tlb", "--arch", "arm64", "--format", "json");
        Assert.Equal(0, code);
        Assert.Equal(
            [
                "TLBI VMALLE1", "TLBI ASIDE1", "TLBI VAE1", "TLBI VALE1", "TLBI VAAE1", "TLBI VAALE1",
                "TLBI VMALLE1IS", "TLBI ASIDE1IS", "TLBI VAE1IS", "TLBI VALE1IS", "TLBI VAAE1IS", "TLBI VAALE1IS",
                "TLBI RVAE1", "TLBI RVALE1", "TLBI RVAAE1", "TLBI RVAALE1", "TLBI RVAE1IS", "TLBI RVALE1IS", "TLBI RVAAE1IS", "TLBI RVAALE1IS",
            ],
            Operations(json));
        using JsonDocument doc = JsonDocument.Parse(json);
        Assert.Equal("aarch64", doc.RootElement.GetProperty("arch").GetString());
        JsonElement vale1 = doc.RootElement.GetProperty("operations")[3];
        Assert.False(vale1.GetProperty("walkCacheRemoves").GetProperty("ASID, VA").GetBoolean());
        Assert.Equal("kept", vale1.GetProperty("walkCaches").GetString());
    }

    [Fact]
    public void ArmAndArmLpaeHaveTheArmv7OperationsAndDifferInWhatIsOptional()
    {
        // TLBIMVAA and the IS forms come with the Multiprocessing Extensions: optional with short descriptors, required by LPAE.
        (int code, string arm, _) = Run("tlb");
        Assert.Equal(0, code);
        Assert.StartsWith("arm: ", arm, StringComparison.Ordinal);
        Assert.Equal("x.x.x.|x.x.", Marks(arm, "TLBIMVAAIS").Insert(6, "|"));
        Assert.Contains("Multiprocessing Extensions", Assert.Single(arm.Split('\n'), l => l.TrimStart().StartsWith("TLBIMVAA ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.DoesNotContain("Multiprocessing Extensions", Assert.Single(arm.Split('\n'), l => l.TrimStart().StartsWith("TLBIMVA ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("inner-shareable domain (ARM ARM DDI 0406C B4.2.2)", arm, StringComparison.Ordinal);

        (code, string lpae, _) = Run("tlb", "--arch", "arm-lpae", "--format", "json");
        Assert.Equal(0, code);
        Assert.Equal(["TLBIALL", "TLBIASID", "TLBIMVA", "TLBIMVAA", "TLBIALLIS", "TLBIASIDIS", "TLBIMVAIS", "TLBIMVAAIS"], Operations(lpae));
        using JsonDocument doc = JsonDocument.Parse(lpae);
        Assert.All(doc.RootElement.GetProperty("operations").EnumerateArray(), o => Assert.Equal("", o.GetProperty("requires").GetString()));
        Assert.Equal("Multiprocessing Extensions", JsonDocument.Parse(Run("tlb", "--arch", "arm", "--format", "json").Out).RootElement.GetProperty("operations")[3].GetProperty("requires").GetString());
    }

    [Fact]
    public void RiscvJsonReportsEachKind()
    {
        (int code, string output, _) = Run("tlb", "--arch", "riscv", "--format", "json");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        Assert.Equal("riscv-sv39", doc.RootElement.GetProperty("arch").GetString());
        JsonElement ops = doc.RootElement.GetProperty("operations");
        Assert.Equal(4, ops.GetArrayLength());

        // SFENCE.VMA va, asid keeps global mappings and leaves non-leaf caches alone.
        JsonElement vaAsid = ops[3];
        Assert.Equal("SFENCE.VMA va, asid", vaAsid.GetProperty("operation").GetString());
        Assert.False(vaAsid.GetProperty("removes").GetProperty("global, VA").GetBoolean());
        Assert.True(vaAsid.GetProperty("removes").GetProperty("ASID, VA").GetBoolean());
        Assert.False(vaAsid.GetProperty("removes").GetProperty("other ASID, VA").GetBoolean());
        Assert.False(vaAsid.GetProperty("walkCacheRemoves").GetProperty("ASID, VA").GetBoolean());
        Assert.Equal("kept", vaAsid.GetProperty("walkCaches").GetString());

        // SFENCE.VMA va, x0 removes the VA in every address space, global included.
        Assert.True(ops[1].GetProperty("removes").GetProperty("global, VA").GetBoolean());
        Assert.True(ops[1].GetProperty("removes").GetProperty("other ASID, VA").GetBoolean());
        Assert.False(ops[1].GetProperty("removes").GetProperty("other ASID, other VA").GetBoolean());
    }

    [Theory]
    [InlineData("--arch", "mips", "vmsplit: --arch: unknown architecture 'mips' (expected one of: arm, arm-lpae, aarch64, x86-32, x86-pae, x86-64, x86-64-la57, riscv-sv32, riscv-sv39, riscv-sv48, riscv-sv57)")]
    [InlineData("--format", "csv", "vmsplit: --format: unknown format 'csv' (use text, json)")]
    public void BadInputIsOneLineAndExitCodeTwo(string option, string value, string message)
    {
        (int code, string output, string error) = Run("tlb", option, value);
        Assert.Equal((2, "", message + "\n"), (code, output, error.Replace("\r\n", "\n", StringComparison.Ordinal)));
    }
}
