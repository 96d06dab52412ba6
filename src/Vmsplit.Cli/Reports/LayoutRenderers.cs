using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmsplit.Hardware;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Cli.Reports;

/// <summary>Text renderings of a <see cref="KernelLayout"/> and of an address budget: table and JSON.</summary>
public static class LayoutRenderers
{
    public static string Hex(KernelLayout l, UInt128 value)
        => l.Arch.Is32Bit() ? "0x" + ((ulong)value).ToString("x8", CultureInfo.InvariantCulture) : "0x" + value.ToString("x16", CultureInfo.InvariantCulture);

    public static string Describe(KernelLayout l)
    {
        StringBuilder sb = new();
        sb.Append(CultureInfo.InvariantCulture, $"{l.Arch.Name()}, design {KernelConfig.DesignName(l.Config.Design)}");
        if (l.Arch.Is32Bit() && l.Config.Design is LayoutDesign.Classic or LayoutDesign.KimageVmalloc)
        {
            sb.Append(CultureInfo.InvariantCulture, $", VMSPLIT_{KernelConfig.SplitName(l.Config.Split)}");
        }

        sb.Append(CultureInfo.InvariantCulture, $", Linux {l.Config.Linux}{(l.Config.Linux == LinuxVersion.Mainline ? " (mainline)" : "")}");
        sb.Append(l.Config.Highmem ? ", HIGHMEM" : ", no HIGHMEM");
        sb.Append(", RAM ");
        for (int i = 0; i < l.Machine.Banks.Count; i++)
        {
            Vmsplit.Hardware.Memory.RamBank b = l.Machine.Banks[i];
            sb.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? " + " : "")}{ByteSize.Human(b.Size)} at {ByteSize.Hex(b.Base.Value)}");
        }

        return sb.ToString();
    }

    public static string Table(KernelLayout l)
    {
        StringBuilder sb = new();
        sb.Append(Describe(l)).Append('\n').Append('\n');
        int w = l.Arch.Is32Bit() ? 10 : 18;
        sb.Append(CultureInfo.InvariantCulture, $"{"region",-15} {"start".PadRight(w)} {"end (last)".PadRight(w)} {"size",12}  {"root",-6} {"context",-8} purpose\n");
        foreach (LayoutRegion r in l.Regions)
        {
            string ctx = r.View switch { RegionView.UserContext => "user", RegionView.KernelContext => "kernel", _ => "all" };
            sb.Append(CultureInfo.InvariantCulture, $"{r.Name,-15} {Hex(l, r.Start).PadRight(w)} {Hex(l, r.Last).PadRight(w)} {ByteSize.Human(r.Size),12}  {r.Ttbr,-6} {ctx,-8} {r.Purpose}\n");
        }

        sb.Append('\n');
        void Value(string name, string value) => sb.Append(CultureInfo.InvariantCulture, $"{name,-16} {value}\n");
        Value("PAGE_OFFSET", Hex(l, l.PageOffset));
        Value("TASK_SIZE", Hex(l, l.TaskSize));
        Value("high_memory", Hex(l, l.HighMemory));
        Value("lowmem", ByteSize.Human(l.LowmemBytes));
        Value("highmem", ByteSize.Human(l.HighmemBytes));
        Value("RAM ignored", ByteSize.Human(l.IgnoredBytes));
        Value("VMALLOC_START", Hex(l, l.VmallocStart));
        Value("VMALLOC_END", Hex(l, l.VmallocEnd));
        if (l.PkmapBase != 0)
        {
            Value("PKMAP_BASE", Hex(l, l.PkmapBase));
        }

        Value("MODULES_VADDR", Hex(l, l.ModulesVaddr));
        Value("MODULES_END", Hex(l, l.ModulesEnd));
        Value("FIXADDR_START", Hex(l, l.FixaddrStart));
        Value("FIXADDR_END", Hex(l, l.FixaddrEnd));
        if (l.VectorsBase != 0)
        {
            Value("vectors", Hex(l, l.VectorsBase));
        }

        if (l.CpuEntryAreaBase != 0)
        {
            Value("CPU_ENTRY_AREA", $"{Hex(l, l.CpuEntryAreaBase)} ({ByteSize.Human(l.CpuEntryAreaSize)})");
        }

        Value("roots", l.RootSplit);
        if (l.MappedTwiceBytes != 0)
        {
            Value("mapped twice", $"{ByteSize.Human(l.MappedTwiceBytes)} (kernel image in its own mapping and in the linear map)");
        }

        StringBuilder zones = new();
        foreach (ZoneSize z in l.Zones)
        {
            zones.Append(CultureInfo.InvariantCulture, $"{(zones.Length > 0 ? ", " : "")}{z.Name} {z.Pages} pages");
        }

        Value("zones", zones.ToString());
        foreach (string n in l.Notes)
        {
            Value("note", n);
        }

        foreach (string c in l.Choices)
        {
            Value("choice", c);
        }

        return sb.ToString();
    }

    public static string Json(KernelLayout l)
    {
        return JsonText.Write(j =>
        {
            WriteLayout(j, l);
        });
    }

    private static string JHex(UInt128 v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private static void WriteLayout(Utf8JsonWriter j, KernelLayout l)
    {
        j.WriteStartObject();
        j.WriteString("arch", l.Arch.Name());
        j.WriteString("split", l.Arch.Is32Bit() ? KernelConfig.SplitName(l.Config.Split) : "fixed");
        j.WriteString("design", KernelConfig.DesignName(l.Config.Design));
        j.WriteString("linux", l.Config.Linux.ToString());
        j.WriteString("pageOffset", JHex(l.PageOffset));
        j.WriteString("taskSize", JHex(l.TaskSize));
        j.WriteString("highMemory", JHex(l.HighMemory));
        j.WriteNumber("lowmemBytes", l.LowmemBytes);
        j.WriteNumber("highmemBytes", l.HighmemBytes);
        j.WriteNumber("ignoredBytes", l.IgnoredBytes);
        j.WriteString("vmallocStart", JHex(l.VmallocStart));
        j.WriteString("vmallocEnd", JHex(l.VmallocEnd));
        j.WriteString("pkmapBase", JHex(l.PkmapBase));
        j.WriteString("modulesVaddr", JHex(l.ModulesVaddr));
        j.WriteString("modulesEnd", JHex(l.ModulesEnd));
        j.WriteString("fixaddrStart", JHex(l.FixaddrStart));
        j.WriteString("fixaddrEnd", JHex(l.FixaddrEnd));
        j.WriteString("vectors", JHex(l.VectorsBase));
        j.WriteString("kernelRootStart", JHex(l.KernelRootStart));
        j.WriteString("roots", l.RootSplit);
        j.WriteNumber("mappedTwiceBytes", l.MappedTwiceBytes);
        j.WriteStartArray("regions");
        foreach (LayoutRegion r in l.Regions)
        {
            j.WriteStartObject();
            j.WriteString("name", r.Name);
            j.WriteString("start", JHex(r.Start));
            j.WriteString("end", JHex(r.End));
            j.WriteNumber("sizeBytes", r.Size);
            j.WriteString("purpose", r.Purpose);
            j.WriteString("ttbr", r.Ttbr);
            j.WriteString("context", r.View switch { RegionView.UserContext => "user", RegionView.KernelContext => "kernel", _ => "all" });
            j.WriteEndObject();
        }

        j.WriteEndArray();
        j.WriteStartObject("zones");
        foreach (ZoneSize z in l.Zones)
        {
            j.WriteNumber(z.Name, z.Pages);
        }

        j.WriteEndObject();
        j.WriteStartArray("notes");
        foreach (string n in l.Notes)
        {
            j.WriteStringValue(n);
        }

        j.WriteEndArray();
        j.WriteStartArray("choices");
        foreach (string c in l.Choices)
        {
            j.WriteStringValue(c);
        }

        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static string Percent(double p) => p.ToString(p < 1 ? "0.000" : "0.00", CultureInfo.InvariantCulture) + " %";

    public static string BudgetTable(IReadOnlyList<BudgetColumn> columns)
    {
        StringBuilder sb = new();
        KernelLayout first = columns[0].Layout;
        sb.Append("Address budget: ").Append(Describe(first)).Append("\n\n");
        const int nameWidth = 34;
        int colWidth = 24;
        sb.Append(' ', nameWidth);
        foreach (BudgetColumn c in columns)
        {
            sb.Append(c.Title.PadLeft(colWidth));
        }

        sb.Append('\n');
        void Row(string name, Func<BudgetColumn, string> value)
        {
            sb.Append(name.PadRight(nameWidth));
            foreach (BudgetColumn c in columns)
            {
                sb.Append(value(c).PadLeft(colWidth));
            }

            sb.Append('\n');
        }

        Row("user VA", c => ByteSize.Human(c.UserBytes));
        Row("lowmem (linear map)", c => ByteSize.Human(c.Layout.LowmemBytes));
        Row("highmem", c => ByteSize.Human(c.Layout.HighmemBytes));
        Row("  mem_map in lowmem", c => ByteSize.Human(MemMap.BytesFor(c.Layout)));
        Row("vmalloc", c => ByteSize.Human(c.VmallocBytes));
        Row("modules", c => ByteSize.Human(c.Layout.ModulesEnd - c.Layout.ModulesVaddr));
        Row("fixmap", c => ByteSize.Human(c.Layout.FixaddrEnd - c.Layout.FixaddrStart));
        Row("RAM ignored", c => ByteSize.Human(c.Layout.IgnoredBytes));
        Row("mapped twice", c => ByteSize.Human(c.Layout.MappedTwiceBytes));
        Row("  % of address space", c => Percent(c.MappedTwiceShareOfSpace));
        Row("  % of kernel space beyond lowmem", c => Percent(c.MappedTwiceShareOfVmalloc));
        Row("  (kernel space beyond lowmem)", c => ByteSize.Human(c.NonLinearKernelBytes));
        Row("page tables per minimal process", c => ByteSize.Human(c.PageTables.Bytes));
        sb.Append('\n');
        foreach (BudgetColumn c in columns)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{c.Title}: page tables = {c.PageTables.How}\n");
            foreach (string choice in c.Layout.Choices)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{c.Title}: {choice}\n");
            }

            foreach (string note in c.Layout.Notes)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{c.Title}: note: {note}\n");
            }
        }

        return sb.ToString();
    }

    public static string BudgetJson(IReadOnlyList<BudgetColumn> columns)
    {
        return JsonText.Write(j =>
        {
            j.WriteStartArray();
            foreach (BudgetColumn c in columns)
            {
                j.WriteStartObject();
                j.WriteString("design", c.Title);
                j.WriteNumber("userBytes", c.UserBytes);
                j.WriteNumber("lowmemBytes", c.Layout.LowmemBytes);
                j.WriteNumber("highmemBytes", c.Layout.HighmemBytes);
                j.WriteNumber("memMapBytes", MemMap.BytesFor(c.Layout));
                j.WriteNumber("vmallocBytes", c.VmallocBytes);
                j.WriteNumber("modulesBytes", c.Layout.ModulesEnd - c.Layout.ModulesVaddr);
                j.WriteNumber("fixmapBytes", c.Layout.FixaddrEnd - c.Layout.FixaddrStart);
                j.WriteNumber("ignoredBytes", c.Layout.IgnoredBytes);
                j.WriteNumber("mappedTwiceBytes", c.Layout.MappedTwiceBytes);
                j.WriteNumber("mappedTwicePercentOfAddressSpace", Math.Round(c.MappedTwiceShareOfSpace, 4));
                j.WriteNumber("mappedTwicePercentOfVmalloc", Math.Round(c.MappedTwiceShareOfVmalloc, 4));
                j.WriteNumber("pageTableBytesPerProcess", c.PageTables.Bytes);
                j.WriteString("pageTables", c.PageTables.How);
                j.WriteEndObject();
            }

            j.WriteEndArray();
        });
    }
}
