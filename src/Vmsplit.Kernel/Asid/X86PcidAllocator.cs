namespace Vmsplit.Kernel.Asid;

/// <summary>
/// Linux's x86 PCID policy (arch/x86/mm/tlb.c): no global ASID space, but a small per-CPU array of
/// <see cref="DynamicAsids"/> slots caching the last mms that ran there. choose_new_asid() reuses the
/// slot holding the mm's ctx_id (flushing only if the slot's tlb_gen is behind the mm's) or takes the
/// next slot round-robin and flushes. The PCID written to CR3 is slot+1 (kPCID); under PTI the user
/// half runs with kPCID | (1 &lt;&lt; 11) (uPCID) and its flush is deferred to the next exit to user space.
/// </summary>
public sealed class X86PcidAllocator : IAsidAllocator
{
    /// <summary>TLB_NR_DYN_ASIDS (arch/x86/include/asm/tlbflush.h).</summary>
    public const int DynamicAsids = 6;

    /// <summary>X86_CR3_PTI_PCID_USER_BIT (arch/x86/include/asm/processor-flags.h).</summary>
    public const int PtiUserPcidBit = 11;

    private readonly CpuTlbState[] _cpus;
    private readonly MmContext _initMm = MmContext.CreateInitMm();
    private long _flushes;

    public X86PcidAllocator(int cpus, bool pcid, bool pti)
    {
        if (cpus < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(cpus), cpus, "at least one CPU");
        }

        Pcid = pcid;
        Pti = pti;
        _cpus = new CpuTlbState[cpus];
        for (int i = 0; i < cpus; i++)
        {
            // initialize_tlbstate_and_flush(): init_mm in slot 0, next_asid = 1, other slots empty.
            _cpus[i] = new CpuTlbState { LoadedMm = _initMm, NextAsid = 1 };
            _cpus[i].CtxIds[0] = _initMm.CtxId;
            _cpus[i].TlbGens[0] = _initMm.TlbGen;
        }
    }

    /// <summary>X86_FEATURE_PCID in use (CR4.PCIDE=1).</summary>
    public bool Pcid { get; }

    /// <summary>X86_FEATURE_PTI: two address spaces per mm, trampolines switch CR3 on entry and exit.</summary>
    public bool Pti { get; }

    public int CpuCount => _cpus.Length;

    public long FlushCount => _flushes;

    /// <summary>The mm loaded on a CPU (init_mm after boot).</summary>
    public MmContext LoadedMm(int cpu) => _cpus[cpu].LoadedMm;

    /// <summary>The dynamic ASID slot in use on a CPU.</summary>
    public int LoadedSlot(int cpu) => _cpus[cpu].LoadedAsid;

    /// <summary>The ctx_id cached in a slot (0 = empty, 1 = init_mm).</summary>
    public ulong SlotCtxId(int cpu, int slot) => _cpus[cpu].CtxIds[slot];

    /// <summary>kern_pcid(): ASID+1, because PCID 0 is left to PCID-unaware code.</summary>
    public static ushort KernelPcid(int slot) => (ushort)(slot + 1);

    /// <summary>user_pcid(): kPCID with the PTI switch bit.</summary>
    public static ushort UserPcid(int slot) => (ushort)(KernelPcid(slot) | (1 << PtiUserPcidBit));

    /// <summary>Whether an exit to user space on this CPU will flush the user PCID (user_pcid_flush_mask).</summary>
    public bool UserFlushPending(int cpu) => (_cpus[cpu].UserPcidFlushMask & (1u << KernelPcid(_cpus[cpu].LoadedAsid))) != 0;

    public AsidSwitch SwitchMm(int cpu, MmContext next)
    {
        ArgumentNullException.ThrowIfNull(next);
        CpuTlbState s = _cpus[cpu];
        if (ReferenceEquals(s.LoadedMm, next))
        {
            // switch_mm_irqs_off(): same mm, not lazy: no CR3 write.
            return AsidSwitch.Skipped(HardwarePcid(s.LoadedAsid), HardwareUserPcid(s.LoadedAsid));
        }

        (int slot, bool needFlush) = ChooseNewAsid(s, next);
        bool deferred = false;
        if (needFlush)
        {
            s.CtxIds[slot] = next.CtxId;
            s.TlbGens[slot] = next.TlbGen;
            deferred = InvalidateUserAsid(s, slot);
            _flushes++;
        }

        s.LoadedMm = next;
        s.LoadedAsid = slot;
        return new AsidSwitch
        {
            WritesRoot = true,
            Asid = HardwarePcid(slot),
            UserAsid = HardwareUserPcid(slot),
            Flush = needFlush ? SwitchFlush.Asid : SwitchFlush.None,
            NoFlush = Pcid && !needFlush,
            UserFlushDeferred = deferred,
            SlowPath = needFlush,
        };
    }

    /// <summary>
    /// flush_tlb_func() for the loaded mm, full flush: flush_tlb_local() invalidates the kernel PCID now
    /// (CR3 rewrite) and queues the user PCID; the slot catches up with the mm's tlb_gen.
    /// </summary>
    public Cr3Write FlushLoadedMm(int cpu)
    {
        CpuTlbState s = _cpus[cpu];
        s.TlbGens[s.LoadedAsid] = s.LoadedMm.TlbGen;
        InvalidateUserAsid(s, s.LoadedAsid);
        _flushes++;
        return new Cr3Write(HardwarePcid(s.LoadedAsid), NoFlush: false, SwitchFlush.Asid);
    }

    /// <summary>cpu_tlbstate.ctxs[loaded_mm_asid].tlb_gen: the generation of the loaded mm this CPU's TLB is up to date with.</summary>
    public ulong LoadedTlbGen(int cpu) => _cpus[cpu].TlbGens[_cpus[cpu].LoadedAsid];

    /// <summary>A flush of the loaded mm up to generation <paramref name="gen"/> completed on <paramref name="cpu"/>.</summary>
    public void SetLoadedTlbGen(int cpu, ulong gen)
    {
        CpuTlbState s = _cpus[cpu];
        s.TlbGens[s.LoadedAsid] = Math.Max(s.TlbGens[s.LoadedAsid], gen);
    }

    /// <summary>invalidate_user_asid() for the loaded slot: its user PCID is flushed at the next SWITCH_TO_USER_CR3.</summary>
    public void InvalidateLoadedUserAsid(int cpu)
    {
        CpuTlbState s = _cpus[cpu];
        InvalidateUserAsid(s, s.LoadedAsid);
    }

    /// <summary>SWITCH_TO_KERNEL_CR3 on entry: the kernel PGD with kPCID and NOFLUSH; without PCID the write drops every non-global entry. Null when PTI is off.</summary>
    public Cr3Write? EnterKernel(int cpu)
    {
        if (!Pti)
        {
            return null;
        }

        CpuTlbState s = _cpus[cpu];
        return Pcid
            ? new Cr3Write(KernelPcid(s.LoadedAsid), NoFlush: true, SwitchFlush.None)
            : new Cr3Write(0, NoFlush: false, SwitchFlush.Asid);
    }

    /// <summary>SWITCH_TO_USER_CR3 on exit: the user PGD with uPCID, NOFLUSH unless this PCID's bit is set in user_pcid_flush_mask (then cleared). Null when PTI is off.</summary>
    public Cr3Write? ExitToUser(int cpu)
    {
        if (!Pti)
        {
            return null;
        }

        CpuTlbState s = _cpus[cpu];
        if (!Pcid)
        {
            return new Cr3Write(0, NoFlush: false, SwitchFlush.Asid);
        }

        uint bit = 1u << KernelPcid(s.LoadedAsid);
        ushort user = UserPcid(s.LoadedAsid);
        if ((s.UserPcidFlushMask & bit) != 0)
        {
            s.UserPcidFlushMask &= ~bit;
            return new Cr3Write(user, NoFlush: false, SwitchFlush.Asid);
        }

        return new Cr3Write(user, NoFlush: true, SwitchFlush.None);
    }

    private (int Slot, bool NeedFlush) ChooseNewAsid(CpuTlbState s, MmContext next)
    {
        if (!Pcid)
        {
            return (0, true);
        }

        for (int asid = 0; asid < DynamicAsids; asid++)
        {
            if (s.CtxIds[asid] != next.CtxId)
            {
                continue;
            }

            return (asid, s.TlbGens[asid] < next.TlbGen);
        }

        // No slot for this mm on this CPU: take the next one round-robin.
        int slot = s.NextAsid++;
        if (slot >= DynamicAsids)
        {
            slot = 0;
            s.NextAsid = 1;
        }

        return (slot, true);
    }

    /// <summary>invalidate_user_asid(): with PTI and PCID the user PCID is flushed lazily at the next SWITCH_TO_USER_CR3.</summary>
    private bool InvalidateUserAsid(CpuTlbState s, int slot)
    {
        if (!Pti || !Pcid)
        {
            return false;
        }

        s.UserPcidFlushMask |= 1u << KernelPcid(slot);
        return true;
    }

    private ushort HardwarePcid(int slot) => Pcid ? KernelPcid(slot) : (ushort)0;

    private ushort HardwareUserPcid(int slot) => Pcid && Pti ? UserPcid(slot) : HardwarePcid(slot);

    private sealed class CpuTlbState
    {
        public readonly ulong[] CtxIds = new ulong[DynamicAsids];
        public readonly ulong[] TlbGens = new ulong[DynamicAsids];
        public MmContext LoadedMm = null!;
        public int LoadedAsid;
        public int NextAsid;
        public uint UserPcidFlushMask;
    }
}
