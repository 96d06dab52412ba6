using System.Globalization;
using System.Text;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Lab;

/// <summary>One assignment of a Linux <c>.config</c>: the symbol without <c>CONFIG_</c>, its value (<c>n</c> for "is not set") and its line.</summary>
public sealed record DotConfigEntry(string Symbol, string Value, int Line)
{
    public bool IsSet => Value is "y" or "m";

    public bool IsOff => Value == "n";
}

/// <summary>
/// A Linux kernel configuration (<c>.config</c> as scripts/kconfig/confdata.c writes it): <c>CONFIG_X=y</c>, <c>=m</c>,
/// <c>="string"</c>, numbers (decimal or <c>0x</c> hex), <c>#&#160;CONFIG_X is not set</c>, comments and blank lines.
/// Every other line is refused with FILE:LINE. A symbol assigned twice keeps its last value, as conf_read does.
/// <see cref="DotConfigMachine"/> reads what it implies for a machine, a layout and a design; <c>layout</c>,
/// <c>compare</c> and <c>audit</c> take it with <c>--config</c>.
/// </summary>
public sealed class KernelDotConfig
{
    /// <summary>Larger than any real .config (an allyesconfig is about 400 KB).</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    private readonly Dictionary<string, DotConfigEntry> _entries;

    private KernelDotConfig(string name, Dictionary<string, DotConfigEntry> entries)
    {
        Name = name;
        _entries = entries;
    }

    /// <summary>The file name errors cite.</summary>
    public string Name { get; }

    public int Count => _entries.Count;

    /// <summary>Reads a .config file; a missing, unreadable or malformed file is a <see cref="LabException"/> naming it.</summary>
    public static KernelDotConfig Load(string path)
    {
        string name = path;
        byte[] bytes;
        try
        {
            FileInfo info = new(path);
            if (!info.Exists)
            {
                throw new LabException($"--config: {name}: no such file");
            }

            if (info.Length > MaxBytes)
            {
                throw new LabException($"--config: {name}: {info.Length} bytes is larger than a kernel configuration ({MaxBytes} at most)");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabException($"--config: {name}: {e.Message.Split('\n')[0]}");
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new LabException($"--config: {name}: not UTF-8 text");
        }

        return Parse(text, path);
    }

    /// <summary>Parses .config text; <paramref name="name"/> is the file errors cite.</summary>
    public static KernelDotConfig Parse(string text, string name)
    {
        string shown = name;
        Dictionary<string, DotConfigEntry> entries = new(StringComparer.Ordinal);
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNo = i + 1;
            string line = lines[i].TrimEnd('\r').Trim();
            if (line.Length == 0)
            {
                continue;
            }

            string Where() => $"{shown}:{lineNo}";
            if (line.StartsWith('#'))
            {
                // "# CONFIG_FOO is not set" (scripts/kconfig/confdata.c, conf_write_symbol); any other comment is ignored
                const string notSet = " is not set";
                string body = line[1..].Trim();
                if (body.StartsWith("CONFIG_", StringComparison.Ordinal) && body.EndsWith(notSet, StringComparison.Ordinal))
                {
                    string symbol = body[7..^notSet.Length];
                    if (!IsSymbol(symbol))
                    {
                        throw new LabException($"{Where()}: {InputText.Quote(line)} names no valid symbol");
                    }

                    entries[symbol] = new DotConfigEntry(symbol, "n", lineNo);
                }

                continue;
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (!line.StartsWith("CONFIG_", StringComparison.Ordinal) || eq < 0 || !IsSymbol(line[7..eq]))
            {
                throw new LabException($"{Where()}: {InputText.Quote(line)} is not a .config line (CONFIG_NAME=VALUE, '# CONFIG_NAME is not set' or a comment)");
            }

            string sym = line[7..eq];
            string value = line[(eq + 1)..];
            if (value.StartsWith('"'))
            {
                value = Unquote(value) ?? throw new LabException($"{Where()}: CONFIG_{sym}: the string {InputText.Quote(value)} is not closed by a quote");
            }
            else if (!IsPlainValue(value))
            {
                throw new LabException($"{Where()}: CONFIG_{sym}: {InputText.Quote(value)} is not y, m, n, a number or a \"string\"");
            }

            entries[sym] = new DotConfigEntry(sym, value, lineNo);
        }

        return new KernelDotConfig(shown, entries);
    }

    /// <summary>The assignment of <c>CONFIG_</c><paramref name="symbol"/>, or null when the file does not mention it.</summary>
    public DotConfigEntry? Get(string symbol) => _entries.GetValueOrDefault(symbol);

    /// <summary>The first of <paramref name="symbols"/> set to y or m.</summary>
    public DotConfigEntry? FirstSet(params string[] symbols) => symbols.Select(Get).FirstOrDefault(e => e is { IsSet: true });

    /// <summary>FILE:LINE of an entry.</summary>
    public string At(DotConfigEntry e) => $"{Name}:{e.Line}";

    /// <summary>How the entry reads in the file.</summary>
    public static string Show(DotConfigEntry e) => e.IsOff ? $"# CONFIG_{e.Symbol} is not set" : $"CONFIG_{e.Symbol}={e.Value}";

    /// <summary>A bool or tristate: true for y/m, false for n or "is not set", null when absent.</summary>
    public bool? Bool(string symbol)
    {
        DotConfigEntry? e = Get(symbol);
        if (e is null)
        {
            return null;
        }

        return e.Value switch
        {
            "y" or "m" => true,
            "n" => false,
            _ => throw new LabException($"{At(e)}: CONFIG_{symbol}={InputText.Show(e.Value)} is not y, m or n"),
        };
    }

    /// <summary>An int or hex symbol, checked against [min, max]; null when absent or not set.</summary>
    public ulong? Number(string symbol, ulong min, ulong max)
    {
        DotConfigEntry? e = Get(symbol);
        if (e is null || e.IsOff)
        {
            return null;
        }

        string v = e.Value;
        bool ok = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(v.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong n)
            : ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out n);
        if (!ok || n < min || n > max)
        {
            throw new LabException($"{At(e)}: CONFIG_{symbol}={InputText.Show(v)} is not a number in [{min}, {max}]");
        }

        return n;
    }

    private static bool IsSymbol(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static bool IsPlainValue(string v)
    {
        if (v is "y" or "m" or "n")
        {
            return true;
        }

        if (v.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return v.Length > 2 && v.Skip(2).All(char.IsAsciiHexDigit);
        }

        string digits = v.StartsWith('-') ? v[1..] : v;
        return digits.Length > 0 && digits.All(char.IsAsciiDigit);
    }

    // "..." with \" and \\ escapes (confdata.c, conf_write_string); null when the closing quote is missing or text follows it
    private static string? Unquote(string v)
    {
        StringBuilder sb = new();
        for (int i = 1; i < v.Length; i++)
        {
            char c = v[i];
            if (c == '\\' && i + 1 < v.Length)
            {
                sb.Append(v[++i]);
            }
            else if (c == '"')
            {
                return i == v.Length - 1 ? sb.ToString() : null;
            }
            else
            {
                sb.Append(c);
            }
        }

        return null;
    }
}

/// <summary>
/// What a <see cref="KernelDotConfig"/> implies: the architectures its kernel runs on, the split, highmem, the arm64
/// VA size, NR_CPUS, and the design (isolation scheme and PAN mechanism) the kernel runs on a CPU. Contradictions
/// inside the file or with an explicit option are one-line <see cref="LabException"/>s naming FILE:LINE.
/// </summary>
public static class DotConfigMachine
{
    private static readonly (VmSplit Split, string Symbol)[] s_splits =
    [
        (VmSplit.Split3G, "VMSPLIT_3G"), (VmSplit.Split3GOpt, "VMSPLIT_3G_OPT"), (VmSplit.Split2G, "VMSPLIT_2G"),
        (VmSplit.Split2GOpt, "VMSPLIT_2G_OPT"), (VmSplit.Split1G, "VMSPLIT_1G"),
    ];

    /// <summary>
    /// The architectures the configured kernel can run, the preferred first, with the entry that says so; null when
    /// the file sets no architecture symbol. 64-bit x86 built for 5-level paging (CONFIG_X86_5LEVEL or
    /// CONFIG_PGTABLE_LEVELS=5) runs LA57 where the CPU has it and 4-level otherwise (arch/x86/kernel/head64.c,
    /// check_la57_support); 64-bit RISC-V picks the widest satp mode the CPU has up to CONFIG_PGTABLE_LEVELS
    /// (arch/riscv/mm/init.c, set_satp_mode, Linux 5.17+).
    /// </summary>
    public static (IReadOnlyList<KernelArch> Arches, DotConfigEntry Because)? Arches(KernelDotConfig c)
    {
        string[] archSymbols = ["ARM", "ARM64", "X86_32", "X86_64", "RISCV"];
        List<DotConfigEntry> set = [.. archSymbols.Select(c.Get).OfType<DotConfigEntry>().Where(e => e.IsSet)];
        if (set.Count == 0 && c.Get("X86") is { IsSet: true } x86)
        {
            // a fragment that says only CONFIG_X86: CONFIG_64BIT decides (arch/x86/Kconfig, config X86_32 / X86_64)
            set.Add(c.Bool("64BIT") == true ? x86 with { Symbol = "X86_64" } : x86 with { Symbol = "X86_32" });
        }

        if (set.Count == 0)
        {
            return null;
        }

        if (set.Count > 1)
        {
            throw new LabException($"{c.At(set[1])}: {KernelDotConfig.Show(set[1])} contradicts {KernelDotConfig.Show(set[0])} on line {set[0].Line}: one architecture per kernel");
        }

        DotConfigEntry a = set[0];
        bool? is64 = c.Bool("64BIT");
        int? levels = (int?)c.Number("PGTABLE_LEVELS", 2, 5);
        IReadOnlyList<KernelArch> arches = a.Symbol switch
        {
            "ARM" => [c.Bool("ARM_LPAE") == true ? KernelArch.ArmLpae : KernelArch.Arm],
            "ARM64" => [KernelArch.Aarch64],
            "X86_32" => [c.Bool("X86_PAE") == true || c.Bool("HIGHMEM64G") == true ? KernelArch.X86Pae : KernelArch.X86],
            "X86_64" => c.Bool("X86_5LEVEL") == false || levels == 4 ? [KernelArch.X86_64] : [KernelArch.X86_64La57, KernelArch.X86_64],
            _ when is64 == false || c.Bool("32BIT") == true => [KernelArch.RiscvSv32],
            _ => levels switch
            {
                3 => [KernelArch.RiscvSv39],
                4 => [KernelArch.RiscvSv48, KernelArch.RiscvSv39],
                _ => [KernelArch.RiscvSv57, KernelArch.RiscvSv48, KernelArch.RiscvSv39],
            },
        };

        // CONFIG_64BIT must agree with a fixed-width architecture (arch/*/Kconfig: ARM and X86_32 are 32-bit, ARM64 and X86_64 64-bit)
        if (is64 is bool w && c.Get("64BIT") is DotConfigEntry wide && a.Symbol is "ARM" or "ARM64" or "X86_32" or "X86_64" && w != (a.Symbol is "ARM64" or "X86_64"))
        {
            throw new LabException($"{c.At(wide)}: {KernelDotConfig.Show(wide)} contradicts {KernelDotConfig.Show(a)} on line {a.Line}");
        }

        return (arches, a);
    }

    /// <summary>
    /// The architecture a command runs: an explicit <c>--arch</c> must be one the kernel runs; a CPU (from
    /// <c>--machine</c>) must run one of them and gets the first it runs; with neither, the first the architecture's
    /// default CPU runs. Returns <paramref name="explicitArch"/> (or null) when the file names no architecture.
    /// </summary>
    public static KernelArch? ChooseArch(KernelDotConfig c, KernelArch? explicitArch, CpuProfile? cpu)
    {
        if (Arches(c) is not var (arches, because))
        {
            return explicitArch;
        }

        string built = $"{c.At(because)}: {KernelDotConfig.Show(because)} builds a kernel for {string.Join(" or ", arches.Select(a => a.Name()))}";
        if (explicitArch is KernelArch ea)
        {
            if (!arches.Contains(ea))
            {
                throw new LabException($"{built}, which contradicts --arch {ea.Name()}");
            }

            if (cpu is not null && !MachineSpec.ArchesOf(cpu).Contains(ea))
            {
                throw new LabException($"{built}; " + MachineSpec.CannotRun(cpu, ea));
            }

            return ea;
        }

        if (cpu is not null)
        {
            IReadOnlyList<KernelArch> runs = MachineSpec.ArchesOf(cpu);
            return arches.Where(runs.Contains).Cast<KernelArch?>().FirstOrDefault()
                ?? throw new LabException($"{built}, which the {cpu.Id} CPU cannot run (it runs {string.Join(", ", runs.Select(x => x.Name()))})");
        }

        return arches.FirstOrDefault(a => CpuProfiles.Find(a.Info().DefaultProfile) is CpuProfile p && MachineSpec.ArchesOf(p).Contains(a), arches[^1]);
    }

    /// <summary>CONFIG_VMSPLIT_* or CONFIG_PAGE_OFFSET on a 32-bit kernel; both given, they must agree.</summary>
    public static (VmSplit Split, DotConfigEntry Because)? Split(KernelDotConfig c, KernelArch arch)
    {
        if (!arch.Is32Bit())
        {
            return null;
        }

        (VmSplit Split, DotConfigEntry E)? chosen = null;
        foreach ((VmSplit s, string sym) in s_splits)
        {
            if (c.Get(sym) is { IsSet: true } e)
            {
                chosen = chosen is null ? (s, e) : throw new LabException($"{c.At(e)}: {KernelDotConfig.Show(e)} contradicts {KernelDotConfig.Show(chosen.Value.E)} on line {chosen.Value.E.Line}: one memory split");
            }
        }

        if (c.Number("PAGE_OFFSET", 0, uint.MaxValue) is ulong offset)
        {
            DotConfigEntry e = c.Get("PAGE_OFFSET")!;
            VmSplit? fromOffset = s_splits.Select(x => x.Split).Cast<VmSplit?>().FirstOrDefault(s => KernelConfig.PageOffsetFor(s!.Value) == offset);
            if (fromOffset is null)
            {
                throw new LabException($"{c.At(e)}: CONFIG_PAGE_OFFSET={e.Value} is none of the VMSPLIT_* choices (0xc0000000, 0xb0000000, 0x80000000, 0x78000000, 0x40000000)");
            }

            if (chosen is { } ch && ch.Split != fromOffset)
            {
                throw new LabException($"{c.At(e)}: CONFIG_PAGE_OFFSET={e.Value} contradicts {KernelDotConfig.Show(ch.E)} on line {ch.E.Line} (PAGE_OFFSET {ByteSizeHex(KernelConfig.PageOffsetFor(ch.Split))})");
            }

            chosen ??= (fromOffset.Value, e);
        }

        return chosen;
    }

    /// <summary>CONFIG_HIGHMEM (x86: CONFIG_HIGHMEM4G/64G select it, CONFIG_NOHIGHMEM clears it) on a 32-bit kernel.</summary>
    public static bool? Highmem(KernelDotConfig c, KernelArch arch)
    {
        if (!arch.Is32Bit())
        {
            return null;
        }

        if (c.Bool("HIGHMEM") is bool h)
        {
            return h;
        }

        if (c.FirstSet("HIGHMEM4G", "HIGHMEM64G") is not null)
        {
            return true;
        }

        return c.Bool("NOHIGHMEM") == true ? false : null;
    }

    /// <summary>arm64 CONFIG_ARM64_VA_BITS (or the ARM64_VA_BITS_* choice) with 4 KiB pages: 39 or 48.</summary>
    public static int? VaBits(KernelDotConfig c, KernelArch arch)
    {
        if (arch != KernelArch.Aarch64)
        {
            return null;
        }

        if (c.FirstSet("ARM64_16K_PAGES", "ARM64_64K_PAGES") is DotConfigEntry granule)
        {
            throw new LabException($"{c.At(granule)}: {KernelDotConfig.Show(granule)}: only the 4 KiB granule is modelled");
        }

        DotConfigEntry? e = c.Get("ARM64_VA_BITS") ?? new[] { "36", "39", "42", "47", "48", "52" }.Select(b => c.Get("ARM64_VA_BITS_" + b)).FirstOrDefault(x => x is { IsSet: true });
        if (e is null)
        {
            return null;
        }

        int bits = e.Symbol == "ARM64_VA_BITS" ? (int)c.Number("ARM64_VA_BITS", 36, 52)!.Value : int.Parse(e.Symbol[14..], CultureInfo.InvariantCulture);
        return bits is 39 or 48 ? bits : throw new LabException($"{c.At(e)}: {KernelDotConfig.Show(e)}: arm64 with 4 KiB pages is modelled with 39- or 48-bit VAs");
    }

    /// <summary>The seed layout a .config asks for: VMSPLIT_4G_4G (x86: CONFIG_X86_4G) on arm-lpae or x86-32; null otherwise.</summary>
    public static LayoutDesign? LayoutDesign(KernelDotConfig c, KernelArch arch)
    {
        if (c.FirstSet("VMSPLIT_4G_4G", "X86_4G") is not DotConfigEntry e)
        {
            return null;
        }

        return arch switch
        {
            KernelArch.ArmLpae => Kernel.Layout.LayoutDesign.FourGFourG,
            KernelArch.X86 or KernelArch.X86Pae => Kernel.Layout.LayoutDesign.X86FourGFourG,
            _ => throw new LabException($"{c.At(e)}: {KernelDotConfig.Show(e)}: 4G/4G exists for arm-lpae and x86-32, not {arch.Name()}"),
        };
    }

    /// <summary>CONFIG_NR_CPUS.</summary>
    public static int? NrCpus(KernelDotConfig c) => (int?)c.Number("NR_CPUS", 1, 8192);

    /// <summary>
    /// x86-32's fixmap-sizing options (<see cref="X86FixmapOptions.Names"/>) over <paramref name="over"/>: a symbol the
    /// file sets (=y, =m) or marks "is not set" decides; one it does not name keeps its value, since a defconfig or a
    /// partial file leaves out what is at its Kconfig default (a complete olddefconfig output names each one whose
    /// dependencies hold).
    /// </summary>
    public static X86FixmapOptions X86Fixmap(KernelDotConfig c, X86FixmapOptions over) =>
        over.With(c.Bool);

    /// <summary>CONFIG_PGTABLE_LEVELS must match the format the kernel runs (arch/*/Kconfig, config PGTABLE_LEVELS).</summary>
    public static void CheckLevels(KernelDotConfig c, KernelArch arch, int vaBits)
    {
        if (c.Number("PGTABLE_LEVELS", 2, 5) is not ulong n)
        {
            return;
        }

        int levels = PageTableFormat.Get(arch.MmuFormatOf(vaBits)).Geometry.LevelCount;
        bool ok = arch switch
        {
            // a 5-level x86-64 or RISC-V kernel folds levels on hardware without them
            KernelArch.X86_64 or KernelArch.RiscvSv39 or KernelArch.RiscvSv48 => (int)n >= levels,
            _ => (int)n == levels,
        };
        if (!ok)
        {
            DotConfigEntry e = c.Get("PGTABLE_LEVELS")!;
            throw new LabException($"{c.At(e)}: CONFIG_PGTABLE_LEVELS={e.Value} contradicts {arch.Name()}{(arch == KernelArch.Aarch64 ? $" with {vaBits}-bit VAs" : "")}, whose tables have {levels} levels");
        }
    }

    /// <summary>
    /// The machine a .config implies on top of <paramref name="m"/> (whose architecture <see cref="ChooseArch"/>
    /// already picked): split, highmem, VA size, NR_CPUS; a command applies its explicit options after this.
    /// </summary>
    public static MachineSpec Apply(KernelDotConfig c, MachineSpec m)
    {
        m = m with
        {
            Split = Split(c, m.Arch)?.Split ?? m.Split,
            Highmem = Highmem(c, m.Arch) ?? m.Highmem,
            NrCpus = NrCpus(c) ?? m.NrCpus,
            X86Fixmap = m.Arch.IsX86_32() ? X86Fixmap(c, m.X86Fixmap) : m.X86Fixmap, // the same symbols exist elsewhere (PARAVIRT on arm64) and size nothing there
        };
        if (VaBits(c, m.Arch) is int va)
        {
            if (!m.Profile.MmuFormats.Contains(m.Arch.MmuFormatOf(va)))
            {
                DotConfigEntry e = c.Get("ARM64_VA_BITS") ?? c.FirstSet("ARM64_VA_BITS_39", "ARM64_VA_BITS_48")!;
                throw new LabException($"{c.At(e)}: {KernelDotConfig.Show(e)}: the {m.Profile.Id} CPU has no {va}-bit VA format");
            }

            m = m with { VaBits = va };
        }

        CheckLevels(c, m.Arch, m.VaBits);
        return m;
    }

    /// <summary>
    /// The design the configured kernel runs on the machine's CPU, and why. The isolation scheme: VMSPLIT_4G_4G
    /// (the seeds' patch; CONFIG_X86_4G in the 2003 x86 patch) is 4g4g on arm-lpae and x86-4g4g on x86-32; PTI
    /// (CONFIG_PAGE_TABLE_ISOLATION, 6.9+ CONFIG_MITIGATION_PAGE_TABLE_ISOLATION) is kpti on x86-64 and x86-pae; on
    /// arm64 CONFIG_UNMAP_KERNEL_AT_EL0 unmaps the kernel on Meltdown-affected cores and, with CONFIG_RANDOMIZE_BASE,
    /// on every core without E0PD (arch/arm64/kernel/cpufeature.c, unmap_kernel_at_el0 and kaslr_requires_kpti) — the
    /// shipped Cortex-A53 and A72 are on its kpti_safe_list and have no E0PD, so KASLR decides. Linux likewise skips
    /// x86 PTI on CPUs not affected by Meltdown (cpu_vuln_whitelist); the profiles do not say which, so the .config
    /// decides there. PAN (classic only): CONFIG_CPU_SW_DOMAIN_PAN on arm, CONFIG_CPU_TTBR0_PAN on arm-lpae,
    /// CONFIG_ARM64_PAN where the CPU has PAN else CONFIG_ARM64_SW_TTBR0_PAN (+sw-pan), SMAP on x86 where the CPU has
    /// it unless the pre-5.x CONFIG_X86_SMAP is off, SUM on RISC-V (always used).
    /// </summary>
    public static (string Design, string Why) Design(KernelDotConfig c, MachineSpec m)
    {
        List<string> why = [];
        string scheme = "classic";
        if (c.FirstSet("VMSPLIT_4G_4G", "X86_4G") is DotConfigEntry fourG)
        {
            scheme = m.Arch switch
            {
                KernelArch.ArmLpae => "4g4g",
                KernelArch.X86 or KernelArch.X86Pae => "x86-4g4g",
                _ => throw new LabException($"{c.At(fourG)}: {KernelDotConfig.Show(fourG)}: 4G/4G exists for arm-lpae and x86-32, not {m.Arch.Name()}"),
            };
            why.Add(KernelDotConfig.Show(fourG));
        }
        else if (m.Arch is KernelArch.X86_64 or KernelArch.X86_64La57 or KernelArch.X86Pae
            && c.FirstSet("MITIGATION_PAGE_TABLE_ISOLATION", "PAGE_TABLE_ISOLATION") is DotConfigEntry pti)
        {
            scheme = "kpti";
            why.Add(KernelDotConfig.Show(pti));
        }
        else if (m.Arch == KernelArch.Aarch64 && c.FirstSet("UNMAP_KERNEL_AT_EL0", "MITIGATION_UNMAP_KERNEL_AT_EL0") is DotConfigEntry unmap)
        {
            if (c.Get("RANDOMIZE_BASE") is { IsSet: true } kaslr)
            {
                scheme = "kpti";
                why.Add($"{KernelDotConfig.Show(unmap)} with {KernelDotConfig.Show(kaslr)} (kaslr_requires_kpti)");
            }
            else
            {
                why.Add($"{KernelDotConfig.Show(unmap)} without KASLR: the {m.Profile.Id} is on kpti_safe_list, so the kernel stays mapped");
            }
        }

        string pan = "";
        if (scheme == "classic")
        {
            MmuFormat format = Scenario.FormatOf(m);
            DotConfigEntry? p = m.Arch switch
            {
                KernelArch.Arm => c.FirstSet("CPU_SW_DOMAIN_PAN"),
                KernelArch.ArmLpae => c.FirstSet("CPU_TTBR0_PAN"),
                _ => null,
            };
            if (p is not null)
            {
                pan = "+pan";
                why.Add(KernelDotConfig.Show(p));
            }
            else if (m.Arch == KernelArch.Aarch64)
            {
                if (c.FirstSet("ARM64_PAN") is DotConfigEntry hw && m.Profile.Has(CpuFeature.Pan))
                {
                    pan = "+pan";
                    why.Add(KernelDotConfig.Show(hw));
                }
                else if (c.FirstSet("ARM64_SW_TTBR0_PAN") is DotConfigEntry sw)
                {
                    pan = "+sw-pan";
                    why.Add(KernelDotConfig.Show(sw) + (m.Profile.Has(CpuFeature.Pan) ? "" : $" (the {m.Profile.Id} has no hardware PAN)"));
                }
            }
            else if (format.Family() == ArchFamily.X86 && m.Arch != KernelArch.X86 && m.Profile.Has(CpuFeature.Smap) && c.Bool("X86_SMAP") != false)
            {
                pan = "+pan";
                why.Add($"SMAP, which Linux uses on every CPU that has it");
            }
            else if (format.Family() == ArchFamily.Riscv && m.Profile.Has(CpuFeature.Sum))
            {
                pan = "+pan";
                why.Add("sstatus.SUM, which Linux always clears outside uaccess");
            }
        }

        string design = scheme + pan;
        return (design, why.Count == 0 ? "" : $"{c.Name} builds {design}: {string.Join("; ", why)}");
    }

    private static string ByteSizeHex(ulong v) => "0x" + v.ToString("x8", CultureInfo.InvariantCulture);
}
