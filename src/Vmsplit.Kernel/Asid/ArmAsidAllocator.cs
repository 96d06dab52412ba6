namespace Vmsplit.Kernel.Asid;

/// <summary>Which Linux ARM port's allocator runs.</summary>
public enum ArmAsidFlavor : byte
{
    /// <summary>arch/arm/mm/context.c with the ARMv7 short-descriptor MMU: ASID in CONTEXTIDR, reserved TTBR0 first.</summary>
    Arm32Classic,

    /// <summary>arch/arm/mm/context.c with LPAE: ASID in TTBR0[55:48], updated atomically with the root.</summary>
    Arm32Lpae,

    /// <summary>arch/arm64/mm/context.c: 8- or 16-bit ASIDs, optional KPTI pairs and pinned ASIDs.</summary>
    Arm64,
}

/// <summary>
/// Linux's ARM generation allocator (arch/arm/mm/context.c, arch/arm64/mm/context.c). ASID 0 belongs
/// to init_mm and the reserved TTBR0; user mms get 1..2^bits-1, or under arm64 KPTI even ASIDs for the
/// kernel view with the odd neighbour (bit 0 = USER_ASID_BIT) for user space.
/// </summary>
public sealed class ArmAsidAllocator : IAsidAllocator
{
    private readonly AsidGenerations _space;
    private readonly MmContext?[] _loaded;

    public ArmAsidAllocator(ArmAsidFlavor flavor, int cpus, int asidBits = 8, bool kpti = false)
    {
        if (flavor != ArmAsidFlavor.Arm64 && (asidBits != 8 || kpti))
        {
            // ARMv7 ASIDs are 8 bits (ARM ARM B3.10.3 CONTEXTIDR / TTBR0.ASID); KPTI is arm64 only.
            throw new ArgumentException("32-bit ARM has 8-bit ASIDs and no KPTI");
        }

        if (flavor == ArmAsidFlavor.Arm64 && asidBits is not (8 or 16))
        {
            // ID_AA64MMFR0_EL1.ASIDBits encodes 8 or 16.
            throw new ArgumentOutOfRangeException(nameof(asidBits), asidBits, "AArch64 ASIDs are 8 or 16 bits");
        }

        Flavor = flavor;
        Kpti = kpti;
        _space = new AsidGenerations(cpus, asidBits, kpti ? 2 : 1, pinning: flavor == ArmAsidFlavor.Arm64);
        _loaded = new MmContext?[cpus];
    }

    public ArmAsidFlavor Flavor { get; }

    /// <summary>arm64 kernel unmapped at EL0: ASIDs are allocated in even/odd pairs.</summary>
    public bool Kpti { get; }

    public int CpuCount => _space.CpuCount;

    public int AsidBits => _space.AsidBits;

    /// <summary>Current generation (1 after boot).</summary>
    public ulong Generation => _space.Generation;

    public long Rollovers => _space.Rollovers;

    public long FlushCount => _space.FlushCount;

    /// <summary>The mms one generation can serve: 255 with 8-bit ASIDs, 127 pairs under KPTI.</summary>
    public int UsableContexts => _space.UsableContexts;

    public int MaxPinned => _space.MaxPinned;

    public MmContext? Loaded(int cpu) => _loaded[cpu];

    /// <summary>The kernel-view hardware ASID an mm holds (0 if never switched to).</summary>
    public ushort AsidOf(MmContext mm) => _space.HardwareAsid(mm.ContextId);

    /// <summary>The generation an mm's ASID belongs to (0 if never switched to).</summary>
    public ulong GenerationOf(MmContext mm) => _space.GenerationOf(mm.ContextId);

    /// <summary>Whether the mm's ASID is valid in the current generation.</summary>
    public bool IsCurrent(MmContext mm) => _space.GenerationMatches(mm.ContextId);

    public AsidSwitch SwitchMm(int cpu, MmContext next)
    {
        ArgumentNullException.ThrowIfNull(next);
        MmContext? prev = _loaded[cpu];
        if (ReferenceEquals(prev, next))
        {
            // switch_mm(): prev == next keeps TTBR0 and the ASID.
            ushort same = _space.HardwareAsid(next.ContextId);
            return AsidSwitch.Skipped(same, UserAsid(same));
        }

        (ulong contextId, bool flush, bool rollover, bool slow) = _space.Switch(cpu, next);
        _loaded[cpu] = next;
        ushort asid = _space.HardwareAsid(contextId);
        return new AsidSwitch
        {
            WritesRoot = true,
            Asid = asid,
            UserAsid = UserAsid(asid),
            Flush = flush ? SwitchFlush.All : SwitchFlush.None,
            Rollover = rollover,
            SlowPath = slow,
            ReservedRootFirst = Flavor == ArmAsidFlavor.Arm32Classic,
        };
    }

    /// <summary>arm64_mm_context_get(): pins the mm's ASID for a device sharing its tables; returns the user-visible ASID, or 0 when no pin is left.</summary>
    public ushort Pin(MmContext mm)
    {
        ArgumentNullException.ThrowIfNull(mm);
        ulong contextId = _space.Pin(mm);
        ushort asid = _space.HardwareAsid(contextId);

        // "Set the equivalent of USER_ASID_BIT".
        return asid != 0 && Kpti ? (ushort)(asid | 1) : asid;
    }

    /// <summary>arm64_mm_context_put().</summary>
    public void Unpin(MmContext mm)
    {
        ArgumentNullException.ThrowIfNull(mm);
        _space.Unpin(mm);
    }

    private ushort UserAsid(ushort asid) => Kpti ? (ushort)(asid | 1) : asid;
}
