using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging;

/// <summary>
/// What the hardware walker returns: a translation or the architecture's fault. A value type with no
/// references so that the TLB fill path allocates nothing.
/// </summary>
public readonly struct WalkResult
{
    public WalkResult(
        FaultKind fault,
        int level,
        VirtualAddress pageBase,
        PhysicalAddress frameBase,
        ulong pageSize,
        AccessRights rights,
        bool user,
        bool global,
        MemoryType memoryType,
        byte domain,
        int reads,
        ulong descriptor)
    {
        Fault = fault;
        Level = level;
        PageBase = pageBase;
        FrameBase = frameBase;
        PageSize = pageSize;
        Rights = rights;
        User = user;
        Global = global;
        MemoryType = memoryType;
        Domain = domain;
        Reads = reads;
        Descriptor = descriptor;
    }

    /// <summary><see cref="FaultKind.None"/> for a translation.</summary>
    public FaultKind Fault { get; }

    /// <summary>The level of the leaf descriptor, or the level at which the walk faulted (the architecture's numbering).</summary>
    public int Level { get; }

    /// <summary>The virtual base of the page or block that translates the address.</summary>
    public VirtualAddress PageBase { get; }

    /// <summary>The physical base of that page or block.</summary>
    public PhysicalAddress FrameBase { get; }

    /// <summary>Bytes covered by the leaf (4 KiB, 64 KiB, 1/2/4 MiB, 16 MiB, 1 GiB, 512 GiB, 256 TiB).</summary>
    public ulong PageSize { get; }

    /// <summary>What the leaf grants, after folding in table-level restrictions (APTable, x86 U/S and R/W of every level, ...).</summary>
    public AccessRights Rights { get; }

    /// <summary>The page is user-accessible (what PAN, SMAP, SMEP and SUM test).</summary>
    public bool User { get; }

    /// <summary>The translation matches every ASID (ARM nG=0, x86 G with CR4.PGE, RISC-V G).</summary>
    public bool Global { get; }

    public MemoryType MemoryType { get; }

    /// <summary>ARMv7 short-descriptor domain of the mapping (0 elsewhere).</summary>
    public byte Domain { get; }

    /// <summary>Descriptor reads from physical memory this walk made.</summary>
    public int Reads { get; }

    /// <summary>The raw leaf descriptor, or the descriptor that faulted (0 when none was read).</summary>
    public ulong Descriptor { get; }

    public bool IsFault => Fault != FaultKind.None;

    /// <summary>The physical address <paramref name="va"/> translates to (valid when not a fault).</summary>
    public PhysicalAddress Translate(VirtualAddress va) => FrameBase + (va.Value - PageBase.Value);

    public static WalkResult Faulted(FaultKind fault, int level, int reads, ulong descriptor = 0) =>
        new(fault, level, default, default, 0, AccessRights.None, false, false, MemoryType.Normal, 0, reads, descriptor);
}

/// <summary>One step of a walk: which table was read, at which index, and what was there.</summary>
public readonly record struct WalkStep(int Level, PhysicalAddress TableAddress, int Index, ulong Descriptor, string Kind);

/// <summary>
/// Optional recording of a walk for display (<c>vmsplit walk</c>) and tests; pass <c>null</c> on the
/// hot path.
/// </summary>
public sealed class WalkTrace
{
    private readonly List<WalkStep> _steps = new();

    public IReadOnlyList<WalkStep> Steps => _steps;

    /// <summary>Which root register the walk started from ("TTBR0", "TTBR1", "CR3", "satp").</summary>
    public string Root { get; set; } = "";

    /// <summary>The value of that root register when the walk started.</summary>
    public ulong RootValue { get; set; }

    /// <summary>The first step's descriptor came from registers (x86 PAE PDPTEs), not from memory.</summary>
    public bool FirstLevelInRegisters { get; set; }

    public void Add(WalkStep step) => _steps.Add(step);

    public void Clear()
    {
        _steps.Clear();
        Root = "";
        RootValue = 0;
        FirstLevelInRegisters = false;
    }
}
