using System.Numerics;
using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Paging.X86;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Mmu;

/// <summary>The answer to one access: a physical address or a fault, and where the translation came from.</summary>
public readonly record struct Translation(
    FaultKind Fault,
    PhysicalAddress Address,
    TlbHitLevel Source,
    int WalkReads,
    int WalkReadsSaved,
    ulong PageSize)
{
    public bool IsFault => Fault != FaultKind.None;

    public bool WasWalked => Source == TlbHitLevel.Walk;
}

/// <summary>
/// One CPU's MMU: root and control registers, the TLB hierarchy of its core, the hardware walker of
/// the format in use. <see cref="Translate"/> looks the TLBs up, walks on a miss, fills, and checks
/// permissions on hits with <see cref="PageTableFormat.CheckAccess"/>.
/// <para>
/// The current ASID is decoded from the registers as the hardware does: ARMv7 short descriptors from
/// CONTEXTIDR[7:0]; LPAE and AArch64 from TTBR0[63:48] (TTBR1 when TTBCR/TCR.A1, bit 22, is set);
/// x86 from CR3[11:0] when CR4.PCIDE is set, else untagged; RISC-V from satp.ASID (bits 30:22 for
/// Sv32, 59:44 otherwise). The tag is then cut to the core's ASID width.
/// </para>
/// </summary>
public sealed class MemoryManagementUnit
{
    private const ulong Cr3NoFlush = 1UL << 63;
    private const int TtbcrA1 = 22;

    private readonly PageTableFormat _format;
    private readonly MmuFormat _formatId;
    private readonly PhysicalMemory _memory;
    private readonly TlbHierarchy _tlb;
    private readonly int[] _stepShifts;
    private readonly int[] _walkStepShifts;
    private readonly bool _x86;
    private readonly MmuCounters _counters = new();
    private CoherenceChecker? _checker;
    private MmuRegisters _registers;

    public MemoryManagementUnit(PageTableFormat format, PhysicalMemory memory, TlbHierarchyConfig config, int cpu = 0)
    {
        _format = format;
        _formatId = format.Id;
        _memory = memory;
        _stepShifts = WalkGeometry.StepShifts(format);
        _walkStepShifts = new int[_stepShifts.Length];
        _tlb = new TlbHierarchy(config, _stepShifts.AsSpan(0, _stepShifts.Length - 1));
        _x86 = _formatId.Family() == ArchFamily.X86;
        Cpu = cpu;
    }

    public int Cpu { get; }

    public PageTableFormat Format => _format;

    public PhysicalMemory Memory => _memory;

    public TlbHierarchy Tlb => _tlb;

    public MmuCounters Counters => _counters;

    /// <summary>The CPUs inner-shareable maintenance reaches (null: this CPU alone).</summary>
    public ShareabilityDomain? Domain { get; internal set; }

    /// <summary>
    /// When set, each walk made on a TLB miss records its steps here (cleared first), so that the kernel
    /// layer can charge each descriptor read against its cache model without walking a second time.
    /// Holds the last miss's walk after <see cref="Translate"/>; the steps of reads a walk cache saved
    /// are the leading <see cref="Translation.WalkReadsSaved"/> ones.
    /// </summary>
    public WalkTrace? WalkTrace { get; set; }

    /// <summary>When set, every TLB hit is checked against a fresh walk (see <see cref="CoherenceChecker"/>).</summary>
    public CoherenceChecker? Checker
    {
        get => _checker;
        set => _checker = value;
    }

    /// <summary>
    /// The registers, writable for bits that do not touch the TLB (PAN, AC, SUM, MXR, DACR). Root
    /// writes that have architectural TLB effects go through <see cref="WriteCr3"/> and friends.
    /// </summary>
    public ref MmuRegisters Registers => ref _registers;

    /// <summary>The ASID/PCID the TLB matches non-global entries against, decoded from the registers.</summary>
    public ushort CurrentAsid
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (ushort)(DecodeAsid(_formatId, in _registers) & _tlb.AsidMask);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong DecodeAsid(MmuFormat format, in MmuRegisters r) => format switch
    {
        MmuFormat.ArmShort => r.ContextIdr & 0xFF,
        MmuFormat.ArmLpae or MmuFormat.AArch64Va39 or MmuFormat.AArch64Va48 =>
            (((r.Ttbcr >> TtbcrA1) & 1) != 0 ? r.Ttbr1 : r.Ttbr0) >> 48,
        MmuFormat.X86_32 or MmuFormat.X86Pae or MmuFormat.X86_64 or MmuFormat.X86_64La57 =>
            (r.Cr4 & Cr4Flags.Pcide) != 0 ? r.Cr3 & 0xFFF : 0,
        MmuFormat.RiscvSv32 => (r.Satp >> 22) & 0x1FF,
        _ => (r.Satp >> 44) & 0xFFFF,
    };

    /// <summary>Translates one access: TLB lookup, walk on a miss, fill.</summary>
    public Translation Translate(VirtualAddress va, AccessType access, Privilege privilege)
    {
        _counters.Translations++;
        ushort asid = CurrentAsid;
        // the slot that hit, read in place (nothing below changes a TLB array before the result is built)
        ref readonly TlbEntry entry = ref _tlb.LookupRef(va.Value, access, asid, out TlbHitLevel level);
        if (level != TlbHitLevel.Walk)
        {
            CountHit(level);
            _checker?.OnHit(this, va, access, privilege, asid, in entry, level);
            FaultKind fault = _format.CheckAccess(entry.Rights, entry.User, entry.Domain, access, privilege, in _registers);
            if (fault != FaultKind.None)
            {
                return Fault(va, fault, level, 0, 0);
            }

            return new Translation(FaultKind.None, entry.Translate(va), level, 0, 0, entry.PageSize);
        }

        return TranslateMiss(va, access, privilege, asid);
    }

    /// <summary>
    /// <see cref="Translate"/> for a caller that needs only the physical address (default on a fault), the fault, where the
    /// translation came from and the walk's descriptor reads: the same lookups, counters, walks and fills, without
    /// building and copying a <see cref="Translation"/> on a hit (the path of every kernel text page and user page).
    /// </summary>
    public PhysicalAddress TranslateAddress(VirtualAddress va, AccessType access, Privilege privilege, out FaultKind fault, out TlbHitLevel level, out int walkReads)
    {
        _counters.Translations++;
        ushort asid = CurrentAsid;
        ref readonly TlbEntry entry = ref _tlb.LookupRef(va.Value, access, asid, out level);
        walkReads = 0;
        if (level != TlbHitLevel.Walk)
        {
            // Translate's hit, step for step
            CountHit(level);
            _checker?.OnHit(this, va, access, privilege, asid, in entry, level);
            fault = _format.CheckAccess(entry.RightsValue, (entry.Flags & TlbEntry.UserFlag) != 0, entry.DomainValue, access, privilege, in _registers);
            if (fault != FaultKind.None)
            {
                return Fault(va, fault, level, 0, 0).Address;
            }

            return entry.Translate(va);
        }

        Translation t = TranslateMiss(va, access, privilege, asid);
        fault = t.Fault;
        walkReads = t.WalkReads;
        return t.Address;
    }

    // The miss: walk, walk caches, fill. Kept out of Translate so that a hit runs in a small frame (the walk's locals
    // made every hit zero a large stack frame).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Translation TranslateMiss(VirtualAddress va, AccessType access, Privilege privilege, ushort asid)
    {
        _counters.Misses++;
        _counters.Walks++;
        WalkTrace? trace = WalkTrace;
        trace?.Clear();
        WalkResult walk = _format.Walk(_memory, in _registers, va, access, privilege, trace);
        int saved = 0;
        if (!walk.IsFault && _tlb.WalkCaches.Count > 0)
        {
            int tableSteps = StepShiftsOf(in walk);
            saved = _tlb.ConsultWalkCaches(va.Value, asid, _walkStepShifts, tableSteps);
            if (saved > 0)
            {
                _counters.WalkCacheHits++;
            }
        }

        int reads = walk.Reads - saved;
        _counters.WalkReads += reads;
        _counters.WalkReadsSaved += saved;
        if (walk.IsFault)
        {
            return Fault(va, walk.Fault, TlbHitLevel.Walk, reads, saved);
        }

        _tlb.Fill(in walk, va, access, asid);
        _checker?.OnFill(this, va, asid, in walk);
        return new Translation(FaultKind.None, walk.Translate(va), TlbHitLevel.Walk, reads, saved, walk.PageSize);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountHit(TlbHitLevel level)
    {
        switch (level)
        {
            case TlbHitLevel.MicroI:
                _counters.MicroIHits++;
                break;
            case TlbHitLevel.MicroD:
                _counters.MicroDHits++;
                break;
            default:
                _counters.MainHits++;
                break;
        }
    }

    private Translation Fault(VirtualAddress va, FaultKind fault, TlbHitLevel level, int reads, int saved)
    {
        _counters.CountFault(fault);
        if (_x86)
        {
            // Intel SDM Vol. 3A §4.10.4.1: a page fault invalidates the TLB entries and paging-structure caches for the faulting address.
            _counters.EntriesInvalidated += _tlb.InvalidateTlb(TlbMatch.VaAsidOrGlobal, va.Value, CurrentAsid);
        }

        return new Translation(fault, default, level, reads, saved, 0);
    }

    /// <summary>Fills the step spans (top first) of a successful walk into the scratch array; returns the number of table steps.</summary>
    private int StepShiftsOf(in WalkResult walk)
    {
        int reads = walk.Reads;
        int leafShift = BitOperations.Log2(walk.PageSize);
        int leafIndex = Array.IndexOf(_stepShifts, leafShift);
        if (leafIndex < 0)
        {
            // ARM short-descriptor supersections and large pages repeat a descriptor of the level above their size.
            leafIndex = Math.Min(reads - 1, _stepShifts.Length - 1);
        }

        int first = leafIndex - (reads - 1);
        int tableSteps = 0;
        for (int j = 0; j < reads - 1; j++)
        {
            int k = first + j;
            if (k < 0 || k >= _stepShifts.Length)
            {
                return 0;
            }

            _walkStepShifts[j] = _stepShifts[k];
            tableSteps++;
        }

        return tableSteps;
    }

    /// <summary>
    /// Executes a maintenance operation; inner-shareable ones reach every CPU of <see cref="Domain"/>.
    /// Throws if the CPU's format has no such operation (an AArch64 TLBI on an ARMv7 MMU, INVLPG on ARM).
    /// </summary>
    public TlbFlushResult Invalidate(TlbMaintenanceOp op, VirtualAddress va = default, ushort asid = 0) => Invalidate(op, va, asid, null);

    /// <summary>Executes an ARMv8.4 range operation (TLBI RVAE1, RVALE1, RVAAE1, RVAALE1 and their IS forms).</summary>
    public TlbFlushResult Invalidate(TlbMaintenanceOp op, VirtualAddress va, ushort asid, TlbiRange range) => Invalidate(op, va, asid, (TlbiRange?)range);

    private TlbFlushResult Invalidate(TlbMaintenanceOp op, VirtualAddress va, ushort asid, TlbiRange? range)
    {
        if (!_formatId.Has(op))
        {
            throw new InvalidOperationException($"{op.Mnemonic()} is not an operation of a {_format.Name} MMU");
        }

        TlbFlushResult result;
        if (op.IsBroadcast() && Domain is not null)
        {
            result = new TlbFlushResult(op, 0, 0, 0);
            foreach (MemoryManagementUnit cpu in Domain.Cpus)
            {
                result += cpu.ExecuteLocal(op, va, asid, range);
            }
        }
        else
        {
            result = ExecuteLocal(op, va, asid, range);
        }

        result = result with { Op = op };
        _counters.CountFlush(in result);
        _checker?.OnInvalidate(this, op, va, asid);
        return result;
    }

    private TlbFlushResult ExecuteLocal(TlbMaintenanceOp op, VirtualAddress va, ushort asid, TlbiRange? range)
    {
        TlbFlushResult r = range is { } rg ? _tlb.Execute(op, va.Value, asid, rg) : _tlb.Execute(op, va.Value, asid);
        _counters.EntriesInvalidated += r.TlbEntriesRemoved;
        return r;
    }

    // ARMv7 maintenance (ARM ARM DDI 0406C B4.2.2): TLBIALL, TLBIASID, TLBIMVA, TLBIMVAA and their IS forms.
    public TlbFlushResult TlbiAll(bool innerShareable = false) => Invalidate(innerShareable ? TlbMaintenanceOp.ArmTlbiAllIs : TlbMaintenanceOp.ArmTlbiAll);

    public TlbFlushResult TlbiAsid(ushort asid, bool innerShareable = false) =>
        Invalidate(innerShareable ? TlbMaintenanceOp.ArmTlbiAsidIs : TlbMaintenanceOp.ArmTlbiAsid, default, asid);

    public TlbFlushResult TlbiMva(VirtualAddress va, ushort asid, bool innerShareable = false) =>
        Invalidate(innerShareable ? TlbMaintenanceOp.ArmTlbiMvaIs : TlbMaintenanceOp.ArmTlbiMva, va, asid);

    public TlbFlushResult TlbiMvaa(VirtualAddress va, bool innerShareable = false) =>
        Invalidate(innerShareable ? TlbMaintenanceOp.ArmTlbiMvaaIs : TlbMaintenanceOp.ArmTlbiMvaa, va);

    // AArch64 EL1&0 maintenance (ARM ARM DDI 0487F D5.10.2).
    public TlbFlushResult TlbiVmalle1(bool innerShareable = false) =>
        Invalidate(innerShareable ? TlbMaintenanceOp.Arm64TlbiVmalle1Is : TlbMaintenanceOp.Arm64TlbiVmalle1);

    public TlbFlushResult TlbiAside1(ushort asid, bool innerShareable = false) =>
        Invalidate(innerShareable ? TlbMaintenanceOp.Arm64TlbiAside1Is : TlbMaintenanceOp.Arm64TlbiAside1, default, asid);

    /// <summary>TLBI VAE1 (or VALE1 when <paramref name="lastLevel"/>): the VA in the ASID and any global entry for it.</summary>
    public TlbFlushResult TlbiVae1(VirtualAddress va, ushort asid, bool lastLevel, bool innerShareable = false) =>
        Invalidate((lastLevel, innerShareable) switch
        {
            (false, false) => TlbMaintenanceOp.Arm64TlbiVae1,
            (false, true) => TlbMaintenanceOp.Arm64TlbiVae1Is,
            (true, false) => TlbMaintenanceOp.Arm64TlbiVale1,
            _ => TlbMaintenanceOp.Arm64TlbiVale1Is,
        }, va, asid);

    /// <summary>TLBI VAAE1 (or VAALE1 when <paramref name="lastLevel"/>): the VA in every ASID.</summary>
    public TlbFlushResult TlbiVaae1(VirtualAddress va, bool lastLevel, bool innerShareable = false) =>
        Invalidate((lastLevel, innerShareable) switch
        {
            (false, false) => TlbMaintenanceOp.Arm64TlbiVaae1,
            (false, true) => TlbMaintenanceOp.Arm64TlbiVaae1Is,
            (true, false) => TlbMaintenanceOp.Arm64TlbiVaale1,
            _ => TlbMaintenanceOp.Arm64TlbiVaale1Is,
        }, va);

    /// <summary>ARM: writes TTBR0 (LPAE/AArch64: ASID in bits 63:48). No TLB effect: the kernel must use ASIDs or TLBI.</summary>
    public void WriteTtbr0(ulong value) => _registers.Ttbr0 = value;

    public void WriteTtbr1(ulong value) => _registers.Ttbr1 = value;

    public void WriteTtbcr(ulong value) => _registers.Ttbcr = value;

    /// <summary>ARMv7 short descriptors: CONTEXTIDR carries the ASID in bits 7:0.</summary>
    public void WriteContextIdr(uint value) => _registers.ContextIdr = value;

    /// <summary>
    /// x86 MOV to CR3 (Intel SDM Vol. 3A §4.10.4.1): without CR4.PCIDE every non-global entry goes;
    /// with it, bit 63 clear drops the new PCID's non-global entries, bit 63 set keeps everything.
    /// Bit 63 is not stored.
    /// </summary>
    public TlbFlushResult WriteCr3(ulong value)
    {
        if ((_registers.Cr4 & Cr4Flags.Pcide) == 0)
        {
            LoadCr3(value & ~Cr3NoFlush);
            return Invalidate(TlbMaintenanceOp.X86Cr3Write);
        }

        bool noFlush = (value & Cr3NoFlush) != 0;
        LoadCr3(value & ~Cr3NoFlush);
        ushort pcid = (ushort)(value & 0xFFF);
        return Invalidate(noFlush ? TlbMaintenanceOp.X86Cr3WriteNoFlush : TlbMaintenanceOp.X86Cr3WritePcidFlush, default, pcid);
    }

    // PAE paging also loads the four PDPTE registers at every MOV to CR3 (SDM §4.4.1).
    private void LoadCr3(ulong cr3)
    {
        if (_format is X86PageTableFormat x86)
        {
            x86.LoadCr3(_memory, ref _registers, cr3);
        }
        else
        {
            _registers.Cr3 = cr3;
        }
    }

    /// <summary>x86 MOV to CR4: toggling PGE or clearing PCIDE invalidates every entry, global ones included (§4.10.4.1).</summary>
    public TlbFlushResult WriteCr4(Cr4Flags value)
    {
        Cr4Flags changed = _registers.Cr4 ^ value;
        bool pcideCleared = (changed & Cr4Flags.Pcide) != 0 && (value & Cr4Flags.Pcide) == 0;
        _registers.Cr4 = value;
        return (changed & Cr4Flags.Pge) != 0 || pcideCleared
            ? Invalidate(TlbMaintenanceOp.X86Cr4PgeToggle)
            : new TlbFlushResult(TlbMaintenanceOp.X86Cr4PgeToggle, 0, 0, 0);
    }

    /// <summary>x86 INVLPG: the current PCID's entries for the page and any global entry for it.</summary>
    public TlbFlushResult Invlpg(VirtualAddress va) => Invalidate(TlbMaintenanceOp.X86Invlpg, va, CurrentAsid);

    /// <summary>x86 INVPCID with descriptor (PCID, address) and type 0–3.</summary>
    public TlbFlushResult Invpcid(int type, ushort pcid, VirtualAddress va = default)
    {
        if (!_tlb.Config.HasInvpcid)
        {
            throw new InvalidOperationException("INVPCID is not implemented by this core (#UD)");
        }

        TlbMaintenanceOp op = type switch
        {
            0 => TlbMaintenanceOp.X86InvpcidAddress,
            1 => TlbMaintenanceOp.X86InvpcidSingleContext,
            2 => TlbMaintenanceOp.X86InvpcidAllIncludingGlobal,
            3 => TlbMaintenanceOp.X86InvpcidAllNonGlobal,
            _ => throw new ArgumentOutOfRangeException(nameof(type), "INVPCID types are 0 to 3 (#GP otherwise)"),
        };
        return Invalidate(op, va, pcid);
    }

    /// <summary>RISC-V: writes satp. No TLB effect (priv. spec: an SFENCE.VMA must follow when needed).</summary>
    public void WriteSatp(ulong value) => _registers.Satp = value;

    /// <summary>RISC-V SFENCE.VMA rs1, rs2: null stands for x0.</summary>
    public TlbFlushResult SfenceVma(VirtualAddress? va, ushort? asid)
    {
        TlbMaintenanceOp op = (va, asid) switch
        {
            (null, null) => TlbMaintenanceOp.RiscvSfenceVmaAll,
            (not null, null) => TlbMaintenanceOp.RiscvSfenceVmaVa,
            (null, not null) => TlbMaintenanceOp.RiscvSfenceVmaAsid,
            _ => TlbMaintenanceOp.RiscvSfenceVmaVaAsid,
        };
        return Invalidate(op, va ?? default, asid ?? 0);
    }

    /// <summary>A walk of the current tables that changes no counter (for the checker and for inspection).</summary>
    public WalkResult WalkUncounted(VirtualAddress va, AccessType access, Privilege privilege)
    {
        long reads = _memory.Reads;
        WalkResult w = _format.Walk(_memory, in _registers, va, access, privilege);
        _memory.Reads = reads;
        return w;
    }
}
