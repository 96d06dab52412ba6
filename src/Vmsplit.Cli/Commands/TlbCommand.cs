using System.CommandLine;
using System.Text;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit tlb</c>: executes every TLB maintenance operation of an architecture on a TLB that holds
/// each kind of entry (global or not, the operand's ASID or another, the operand's VA or another) and a
/// walk cache holding table entries of both ASIDs for both VAs, and shows which ones it removed.
/// </summary>
public static class TlbCommand
{
    private const ulong OperandVa = 0x40_0000;
    private const ulong OtherVa = 0x80_0000;
    private const ushort OperandAsid = 1;
    private const ushort OtherAsid = 2;

    // The walk cache holds level-2 table descriptors (2 MiB spans): OperandVa and OtherVa fall under different ones.
    private const int TableShift = 21;

    /// <summary>The range operand of the ARMv8.4 range operations: SCALE 0, NUM 0, two pages from the VA.</summary>
    private static readonly TlbiRange s_range = new(0, 0);

    /// <summary>The TLB entry kinds, in column order.</summary>
    private static readonly (string Name, string Column, ulong Va, ushort Asid, bool Global)[] s_kinds =
    [
        ("global, VA", "G,VA", OperandVa, 0, true),
        ("global, other VA", "G,other", OtherVa, 0, true),
        ("ASID, VA", "ASID,VA", OperandVa, OperandAsid, false),
        ("ASID, other VA", "ASID,other", OtherVa, OperandAsid, false),
        ("other ASID, VA", "oASID,VA", OperandVa, OtherAsid, false),
        ("other ASID, other VA", "oASID,other", OtherVa, OtherAsid, false),
    ];

    /// <summary>The walk-cache entry kinds (table descriptors carry no global bit), in column order.</summary>
    private static readonly (string Name, string Column, ulong Va, ushort Asid)[] s_tableKinds =
    [
        ("ASID, VA", "wc ASID,VA", OperandVa, OperandAsid),
        ("ASID, other VA", "wc ASID,other", OtherVa, OperandAsid),
        ("other ASID, VA", "wc oASID,VA", OperandVa, OtherAsid),
        ("other ASID, other VA", "wc oASID,other", OtherVa, OtherAsid),
    ];

    public static Command Create(TextWriter stdout)
    {
        Option<string> arch = new("--arch") { Description = "architecture: " + string.Join(", ", KernelArchitectures.Names), DefaultValueFactory = _ => "arm" };
        OutputConvention io = new(["text", "json"], new Dictionary<string, string> { ["table"] = "text" });
        Command command = new("tlb", "TLB maintenance operations of an architecture, executed on a TLB and a walk cache holding every kind of entry: what each one removes.")
        {
            arch,
        };
        io.AddTo(command);

        command.SetAction(parse =>
        {
            if (!KernelArchitectures.TryParse(parse.GetValue(arch), false, false, out KernelArch a, out string error))
            {
                throw new UsageException("--arch: " + error);
            }

            string fmt = io.Resolve(parse);
            CommandOutputs outputs = new(stdout);
            OutputTarget target = outputs.Claim("--output", parse.GetValue(io.Output) ?? "-");
            KernelArchInfo info = a.Info();
            List<Row> rows = new();
            foreach (TlbOperation op in info.TlbOperations)
            {
                rows.Add(Execute(op, Untagged(info) ? 0 : 12));
            }

            outputs.WriteAll(null, (target, () => fmt == "json" ? Json(info, rows) : Table(info, rows)));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    // x86-32 and PAE paging run with CR4.PCIDE clear (it can be set only in IA-32e mode, Intel SDM 3A 4.10.1):
    // their TLB entries carry no PCID.
    private static bool Untagged(KernelArchInfo arch) => arch.Family == ArchFamily.X86 && arch.AddressSpaceBits == 32;

    private sealed record Row(TlbOperation Operation, bool[] Removed, bool[] TablesRemoved, string WalkCache)
    {
        public TlbMaintenanceOp Op => Operation.Op;
    }

    private static TlbFlushResult Run(TlbHierarchy tlb, TlbMaintenanceOp op) =>
        op.IsRange() ? tlb.Execute(op, OperandVa, OperandAsid, s_range) : tlb.Execute(op, OperandVa, OperandAsid);

    /// <summary>Fills one TLB per entry kind (a global and a non-global entry for one VA would conflict) and runs the operation on each.</summary>
    private static Row Execute(TlbOperation operation, int asidBits)
    {
        TlbMaintenanceOp op = operation.Op;
        TlbHierarchyConfig config = new()
        {
            Main = [TlbLevelConfig.FullyAssociative("main", 8, [4096])],
            WalkCaches = [new WalkCacheConfig { Name = "table cache", Entries = 8, Ways = 8, CoverageShifts = [TableShift] }],
            AsidBits = asidBits,
            HasPcid = asidBits > 0,
            HasInvpcid = asidBits > 0,
        };
        bool[] removed = new bool[s_kinds.Length];
        for (int k = 0; k < s_kinds.Length; k++)
        {
            TlbHierarchy tlb = new(config, [TableShift]);
            (_, _, ulong va, ushort asid, bool global) = s_kinds[k];
            WalkResult w = new(FaultKind.None, 1, new VirtualAddress(va), new PhysicalAddress(0x1000_0000 + va), 4096,
                AccessRights.KernelRead | AccessRights.KernelWrite, false, global, MemoryType.Normal, 0, 2, 0);
            tlb.Fill(in w, new VirtualAddress(va), AccessType.Read, asid);
            removed[k] = Run(tlb, op).TlbEntriesRemoved > 0;
        }

        bool[] tablesRemoved = new bool[s_tableKinds.Length];
        for (int k = 0; k < s_tableKinds.Length; k++)
        {
            TlbHierarchy tlb = new(config, [TableShift]);
            (_, _, ulong va, ushort asid) = s_tableKinds[k];
            tlb.ConsultWalkCaches(va, asid, [TableShift], 1);
            tablesRemoved[k] = Run(tlb, op).WalkCacheEntriesRemoved > 0;
        }

        string walkCache = TlbHierarchy.Rule(op).WalkCache switch
        {
            null => "kept",
            TlbMatch.All => "all",
            TlbMatch.Asid => "the ASID's",
            TlbMatch.VaAnyAsid => "the VA's, every ASID",
            _ => "the VA's in the ASID",
        };
        return new Row(operation, removed, tablesRemoved, walkCache);
    }

    /// <summary>The operands as the manuals name them; untagged x86 has only PCID 0.</summary>
    private static string Operands(TlbMaintenanceOp op, bool untagged) => untagged
        ? Operands(op).Replace(" (current PCID = ASID)", "", StringComparison.Ordinal).Replace("ASID", "PCID 0", StringComparison.Ordinal)
        : Operands(op);

    private static string Operands(TlbMaintenanceOp op) => op.Local() switch
    {
        TlbMaintenanceOp.ArmTlbiAsid or TlbMaintenanceOp.Arm64TlbiAside1 or TlbMaintenanceOp.X86InvpcidSingleContext or TlbMaintenanceOp.RiscvSfenceVmaAsid => "ASID",
        TlbMaintenanceOp.X86Cr3WritePcidFlush or TlbMaintenanceOp.X86Cr3WriteNoFlush => "new PCID = ASID",
        TlbMaintenanceOp.ArmTlbiMva or TlbMaintenanceOp.Arm64TlbiVae1 or TlbMaintenanceOp.Arm64TlbiVale1
            or TlbMaintenanceOp.X86InvpcidAddress or TlbMaintenanceOp.RiscvSfenceVmaVaAsid => "VA, ASID",
        TlbMaintenanceOp.Arm64TlbiRvae1 or TlbMaintenanceOp.Arm64TlbiRvale1 => "range, ASID",
        TlbMaintenanceOp.Arm64TlbiRvaae1 or TlbMaintenanceOp.Arm64TlbiRvaale1 => "range",
        TlbMaintenanceOp.X86Invlpg => "VA (current PCID = ASID)",
        TlbMaintenanceOp.ArmTlbiMvaa or TlbMaintenanceOp.Arm64TlbiVaae1 or TlbMaintenanceOp.Arm64TlbiVaale1 or TlbMaintenanceOp.RiscvSfenceVmaVa => "VA",
        _ => "",
    };

    private static string Table(KernelArchInfo arch, List<Row> rows)
    {
        StringBuilder sb = new();
        sb.Append(arch.Name).Append(": operands VA ").Append(ByteSize.Hex(OperandVa)).Append(Untagged(arch) ? ", PCID 0 (untagged)" : ", ASID/PCID " + OperandAsid);
        if (rows.Exists(r => r.Op.IsRange()))
        {
            sb.Append(", range ").Append(ByteSize.Human(s_range.Bytes)).Append(" from VA (SCALE ").Append(s_range.Scale).Append(", NUM ").Append(s_range.Num).Append(')');
        }

        sb.Append(".\nTLB entries held for VA and another VA (").Append(ByteSize.Hex(OtherVa)).Append("): global, ASID ").Append(OperandAsid)
            .Append(" and ASID ").Append(OtherAsid).Append("; walk-cache (wc) entries: table descriptors of both ASIDs for both VAs. x = removed, . = kept.\n\n");
        bool anyRequirement = rows.Exists(r => r.Operation.Requires.Length > 0);
        List<string> header = ["operation", "operands"];
        header.AddRange(s_kinds.Select(k => k.Column));
        header.AddRange(s_tableKinds.Select(k => k.Column));
        if (anyRequirement)
        {
            header.Add("needs");
        }

        List<string[]> cells = [[.. header]];
        foreach (Row r in rows)
        {
            List<string> line = [r.Op.Mnemonic(), Operands(r.Op, Untagged(arch))];
            line.AddRange(r.Removed.Select(x => x ? "x" : "."));
            line.AddRange(r.TablesRemoved.Select(x => x ? "x" : "."));
            if (anyRequirement)
            {
                line.Add(r.Operation.Requires);
            }

            cells.Add([.. line]);
        }

        sb.Append(TextTable.Render(cells, _ => false));
        if (Untagged(arch))
        {
            sb.Append("\nNo PCIDs on ").Append(arch.Name).Append(" (CR4.PCIDE can be set only in IA-32e mode, Intel SDM 3A 4.10.1): ")
                .Append("every non-global entry belongs to the one untagged address space, so the ASID and other-ASID columns coincide.\n");
        }

        if (rows.Exists(r => r.Op.IsBroadcast()))
        {
            sb.Append(arch.Family == ArchFamily.Arm64
                ? "\nThe IS forms do the same on every CPU of the inner-shareable domain (ARM ARM DDI 0487F D5.10.2).\n"
                : "\nThe IS forms do the same on every CPU of the inner-shareable domain (ARM ARM DDI 0406C B4.2.2).\n");
        }

        return sb.ToString();
    }

    private static string Json(KernelArchInfo arch, List<Row> rows) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("arch", arch.Name);
        w.WriteString("va", ByteSize.Hex(OperandVa));
        w.WriteNumber("asid", Untagged(arch) ? 0 : OperandAsid);
        if (rows.Exists(r => r.Op.IsRange()))
        {
            w.WriteStartObject("range");
            w.WriteNumber("scale", s_range.Scale);
            w.WriteNumber("num", s_range.Num);
            w.WriteNumber("bytes", s_range.Bytes);
            w.WriteEndObject();
        }

        w.WriteStartArray("operations");
        foreach (Row r in rows)
        {
            w.WriteStartObject();
            w.WriteString("operation", r.Op.Mnemonic());
            w.WriteString("id", r.Op.ToString());
            w.WriteString("operands", Operands(r.Op, Untagged(arch)));
            w.WriteString("requires", r.Operation.Requires);
            w.WriteStartObject("removes");
            for (int k = 0; k < s_kinds.Length; k++)
            {
                w.WriteBoolean(s_kinds[k].Name, r.Removed[k]);
            }

            w.WriteEndObject();
            w.WriteStartObject("walkCacheRemoves");
            for (int k = 0; k < s_tableKinds.Length; k++)
            {
                w.WriteBoolean(s_tableKinds[k].Name, r.TablesRemoved[k]);
            }

            w.WriteEndObject();
            w.WriteString("walkCaches", r.WalkCache);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });
}
