using Vmsplit.Hardware.Input;

namespace Vmsplit.Kernel.Layout;

/// <summary>
/// The kernel options that size x86-32's permanent fixmap (enum fixed_addresses, arch/x86/include/asm/fixmap.h).
/// The defaults describe a distribution-like SMP kernel (an assumption: every APIC, MMCONFIG, paravirt with Xen on
/// PAE kernels, APEI GHES; no FireWire early DMA, no Intel MID, no highmem debugging).
/// </summary>
public sealed record X86FixmapOptions
{
    /// <summary>CONFIG_X86_LOCAL_APIC: FIX_APIC_BASE.</summary>
    public bool LocalApic { get; init; } = true;

    /// <summary>CONFIG_X86_IO_APIC: MAX_IO_APICS slots.</summary>
    public bool IoApic { get; init; } = true;

    /// <summary>CONFIG_PCI_MMCONFIG: FIX_PCIE_MCFG.</summary>
    public bool PciMmconfig { get; init; } = true;

    /// <summary>CONFIG_PARAVIRT: FIX_PARAVIRT_BOOTMAP before 4.20.</summary>
    public bool Paravirt { get; init; } = true;

    /// <summary>CONFIG_PARAVIRT_XXL (4.20+, selected by XEN_PV, which 32-bit kernels had with PAE until 5.9); null: that rule.</summary>
    public bool? ParavirtXxl { get; init; }

    /// <summary>CONFIG_PARAVIRT_CLOCK (selected by KVM_GUEST and XEN): the pvclock pages of 3.8-3.13.</summary>
    public bool ParavirtClock { get; init; } = true;

    /// <summary>CONFIG_PROVIDE_OHCI1394_DMA_INIT: FIX_OHCI1394_BASE.</summary>
    public bool Ohci1394DmaInit { get; init; }

    /// <summary>CONFIG_X86_INTEL_MID: FIX_LNW_VRTC.</summary>
    public bool IntelMid { get; init; }

    /// <summary>CONFIG_ACPI_APEI_GHES: FIX_APEI_GHES_IRQ and _NMI (4.13+).</summary>
    public bool ApeiGhes { get; init; } = true;

    /// <summary>CONFIG_DEBUG_HIGHMEM (before 5.11: a fence slot around each kmap type) or CONFIG_DEBUG_KMAP_LOCAL (5.11+: KM_MAX_IDX 33).</summary>
    public bool DebugHighmem { get; init; }

    private static readonly (string Name, Func<X86FixmapOptions, bool, X86FixmapOptions> Set)[] s_options =
    [
        ("X86_LOCAL_APIC", (o, v) => o with { LocalApic = v }),
        ("X86_IO_APIC", (o, v) => o with { IoApic = v }),
        ("PCI_MMCONFIG", (o, v) => o with { PciMmconfig = v }),
        ("PARAVIRT", (o, v) => o with { Paravirt = v }),
        ("PARAVIRT_XXL", (o, v) => o with { ParavirtXxl = v }),
        ("PARAVIRT_CLOCK", (o, v) => o with { ParavirtClock = v }),
        ("PROVIDE_OHCI1394_DMA_INIT", (o, v) => o with { Ohci1394DmaInit = v }),
        ("X86_INTEL_MID", (o, v) => o with { IntelMid = v }),
        ("ACPI_APEI_GHES", (o, v) => o with { ApeiGhes = v }),
        ("DEBUG_HIGHMEM", (o, v) => o with { DebugHighmem = v }),
    ];

    /// <summary>The option names <see cref="TryParse(string, out X86FixmapOptions, out string)"/> takes.</summary>
    public static IEnumerable<string> Names => s_options.Select(o => o.Name);

    /// <summary>These options with each one <paramref name="value"/> knows (a .config's y/m or "is not set") set; the rest unchanged.</summary>
    public X86FixmapOptions With(Func<string, bool?> value)
    {
        X86FixmapOptions o = this;
        foreach ((string name, Func<X86FixmapOptions, bool, X86FixmapOptions> set) in s_options)
        {
            if (value(name) is bool v)
            {
                o = set(o, v);
            }
        }

        return o;
    }

    /// <summary>Parses <c>NAME=y|n,...</c> (CONFIG_ prefix optional) over the defaults; on failure a one-line reason.</summary>
    public static bool TryParse(string text, out X86FixmapOptions options, out string error) =>
        TryParse(text, new X86FixmapOptions(), out options, out error);

    /// <summary>Parses <c>NAME=y|n,...</c> over <paramref name="over"/> (a .config's values): each name given wins.</summary>
    public static bool TryParse(string text, X86FixmapOptions over, out X86FixmapOptions options, out string error)
    {
        options = over;
        error = "";
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string name = (eq < 0 ? part : part[..eq]).Trim().ToUpperInvariant();
            name = name.StartsWith("CONFIG_", StringComparison.Ordinal) ? name["CONFIG_".Length..] : name;
            string value = eq < 0 ? "" : part[(eq + 1)..].Trim().ToLowerInvariant();
            int at = Array.FindIndex(s_options, o => o.Name == name);
            if (at < 0)
            {
                error = $"{InputText.Quote(part)}: unknown option (use {string.Join(", ", Names)}, each =y or =n)" + Suggestions.DidYouMean(name, Names);
                return false;
            }

            if (value is not ("y" or "n"))
            {
                error = $"{InputText.Quote(part)}: give {name}=y or {name}=n";
                return false;
            }

            options = s_options[at].Set(options, value == "y");
        }

        return true;
    }
}

/// <summary>
/// x86-32's permanent fixmap, slot by slot: FIXADDR_START = __FIXADDR_TOP − (__end_of_permanent_fixed_addresses
/// &lt;&lt; PAGE_SHIFT). The enum's entries at each release come from arch/x86/include/asm/fixmap.h as it stood in
/// 2.6.32, 3.10, 3.14, 3.18, 5.10 and mainline; where an entry appeared or left between two of those, the commit
/// is cited when known, otherwise the boundary is the first of those releases without it (an assumption).
/// </summary>
public static class X86Fixmap
{
    /// <summary>MAX_IO_APICS on x86-32 (arch/x86/include/asm/apicdef.h: 64 with CONFIG_X86_32, 128 on x86-64).</summary>
    public const int MaxIoApics = 64;

    /// <summary>One named run of fixmap slots.</summary>
    public readonly record struct Slot(string Name, int Pages);

    /// <summary>KM_TYPE_NR (kmap_atomic types per CPU) before 5.11; with CONFIG_DEBUG_HIGHMEM a fence slot precedes each type and the end.</summary>
    public static int KmTypeNr(LinuxVersion v, bool debugHighmem)
    {
        // include/asm-generic/kmap_types.h: 19 types in 2.6.32 (ending KM_IRQ_PTE, KM_NMI, KM_NMI_PTE), 20 from KM_KDB
        // (2.6.35) until 5.10, later as "#define KM_TYPE_NR 20"; "2.6" is taken as 2.6.32.
        int types = v < new LinuxVersion(3, 0) ? 19 : 20;
        return debugHighmem ? (2 * types) + 1 : types;
    }

    /// <summary>KM_MAX_IDX (include/asm-generic/kmap_size.h, 5.11+): 16 kmap_local slots per CPU, 33 with CONFIG_DEBUG_KMAP_LOCAL.</summary>
    public static int KmMaxIdx(bool debug) => debug ? 33 : 16;

    /// <summary>The permanent slots of enum fixed_addresses for a 32-bit x86 kernel, in enum order.</summary>
    public static IReadOnlyList<Slot> Permanent(LinuxVersion v, bool pae, int nrCpus, bool highmem, X86FixmapOptions o)
    {
        List<Slot> s = [new("FIX_HOLE", 1)];
        LinuxVersion V(int major, int minor) => new(major, minor);

        // FIX_VDSO (the 32-bit vsyscall page): in fixmap.h at 2.6.32 and 3.10, gone at 3.14 (the vdso moved into a vma).
        if (v < V(3, 14))
        {
            s.Add(new("FIX_VDSO", 1));
        }

        // PVCLOCK_FIXMAP_BEGIN..END outside the X86_32 ifdef at 3.10 (vsyscall pvclock, 3.8); x86-64 only at 3.14.
        // PVCLOCK_VSYSCALL_NR_PAGES = (NR_CPUS - 1) / (PAGE_SIZE / sizeof(pvclock_vsyscall_time_info)) + 1, 64-byte entries.
        if (o.ParavirtClock && v >= V(3, 8) && v < V(3, 14))
        {
            s.Add(new("PVCLOCK_FIXMAP", ((nrCpus - 1) / (4096 / 64)) + 1));
        }

        s.Add(new("FIX_DBGP_BASE", 1));
        s.Add(new("FIX_EARLYCON_MEM_BASE", 1));
        if (o.Ohci1394DmaInit)
        {
            s.Add(new("FIX_OHCI1394_BASE", 1));
        }

        if (o.LocalApic)
        {
            s.Add(new("FIX_APIC_BASE", 1));
        }

        if (o.IoApic)
        {
            s.Add(new("FIX_IO_APIC_BASE", MaxIoApics));
        }

        // FIX_RO_IDT: 3.10 (4eefbe792bae, "x86: Use a read-only IDT alias on all CPUs") until the cpu_entry_area took it in 4.15.
        if (v >= V(3, 10) && v < V(4, 15))
        {
            s.Add(new("FIX_RO_IDT", 1));
        }

        // FIX_KMAP_BEGIN..END: every x86-32 kernel until 5.10 (KM_TYPE_NR * NR_CPUS); from 5.11 (Thomas
        // Gleixner's kmap_local series) only with CONFIG_KMAP_LOCAL, i.e. HIGHMEM, KM_MAX_IDX * NR_CPUS, and FIX_PCIE_MCFG inside that ifdef.
        bool kmapLocal = v >= V(5, 11);
        if (!kmapLocal)
        {
            s.Add(new("FIX_KMAP", KmTypeNr(v, o.DebugHighmem) * nrCpus));
        }
        else if (highmem)
        {
            s.Add(new("FIX_KMAP", KmMaxIdx(o.DebugHighmem) * nrCpus));
        }

        if (o.PciMmconfig && (!kmapLocal || highmem))
        {
            s.Add(new("FIX_PCIE_MCFG", 1));
        }

        // FIX_PARAVIRT_BOOTMAP: CONFIG_PARAVIRT until 4.19, CONFIG_PARAVIRT_XXL from 4.20 (XEN_PV, PAE only on
        // 32-bit; 32-bit Xen PV removed in 5.9, a13f2ef168cb).
        bool xxl = o.ParavirtXxl ?? (o.Paravirt && pae && v < V(5, 9));
        if (v < V(4, 20) ? o.Paravirt : xxl)
        {
            s.Add(new("FIX_PARAVIRT_BOOTMAP", 1));
        }

        // FIX_TEXT_POKE1/0: removed by Nadav Amit's "x86/alternative: Use temporary mm for text poking" (5.2).
        if (v < V(5, 2))
        {
            s.Add(new("FIX_TEXT_POKE", 2));
        }

        // FIX_LNW_VRTC: in fixmap.h at 3.10 through 5.10; mainline has none (assumption: gone with 5.11's Intel MID cleanup).
        if (o.IntelMid && v >= V(3, 0) && v < V(5, 11))
        {
            s.Add(new("FIX_LNW_VRTC", 1));
        }

        // FIX_APEI_GHES_IRQ/NMI: 4.13 (4f89fa286f61, "ACPI / APEI: Replace ioremap_page_range() with fixmap").
        if (o.ApeiGhes && v >= V(4, 13))
        {
            s.Add(new("FIX_APEI_GHES", 2));
        }

        // FIX_GDT_REMAP_BEGIN..END: one read-only GDT per CPU, 4.12 (69218e47994d) until the cpu_entry_area (4.15).
        if (v >= V(4, 12) && v < V(4, 15))
        {
            s.Add(new("FIX_GDT_REMAP", nrCpus));
        }

        return s;
    }

    /// <summary>__end_of_permanent_fixed_addresses.</summary>
    public static int PermanentPages(LinuxVersion v, bool pae, int nrCpus, bool highmem, X86FixmapOptions o) =>
        Permanent(v, pae, nrCpus, highmem, o).Sum(s => s.Pages);
}
