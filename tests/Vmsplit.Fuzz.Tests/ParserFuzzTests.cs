using Vmsplit.Cli;
using Vmsplit.Cli.Commands;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Lab;
using Vmsplit.Lab.Validation;
using Vmsplit.Workloads;
using Xunit.Abstractions;

namespace Vmsplit.Fuzz.Tests;

/// <summary>
/// Every parser under mutated and generated input: it accepts, or it throws its own located error type
/// with one line that starts with the file and the line. See docs/fuzzing.md.
/// </summary>
public sealed class ProfileFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void MutatedProfiles() => Campaign.Run(
        output,
        "profile",
        Campaign.Parser(2_000),
        r => Mutator.Mutate(r, r.Pick(Seeds.Profiles), Seeds.Profiles),
        input => Campaign.Parse<ProfileFormatException>("fuzz.yaml", () => CpuProfileLoader.Parse(Decode(input, m => new ProfileFormatException(m)), "fuzz.yaml")),
        input => input.How + ": " + (input.Text ?? Convert.ToHexString(input.Bytes!)));

    [Fact]
    public void TheSeedsParse() => Assert.All(Seeds.Profiles, p => CpuProfileLoader.Parse(p, "seed.yaml"));

    internal static string Decode(FuzzInput input, Func<string, Exception> makeError) =>
        input.Text ?? SafeYaml.Decode(input.Bytes!, "fuzz.yaml", makeError);
}

public sealed class WorkloadFuzzTests(ITestOutputHelper output)
{
    private static readonly IReadOnlyList<string> s_corpus = [.. Seeds.WorkloadExamples];

    [Fact]
    public void MutatedWorkloadExamples() => Campaign.Run(
        output,
        "workload",
        Campaign.Parser(2_000),
        r => Mutator.Mutate(r, r.Pick(s_corpus), s_corpus),
        Check,
        input => input.How + ": " + (input.Text ?? Convert.ToHexString(input.Bytes!)));

    [Fact]
    public void GeneratedWorkloads() => Campaign.Run(
        output,
        "workload-generated",
        Campaign.Parser(1_500),
        r => r.Chance(70) ? new FuzzInput(Seeds.Workload(r), null, "generated") : Mutator.Mutate(r, Seeds.Workload(r), s_corpus),
        Check,
        input => input.How + ": " + (input.Text ?? Convert.ToHexString(input.Bytes!)));

    [Fact]
    public void TheSeedsParse() => Assert.All(Seeds.WorkloadExamples, w => WorkloadFile.Parse(w, "seed.yaml"));

    /// <summary>A workload that parses must also emit its first operations (what the runner does first).</summary>
    private static string Check(FuzzInput input) => Campaign.Parse<WorkloadException>("fuzz.yaml", () =>
    {
        Workload w = WorkloadFile.Parse(ProfileFuzzTests.Decode(input, m => new WorkloadException(m)), "fuzz.yaml");
        if (w.StepsPerOperation <= 0 || w.SetupSteps <= 0)
        {
            throw new FuzzFinding($"workload {w.Name}: {w.StepsPerOperation} steps per operation, {w.SetupSteps} of setup");
        }

        if (w.StepsPerOperation < 100_000)
        {
            List<WorkloadEvent> events = w.Events(3);
            if (events.Any(e => e.Process < 0 || e.Process >= w.Processes || e.Region < 0 || e.Region >= w.Regions.Count))
            {
                throw new FuzzFinding($"workload {w.Name} emits an event outside its processes or regions");
            }
        }
    });
}

public sealed class DatapointFuzzTests(ITestOutputHelper output)
{
    private static readonly IReadOnlyList<string> s_corpus = [Seeds.Datapoints, .. Seeds.SingleDatapoints];

    [Fact]
    public void MutatedDatapoints() => Campaign.Run(
        output,
        "datapoints",
        Campaign.Parser(1_500),
        r => Mutator.Mutate(r, r.Chance(10) ? Seeds.Datapoints : r.Pick(Seeds.SingleDatapoints), s_corpus),
        input => Campaign.Parse<LabException>("fuzz.yaml", () => DatapointFile.Parse(ProfileFuzzTests.Decode(input, m => new LabException(m)), "fuzz.yaml")),
        input => input.How + ": " + (input.Text ?? Convert.ToHexString(input.Bytes!)));

    [Fact]
    public void TheSeedsParse()
    {
        Assert.Equal(DatapointFile.Shipped().Count, Seeds.SingleDatapoints.Count);
        Assert.All(Seeds.SingleDatapoints, d => Assert.Single(DatapointFile.Parse(d, "seed.yaml")));
    }
}

/// <summary>The option parsers, called directly: sizes and addresses, --map, --image, --mem and the built-in workload names.</summary>
public sealed class OptionParserFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] s_sizes = ["4K", "240M", "2G", "0xC0000000", "0xffffffffffffffff", "1_000", "16E", "64KiB", "3 M"];
    private static readonly string[] s_maps = ["0x400000=0x5000000:4K:r,w,user", "0xffffffff81000000=0x1000000:2M:r,x,global", "0xffff888000000000=0:1G:r,w,global", "0xc0000000=0x80000000:1M:r,w", "0x1000=0x2000:4K:r,x,user,device,nc"];
    private static readonly string[] s_images = ["text=9184K,init=1024K,data=1536K,bss=512K", "text=0xc0008000-0xc0596f00,init=0xc0600000-0xc0700000,data=0xc0700000-0xc0800000,bss=0xc0800000-0xc0900000", "text=8M,init=0,data=0,bss=0"];
    private static readonly string[] s_banks = ["0x80000000:2G", "0:512M", "0x100000000:4G", "0x10000000:16M"];
    private static readonly string[] s_workloads = ["wss", "wss:8M", "wss:64M:16", "wss:4K:1", "dd", "dd:4K", "dd:1M", "null", "fork-exit", "read64k"];

    [Fact]
    public void Sizes() => Campaign.Run(output, "sizes", Campaign.Parser(5_000), r => Mutator.OptionValue(r, s_sizes), text =>
    {
        bool ok = ByteSize.TryParse(text, "--x", 4096, 1UL << 40, out _, out string error);
        if (!ok)
        {
            OneLine(error);
        }

        return ok ? "accepted" : "refused";
    }, t => t);

    [Fact]
    public void Maps() => Campaign.Run(output, "map", Campaign.Parser(3_000), r => (Format: r.Pick(PageTableFormat.AllNames.ToList()), Map: Mutator.OptionValue(r, s_maps)), input =>
    {
        Assert.True(PageTableFormat.TryParse(input.Format, out PageTableFormat? format, out _));
        return Usage(() => WalkCommand.ParseMap(format!, input.Map));
    }, input => $"{input.Format} {input.Map}");

    [Fact]
    public void Images() => Campaign.Run(output, "image", Campaign.Parser(3_000), r => Mutator.OptionValue(r, s_images), text => Usage(() => LayoutCommand.ParseImage(text)), t => t);

    [Fact]
    public void Banks() => Campaign.Run(output, "mem", Campaign.Parser(3_000), r => (Arch: r.Pick(Kernel.Layout.KernelArchitectures.Names), Banks: Enumerable.Range(0, r.Between(1, 3)).Select(_ => Mutator.OptionValue(r, s_banks)).ToArray()), input =>
    {
        Assert.True(Kernel.Layout.KernelArchitectures.TryParse(input.Arch, false, false, out Kernel.Layout.KernelArch arch, out _));
        return Usage(() => LayoutCommand.BuildMachine(arch, null, input.Banks));
    }, input => input.Arch + " " + string.Join(" ", input.Banks));

    [Fact]
    public void BuiltinWorkloadNames() => Campaign.Run(output, "workload-names", Campaign.Parser(3_000), r => Mutator.OptionValue(r, s_workloads), text =>
    {
        try
        {
            Workload w = BuiltinWorkloads.Get(text);
            return w.StepsPerOperation > 0 ? "accepted" : throw new FuzzFinding($"{w.Name}: no work");
        }
        catch (WorkloadException e)
        {
            OneLine(e.Message);
            return "refused";
        }
    }, t => t);

    private static string Usage(Action parse)
    {
        try
        {
            parse();
            return "accepted";
        }
        catch (UsageException e)
        {
            OneLine(e.Message);
            return "refused";
        }
    }

    private static void OneLine(string message)
    {
        if (message.Length == 0 || message.Contains('\n') || message.Contains('\r') || message.Length > 1200)
        {
            throw new FuzzFinding($"not one line: {Campaign.Show(message)}");
        }
    }
}
