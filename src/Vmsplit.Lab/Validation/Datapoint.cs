namespace Vmsplit.Lab.Validation;

/// <summary>What a datapoint's scenario measures in the model.</summary>
public enum ValidationMeasure
{
    /// <summary>Time per operation of a workload under one design.</summary>
    TimePerOp,

    /// <summary>Time per operation of <c>design</c> minus that of <c>baseline</c> on the same workload.</summary>
    TimeDifference,

    /// <summary>Cycles of one kernel TLB flush operation on a booted kernel, from inside the kernel.</summary>
    FlushCycles,

    /// <summary>Page-table bytes of a minimal process under <c>design</c> minus under <c>baseline</c>.</summary>
    PageTableBytesDifference,
}

/// <summary>The kernel flush operations a datapoint can time.</summary>
public enum FlushOperation
{
    /// <summary>flush_tlb_mm_range() over <c>pages</c> pages, or over everything (flush_tlb_mm) with <c>pages: all</c>.</summary>
    FlushTlbMmRange,

    /// <summary>x86 __flush_tlb() / flush_tlb_local(): a CR3 rewrite of the running mm.</summary>
    FlushTlbLocal,

    /// <summary>x86 __flush_tlb_one_user(): one INVLPG (plus INVPCID for the user PCID under PTI).</summary>
    FlushTlbOneUser,
}

/// <summary>The unit a published value is given in.</summary>
public enum PublishedUnit
{
    Microseconds,
    Nanoseconds,
    Cycles,
    Bytes,
}

/// <summary>The scenario behind a datapoint: a machine, designs, and what to measure.</summary>
public sealed record DatapointScenario(
    string Profile,
    string Arch,
    ulong RamBytes,
    ValidationMeasure Measure,
    string Design,
    string? Baseline,
    string? Workload,
    bool PerContextSwitch,
    FlushOperation Operation,
    int Pages,
    int? Ops)
{
    /// <summary>A <see cref="Pages"/> value meaning "the whole address space" (flush_tlb_mm).</summary>
    public const int AllPages = -1;
}

/// <summary>
/// One published measurement with its source, the model scenario that reproduces its setup, the
/// assumptions made where the publication is silent, and the explanation of a miss beyond the tolerance.
/// </summary>
public sealed record Datapoint(
    string Id,
    string What,
    double Published,
    PublishedUnit Unit,
    string Setup,
    string Source,
    DatapointScenario Scenario,
    string? Assumption,
    string? Calibrates,
    string? Miss,
    string Location);
