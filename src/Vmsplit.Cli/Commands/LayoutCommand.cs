using System.CommandLine;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Memory;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Commands;

/// <summary><c>vmsplit layout</c>: a kernel virtual-memory layout (or several designs' budgets) for one machine.</summary>
public static class LayoutCommand
{
    public static Command Create(TextWriter stdout)
    {
        Option<string> arch = new("--arch") { Description = "architecture: " + string.Join(", ", KernelArchitectures.Names), DefaultValueFactory = _ => "arm" };
        Option<bool> lpae = new("--lpae") { Description = "32-bit ARM with LPAE (same as --arch arm-lpae)" };
        Option<bool> pae = new("--pae") { Description = "32-bit x86 with PAE (same as --arch x86-pae)" };
        Option<string> split = new("--split") { Description = "user/kernel split: 3G (default), 3G_OPT, 2G, 2G_OPT (x86), 1G", DefaultValueFactory = _ => "3G" };
        Option<string?> ram = new("--ram") { Description = "RAM size, one bank at the architecture's usual base (0; 0x80000000 on RISC-V)" };
        Option<string[]> mem = new("--mem") { Description = "RAM bank BASE:SIZE (repeatable), e.g. 0x10000000:2G", AllowMultipleArgumentsPerToken = false };
        Option<bool> noHighmem = new("--no-highmem") { Description = "CONFIG_HIGHMEM off: RAM beyond lowmem is ignored" };
        Option<string?> vmalloc = new("--vmalloc") { Description = "vmalloc= size (ARM default 240M; x86 reserve 128M); for 4g4g the vmalloc size inside TTBR1" };
        Option<string> linux = new("--linux") { Description = "Linux version whose layout rules apply (e.g. 3.8, 4.19); default mainline", DefaultValueFactory = _ => "mainline" };
        Option<string?> image = new("--image") { Description = "kernel image: text=K,init=K,data=K,bss=K (sizes) or text=0xSTART-0xEND,... (exact ranges)" };
        Option<string> design = new("--design") { Description = "classic, 4g4g (ARM LPAE), x86-4g4g, kimage-vmalloc", DefaultValueFactory = _ => "classic" };
        OutputConvention io = new(["text", "boot", "json", "svg"], new Dictionary<string, string> { ["table"] = "text" });
        Option<bool> budget = new("--budget") { Description = "show the designs side by side for this machine (address budget)" };
        Option<bool> thumb2 = new("--thumb2") { Description = "CONFIG_THUMB2_KERNEL: ARM modules start 8 MiB below PAGE_OFFSET" };
        Option<bool> vipt = new("--vipt-aliasing") { Description = "ARM VIPT aliasing D-cache: highmem is dropped as without HIGHMEM" };
        Option<string?> dmaZone = new("--dma-zone") { Description = "ARM arm_dma_zone_size (ZONE_DMA), e.g. 1G on the Raspberry Pi 4" };
        Option<string?> vmallocEnd = new("--vmalloc-end") { Description = "ARM before 3.4: the machine's VMALLOC_END (mach-*/include/mach/vmalloc.h), e.g. 0xf8000000" };
        Option<string?> consistentDma = new("--consistent-dma-size") { Description = "ARM before 3.6: CONSISTENT_DMA_SIZE, 2M to 14M in steps of 2M (default 2M)" };
        Option<string?> fixaddr = new("--fixaddr-start") { Description = "x86-32 FIXADDR_START, overriding the one derived from fixmap.h at the release, --nr-cpus and --kconfig" };
        Option<string?> kconfig = new("--kconfig") { Description = "x86-32 options that size the fixmap, NAME=y|n,... (" + string.Join(", ", X86FixmapOptions.Names) + "; default: a distribution-like kernel)" };
        Option<int> nrCpus = new("--nr-cpus") { Description = "x86-32 NR_CPUS (sizes the fixmap's kmap slots and the cpu_entry_area; default 8)", DefaultValueFactory = _ => 8 };
        Option<int> vaBits = new("--va-bits") { Description = "arm64 VA_BITS with 4 KiB pages: 39 or 48 (default)", DefaultValueFactory = _ => 48 };
        Option<string?> dotConfig = new("--config") { Description = MachineOptions.ConfigHelp, HelpName = "FILE" };
        Option<string?> linearStart = new("--linear-start") { Description = "4g4g/x86-4g4g: where the lowmem linear map starts in the kernel's own tables" };

        Command command = new("layout", "Kernel virtual-memory layout as Linux computes it (or a seed design's), with the address budget.")
        {
            arch, lpae, pae, split, ram, mem, noHighmem, vmalloc, linux, image, design, budget,
            thumb2, vipt, dmaZone, fixaddr, kconfig, nrCpus, vaBits, linearStart, vmallocEnd, consistentDma, dotConfig,
        };
        io.AddTo(command);

        command.SetAction(parse =>
        {
            if (!KernelArchitectures.TryParse(parse.GetValue(arch), parse.GetValue(lpae), parse.GetValue(pae), out KernelArch a, out string error))
            {
                throw new UsageException("--arch: " + error);
            }

            bool Given(Option o) => parse.GetResult(o) is { Implicit: false };
            string? split1 = parse.GetValue(split);
            bool highmem1 = !parse.GetValue(noHighmem);
            string? design1 = parse.GetValue(design);
            int nrCpus1 = parse.GetValue(nrCpus);
            int vaBits1 = parse.GetValue(vaBits);
            CommandOutputs outputs = new(stdout);
            X86FixmapOptions fixmap1 = new();
            if (parse.GetValue(dotConfig) is string configFile)
            {
                outputs.Reads("--config", configFile);
                KernelDotConfig c = MachineOptions.Config(configFile)!;
                try
                {
                    // the .config fills in what the command line leaves open; an explicit option wins
                    a = DotConfigMachine.ChooseArch(c, Given(arch) || Given(lpae) || Given(pae) ? a : null, null) ?? a;
                    split1 = Given(split) ? split1 : DotConfigMachine.Split(c, a) is { } cs ? KernelConfig.SplitName(cs.Split) : split1;
                    highmem1 = Given(noHighmem) ? highmem1 : DotConfigMachine.Highmem(c, a) ?? highmem1;
                    nrCpus1 = Given(nrCpus) ? nrCpus1 : DotConfigMachine.NrCpus(c) ?? nrCpus1;
                    vaBits1 = Given(vaBits) ? vaBits1 : DotConfigMachine.VaBits(c, a) ?? vaBits1;
                    fixmap1 = a.IsX86_32() ? DotConfigMachine.X86Fixmap(c, fixmap1) : fixmap1; // x86-32's fixmap only; --kconfig applies on top
                    if (!Given(vaBits))
                    {
                        // PGTABLE_LEVELS follows VA_BITS in Kconfig; an explicit --va-bits overrides both
                        DotConfigMachine.CheckLevels(c, a, vaBits1);
                    }
                    if (!Given(design) && DotConfigMachine.LayoutDesign(c, a) is LayoutDesign ld)
                    {
                        design1 = KernelConfig.DesignName(ld);
                    }
                }
                catch (LabException e)
                {
                    throw new UsageException(e.Message);
                }
            }

            Machine machine = BuildMachine(a, parse.GetValue(ram), parse.GetValue(mem) ?? []);
            KernelConfig config = BuildConfig(
                split1, highmem1, parse.GetValue(vmalloc), parse.GetValue(linux), parse.GetValue(image),
                design1, parse.GetValue(thumb2), parse.GetValue(vipt), parse.GetValue(dmaZone), parse.GetValue(fixaddr),
                nrCpus1, vaBits1, parse.GetValue(linearStart), parse.GetValue(vmallocEnd), parse.GetValue(consistentDma),
                parse.GetValue(kconfig), fixmap1);
            string fmt = io.Resolve(parse) is "text" ? "table" : io.Resolve(parse);
            OutputTarget target = outputs.Claim("--output", parse.GetValue(io.Output) ?? "-");
            string text = Run(machine, config, fmt, parse.GetValue(budget));
            outputs.WriteAll(null, (target, () => text));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    /// <summary>Computes and renders; layout errors become one-line usage errors.</summary>
    public static string Run(Machine machine, KernelConfig config, string format, bool budget)
    {
        try
        {
            if (budget)
            {
                IReadOnlyList<BudgetColumn> columns = AddressBudget.Compare(machine, config);
                return format switch
                {
                    "table" => LayoutRenderers.BudgetTable(columns),
                    "json" => LayoutRenderers.BudgetJson(columns),
                    _ => throw new UsageException($"--budget prints text or json, not '{format}'"),
                };
            }

            KernelLayout layout = LayoutEngine.Compute(machine, config);
            return format switch
            {
                "boot" => BootLog.Format(layout),
                "table" => LayoutRenderers.Table(layout),
                "json" => LayoutRenderers.Json(layout),
                "svg" => LayoutSvg.Render(layout),
                _ => throw new UsageException($"--format: unknown format '{format}' (expected text, boot, json or svg)"),
            };
        }
        catch (LayoutException e)
        {
            throw new UsageException(e.Message);
        }
    }

    public static Machine BuildMachine(KernelArch arch, string? ram, string[] mem)
    {
        try
        {
            List<RamBank> banks = [];
            if (ram is not null && mem.Length > 0)
            {
                throw new UsageException("give either --ram SIZE or --mem BASE:SIZE banks, not both");
            }

            if (ram is not null)
            {
                banks.Add(new RamBank(Machine.DefaultRamBase(arch), ParseSize("--ram", ram)));
            }

            foreach (string bank in mem)
            {
                int colon = bank.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    throw new UsageException($"--mem: {InputText.Quote(bank)} is not BASE:SIZE (e.g. 0x10000000:2G)");
                }

                banks.Add(new RamBank(new PhysicalAddress(ParseSize("--mem base", bank[..colon])), ParseSize("--mem size", bank[(colon + 1)..])));
            }

            if (banks.Count == 0)
            {
                throw new UsageException("the machine needs RAM: give --ram SIZE or --mem BASE:SIZE");
            }

            return new Machine(arch, banks);
        }
        catch (LayoutException e)
        {
            throw new UsageException(e.Message);
        }
    }

    public static KernelConfig BuildConfig(
        string? split, bool highmem, string? vmalloc, string? linux, string? image, string? design, bool thumb2, bool vipt,
        string? dmaZone, string? fixaddr, int nrCpus, int vaBits, string? linearStart, string? vmallocEnd = null, string? consistentDmaSize = null,
        string? kconfig = null, X86FixmapOptions? dotConfigFixmap = null)
    {
        X86FixmapOptions fixmap = dotConfigFixmap ?? new();
        if (kconfig is not null && !X86FixmapOptions.TryParse(kconfig, fixmap, out fixmap, out string kconfigError))
        {
            throw new UsageException("--kconfig: " + kconfigError);
        }

        if (!KernelConfig.TryParseSplit(split, out VmSplit s, out string error)
            || !KernelConfig.TryParseDesign(design, out LayoutDesign d, out error)
            || !LinuxVersion.TryParse(linux, out LinuxVersion v, out error))
        {
            throw new UsageException(error);
        }

        if (nrCpus is < 1 or > 8192)
        {
            throw new UsageException($"--nr-cpus: {nrCpus} is out of range [1, 8192]");
        }

        return new KernelConfig
        {
            Split = s,
            Highmem = highmem,
            VmallocSize = vmalloc is null ? null : ParseSize("--vmalloc", vmalloc),
            Linux = v,
            Image = image is null ? null : ParseImage(image),
            Design = d,
            Thumb2Kernel = thumb2,
            ViptAliasing = vipt,
            DmaZoneSize = dmaZone is null ? null : ParseSize("--dma-zone", dmaZone),
            FixaddrStart = fixaddr is null ? null : ParseSize("--fixaddr-start", fixaddr),
            X86Fixmap = fixmap,
            NrCpus = nrCpus,
            VaBits = vaBits,
            LinearMapStart = linearStart is null ? null : ParseSize("--linear-start", linearStart),
            VmallocEnd = vmallocEnd is null ? null : ParseSize("--vmalloc-end", vmallocEnd),
            ConsistentDmaSize = consistentDmaSize is null ? null : ParseSize("--consistent-dma-size", consistentDmaSize),
        };
    }

    /// <summary>Parses text=K,init=K,data=K,bss=K; each value a size (9184K) or an exact range (0xc0008000-0xc0596f00).</summary>
    public static KernelImage ParseImage(string text)
    {
        string[] keys = ["text", "init", "data", "bss"];
        ulong[] sizes = new ulong[4];
        (ulong, ulong)[] ranges = new (ulong, ulong)[4];
        bool[] seen = new bool[4];
        int rangeCount = 0;
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            int k = eq < 0 ? -1 : Array.IndexOf(keys, part[..eq].Trim().TrimStart('.').ToLowerInvariant());
            if (k < 0)
            {
                throw new UsageException($"--image: {InputText.Quote(part)} is not text=, init=, data= or bss=");
            }

            string value = part[(eq + 1)..];
            int dash = value.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0)
            {
                ulong start = ParseSize("--image " + keys[k], value[..dash]);
                ulong end = ParseSize("--image " + keys[k], value[(dash + 1)..]);
                if (end < start)
                {
                    throw new UsageException($"--image {keys[k]}: range {InputText.Show(value)} ends before it starts");
                }

                ranges[k] = (start, end);
                sizes[k] = end - start;
                rangeCount++;
            }
            else
            {
                sizes[k] = ParseSize("--image " + keys[k], value);
            }

            seen[k] = true;
        }

        if (Array.IndexOf(seen, false) >= 0)
        {
            throw new UsageException("--image needs all of text=, init=, data= and bss=");
        }

        if (rangeCount is not 0 and not 4)
        {
            throw new UsageException("--image: give all four sections as sizes or all four as START-END ranges");
        }

        return new KernelImage(sizes[0], sizes[1], sizes[2], sizes[3]) { Ranges = rangeCount == 4 ? ranges : null };
    }

    private static ulong ParseSize(string what, string text)
        => ByteSize.TryParse(text, out ulong v, out string error) ? v : throw new UsageException($"{what}: {error}");
}
