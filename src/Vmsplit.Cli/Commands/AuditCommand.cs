using System.CommandLine;
using System.Text;
using System.Text.Json;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit audit</c>: for each design, the kernel ranges translatable while user code runs (the
/// Meltdown surface) and the user memory the kernel reaches outside uaccess, read off the tables the
/// simulated MMU would use.
/// </summary>
public static class AuditCommand
{
    public static Command Create(TextWriter stdout)
    {
        Option<string?> arch = new("--arch") { Description = MachineOptions.ArchHelp("the machine's; arm-lpae without --machine") };
        Option<string?> designs = new("--designs", "--design") { Description = "comma list of designs (default: the ones worth comparing on the architecture that the CPU runs)" };
        Option<string?> machine = new("--machine") { Description = MachineOptions.MachineHelp + " (default: the architecture's, cortex-a15 for arm-lpae)" };
        Option<string?> ram = new("--ram") { Description = "RAM size (default 2G)" };
        OutputConvention io = new(["text", "json"]);
        Option<bool> json = new("--json") { Description = "same as --format json: one JSON array, one object per design" };
        Option<string?> config = new("--config") { Description = MachineOptions.ConfigHelp + "; without --designs the audit is of its design", HelpName = "FILE" };
        Command command = new("audit", "Isolation audit: kernel memory translatable from user mode and user memory reachable from the kernel, per design.")
        {
            arch, designs, machine, config, ram,
        };
        io.AddTo(command);
        command.Options.Add(json);
        command.SetAction(parse =>
        {
            string format = io.Resolve(parse, parse.GetValue(json) ? "json" : null, "--json");
            CommandOutputs outputs = new(stdout);
            OutputTarget? target = io.Claim(outputs, parse);
            if (parse.GetValue(machine) is string file && MachineSpec.IsProfileFile(file))
            {
                outputs.Reads("--machine", file);
            }

            if (parse.GetValue(config) is string configFile)
            {
                outputs.Reads("--config", configFile);
            }

            KernelDotConfig? dotConfig = MachineOptions.Config(parse.GetValue(config));
            MachineSpec m = MachineOptions.Resolve(parse.GetValue(machine), parse.GetValue(arch), MachineSpec.DefaultArm(), dotConfig);
            if (parse.GetValue(ram) is string ramText)
            {
                if (!ByteSize.TryParse(ramText, "--ram", 64 * ByteSize.MiB, 1UL << 40, out ulong ramBytes, out string ramError))
                {
                    throw new UsageException(ramError);
                }

                m = m with { RamBytes = ramBytes };
            }

            List<string> notes = [];
            List<string> names;
            if (parse.GetValue(designs) is string d)
            {
                names = d.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
                if (names.Count == 0)
                {
                    throw new UsageException("--designs: empty list");
                }
            }
            else if (MachineOptions.ConfigDesign(m, dotConfig) is (string configured, string note))
            {
                // the configured kernel's own isolation
                names = [configured];
                notes.Add(note);
            }
            else
            {
                (names, notes) = MachineOptions.DefaultDesigns(m);
            }

            List<AuditResult> results = new();
            try
            {
                foreach (string name in names)
                {
                    results.Add(IsolationAudit.Run(Scenario.Boot(m, Scenario.ParseDesign(m, name))));
                }
            }
            catch (LabException e)
            {
                throw new UsageException(e.Message);
            }

            string Render() => format == "json" ? Json(results) : Text(m, notes, results);
            outputs.WriteAll(target is null ? Render() : null, (target, Render));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    public static string Text(MachineSpec m, IReadOnlyList<string> notes, IReadOnlyList<AuditResult> results)
    {
        StringBuilder sb = new();
        sb.AppendLine($"Machine: {m.Describe()}");
        foreach (string n in notes)
        {
            sb.AppendLine($"Note: {n}");
        }

        sb.Append(Text(results));
        return sb.ToString();
    }

    public static string Text(IReadOnlyList<AuditResult> results)
    {
        StringBuilder sb = new();
        foreach (AuditResult r in results)
        {
            sb.AppendLine($"{r.Design}: kernel translatable from user mode {ByteSize.Human(r.ExposedKernelBytes)}; user memory reachable from the kernel outside uaccess {ByteSize.Human(r.ReachableUserBytes)} of {ByteSize.Human(r.UserBytesChecked)}");
            foreach (ExposedRange x in r.ExposedKernelRanges)
            {
                sb.AppendLine($"    {ByteSize.Hex(x.Start, 8)} - {ByteSize.Hex(x.End, 8)}  {ByteSize.Human(x.End - x.Start),10}  {x.Perms,-12} {x.Root}");
            }
        }

        return sb.ToString();
    }

    public static string Json(IReadOnlyList<AuditResult> results)
    {
        return JsonText.Write(w =>
        {
            w.WriteStartArray();
            foreach (AuditResult r in results)
            {
                w.WriteStartObject();
                w.WriteString("design", r.Design);
                w.WriteNumber("exposedKernelBytes", r.ExposedKernelBytes);
                w.WriteStartArray("exposedKernelRanges");
                foreach (ExposedRange x in r.ExposedKernelRanges)
                {
                    w.WriteStartObject();
                    w.WriteString("start", ByteSize.Hex(x.Start));
                    w.WriteString("end", ByteSize.Hex(x.End));
                    w.WriteString("perms", x.Perms);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteNumber("reachableUserBytes", r.ReachableUserBytes);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
    }
}
