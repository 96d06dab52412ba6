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
        Option<string> arch = new("--arch") { Description = "architecture: " + string.Join(", ", KernelArchitectures.Names), DefaultValueFactory = _ => "arm-lpae" };
        Option<string?> design = new("--design") { Description = "design or comma list of designs (default: the ones that exist for the architecture)" };
        Option<string?> machine = new("--machine") { Description = "CPU profile or your own profile file (.yaml) (default: cortex-a15 for 32-bit ARM, skylake for x86-64, pentium4-xeon for x86-32)" };
        Option<string?> ram = new("--ram") { Description = "RAM size (default 2G)" };
        Option<bool> json = new("--json") { Description = "print a JSON array, one object per design" };
        Command command = new("audit", "Isolation audit: kernel memory translatable from user mode and user memory reachable from the kernel, per design.")
        {
            arch, design, machine, ram, json,
        };
        command.SetAction(parse =>
        {
            if (!KernelArchitectures.TryParse(parse.GetValue(arch), false, false, out KernelArch a, out string error))
            {
                throw new UsageException("--arch: " + error);
            }

            string profile = parse.GetValue(machine) ?? a.Info().DefaultProfile;
            ulong ramBytes = 2 * ByteSize.GiB;
            if (parse.GetValue(ram) is string ramText && !ByteSize.TryParse(ramText, "--ram", 64 * ByteSize.MiB, 1UL << 40, out ramBytes, out string ramError))
            {
                throw new UsageException(ramError);
            }

            List<string> designs = parse.GetValue(design) is string d
                ? d.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList()
                : [.. a.Info().DefaultDesigns];
            List<AuditResult> results = new();
            try
            {
                MachineSpec m = new(MachineSpec.Resolve(profile), a, ramBytes);
                foreach (string name in designs)
                {
                    results.Add(IsolationAudit.Run(Scenario.Boot(m, Scenario.ParseDesign(m, name))));
                }
            }
            catch (LabException e)
            {
                throw new UsageException(e.Message);
            }

            stdout.Write(parse.GetValue(json) ? Json(results) : Text(results));
            return VmsplitCli.ExitOk;
        });
        return command;
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
