using System.CommandLine;
using System.Text;
using Vmsplit.Cli.Reports;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Commands;

/// <summary>
/// <c>vmsplit ptdump</c>: the simulated page tables of a process or of the kernel in the text of Linux's
/// <c>/sys/kernel/debug/page_tables/</c> files (<see cref="PageTableDump"/>): <c>kernel</c> (init_mm), <c>current_kernel</c>
/// (the tables the kernel runs on for a process) and <c>current_user</c> (those loaded while it runs in user mode,
/// which differ under kpti and 4G/4G).
/// </summary>
public static class PtdumpCommand
{
    public const int MaxProcesses = 16;

    public static Command Create(TextWriter stdout)
    {
        Option<string?> machine = new("--machine") { Description = MachineOptions.MachineHelp + " (default: the architecture's, cortex-a15 for arm-lpae)" };
        Option<string?> arch = new("--arch") { Description = MachineOptions.ArchHelp("the machine's; arm-lpae without --machine") };
        Option<string?> design = new("--design") { Description = "the design whose tables to dump (default: the .config's, else classic)" };
        Option<string?> config = new("--config") { Description = MachineOptions.ConfigHelp, HelpName = "FILE" };
        Option<string?> ram = new("--ram") { Description = "RAM size (default 2G)" };
        Option<int> process = new("--process") { Description = $"dump the tables of process N (1 to {MaxProcesses}; each maps and touches 64 KiB of its own): Linux's current_kernel, or with --user current_user", DefaultValueFactory = _ => 1, HelpName = "N" };
        Option<bool> kernel = new("--kernel") { Description = "dump the kernel's own tables (init_mm, Linux's page_tables/kernel) instead of a process's" };
        Option<bool> user = new("--user") { Description = "the tables loaded while the process runs in user mode (Linux's current_user under PTI; differs under kpti and 4g4g)" };
        OutputConvention io = new(["text"]);
        Command command = new("ptdump", "The simulated page tables of a process or of the kernel, as Linux's /sys/kernel/debug/page_tables/ prints them.")
        {
            machine, arch, design, config, ram, process, kernel, user,
        };
        io.AddTo(command);
        command.SetAction(parse =>
        {
            io.Resolve(parse);
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

            int n = parse.GetValue(process);
            if (n is < 1 or > MaxProcesses)
            {
                throw new UsageException($"--process: {n} is not in [1, {MaxProcesses}]");
            }

            if (parse.GetValue(kernel) && (parse.GetValue(user) || parse.GetResult(process) is { Implicit: false }))
            {
                throw new UsageException("--kernel dumps the kernel's tables; give it without --process and --user");
            }

            KernelDotConfig? dotConfig = MachineOptions.Config(parse.GetValue(config));
            MachineSpec m = MachineOptions.Resolve(parse.GetValue(machine), parse.GetValue(arch), MachineSpec.DefaultArm(), dotConfig);
            if (parse.GetValue(ram) is string ramText)
            {
                m = m with { RamBytes = ByteSize.TryParse(ramText, "--ram", 64 * ByteSize.MiB, 1UL << 40, out ulong bytes, out string error) ? bytes : throw new UsageException(error) };
            }

            string designName = parse.GetValue(design) ?? MachineOptions.ConfigDesign(m, dotConfig).Design ?? "classic";
            View view = parse.GetValue(kernel) ? View.Kernel : parse.GetValue(user) ? View.User : View.CurrentKernel;
            string text;
            try
            {
                text = Run(m, designName, view, n);
            }
            catch (LabException e)
            {
                throw new UsageException(e.Message);
            }

            outputs.WriteAll(target is null ? text : null, (target, () => text));
            return VmsplitCli.ExitOk;
        });
        return command;
    }

    /// <summary>Which tables: init_mm's, or a process's as the kernel runs on them, or as user mode runs on them.</summary>
    public enum View
    {
        Kernel,
        CurrentKernel,
        User,
    }

    /// <summary>Boots the design on the machine, creates <paramref name="process"/> processes and dumps the view.</summary>
    public static string Run(MachineSpec m, string design, View view, int process = 1)
    {
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design));
        Process? p = null;
        for (int i = 0; i < process; i++)
        {
            Process next = k.CreateProcess();
            VirtualAddress region = k.MapRegion(next, 64 * 1024, Kernel.Mm.VmFlags.Read | Kernel.Mm.VmFlags.Write);
            if (p is null)
            {
                k.Start(next);
            }
            else
            {
                k.SwitchTo(p, next);
            }

            k.UserTouch(next, region, 64 * 1024, write: true);
            p = next;
        }

        IReadOnlyList<LiveRoot> roots = Roots(k, p!, view);
        return Render(k, m, roots, view == View.Kernel, KernelLowTree(k, p!));
    }

    /// <summary>
    /// The lower-half tree the kernel runs on that belongs to the kernel, not to the process (4g4g's TTBR0 tree with
    /// the linear map under the kernel's ASID), or null where the kernel runs on the process's own tables.
    /// </summary>
    public static PageTable? KernelLowTree(SimKernel k, Process p)
    {
        PageTable t = Tree(k, p, k.Isolation.UserHalfRoot(p, inKernel: true));
        return ReferenceEquals(t, p.Tables) || ReferenceEquals(t, p.UserShadow) || ReferenceEquals(t, k.KernelTree) ? null : t;
    }

    /// <summary>The trees of a view, each with the register that holds it and where its addresses start.</summary>
    public static IReadOnlyList<LiveRoot> Roots(SimKernel k, Process p, View view)
    {
        IsolationPolicy iso = k.Isolation;
        if (view == View.User)
        {
            return iso.LiveRootsInUserMode(p);
        }

        if (view == View.Kernel)
        {
            // init_mm: the kernel tree where the architecture's register places it
            // (with the kernel's own lower-half tree beside it where the design has one: 4g4g's linear map)
            PageTable? low = KernelLowTree(k, p);
            IReadOnlyList<LiveRoot> both = k.Arch.LiveRoots(low ?? p.Tables, k.KernelTree);
            LiveRoot? placed = both.Cast<LiveRoot?>().FirstOrDefault(r => ReferenceEquals(r!.Value.Tree, k.KernelTree));
            LiveRoot kernelRoot = placed ?? new LiveRoot(k.KernelTree, both[0].Register, 0);
            return low is null ? [kernelRoot] : [.. both.Where(r => ReferenceEquals(r.Tree, low)), kernelRoot];
        }

        PageTable userHalf = Tree(k, p, iso.UserHalfRoot(p, inKernel: true));
        PageTable kernelHalf = Tree(k, p, iso.KernelHalfRoot(inKernel: true));
        return k.Arch.LiveRoots(userHalf, kernelHalf);
    }

    // the tree whose root the isolation scheme loads
    private static PageTable Tree(SimKernel k, Process p, PhysicalAddress root)
    {
        PageTable?[] candidates =
        [
            p.Tables, p.UserShadow, k.KernelTree, (k.Isolation as ArmFourGFourG)?.LowTree, (k.Isolation as ArmShortFourGFourG)?.ReservedTree,
        ];
        return candidates.FirstOrDefault(t => t is not null && t.Root == root)
            ?? throw new InvalidOperationException($"ptdump: no tree has the root {root} that {k.Isolation.GetType().Name} loads");
    }

    /// <summary>The roots in the dump format of the machine's architecture.</summary>
    public static string Render(SimKernel k, MachineSpec m, IReadOnlyList<LiveRoot> roots, bool kernelFile, PageTable? kernelLow = null)
    {
        KernelLayout layout = k.Layout;
        StringBuilder sb = new();
        foreach (LiveRoot r in roots.OrderBy(r => r.VaBase))
        {
            switch (m.Arch.Family())
            {
                case ArchFamily.X86:
                    sb.Append(PageTableDump.X86(r.Tree, X86Markers(layout), !m.Arch.Is32Bit()));
                    break;
                case ArchFamily.Arm64:
                    sb.Append(r.VaBase == 0
                        ? PageTableDump.Arm64(r.Tree, 0, 0, layout.TaskSize, [new DumpMarker(0, "TTBR0_EL1")])
                        : PageTableDump.Arm64(r.Tree, r.VaBase, Math.Max(r.VaBase, layout.PageOffset), 0, Arm64Markers(layout)));
                    break;
                case ArchFamily.Riscv:
                    // the kernel file walks from KERN_VIRT_START, the upper half (arch/riscv/mm/ptdump.c, ptdump_init)
                    int vaBits = r.Tree.Geometry[0].IndexShift + r.Tree.Geometry[0].IndexBits;
                    ulong kernStart = vaBits > 32 ? 1UL << (vaBits - 1) : RiscvMarkers(layout).Min(x => x.Start);
                    sb.Append(kernelFile
                        ? PageTableDump.Riscv(r.Tree, kernStart, ulong.MaxValue, RiscvMarkers(layout))
                        : PageTableDump.Riscv(r.Tree, 0, ulong.MaxValue, [new DumpMarker(0, "User Space"), .. RiscvMarkers(layout)]));
                    break;
                case ArchFamily.Arm32 when m.Arch == KernelArch.ArmLpae:
                    // With two trees (TTBR0 below TTBR1) each covers its own range, so each prints the markers inside it;
                    // a user tree beside the kernel's own lower-half tree (4g4g) holds user space only.
                    ulong top = roots.Where(o => o.VaBase > r.VaBase).Select(o => o.VaBase).DefaultIfEmpty(ulong.MaxValue).Min();
                    ulong bottom = roots.Any(o => o.VaBase < r.VaBase) ? r.VaBase : 0;
                    IReadOnlyList<DumpMarker> marks = ReferenceEquals(r.Tree, kernelLow) ? [new DumpMarker(0, "Linear Mapping (kernel TTBR0, kernel ASID)")]
                        : r.VaBase == 0 && !kernelFile && kernelLow is not null ? [new DumpMarker(0, "User Space")]
                        : r.VaBase == 0 && !kernelFile ? [new DumpMarker(0, "User Space"), .. ArmMarkers(layout)] : ArmMarkers(layout);
                    sb.Append(PageTableDump.ArmLpae(r.Tree, r.VaBase, [.. marks.Where(x => x.Start >= bottom && x.Start < top)]));
                    break;
                default:
                    // short descriptors: one table for both halves (TTBCR.N = 0), so one tree per view
                    sb.Append(PageTableDump.ArmShort(r.Tree, !kernelFile ? [new DumpMarker(0, "User Space"), .. ArmMarkers(layout)] : ArmMarkers(layout)));
                    break;
            }
        }

        return sb.ToString();
    }

    private static LayoutRegion? Region(KernelLayout l, string name) => l.Regions.FirstOrDefault(r => r.Name == name);

    /// <summary>address_markers of arch/x86/mm/dump_pagetables.c (Linux 5.4), at the layout's addresses; a region the layout lacks has no marker.</summary>
    public static IReadOnlyList<DumpMarker> X86Markers(KernelLayout l)
    {
        List<DumpMarker> m = [new(0, "User Space")];
        void Add(string region, string name, bool end = false, int maxLines = 0)
        {
            if (Region(l, region) is LayoutRegion r)
            {
                m.Add(new DumpMarker(end ? r.Last + 1 : r.Start, name, maxLines));
            }
        }

        if (!l.Arch.Is32Bit())
        {
            m.Add(new DumpMarker(1UL << 63, "Kernel Space"));
            Add("ldt", "LDT remap");
            m.Add(new DumpMarker(l.PageOffset, "Low Kernel Mapping"));
            Add("vmalloc", "vmalloc() Area");
            Add("vmemmap", "Vmemmap");
            Add("cpu_entry_area", "CPU entry Area");
            Add("espfix", "ESPfix Area", maxLines: 16);
            Add("efi", "EFI Runtime Services");
            Add("kernel", "High Kernel Mapping");
            Add("modules", "Modules");
            Add("modules", "End Modules", end: true);
            Add("fixmap", "Fixmap Area");
        }
        else
        {
            m.Add(new DumpMarker(l.PageOffset, "Kernel Mapping"));
            Add("vmalloc", "vmalloc() Area");
            Add("vmalloc", "vmalloc() End", end: true);
            Add("pkmap", "Persistent kmap() Area");
            Add("ldt", "LDT remap");
            Add("cpu_entry", "CPU entry area");
            Add("fixmap", "Fixmap area");
        }

        return m;
    }

    /// <summary>address_markers of arch/arm/mm/dump.c (Linux 6.x, no KASAN), at the layout's addresses.</summary>
    public static IReadOnlyList<DumpMarker> ArmMarkers(KernelLayout l)
    {
        List<DumpMarker> m = [];
        void Add(string region, string name)
        {
            if (Region(l, region) is LayoutRegion r)
            {
                m.Add(new DumpMarker(r.Start, name));
            }
        }

        Add("modules", "Modules");
        m.Add(new DumpMarker(l.PageOffset, "Kernel Mapping"));
        if (Region(l, "kernel") is LayoutRegion image && Region(l, "lowmem") is LayoutRegion low && (image.Start < low.Start || image.Start > low.Last))
        {
            // the image outside the linear map (4g4g, kimage-vmalloc): mainline dump.c has no marker for it; one is added
            m.Add(new DumpMarker(image.Start, "Kernel Image"));
        }

        Add("vmalloc", "vmalloc() Area");
        Add("fdt", "FDT Area");
        Add("fixmap", "Fixmap Area");
        // CONFIG_VECTORS_BASE 0xffff0000 and its two pages (the vectors and the stubs)
        m.Add(new DumpMarker(0xffff0000, "Vectors"));
        m.Add(new DumpMarker(0xffff0000 + (2 * 4096), "Vectors End"));
        return [.. m.OrderBy(x => x.Start)]; // stable: equal addresses keep dump.c's order

    }

    /// <summary>address_markers of arch/riscv/mm/ptdump.c (Linux 6.x, no KASAN), in its order, at the layout's addresses.</summary>
    public static IReadOnlyList<DumpMarker> RiscvMarkers(KernelLayout l)
    {
        List<DumpMarker> m = [];
        void Add(string region, string startName, string? endName = null)
        {
            if (Region(l, region) is LayoutRegion r)
            {
                m.Add(new DumpMarker(r.Start, startName));
                if (endName is not null)
                {
                    m.Add(new DumpMarker(r.Last + 1, endName));
                }
            }
        }

        Add("fixmap", "Fixmap start", "Fixmap end");
        Add("pci-io", "PCI I/O start", "PCI I/O end");
        Add("vmemmap", "vmemmap start", "vmemmap end");
        Add("vmalloc", "vmalloc() area", "vmalloc() end");
        m.Add(new DumpMarker(l.PageOffset, "Linear mapping"));
        if (!l.Arch.Is32Bit())
        {
            Add("modules", "Modules/BPF mapping");
            Add("kernel", "Kernel mapping");
        }

        return m;
    }

    /// <summary>address_markers of arch/arm64/mm/ptdump.c (Linux 6.9+), in its order, at the layout's addresses.</summary>
    public static IReadOnlyList<DumpMarker> Arm64Markers(KernelLayout l)
    {
        List<DumpMarker> m = [];
        void Add(string region, string startName, string endName)
        {
            if (Region(l, region) is LayoutRegion r)
            {
                m.Add(new DumpMarker(r.Start, startName));
                m.Add(new DumpMarker(r.Last + 1, endName));
            }
        }

        Add("lowmem", "Linear Mapping start", "Linear Mapping end");
        Add("modules", "Modules start", "Modules end");
        Add("vmalloc", "vmalloc() area", "vmalloc() end");
        Add("fixmap", "Fixmap start", "Fixmap end");
        Add("vmemmap", "vmemmap start", "vmemmap end");
        Add("pci-io", "PCI I/O start", "PCI I/O end");
        return m;
    }
}
