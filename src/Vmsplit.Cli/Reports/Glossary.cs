using System.Text;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Reports;

/// <summary>What a glossary term names: a cost cause, or a label of a report row or figure.</summary>
public enum GlossaryKind
{
    Cause,
    Label,
}

/// <summary>One term the reports print, with its one-line definition.</summary>
public sealed record GlossaryEntry(string Term, GlossaryKind Kind, string Definition);

/// <summary>
/// Every cause name and row label the reports print, defined once. <c>vmsplit causes</c> prints it and
/// <c>docs/causes.md</c> is its Markdown rendering (<c>vmsplit causes --format markdown</c>; a test keeps them
/// equal).
/// </summary>
public static class Glossary
{
    private static readonly Dictionary<CostCause, string> s_definitions = new()
    {
        [KernelCostCause.PathBase] = "the design-independent instructions of a kernel path (dispatch, the handler's own work, schedule); equal in every design, so it cancels out of overheads",
        [CostCause.ExceptionEntryExit] = "taking the exception into the kernel and returning to user mode (SVC/ERET, SYSCALL/SYSRET, ecall/sret)",
        [KernelCostCause.SpeculationMitigation] = "speculation mitigations the kernel runs on a CPU with the bugs: on x86 (Linux v5.2) a retpoline per indirect call on a path (the system-call table's, a file's f_op), VERW on every return to user mode, the return-stack fill per task switch; on arm64 (v5.17, Cortex-A57/A72) the Spectre-BHB loop on every entry from user mode and the firmware's Spectre-v2 call on every switch_mm; none with +nomitigations",
        [CostCause.RootRegisterWrite] = "writes of the translation-root and address-space registers: TTBR0, TTBR1, TTBCR, CONTEXTIDR (ARM), CR3 (x86), satp (RISC-V)",
        [CostCause.Barrier] = "the ISBs and DSBs ARM requires after a root-register write or TLB maintenance",
        [CostCause.TlbLookup] = "translations that miss the micro TLBs and look up the main TLB, at its latency",
        [CostCause.TlbRefillCacheHit] = "page-table walk steps (TLB refills) whose descriptor read hits the data cache",
        [CostCause.TlbRefillCacheMiss] = "page-table walk steps whose descriptor read misses the data cache and goes to memory",
        [CostCause.TlbMaintenance] = "TLB invalidations (TLBI, INVLPG, INVPCID, SFENCE.VMA, flushing CR3 writes) and flush_tlb_*'s own work around them",
        [KernelCostCause.TlbiBroadcast] = "with more than one CPU on arm and arm64: the inner-shareable TLBIs that reach every CPU and the DSB that waits for them (no IPI)",
        [KernelCostCause.IpiSend] = "a TLB shootdown's initiator sending to each target CPU: the interrupt command register write per target (x86), or the ecall into the SBI firmware and its per-hart IPI (RISC-V)",
        [KernelCostCause.ShootdownWait] = "the shootdown's initiator spinning until the last target acknowledged: the IPI's delivery, the slowest target's handler, the acknowledgement's cache line",
        [KernelCostCause.RemoteFlush] = "the target CPUs' side of a shootdown: interrupt (or M-mode trap) entry and exit, the handler, the TLB maintenance it executes",
        [KernelCostCause.AsidRollover] = "the full TLB flush an ASID or PCID generation rollover forces",
        [KernelCostCause.Pinning] = "get_user_pages/pin_user_pages and unpin of the user pages a uaccess copies through (4g4g+pin-kmap, 4g4g+hybrid): the software walk's descriptor loads, the _refcount update in mem_map, the code around them",
        [KernelCostCause.Kmap] = "temporary kernel mappings: kmap_local/kmap_atomic of a page (the page->flags load, the fixmap PTE store and clear, the code around them), and the entries 4g4g+trampoline and 4g4g+pmd-copy install and remove (descriptor loads and stores)",
        [CostCause.CacheFlush] = "clean+invalidate of a VIPT-aliasing data cache, line by line (flush_dcache_page)",
        [CostCause.Memcpy] = "bytes copied by copy_to_user/copy_from_user or through a kmap",
        [CostCause.InstructionCacheMiss] = "kernel text lines the paths fetch (every line of the functions each path runs) that miss the L1 instruction cache: the L2's latency, or memory's when the L2 misses too",
        [CostCause.DataCacheMiss] = "lines copies and page clears read or write (both sides of copy_to_user/copy_from_user, the page-cache and pipe pages, fork's copies, cleared pages) that miss the L1 data cache: the L2's latency, or memory's; a run of consecutive misses streams (max of the first miss's latency and the run's bytes over the level's bandwidth, at most the serial price), and a store writing a whole line pays no fill where the core streams writes",
        [CostCause.PageZeroing] = "clearing new pages (anonymous page faults, clear_user)",
        [KernelCostCause.FaultHandling] = "page-fault handling beyond entry and exit: VMA lookup, page allocation, PTE install",
        [KernelCostCause.AddressConversion] = "__pa/__va/virt_to_phys beyond one subtraction: a compare and branch when the kernel image leaves the linear map, and for an address in a permuted image the load of its permutation-table entry",
        [CostCause.UserWork] = "the workload's own user-mode work between system calls (one cycle per cache line it touches); equal in every design",
        [CostCause.UserAccessControl] = "opening and closing the kernel's access to user memory around each uaccess: STAC/CLAC (SMAP), MSR PAN, csrs/csrc sstatus.SUM",
    };

    /// <summary>The one-line definition of a cause, as <c>vmsplit causes</c> prints it.</summary>
    public static string Definition(CostCause cause) =>
        s_definitions.TryGetValue(cause, out string? d) ? d : throw new ArgumentOutOfRangeException(nameof(cause), cause, "a cause without a definition");

    /// <summary>Row labels and figures the reports print, in the order the compare report shows them.</summary>
    private static readonly GlossaryEntry[] s_labels =
    [
        new("baseline", GlossaryKind.Label, "the design overheads are measured against (compare --baseline; default the first design)"),
        new("user VA", GlossaryKind.Label, "virtual address space a process can map (the layout's user regions, below TASK_SIZE)"),
        new("lowmem (linear map)", GlossaryKind.Label, "RAM the kernel maps permanently at a fixed offset (the linear map); it can reach it without kmap"),
        new("highmem", GlossaryKind.Label, "RAM beyond the linear map; the kernel reaches it only through kmap (32-bit layouts with CONFIG_HIGHMEM)"),
        new("RAM ignored", GlossaryKind.Label, "RAM the layout can map neither linearly nor as highmem (no CONFIG_HIGHMEM, or beyond the physical address width)"),
        new("vmalloc", GlossaryKind.Label, "the size of the kernel's vmalloc area (VMALLOC_START to VMALLOC_END)"),
        new("mapped twice", GlossaryKind.Label, "kernel virtual space that maps RAM a second time: the kernel image in the vmalloc area as well as in the linear map"),
        new("page tables / process", GlossaryKind.Label, "page-table memory a minimal process holds, counted from the table frames the simulated kernel allocated (user and shadow tables)"),
        new("touched", GlossaryKind.Label, "user memory the minimal process of the budget and the isolation audit writes before it is measured (64 KiB)"),
        new("time per operation", GlossaryKind.Label, "simulated nanoseconds per workload operation at the profile's clock: every cause's cycles divided by the operations"),
        new("overhead", GlossaryKind.Label, "time per operation against the baseline's on the same workload, in percent; negative where the design is faster"),
        new("top causes", GlossaryKind.Label, "the causes that add most time against the baseline, in ns per operation summed over the workloads"),
        new("kernel translatable from user mode", GlossaryKind.Label, "kernel memory the page tables loaded while user code runs still translate (the Meltdown surface), with the root that maps it"),
        new("user memory reachable from the kernel", GlossaryKind.Label, "of the touched user memory, what a kernel data access outside uaccess reaches (what PAN, SMAP or separate tables prevent)"),
        new("verdict", GlossaryKind.Label, "per design, what it buys against the baseline (user VA, lowmem, isolation) and what it costs (overhead range, the workloads that pay most, where it wins)"),
        new("trust", GlossaryKind.Label, "how many of the profile values behind the largest overheads are assumptions, and what vmsplit validate says of the architecture"),
        new("assumption", GlossaryKind.Label, "a profile value or datapoint setting nobody has published; its reasoning is given where it is used"),
        new("source", GlossaryKind.Label, "where a profile value or a published figure comes from: a manual and section, a Linux file or commit, a mail with its Message-ID"),
        new("fallback", GlossaryKind.Label, "a design running without a CPU feature it would use, as Linux does (kpti without PCID flushes on every CR3 write)"),
        new("published", GlossaryKind.Label, "a validate datapoint's figure as its source printed it, in its unit (us, ns, cycles, bytes)"),
        new("model", GlossaryKind.Label, "what the simulation computes for a validate datapoint's scenario, with the shipped profiles (or your copy of one)"),
        new("error", GlossaryKind.Label, "(model - published) / published, in percent"),
        new("micro TLB", GlossaryKind.Label, "the first-level instruction (micro I) or data (micro D) TLB, looked up in parallel with the L1 cache"),
        new("main TLB", GlossaryKind.Label, "the second-level, unified TLB a micro-TLB miss looks up before walking the page tables (Intel's STLB)"),
        new("walk cache", GlossaryKind.Label, "caches of upper-level page-table entries that let a walk skip levels (paging-structure caches on x86)"),
        new("calibration", GlossaryKind.Label, "a validate datapoint that a profile value cites, so agreement is by construction and is not a check"),
        new("MISS", GlossaryKind.Label, "a validate datapoint whose model value lies beyond the tolerance; its note says why and what would fix it"),
    ];

    /// <summary>Every cause, in <see cref="KernelCostCause.All"/> order, then every label.</summary>
    public static IReadOnlyList<GlossaryEntry> Entries { get; } =
    [
        .. KernelCostCause.All.Select(c => new GlossaryEntry(c.Name, GlossaryKind.Cause, Definition(c))),
        .. s_labels,
    ];

    /// <summary>The term's entry, or null.</summary>
    public static GlossaryEntry? Find(string term) => Entries.FirstOrDefault(e => e.Term == term);

    /// <summary>What prices a cause: the profile values per architecture, and the kernel's software costs.</summary>
    public static string PricedBy(CostCause cause)
    {
        List<string> parts = [];
        foreach ((ProfileArchitecture a, string name) in new[] { (ProfileArchitecture.Arm, "ARM"), (ProfileArchitecture.X86, "x86"), (ProfileArchitecture.Riscv, "RISC-V") })
        {
            IReadOnlyList<string> values = CauseInputs.ProfileValues(cause, a);
            if (values.Count > 0)
            {
                parts.Add($"{name}: {string.Join(", ", values)}");
            }
        }

        // the same values on every architecture are said once
        if (parts.Count == 3 && parts.Select(p => p[(p.IndexOf(':', StringComparison.Ordinal) + 2)..]).Distinct().Count() == 1)
        {
            parts = [parts[0][(parts[0].IndexOf(':', StringComparison.Ordinal) + 2)..]];
        }

        if (CauseInputs.KernelSoftware(cause))
        {
            parts.Add("kernel software costs (assumptions)");
        }

        return string.Join("; ", parts);
    }

    /// <summary><c>vmsplit causes</c>: one line per term, causes first.</summary>
    public static string Text()
    {
        StringBuilder sb = new();
        sb.AppendLine("Causes (each simulated cycle is charged to one; compare's time and top causes are sums of them)");
        List<string[]> rows = [];
        foreach (GlossaryEntry e in Entries.Where(e => e.Kind == GlossaryKind.Cause))
        {
            rows.Add([e.Term, e.Definition]);
        }

        AppendPairs(sb, rows);
        sb.AppendLine();
        sb.AppendLine("Row labels and terms of the reports");
        rows = [];
        foreach (GlossaryEntry e in Entries.Where(e => e.Kind == GlossaryKind.Label))
        {
            rows.Add([e.Term, e.Definition]);
        }

        AppendPairs(sb, rows);
        sb.AppendLine();
        sb.AppendLine("docs/causes.md has the same list with the profile values that price each cause.");
        return sb.ToString();
    }

    /// <summary>docs/causes.md, byte for byte.</summary>
    public static string Markdown()
    {
        StringBuilder sb = new();
        sb.Append("# Causes and report terms\n\n");
        sb.Append("<!-- Generated by `vmsplit causes --format markdown > docs/causes.md` from src/Vmsplit.Cli/Reports/Glossary.cs;\n");
        sb.Append("     a test keeps this file equal to the command's output. Edit the code, not this file. -->\n\n");
        sb.Append("Every simulated cycle is charged to one cause. `vmsplit compare` prints time per operation as the sum of\n");
        sb.Append("the causes, its top causes as their differences against the baseline, and `vmsplit validate --detail` the\n");
        sb.Append("model's value by cause. \"Priced by\" names the CPU-profile values (`vmsplit profile show NAME`) the\n");
        sb.Append("simulated kernel charges to the cause; kernel software costs are instruction counts, all assumptions\n");
        sb.Append("(`docs/designs.md`).\n\n");
        sb.Append("## Causes\n\n");
        sb.Append("| cause | what it is | priced by |\n|---|---|---|\n");
        foreach (CostCause c in KernelCostCause.All)
        {
            sb.Append($"| `{c.Name}` | {Definition(c)} | {PricedBy(c).Replace("|", "\\|", StringComparison.Ordinal)} |\n");
        }

        sb.Append("\n## Row labels and terms\n\n");
        sb.Append("| term | meaning |\n|---|---|\n");
        foreach (GlossaryEntry e in s_labels)
        {
            sb.Append($"| {e.Term} | {e.Definition} |\n");
        }

        return sb.ToString();
    }

    public static string Json() => JsonText.Write(w =>
    {
        w.WriteStartArray();
        foreach (GlossaryEntry e in Entries)
        {
            w.WriteStartObject();
            w.WriteString("term", e.Term);
            w.WriteString("kind", e.Kind == GlossaryKind.Cause ? "cause" : "label");
            w.WriteString("definition", e.Definition);
            if (e.Kind == GlossaryKind.Cause)
            {
                w.WriteString("pricedBy", PricedBy(KernelCostCause.All.First(c => c.Name == e.Term)));
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private static void AppendPairs(StringBuilder sb, List<string[]> rows)
    {
        int width = rows.Max(r => r[0].Length);
        foreach (string[] r in rows)
        {
            sb.Append("  ").Append(r[0].PadRight(width + 2)).AppendLine(r[1]);
        }
    }
}
