using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace Vmsplit.Cli;

/// <summary>
/// The examples every <c>--help</c> ends with (two or three real command lines per command; a test runs each
/// one), and the listing a command group prints when it is named without a subcommand.
/// </summary>
public static class HelpExamples
{
    /// <summary>Examples by command path ("" for vmsplit itself, "profile show" for a subcommand).</summary>
    public static IReadOnlyDictionary<string, string[]> ByCommand { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [""] =
        [
            "vmsplit compare",
            "vmsplit compare --machine skylake",
            "vmsplit causes",
        ],
        ["compare"] =
        [
            "vmsplit compare --machine skylake",
            "vmsplit compare --machine core2-e6600 --designs classic,kpti+nopcid --workloads null,pipe,fork-exit",
            "vmsplit compare --machine cortex-a8 --workloads null,read4k --format json",
        ],
        ["replay"] =
        [
            "vmsplit replay tests/traces/lackey/cat.lackey.xz",
            "vmsplit replay tests/traces/strace/pipeline.strace.gz --preset kpti",
            "vmsplit replay tests/traces/champsim/cat.champsimtrace.xz --syscall-every 5000 --format json",
        ],
        ["audit"] =
        [
            "vmsplit audit --machine skylake",
            "vmsplit audit --arch aarch64 --designs classic,kpti --format json",
        ],
        ["validate"] =
        [
            "vmsplit validate",
            "vmsplit validate --arch x86-64 --detail",
            "vmsplit validate --machine cortex-a72",
        ],
        ["walk"] =
        [
            "vmsplit walk --example",
            "vmsplit walk --arch arm-lpae --map 0xc0000000=0x80000000:2M:r,w,x,global --va 0xc0012345",
            "vmsplit walk --example --format json",
        ],
        ["ptdump"] =
        [
            "vmsplit ptdump --machine skylake --design kpti --user",
            "vmsplit ptdump --machine cortex-a72 --kernel",
            "vmsplit ptdump --arch riscv-sv39 --process 2",
        ],
        ["layout"] =
        [
            "vmsplit layout --arch arm --ram 2G",
            "vmsplit layout --arch arm-lpae --ram 2G --budget",
            "vmsplit layout --arch x86-32 --ram 1G --linux 4.19 --format boot",
        ],
        ["tlb"] =
        [
            "vmsplit tlb --arch aarch64",
            "vmsplit tlb --arch x86-64 --format json",
        ],
        ["profile"] =
        [
            "vmsplit profile list",
            "vmsplit profile show skylake",
        ],
        ["profile list"] =
        [
            "vmsplit profile list",
            "vmsplit profile list --format json",
        ],
        ["profile show"] =
        [
            "vmsplit profile show cortex-a15",
            "vmsplit profile show skylake --format yaml",
        ],
        ["bench"] =
        [
            "vmsplit bench",
            "vmsplit bench --machine cortex-a53 --seconds 3",
        ],
        ["sweep"] =
        [
            "vmsplit sweep sweeps/smoke.yaml --out results/smoke",
            "vmsplit sweep sweeps/smoke.yaml --out results/smoke-1 --shard 1/4",
        ],
        ["merge"] =
        [
            "vmsplit merge results/smoke-0 results/smoke-1 results/smoke-2 results/smoke-3 --out results/smoke-merged",
            "vmsplit merge results/smoke-3 results/smoke-2 results/smoke-1 results/smoke-0 --out results/smoke-merged",
        ],
        ["report"] =
        [
            "vmsplit report results/smoke --out results/smoke.html",
            "vmsplit report results/compare.json --out results/compare.html",
        ],
        ["causes"] =
        [
            "vmsplit causes",
            "vmsplit causes --format markdown",
        ],
    };

    /// <summary>Makes the help option of <paramref name="root"/> (shared by every subcommand) end with the command's examples.</summary>
    public static void Install(RootCommand root)
    {
        HelpOption help = root.Options.OfType<HelpOption>().Single();
        help.Action = new ExamplesAction((SynchronousCommandLineAction)help.Action!);
    }

    /// <summary>"compare", "profile show", or "" for the root, from a parse result.</summary>
    public static string PathOf(CommandResult result)
    {
        List<string> names = [];
        for (CommandResult? r = result; r is not null && r.Parent is not null; r = r.Parent as CommandResult)
        {
            names.Insert(0, r.Command.Name);
        }

        return string.Join(' ', names);
    }

    /// <summary>The examples section for a command path, or "" when it has none.</summary>
    public static string Section(string path)
    {
        if (!ByCommand.TryGetValue(path, out string[]? examples))
        {
            return "";
        }

        return "Examples:\n" + string.Concat(examples.Select(e => $"  {e}\n"));
    }

    /// <summary>What a command group prints when named without a subcommand: its subcommands, one line each.</summary>
    public static string Listing(Command group, string path)
    {
        string name = path.Length == 0 ? "vmsplit" : "vmsplit " + path;
        List<Command> subs = [.. group.Subcommands.Where(c => !c.Hidden)];
        int width = subs.Max(c => c.Name.Length);
        System.Text.StringBuilder sb = new();
        sb.Append(path.Length == 0 ? $"{group.Description}\n\nCommands:\n" : $"{name}: {group.Description}\n\nSubcommands:\n");
        foreach (Command c in subs)
        {
            sb.Append("  ").Append(c.Name.PadRight(width + 2)).Append(c.Description).Append('\n');
        }

        sb.Append($"\nRun '{name} COMMAND --help' for a command's options.\n\n");
        sb.Append(Section(path));
        return sb.ToString();
    }

    private sealed class ExamplesAction(SynchronousCommandLineAction inner) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            int code = inner.Invoke(parseResult);
            string section = Section(PathOf(parseResult.CommandResult));
            if (section.Length > 0)
            {
                parseResult.InvocationConfiguration.Output.Write(section.Replace("\n", Environment.NewLine, StringComparison.Ordinal));
            }

            return code;
        }
    }
}
