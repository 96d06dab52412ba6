namespace Vmsplit.Kernel.Asid;

/// <summary>The local TLB invalidation a context switch asks the hardware for.</summary>
public enum SwitchFlush : byte
{
    /// <summary>Nothing: the new ASID's entries are known to be current.</summary>
    None,

    /// <summary>
    /// The non-global entries tagged with <see cref="AsidSwitch.Asid"/>: an x86 CR3 write without the
    /// NOFLUSH bit (SDM Vol. 3A §4.10.4.1; with CR4.PCIDE=0 every entry carries PCID 0, so every
    /// non-global entry goes), RISC-V <c>SFENCE.VMA x0, rs2</c> with rs2 holding the ASID.
    /// </summary>
    Asid,

    /// <summary>Every entry on this CPU, global ones included: ARM TLBIALL / TLBI VMALLE1, RISC-V <c>SFENCE.VMA x0, x0</c>.</summary>
    All,
}

/// <summary>
/// What the hardware must do for one <c>switch_mm</c>: which ASID (PCID) to load with the new root,
/// what to invalidate, and how the allocator got there. The kernel layer turns this into root-register
/// writes, TLB maintenance operations and their costs.
/// </summary>
public readonly record struct AsidSwitch
{
    /// <summary>False when the switch was skipped (same mm already loaded): no root write at all.</summary>
    public bool WritesRoot { get; init; }

    /// <summary>The ASID/PCID loaded with the new root: the kernel ASID under arm64 KPTI, the kernel PCID under x86 PTI.</summary>
    public ushort Asid { get; init; }

    /// <summary>The ASID user space runs with: <c>Asid | 1</c> under arm64 KPTI, <c>Asid | (1 &lt;&lt; 11)</c> under x86 PTI, else <see cref="Asid"/>.</summary>
    public ushort UserAsid { get; init; }

    /// <summary>The local invalidation that goes with this switch.</summary>
    public SwitchFlush Flush { get; init; }

    /// <summary>RISC-V: the flush follows the satp write (arch/riscv/mm/context.c); ARM flushes before the TTBR write.</summary>
    public bool FlushAfterRootWrite { get; init; }

    /// <summary>x86: the CR3 write carries bit 63 (X86_CR3_PCID_NOFLUSH) and keeps the PCID's entries.</summary>
    public bool NoFlush { get; init; }

    /// <summary>x86 PTI: the user PCID must be flushed at the next return to user space (invalidate_user_asid).</summary>
    public bool UserFlushDeferred { get; init; }

    /// <summary>This switch exhausted the ASID space and started a new generation.</summary>
    public bool Rollover { get; init; }

    /// <summary>The allocator took its lock (new ASID or pending flush) rather than the fast path.</summary>
    public bool SlowPath { get; init; }

    /// <summary>ARMv7 short-descriptor MMU: TTBR0 is first pointed at the global-only swapper tables (cpu_set_reserved_ttbr0) because ASID and root cannot change atomically.</summary>
    public bool ReservedRootFirst { get; init; }

    /// <summary>A skipped switch: the same mm stays loaded with its ASID.</summary>
    public static AsidSwitch Skipped(ushort asid, ushort userAsid) => new() { WritesRoot = false, Asid = asid, UserAsid = userAsid };
}

/// <summary>One x86 CR3 write made by the PTI entry or exit trampoline (SWITCH_TO_KERNEL_CR3 / SWITCH_TO_USER_CR3).</summary>
public readonly record struct Cr3Write(ushort Pcid, bool NoFlush, SwitchFlush Flush);

/// <summary>
/// The address-space identity of one mm as the allocators see it: <c>mm->context</c> in Linux. One
/// allocator owns an mm's context; the kernel's process gives each mm a unique <see cref="CtxId"/>.
/// </summary>
public sealed class MmContext
{
    /// <summary>x86 <c>init_mm.context.ctx_id</c>; user mms start above it (arch/x86/include/asm/mmu.h INIT_MM_CONTEXT).</summary>
    public const ulong InitMmCtxId = 1;

    public MmContext(ulong ctxId, string? name = null)
    {
        if (ctxId <= InitMmCtxId)
        {
            throw new ArgumentOutOfRangeException(nameof(ctxId), ctxId, "context ids 0 and 1 are taken by 'no mm' and init_mm");
        }

        CtxId = ctxId;
        Name = name ?? "mm" + ctxId.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private MmContext(string name)
    {
        CtxId = InitMmCtxId;
        Name = name;
    }

    /// <summary>The unique, never reused id (x86 <c>context.ctx_id</c>).</summary>
    public ulong CtxId { get; }

    public string Name { get; }

    /// <summary>ARM/RISC-V <c>context.id</c>: generation above the ASID bits, ASID below; 0 before the first switch.</summary>
    public ulong ContextId { get; internal set; }

    /// <summary>x86 <c>context.tlb_gen</c>: bumped by every flush request on this mm; starts at 1 (init_new_context).</summary>
    public ulong TlbGen { get; private set; } = 1;

    /// <summary>arm64 <c>context.pinned</c>: how many users (an SMMU sharing the page tables) pinned this ASID.</summary>
    public int PinCount { get; internal set; }

    /// <summary>inc_mm_tlb_gen(): a flush of this mm was requested; CPUs whose slot holds an older generation must flush on their next switch.</summary>
    public ulong IncrementTlbGen() => ++TlbGen;

    internal static MmContext CreateInitMm() => new("init_mm");

    public override string ToString() => Name;
}

/// <summary>A Linux ASID policy: one call per <c>switch_mm</c>.</summary>
public interface IAsidAllocator
{
    int CpuCount { get; }

    /// <summary>Switches <paramref name="cpu"/> to <paramref name="next"/> and says what the hardware must do.</summary>
    AsidSwitch SwitchMm(int cpu, MmContext next);

    /// <summary>Local flushes of the whole TLB (or whole ASID) the allocator has asked for so far.</summary>
    long FlushCount { get; }
}
