using System.CommandLine;
using System.Text;
using System.Text.Json;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit tlb</c>: executes every TLB maintenance operation of an architecture on a TLB that holds
/// each kind of entry (global or not, the operand's ASID or another, the operand's VA or another) and
/// shows which ones it removed.
/// </summary>
public static class TlbCommand
{
    private const ulong OperandVa = 0x40_0000;
    private const ulong OtherVa = 0x80_0000;
    private const ushort OperandAsid = 1;
    private const ushort OtherAsid = 2;

    /// <summary>The entry kinds, in column order.</summary>
    private static readonly (string Name, ulong Va, ushort Asid, bool Global)[] s_kinds =
    [
        ("global, VA", OperandVa, 0, true),
        ("global, other VA", OtherVa, 0, true),
        ("ASID, VA", OperandVa, OperandAsid, false),
        ("ASID, other VA", OtherVa, OperandAsid, false),
        ("other ASID, VA", OperandVa, OtherAsid, false),
        ("other ASID, other VA", OtherVa, OtherAsid, false),
    ];

    public static Command Create(TextWriter stdout)
    {
        Option<string> arch = new("--arch") { Description = "arm, x86 or riscv", DefaultValueFactory = _ => "arm" };
        Option<string> format = new("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        Option<string?> output = new("--output") { Description = "write to FILE instead of standard output (- is standard output)" };
        Command command = new("tlb", "TLB maintenance operations of an architecture, executed on a TLB holding every kind of entry: what each one removes.")
        {
            arch, format, output,
        };

        command.SetAction(parse =>
        {
            string a = (parse.GetValue(arch) ?? "arm").Trim().ToLowerInvariant();
            TlbMaintenanceOp[] ops = a switch
            {
                "arm" or "arm64" or "aarch64" =>
                [
                    TlbMaintenanceOp.ArmTlbiAll, TlbMaintenanceOp.ArmTlbiAsid, TlbMaintenanceOp.ArmTlbiMva, TlbMaintenanceOp.ArmTlbiMvaa,
                    TlbMaintenanceOp.ArmTlbiAllIs, TlbMaintenanceOp.ArmTlbiAsidIs, TlbMaintenanceOp.ArmTlbiMvaIs, TlbMaintenanceOp.ArmTlbiMvaaIs,
                ],
                "x86" or "x86-64" =>
                [
                    TlbMaintenanceOp.X86Cr3Write, TlbMaintenanceOp.X86Cr3WritePcidFlush, TlbMaintenanceOp.X86Cr3WriteNoFlush, TlbMaintenanceOp.X86Invlpg,
                    TlbMaintenanceOp.X86InvpcidAddress, TlbMaintenanceOp.X86InvpcidSingleContext, TlbMaintenanceOp.X86InvpcidAllIncludingGlobal,
                    TlbMaintenanceOp.X86InvpcidAllNonGlobal, TlbMaintenanceOp.X86Cr4PgeToggle,
                ],
                "riscv" or "risc-v" =>
                [
                    TlbMaintenanceOp.RiscvSfenceVmaAll, TlbMaintenanceOp.RiscvSfenceVmaVa, TlbMaintenanceOp.RiscvSfenceVmaAsid, TlbMaintenanceOp.RiscvSfenceVmaVaAsid,
                ],
                _ => throw new UsageException($"--arch: unknown architecture '{a}' (use arm, x86 or riscv)"),
            };

            string fmt = (parse.GetValue(format) ?? "table").Trim().ToLowerInvariant();
            if (fmt is not ("table" or "json"))
            {
                throw new UsageException($"--format: unknown format '{fmt}' (use table or json)");
            }

            CommandOutputs outputs = new(stdout);
            OutputTarget target = outputs.Claim("--output", parse.GetValue(output) ?? "-");
            List<Row> rows = new();
            foreach (TlbMaintenanceOp op in ops)
            {
                rows.Add(Execute(op));
            }

            outputs.WriteAll(null, (target, () => fmt == "json" ? Json(a, rows) : Table(rows)));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    private sealed record Row(TlbMaintenanceOp Op, bool[] Removed, string WalkCache);

    /// <summary>Fills one TLB per entry kind (a global and a non-global entry for one VA would conflict) and runs the operation on each.</summary>
    private static Row Execute(TlbMaintenanceOp op)
    {
        TlbHierarchyConfig config = new()
        {
            Main = [TlbLevelConfig.FullyAssociative("main", 8, [4096])],
            AsidBits = 12,
            HasPcid = true,
            HasInvpcid = true,
        };
        bool[] removed = new bool[s_kinds.Length];
        for (int k = 0; k < s_kinds.Length; k++)
        {
            TlbHierarchy tlb = new(config);
            (_, ulong va, ushort asid, bool global) = s_kinds[k];
            WalkResult w = new(FaultKind.None, 1, new VirtualAddress(va), new PhysicalAddress(0x1000_0000 + va), 4096,
                AccessRights.KernelRead | AccessRights.KernelWrite, false, global, MemoryType.Normal, 0, 2, 0);
            tlb.Fill(in w, new VirtualAddress(va), AccessType.Read, asid);
            removed[k] = tlb.Execute(op, OperandVa, OperandAsid).TlbEntriesRemoved > 0;
        }

        string walkCache = TlbHierarchy.Rule(op).WalkCache switch
        {
            null => "kept",
            TlbMatch.All => "all",
            TlbMatch.Asid => "the ASID's",
            TlbMatch.VaAnyAsid => "the VA's, every ASID",
            _ => "the VA's in the ASID",
        };
        return new Row(op, removed, walkCache);
    }

    private static string Operands(TlbMaintenanceOp op) => op.Local() switch
    {
        TlbMaintenanceOp.ArmTlbiAsid or TlbMaintenanceOp.X86InvpcidSingleContext or TlbMaintenanceOp.RiscvSfenceVmaAsid => "ASID",
        TlbMaintenanceOp.X86Cr3WritePcidFlush or TlbMaintenanceOp.X86Cr3WriteNoFlush => "new PCID = ASID",
        TlbMaintenanceOp.ArmTlbiMva or TlbMaintenanceOp.X86InvpcidAddress or TlbMaintenanceOp.RiscvSfenceVmaVaAsid => "VA, ASID",
        TlbMaintenanceOp.X86Invlpg => "VA (current PCID = ASID)",
        TlbMaintenanceOp.ArmTlbiMvaa or TlbMaintenanceOp.RiscvSfenceVmaVa => "VA",
        _ => "",
    };

    private static string Table(List<Row> rows)
    {
        StringBuilder sb = new();
        sb.Append("Operands: VA ").Append(ByteSize.Hex(OperandVa)).Append(", ASID/PCID ").Append(OperandAsid)
            .Append("; entries held for VA and another VA (").Append(ByteSize.Hex(OtherVa)).Append("), global, ASID ")
            .Append(OperandAsid).Append(" and ASID ").Append(OtherAsid).Append(". x = removed, . = kept.\n\n");
        string[] header = ["operation", "operands", "G,VA", "G,other", "ASID,VA", "ASID,other", "oASID,VA", "oASID,other", "walk caches"];
        List<string[]> cells = [header];
        foreach (Row r in rows)
        {
            string[] line = new string[header.Length];
            line[0] = r.Op.Mnemonic();
            line[1] = Operands(r.Op);
            for (int k = 0; k < r.Removed.Length; k++)
            {
                line[2 + k] = r.Removed[k] ? "x" : ".";
            }

            line[^1] = r.WalkCache;
            cells.Add(line);
        }

        int[] widths = new int[header.Length];
        foreach (string[] line in cells)
        {
            for (int c = 0; c < line.Length; c++)
            {
                widths[c] = Math.Max(widths[c], line[c].Length);
            }
        }

        foreach (string[] line in cells)
        {
            for (int c = 0; c < line.Length; c++)
            {
                sb.Append(c == line.Length - 1 ? line[c] : line[c].PadRight(widths[c] + 2));
            }

            sb.Append('\n');
        }

        if (rows.Exists(r => r.Op.IsBroadcast()))
        {
            sb.Append("\nThe IS forms do the same on every CPU of the inner-shareable domain (ARM ARM B4.2.2).\n");
        }

        return sb.ToString();
    }

    private static string Json(string arch, List<Row> rows)
    {
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("arch", arch);
            w.WriteString("va", ByteSize.Hex(OperandVa));
            w.WriteNumber("asid", OperandAsid);
            w.WriteStartArray("operations");
            foreach (Row r in rows)
            {
                w.WriteStartObject();
                w.WriteString("operation", r.Op.Mnemonic());
                w.WriteString("id", r.Op.ToString());
                w.WriteString("operands", Operands(r.Op));
                w.WriteStartObject("removes");
                for (int k = 0; k < s_kinds.Length; k++)
                {
                    w.WriteBoolean(s_kinds[k].Name, r.Removed[k]);
                }

                w.WriteEndObject();
                w.WriteString("walkCaches", r.WalkCache);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}
