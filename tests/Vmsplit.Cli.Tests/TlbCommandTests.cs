using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary><c>vmsplit tlb</c>: the maintenance matrix as executed, in table and JSON, and its usage errors.</summary>
public sealed class TlbCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void X86TableShowsInvlpgTakesTheGlobalEntryButInvpcidZeroDoesNot()
    {
        (int code, string output, _) = Run("tlb", "--arch", "x86");
        Assert.Equal(0, code);
        string[] lines = output.Split('\n');

        // Columns: G,VA  G,other  ASID,VA  ASID,other  oASID,VA  oASID,other.
        string invlpg = Assert.Single(lines, l => l.StartsWith("INVLPG", StringComparison.Ordinal));
        Assert.Contains("x     .        x        .           .         .            the ASID's", invlpg, StringComparison.Ordinal);
        string invpcid0 = Assert.Single(lines, l => l.StartsWith("INVPCID 0", StringComparison.Ordinal));
        Assert.Contains(".     .        x        .           .         .", invpcid0, StringComparison.Ordinal);
        string noFlush = Assert.Single(lines, l => l.StartsWith("MOV CR3 (PCID, no flush)", StringComparison.Ordinal));
        Assert.EndsWith(".     .        .        .           .         .            kept", noFlush, StringComparison.Ordinal);
    }

    [Fact]
    public void RiscvJsonReportsEachKind()
    {
        (int code, string output, _) = Run("tlb", "--arch", "riscv", "--format", "json");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement ops = doc.RootElement.GetProperty("operations");
        Assert.Equal(4, ops.GetArrayLength());

        // SFENCE.VMA va, asid keeps global mappings and leaves non-leaf caches alone.
        JsonElement vaAsid = ops[3];
        Assert.Equal("SFENCE.VMA va, asid", vaAsid.GetProperty("operation").GetString());
        Assert.False(vaAsid.GetProperty("removes").GetProperty("global, VA").GetBoolean());
        Assert.True(vaAsid.GetProperty("removes").GetProperty("ASID, VA").GetBoolean());
        Assert.False(vaAsid.GetProperty("removes").GetProperty("other ASID, VA").GetBoolean());
        Assert.Equal("kept", vaAsid.GetProperty("walkCaches").GetString());

        // SFENCE.VMA va, x0 removes the VA in every address space, global included.
        Assert.True(ops[1].GetProperty("removes").GetProperty("global, VA").GetBoolean());
        Assert.True(ops[1].GetProperty("removes").GetProperty("other ASID, VA").GetBoolean());
        Assert.False(ops[1].GetProperty("removes").GetProperty("other ASID, other VA").GetBoolean());
    }

    [Fact]
    public void ArmTableMentionsTheInnerShareableForms()
    {
        (int code, string output, _) = Run("tlb");
        Assert.Equal(0, code);
        Assert.Contains("TLBIMVAAIS  VA        x     .        x        .           x         .", output, StringComparison.Ordinal);
        Assert.Contains("inner-shareable domain", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--arch", "mips", "vmsplit: --arch: unknown architecture 'mips' (use arm, x86 or riscv)")]
    [InlineData("--format", "csv", "vmsplit: --format: unknown format 'csv' (use table or json)")]
    public void BadInputIsOneLineAndExitCodeTwo(string option, string value, string message)
    {
        (int code, string output, string error) = Run("tlb", option, value);
        Assert.Equal((2, "", message + "\n"), (code, output, error.Replace("\r\n", "\n", StringComparison.Ordinal)));
    }
}
