using Vmsplit.Cli.Tests;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;
using Vmsplit.Workloads;
using Xunit.Abstractions;

namespace Vmsplit.Fuzz.Tests;

/// <summary>
/// vmsplit itself under fuzzed files and option values, through the in-process <see cref="CliHarness"/>:
/// every command line exits 0, or 2 with one line; never 1 (internal error) and never an escaped exception.
/// </summary>
public sealed class CliFuzzTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Workloads estimated above this many steps at --ops 2 are parsed but not run, to keep the campaign's time bounded (those above the cap still run: they are refused before any boot).</summary>
    private const double RunBudgetSteps = 50_000;

    private static readonly string[] s_maps = ["0x400000=0x5000000:4K:r,w,user", "0xffffffff81000000=0x1000000:2M:r,x,global", "0xc0000000=0x80000000:1M:r,w", "0x1000=0x2000:4K:r,x,user"];
    private static readonly string[] s_vas = ["0x400123", "0xffffffff81000000", "0xc0000000", "0", "0xffffffffffffffff"];
    private static readonly string[] s_sizes = ["64M", "512M", "2G", "4G", "240M", "16M", "0x10000000"];
    private static readonly string[] s_banks = ["0x80000000:2G", "0:512M", "0x100000000:4G"];
    private static readonly string[] s_images = ["text=9184K,init=1024K,data=1536K,bss=512K", "text=8M,init=0,data=0,bss=0"];

    // machines whose every design here runs on today's kernel; the designs × architectures matrix itself is
    // tested by the kernel's own tests, this campaign is about input
    private static readonly (string Machine, string Arch, string[] Designs)[] s_machines =
    [
        ("cortex-a15", "arm-lpae", ["classic", "4g4g+hybrid"]),
        ("skylake", "x86-64", ["classic", "kpti"]),
        ("cortex-a7", "arm", ["classic"]),
        ("sifive-u74", "riscv-sv39", ["classic"]),
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("vmsplit-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Walk() => Campaign.Run(output, "cli-walk", Campaign.CommandLine(300), r =>
    {
        List<string> args = ["walk", "--format", r.Chance(90) ? r.Pick(PageTableFormat.AllNames.ToList()) : Mutator.OptionValue(r, ["x86-64", "arm-lpae"])];
        for (int i = r.Between(0, 3); i > 0; i--)
        {
            args.AddRange(["--map", r.Chance(60) ? r.Pick(s_maps) : Mutator.OptionValue(r, s_maps)]);
        }

        args.AddRange(["--va", r.Chance(50) ? r.Pick(s_vas) : Mutator.OptionValue(r, s_vas)]);
        if (r.Chance(30))
        {
            args.AddRange(["--mode", r.Pick(new[] { "user", "kernel", "root", "" })]);
        }

        if (r.Chance(30))
        {
            args.AddRange(["--access", r.Pick(new[] { "read", "write", "exec", "jump" })]);
        }

        if (r.Chance(20))
        {
            args.Add("--json");
        }

        return args.ToArray();
    }, args => Campaign.Exit(CliHarness.Run(args)), Describe);

    [Fact]
    public void Layout() => Campaign.Run(output, "cli-layout", Campaign.CommandLine(300), r =>
    {
        List<string> args = ["layout", "--arch", r.Pick(KernelArchitectures.Names)];
        if (r.Chance(50))
        {
            args.AddRange(["--ram", r.Chance(40) ? r.Pick(s_sizes) : Mutator.OptionValue(r, s_sizes)]);
        }
        else
        {
            for (int i = r.Between(1, 2); i > 0; i--)
            {
                args.AddRange(["--mem", r.Chance(40) ? r.Pick(s_banks) : Mutator.OptionValue(r, s_banks)]);
            }
        }

        if (r.Chance(30))
        {
            args.AddRange(["--image", r.Chance(30) ? r.Pick(s_images) : Mutator.OptionValue(r, s_images)]);
        }

        if (r.Chance(30))
        {
            args.AddRange(["--vmalloc", Mutator.OptionValue(r, ["240M", "128M", "16M"])]);
        }

        if (r.Chance(20))
        {
            args.AddRange(["--format", r.Pick(new[] { "table", "json", "boot", "svg" })]);
        }

        return args.ToArray();
    }, args => Campaign.Exit(CliHarness.Run(args)), Describe);

    [Fact]
    public void ProfileFiles() => Campaign.Run(output, "cli-profile", Campaign.CommandLine(150), r => Mutator.Mutate(r, r.Pick(Seeds.Profiles), Seeds.Profiles), input =>
    {
        string path = Write("profile.yaml", input);
        return Campaign.Exit(CliHarness.Run("profile", "show", "--file", path));
    }, input => input.How + ": " + (input.Text ?? Convert.ToHexString(input.Bytes!)));

    [Fact]
    public void WorkloadFilesAndNames() => Campaign.Run(output, "cli-compare", Campaign.CommandLine(200), r =>
    {
        (string machine, string arch, string[] designs) = r.Pick(s_machines);
        string workload;
        if (r.Chance(25))
        {
            workload = Mutator.OptionValue(r, ["wss:8M:16", "wss:64K", "dd:4K", "null", "pipe", "fork-exit"]);
        }
        else
        {
            FuzzInput file = r.Chance(50) ? new FuzzInput(Seeds.Workload(r), null, "generated") : Mutator.Mutate(r, r.Pick(Seeds.WorkloadExamples), Seeds.WorkloadExamples);
            workload = Write("w.yaml", file);
        }

        return new[] { "compare", "--machine", machine, "--arch", arch, "--designs", string.Join(',', designs), "--workloads", workload, "--ops", "2", "--serial" };
    }, args =>
    {
        string workload = args[8];
        if (!Affordable(workload))
        {
            return "skipped (over the run budget)";
        }

        return Campaign.Exit(CliHarness.Run(args));
    }, args => Describe(args) + (args[8].EndsWith(".yaml", StringComparison.Ordinal) && File.Exists(args[8]) ? " -- file: " + File.ReadAllText(args[8]) : ""));

    [Fact]
    public void DatapointFiles() => Campaign.Run(output, "cli-validate", Campaign.CommandLine(60), r => Mutator.Mutate(r, r.Pick(Seeds.SingleDatapoints), Seeds.SingleDatapoints), input =>
    {
        string path = Write("d.yaml", input);
        return Campaign.Exit(CliHarness.Run("validate", "--data", path));
    }, input => input.How + ": " + (input.Text ?? Convert.ToHexString(input.Bytes!)));

    [Fact]
    public void TheWorkloadExamplesRun()
    {
        string[] examples = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "seeds", "workloads"), "*.yaml");
        Assert.Equal(3, examples.Length);
        foreach (string path in examples)
        {
            (int code, string stdout, string err) = CliHarness.Run("compare", "--designs", "classic,4g4g+hybrid", "--workloads", path, "--ops", "5", "--serial");
            Assert.True(code == 0, $"{path}: {err}");
            Assert.Contains(WorkloadFile.Load(path).Name, stdout);
        }
    }

    /// <summary>Whether running the workload at --ops 2 fits <see cref="RunBudgetSteps"/> (or is refused by the cap before any boot).</summary>
    private static bool Affordable(string workload)
    {
        Workload w;
        try
        {
            w = workload.EndsWith(".yaml", StringComparison.Ordinal) ? WorkloadFile.Load(workload) : BuiltinWorkloads.Get(workload);
        }
        catch (WorkloadException)
        {
            return true; // refused while parsing: cheap
        }

        double steps = Runner.Steps(w, 2);
        return steps <= RunBudgetSteps || steps > Runner.MaxSteps;
    }

    private string Write(string name, FuzzInput input)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, input.ToBytes());
        return path;
    }

    private static string Describe(string[] args) => string.Join(' ', args.Select(a => a.Contains(' ') || a.Length == 0 ? $"'{a}'" : a));
}
