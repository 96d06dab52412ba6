using System.Text.Json;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Tests;

/// <summary><c>--machine</c> implies the architecture, the architecture the designs; a user's profile file runs everywhere a machine does.</summary>
public class MachineImpliesArchTests
{
    [Theory]
    [InlineData("core2-e6600", "x86-64")]
    [InlineData("skylake", "x86-64")]
    [InlineData("haswell", "x86-64")]
    [InlineData("pentium4-xeon", "x86-pae")]
    [InlineData("atom-n270", "x86-pae")]
    [InlineData("cortex-a8", "arm")]
    [InlineData("cortex-a9", "arm")]
    [InlineData("cortex-a7", "arm-lpae")]
    [InlineData("arm1136", "arm")]
    [InlineData("cortex-a15", "arm-lpae")]
    [InlineData("cortex-a17", "arm-lpae")]
    [InlineData("cortex-a53", "aarch64")]
    [InlineData("cortex-a72", "aarch64")]
    [InlineData("sifive-u74", "riscv-sv39")]
    public void EveryShippedCpuImpliesItsArchitecture(string machine, string arch)
    {
        Assert.Equal(arch, MachineSpec.DefaultArch(CpuProfiles.Find(machine)!).Name());
    }

    [Fact]
    public void EveryShippedCpuCompares()
    {
        Assert.Equal(14, CpuProfiles.Shipped.Count);
        foreach (CpuProfile p in CpuProfiles.Shipped)
        {
            JsonElement root = CompareJson("--machine", p.Id, "--workloads", "null", "--ops", "2", "--serial");
            Assert.Equal(MachineSpec.DefaultArch(p).Name(), root.GetProperty("machine").GetProperty("arch").GetString());
            Assert.Equal(p.Id, root.GetProperty("machine").GetProperty("profile").GetString());
        }
    }

    [Fact]
    public void SkylakeAloneComparesTheX8664Designs()
    {
        JsonElement root = CompareJson("--machine", "skylake", "--workloads", "null", "--ops", "5");
        Assert.Equal("x86-64", root.GetProperty("machine").GetProperty("arch").GetString());
        Assert.Equal(["classic", "classic+pan", "kpti"], Designs(root));
        Assert.Equal("classic", root.GetProperty("baseline").GetString());
    }

    [Fact]
    public void Core2WithItsOwnDesignsRunsWithoutArch()
    {
        JsonElement root = CompareJson("--machine", "core2-e6600", "--designs", "classic,kpti+nopcid", "--workloads", "null", "--ops", "5");
        Assert.Equal("x86-64", root.GetProperty("machine").GetProperty("arch").GetString());
        Assert.Equal(["classic", "kpti+nopcid"], Designs(root));
    }

    [Fact]
    public void Core2AloneLeavesOutTheDesignItsCpuCannotRunAndSaysSo()
    {
        JsonElement root = CompareJson("--machine", "core2-e6600", "--workloads", "null", "--ops", "5");
        Assert.Equal(["classic", "kpti"], Designs(root)); // classic+pan needs SMAP
        Assert.Contains(root.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("classic+pan left out of the default designs: ", StringComparison.Ordinal) && n.GetString()!.Contains("SMAP", StringComparison.Ordinal));
    }

    [Fact]
    public void CortexA8AloneComparesTheArmDesigns()
    {
        JsonElement root = CompareJson("--machine", "cortex-a8", "--workloads", "null", "--ops", "5");
        Assert.Equal("arm", root.GetProperty("machine").GetProperty("arch").GetString());
        Assert.Equal(["classic", "classic+pan"], Designs(root));
    }

    [Fact]
    public void AMachineOfThePresetsArchitectureKeepsThePresetsDesigns()
    {
        JsonElement root = CompareJson("--machine", "cortex-a7", "--workloads", "null", "--ops", "5");
        Assert.Equal("arm-lpae", root.GetProperty("machine").GetProperty("arch").GetString());
        Assert.Equal(["classic", "4g4g+pin-kmap", "4g4g+ttbr0-switch", "4g4g+hybrid", "4g4g+trampoline", "4g4g+pmd-copy"], Designs(root));
    }

    [Theory]
    [InlineData("compare", "cortex-a15", "x86-64", "vmsplit: --arch: the cortex-a15 CPU cannot run x86-64 (it runs arm, arm-lpae)")]
    [InlineData("compare", "cortex-a8", "arm-lpae", "vmsplit: --arch: the cortex-a8 CPU cannot run arm-lpae (it runs arm)")]
    [InlineData("audit", "skylake", "x86-64-la57", "vmsplit: --arch: the skylake CPU cannot run x86-64-la57 (it runs x86-32, x86-pae, x86-64)")]
    [InlineData("bench", "sifive-u74", "riscv-sv48", "vmsplit: --arch: the sifive-u74 CPU cannot run riscv-sv48 (it runs riscv-sv39)")]
    public void AnArchitectureTheMachineCannotRunIsRefusedInTheClisNames(string command, string machine, string arch, string message)
    {
        (int code, string output, string err) = CliHarness.Run(command, "--machine", machine, "--arch", arch);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal(message + "\n", err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void ACopyOfAProfileRunsInCompareAuditValidateAndBench()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string copy = Path.Combine(dir, "copy-of-a-profile.yaml");
        File.WriteAllText(copy, CpuProfiles.ShippedText("skylake")!);

        JsonElement root = CompareJson("--machine", copy, "--designs", "classic,kpti", "--workloads", "null", "--ops", "5");
        Assert.Equal("x86-64", root.GetProperty("machine").GetProperty("arch").GetString());

        (int code, string output, string err) = CliHarness.Run("audit", "--machine", copy, "--format", "json");
        Assert.True(code == 0, err);
        using (JsonDocument audit = JsonDocument.Parse(output))
        {
            Assert.Equal(["classic", "classic+pan", "kpti"], audit.RootElement.EnumerateArray().Select(e => e.GetProperty("design").GetString()));
        }

        (code, output, err) = CliHarness.Run("validate", "--machine", copy);
        Assert.True(code == 0, err);
        Assert.Contains($"with skylake from {copy}, 5 datapoints)", output);

        (code, output, err) = CliHarness.Run("bench", "--machine", copy, "--designs", "classic", "--seconds", "0.05");
        Assert.True(code == 0, err);
        Assert.Contains("syscall-null-classic-skylake", output);
    }

    [Fact]
    public void AChangedValueInTheCopyChangesWhatValidateComputes()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string copy = Path.Combine(dir, "my-skylake.yaml");
        string text = CpuProfiles.ShippedText("skylake")!;
        const string Entry = "  exceptionEntry: { value: 40,";
        Assert.Contains(Entry, text);
        File.WriteAllText(copy, text.Replace(Entry, "  exceptionEntry: { value: 440,", StringComparison.Ordinal));

        double Model(params string[] extra)
        {
            (int code, string output, string err) = CliHarness.Run(["validate", "--only", "lmbench-null-pti-off", "--format", "json", .. extra]);
            Assert.True(code == 0, err);
            using JsonDocument doc = JsonDocument.Parse(output);
            return doc.RootElement.GetProperty("results")[0].GetProperty("model").GetDouble();
        }

        // 400 more cycles per null system call at Skylake's 4000 MHz: 0.1 us more
        Assert.Equal(Model() + 0.1, Model("--machine", copy), 6);
    }

    [Theory]
    [InlineData("compare")]
    [InlineData("audit")]
    [InlineData("validate")]
    [InlineData("bench")]
    public void ABrokenProfileFileIsOneLineNamingFileLineAndField(string command)
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string bad = Path.Combine(dir, "board.yaml");
        string text = CpuProfiles.ShippedText("skylake")!;
        File.WriteAllText(bad, text.Replace("cr3Write: { value: 100,", "cr3Write: { value: fast,", StringComparison.Ordinal));
        int line = text[..text.IndexOf("cr3Write: { value: 100,", StringComparison.Ordinal)].Count(c => c == '\n') + 1;

        (int code, string output, string err) = CliHarness.Run(command, "--machine", bad);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: --machine: {bad}:{line}: costs.cr3Write: 'fast' is not a number\n", err.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("./my-board")]
    [InlineData("boards/a15")]
    [InlineData("board.yml")]
    public void APathIsReadAsAFileNotAsAProfileName(string value)
    {
        (int code, _, string err) = CliHarness.Run("compare", "--machine", value);
        Assert.Equal(2, code);
        Assert.StartsWith($"vmsplit: --machine: {value}: cannot read", err, StringComparison.Ordinal);
    }

    private static JsonElement CompareJson(params string[] args)
    {
        (int code, string output, string err) = CliHarness.Run(["compare", .. args, "--format", "json"]);
        Assert.True(code == 0, err);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private static string[] Designs(JsonElement root) => [.. root.GetProperty("budget").EnumerateArray().Select(b => b.GetProperty("design").GetString()!)];
}
