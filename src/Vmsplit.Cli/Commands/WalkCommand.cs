using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.Arm;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit walk</c>: builds an address space from <c>--map</c> options in one MMU format and shows the
/// hardware walk of one address, level by level, like a debugger.
/// </summary>
public static class WalkCommand
{
    /// <summary>Size of the RAM bank the page tables are allocated from.</summary>
    public const ulong TableBankSize = 16 * ByteSize.MiB;

    private const string ExampleFormat = "x86-64";
    private const string ExampleVa = "0x400123";

    // The built-in x86-64 example: kernel text (2 MiB block), one user page, a 1 GiB block of the direct map.
    private static readonly string[] s_exampleMaps =
    [
        "0xffffffff81000000=0x1000000:2M:r,x,global",
        "0x400000=0x5000000:4K:r,w,user",
        "0xffff888000000000=0:1G:r,w,global",
    ];

    public static Command Create(TextWriter stdout)
    {
        Option<string?> mmuOption = new("--mmu") { Description = "MMU format: " + string.Join(", ", PageTableFormat.AllNames) };
        Option<string?> arch = new("--arch") { Description = "architecture, for the MMU format its kernel uses (aarch64: aarch64-48): " + string.Join(", ", KernelArchitectures.Names) };
        Option<string[]> maps = new("--map")
        {
            Description = "a mapping VA=PA:SIZE:PERMS (PERMS: comma list of r, w, x, user, global; also device, nc, wt, so); repeat for more",
            Arity = ArgumentArity.ZeroOrMore,
        };
        Option<string?> va = new("--va") { Description = "the virtual address to walk" };
        Option<string> mode = new("--mode") { Description = "privilege of the access: user or kernel", DefaultValueFactory = _ => "kernel" };
        Option<string> access = new("--access") { Description = "read, write or exec", DefaultValueFactory = _ => "read" };
        Option<string?> cpu = new("--cpu")
        {
            Description = "register state on top of the format's Linux defaults, comma list: smep, smap, ac, nowp, nopge, nonxe (x86), pan, hwaf, domainpan (DACR user domain no access), epd0 (no TTBR0 walks) (ARM), sum, mxr, nopbmte (RISC-V)",
        };
        OutputConvention io = new(["text", "json"]);
        Option<bool> json = new("--json") { Description = "same as --format json: one JSON object instead of the listing" };
        Option<bool> example = new("--example") { Description = "walk a built-in x86-64 address space (kernel text 2M block, a user page, a 1G direct-map block) at user address " + ExampleVa };

        Command command = new("walk", "Build page tables from --map options and show the hardware walk of one address. "
            + "Page tables are allocated from a 16 MiB RAM bank placed in the highest 16 MiB-aligned window below 4 GiB that no --map uses.")
        {
            mmuOption, arch, maps, va, mode, access, cpu, example,
        };
        io.AddTo(command);
        command.Options.Add(json);

        command.SetAction(parse =>
        {
            bool isExample = parse.GetValue(example);
            // --format took the MMU format before --mmu existed: such a value is still read as --mmu
            string? mmu = parse.GetValue(mmuOption);
            string? given = parse.GetValue(io.Format);
            string output;
            if (given is not null && given.Trim().ToLowerInvariant() is not ("text" or "json") && PageTableFormat.TryParse(given, out _, out _))
            {
                mmu = mmu is null ? given : throw new UsageException($"--format {given} is an MMU format, and --mmu {mmu} names one too; give it once, with --mmu");
                output = parse.GetValue(json) ? "json" : "text";
            }
            else
            {
                output = io.Resolve(parse, parse.GetValue(json) ? "json" : null, "--json");
            }

            CommandOutputs outputs = new(stdout);
            OutputTarget? target = io.Claim(outputs, parse);
            string? formatName = ResolveFormat(mmu, parse.GetValue(arch));
            List<string> mapTexts = new(parse.GetValue(maps) ?? []);
            string? vaText = parse.GetValue(va);
            string modeText = parse.GetValue(mode) ?? "kernel";
            string accessText = parse.GetValue(access) ?? "read";
            if (isExample)
            {
                if (formatName is not null && !string.Equals(formatName, ExampleFormat, StringComparison.OrdinalIgnoreCase))
                {
                    throw new UsageException($"--example builds an {ExampleFormat} address space; drop --mmu/--arch {formatName} or --example");
                }

                formatName = ExampleFormat;
                mapTexts.InsertRange(0, s_exampleMaps);
                vaText ??= ExampleVa;
                if (parse.GetResult(mode) is null || parse.GetResult(mode)!.Implicit)
                {
                    modeText = "user";
                }
            }

            if (formatName is null)
            {
                throw new UsageException("walk: give --arch or --mmu (or use --example)");
            }

            if (vaText is null)
            {
                throw new UsageException("walk: --va is required (or use --example)");
            }

            WalkRequest request = new(formatName, mapTexts, vaText, modeText, accessText, parse.GetValue(cpu));
            string text = Run(request, output == "json");
            outputs.WriteAll(target is null ? text : null, (target, () => text));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    /// <summary>The MMU format named by <c>--mmu</c>, or by <c>--arch</c> through the architecture's row; both must agree.</summary>
    private static string? ResolveFormat(string? mmu, string? arch)
    {
        if (arch is null)
        {
            return mmu;
        }

        if (!KernelArchitectures.TryParse(arch, false, false, out KernelArch a, out string error))
        {
            throw new UsageException("--arch: " + error);
        }

        string fromArch = PageTableFormat.Get(a.Info().Format).Name;
        if (mmu is not null && !string.Equals(mmu.Trim(), fromArch, StringComparison.OrdinalIgnoreCase)
            && !(a == KernelArch.Aarch64 && string.Equals(mmu.Trim(), PageTableFormat.Get(MmuFormat.AArch64Va39).Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new UsageException($"--arch {a.Name()} builds {fromArch} page tables, not --mmu {mmu}");
        }

        return mmu ?? fromArch;
    }

    /// <summary>One walk request, as given on the command line.</summary>
    public sealed record WalkRequest(string Format, IReadOnlyList<string> Maps, string Va, string Mode, string Access, string? Cpu);

    /// <summary>A parsed --map.</summary>
    public readonly record struct MapSpec(string Text, ulong Va, ulong Pa, ulong Size, PageAttributes Attributes);

    private static string Run(WalkRequest request, bool json)
    {
        if (!PageTableFormat.TryParse(request.Format, out PageTableFormat? parsed, out string error))
        {
            throw new UsageException("--mmu: " + error);
        }

        PageTableFormat format = parsed!;
        List<MapSpec> specs = new();
        foreach (string text in request.Maps)
        {
            specs.Add(ParseMap(format, text));
        }

        int vaWidth = format.VirtualAddressBits <= 32 ? 32 : 64;
        if (!ByteSize.TryParse(request.Va, out ulong va, out error))
        {
            throw new UsageException($"--va: {error}");
        }

        if (vaWidth < 64 && va >> vaWidth != 0)
        {
            throw new UsageException($"--va {request.Va}: {format.Name} addresses are {vaWidth} bits wide");
        }

        Privilege privilege = request.Mode.ToLowerInvariant() switch
        {
            "user" => Privilege.User,
            "kernel" => Privilege.Kernel,
            _ => throw new UsageException($"--mode {InputText.Quote(request.Mode)}: use user or kernel"),
        };
        AccessType accessType = request.Access.ToLowerInvariant() switch
        {
            "read" => AccessType.Read,
            "write" => AccessType.Write,
            "exec" => AccessType.Execute,
            _ => throw new UsageException($"--access {InputText.Quote(request.Access)}: use read, write or exec"),
        };

        ulong bank = ChooseTableBank(format, specs);
        PhysicalMemory memory = new();
        FrameAllocator allocator = new(new RamBank(new PhysicalAddress(bank), TableBankSize));
        if (!PageTable.TryCreate(format, memory, allocator, out PageTable? created))
        {
            throw new UsageException("walk: no frame for the root table");
        }

        PageTable table = created!;
        foreach (MapSpec spec in specs)
        {
            PageTableResult r = table.Map(new VirtualAddress(spec.Va), new PhysicalAddress(spec.Pa), spec.Size, spec.Attributes);
            if (!r.Succeeded)
            {
                string why = r.Status switch
                {
                    PageTableStatus.Overlap => $"{r.Address} is already mapped by an earlier --map",
                    PageTableStatus.NoMemory => $"the page tables need more than the {ByteSize.Format(TableBankSize)} table bank",
                    _ => r.Message,
                };
                throw new UsageException($"--map {InputText.Quote(spec.Text)}: {why}");
            }
        }

        MmuRegisters registers = table.Registers;
        ApplyCpuFlags(ref registers, request.Cpu);
        WalkTrace trace = new();
        WalkResult result = format.Walk(memory, registers, new VirtualAddress(va), accessType, privilege, trace);
        if (json)
        {
            return Json(result, trace, va);
        }

        StringWriter listing = new();
        WriteListing(listing, format, table, specs, bank, va, privilege, accessType, result, trace, request.Cpu);
        return listing.ToString();
    }

    /// <summary>Parses VA=PA:SIZE:PERMS and checks it against the format's address widths and granule.</summary>
    public static MapSpec ParseMap(PageTableFormat format, string text)
    {
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        string[] rhs = eq < 0 ? [] : text[(eq + 1)..].Split(':');
        if (eq <= 0 || rhs.Length != 3)
        {
            throw new UsageException($"--map {InputText.Quote(text)}: expected VA=PA:SIZE:PERMS, e.g. 0x400000=0x5000000:4K:r,w,user");
        }

        if (!ByteSize.TryParse(text[..eq], out ulong va, out string error))
        {
            throw new UsageException($"--map {InputText.Quote(text)}: VA: {error}");
        }

        if (!ByteSize.TryParse(rhs[0], out ulong pa, out error))
        {
            throw new UsageException($"--map {InputText.Quote(text)}: PA: {error}");
        }

        if (!ByteSize.TryParse(rhs[1], out ulong size, out error))
        {
            throw new UsageException($"--map {InputText.Quote(text)}: SIZE: {error}");
        }

        if (!PageAttributes.TryParse(rhs[2], out PageAttributes attributes, out error))
        {
            throw new UsageException($"--map {InputText.Quote(text)}: PERMS: {error}");
        }

        ulong granule = format.Geometry.SmallestPage;
        if (size == 0 || size % granule != 0)
        {
            throw new UsageException($"--map {InputText.Quote(text)}: SIZE {InputText.Show(rhs[1])} is not a non-zero multiple of {ByteSize.Format(granule)}");
        }

        if (va % granule != 0 || pa % granule != 0)
        {
            throw new UsageException($"--map {InputText.Quote(text)}: VA and PA must be {ByteSize.Format(granule)}-aligned");
        }

        if (!format.ContainsRange(new VirtualAddress(va), size))
        {
            throw new UsageException($"--map {InputText.Quote(text)}: VA range {ByteSize.Hex(va)}+{ByteSize.Format(size)} is outside what {format.Name} translates ({format.VirtualAddressBits}-bit VA{(format.VirtualAddressBits < 64 && format.VirtualAddressBits > 32 ? ", canonical" : "")})");
        }

        if (pa + size - 1 < pa || !format.CanMapFrame(format.Geometry[format.Geometry.LevelCount - 1], new PhysicalAddress(pa), size))
        {
            throw new UsageException($"--map {InputText.Quote(text)}: PA range {ByteSize.Hex(pa)}+{ByteSize.Format(size)} is beyond {format.Name}'s {format.PhysicalAddressBits}-bit physical addresses");
        }

        return new MapSpec(text, va, pa, size, attributes);
    }

    /// <summary>The highest 16 MiB-aligned window below 4 GiB (and below the format's PA limit) that no mapping's PA range touches.</summary>
    public static ulong ChooseTableBank(PageTableFormat format, IReadOnlyList<MapSpec> specs)
    {
        ulong limit = Math.Min(1UL << 32, format.PhysicalAddressBits >= 64 ? ulong.MaxValue : 1UL << format.PhysicalAddressBits);
        for (ulong bank = limit - TableBankSize; ; bank -= TableBankSize)
        {
            bool free = true;
            foreach (MapSpec s in specs)
            {
                if (s.Pa < bank + TableBankSize && bank < s.Pa + s.Size)
                {
                    free = false;
                    break;
                }
            }

            if (free)
            {
                return bank;
            }

            if (bank == 0)
            {
                throw new UsageException("walk: the --map ranges leave no free 16 MiB window below 4 GiB for the page tables");
            }
        }
    }

    private static void ApplyCpuFlags(ref MmuRegisters r, string? flags)
    {
        if (string.IsNullOrWhiteSpace(flags))
        {
            return;
        }

        foreach (string raw in flags.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            switch (raw.ToLowerInvariant())
            {
                case "smep":
                    r.Cr4 |= Cr4Flags.Smep;
                    break;
                case "smap":
                    r.Cr4 |= Cr4Flags.Smap;
                    break;
                case "ac":
                    r.Ac = true;
                    break;
                case "nowp":
                    r.WriteProtect = false;
                    break;
                case "nopge":
                    r.Cr4 &= ~Cr4Flags.Pge;
                    break;
                case "nonxe":
                    r.Nxe = false;
                    break;
                case "pan":
                    r.Pan = true;
                    break;
                case "hwaf":
                    r.HardwareAccessFlag = true;
                    break;
                case "sum":
                    r.Sum = true;
                    break;
                case "mxr":
                    r.Mxr = true;
                    break;
                case "nopbmte":
                    r.Pbmte = false; // menvcfg.PBMTE clear: PTE bits 62:61 become reserved
                    break;
                case "domainpan":
                    r.Dacr = ArmShortDescriptor.LinuxDacr(userAccessEnabled: false); // CONFIG_CPU_SW_DOMAIN_PAN outside uaccess
                    break;
                case "epd0":
                    r.Ttbcr |= ArmLpaeFormat.TtbcrEpd0; // TTBCR.EPD0 and TCR_EL1.EPD0 are both bit 7
                    break;
                default:
                    throw new UsageException($"--cpu: unknown flag {InputText.Quote(raw)} (use smep, smap, ac, nowp, nopge, nonxe, pan, hwaf, domainpan, epd0, sum, mxr, nopbmte)");
            }
        }
    }

    private static string FaultName(FaultKind kind) => kind switch
    {
        FaultKind.Translation => "translation",
        FaultKind.Permission => "permission",
        FaultKind.AccessFlag => "access-flag",
        FaultKind.Domain => "domain",
        FaultKind.NonCanonical => "non-canonical",
        FaultKind.ReservedBit => "reserved-bit",
        FaultKind.MisalignedSuperpage => "misaligned-superpage",
        FaultKind.AddressSize => "address-size",
        _ => "none",
    };

    private static string Json(WalkResult result, WalkTrace trace, ulong va)
    {
        return JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("result", result.IsFault ? "fault" : "ok");
            w.WriteString("va", ByteSize.Hex(va));
            if (result.IsFault)
            {
                w.WriteString("fault", FaultName(result.Fault));
            }
            else
            {
                w.WriteString("pa", ByteSize.Hex(result.Translate(new VirtualAddress(va)).Value));
                w.WriteNumber("pageSize", result.PageSize);
                w.WriteBoolean("global", result.Global);
                w.WriteString("rights", result.Rights.Describe());
            }

            w.WriteNumber("level", result.Level);
            w.WriteString("root", trace.Root);
            w.WriteString("rootValue", ByteSize.Hex(trace.RootValue));
            w.WriteStartArray("steps");
            foreach (WalkStep s in trace.Steps)
            {
                w.WriteStartObject();
                w.WriteNumber("level", s.Level);
                w.WriteString("table", ByteSize.Hex(s.TableAddress.Value));
                w.WriteNumber("index", s.Index);
                w.WriteString("descriptor", ByteSize.Hex(s.Descriptor));
                w.WriteString("kind", s.Kind);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void WriteListing(TextWriter o, PageTableFormat format, PageTable table, List<MapSpec> specs, ulong bank, ulong va, Privilege privilege, AccessType access, WalkResult result, WalkTrace trace, string? cpu)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        string accessName = access == AccessType.Execute ? "exec" : access.ToString().ToLowerInvariant();
        o.WriteLine($"{format.Name} walk of {ByteSize.Hex(va)} ({privilege.ToString().ToLowerInvariant()} {accessName})");
        foreach (MapSpec s in specs)
        {
            o.WriteLine($"  map {ByteSize.Hex(s.Va),-20} -> {ByteSize.Hex(s.Pa),-14} {ByteSize.Format(s.Size),-5} {s.Attributes}");
        }

        o.WriteLine($"  page tables: {table.Tables} tables in {table.TablePages} pages ({ByteSize.Human((ulong)table.TableBytes)}) from the table bank at {ByteSize.Hex(bank)}");
        string extra = string.IsNullOrWhiteSpace(cpu) ? "" : $"   (--cpu {cpu})";
        string fields = format.DescribeRoot(trace.Root, trace.RootValue);
        o.WriteLine($"{trace.Root} = {ByteSize.Hex(trace.RootValue)}{(fields.Length > 0 ? "  " + fields : "")}{extra}");

        PageTableGeometry g = format.Geometry;
        bool first = true;
        foreach (WalkStep s in trace.Steps)
        {
            int li = g.IndexOfLevel(s.Level);
            string name = li >= 0 ? g[li].Name : "level";
            int width = li >= 0 ? g[li].EntrySize * 2 : 16;
            int entrySize = li >= 0 ? g[li].EntrySize : 8;
            ulong entry = s.TableAddress.Value + ((ulong)s.Index * (ulong)entrySize);
            o.WriteLine(string.Create(inv, $"  {name,-5} level {s.Level}  table {ByteSize.Hex(s.TableAddress.Value)}  index {s.Index,4}  [{ByteSize.Hex(entry)}] = {ByteSize.Hex(s.Descriptor, width)}  {s.Kind}"));
            if (s.Kind != "invalid")
            {
                o.WriteLine("        " + DescriptorField.Join(format.Describe(s.Level, s.Descriptor)));
            }

            if (first && trace.FirstLevelInRegisters)
            {
                o.WriteLine($"        (taken from the copy the CPU loaded at the last write of {trace.Root}; not read from memory)");
            }

            first = false;
        }

        if (result.IsFault)
        {
            int li = g.IndexOfLevel(result.Level);
            string where = li >= 0 ? $" at level {result.Level} ({g[li].Name})" : "";
            o.WriteLine(string.Create(inv, $"result: {FaultName(result.Fault)} fault{where} after {result.Reads} descriptor reads"));
            return;
        }

        int leafIndex = g.IndexOfLevel(result.Level);
        string levelName = leafIndex >= 0 ? $" ({g[leafIndex].Name})" : "";
        o.WriteLine($"result: ok  pa {ByteSize.Hex(result.Translate(new VirtualAddress(va)).Value)}  page {ByteSize.Format(result.PageSize)} at {ByteSize.Hex(result.PageBase.Value)} -> {ByteSize.Hex(result.FrameBase.Value)}");
        o.WriteLine(string.Create(inv, $"        level {result.Level}{levelName}  rights {result.Rights.Describe()}  {(result.User ? "user page" : "kernel page")}  {(result.Global ? "global" : "not global")}  {result.MemoryType.ToString().ToLowerInvariant()}  {result.Reads} descriptor reads"));
    }
}
