using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// Catalin Marinas' alternative (linux-arm-kernel, March 2020: "all uaccess routines in a trampoline which restores
/// the user pgd but with only a couple of pmds for mapping the kernel address temporarily"). Before the section the
/// kernel's own entries covering the kernel side of the copy (its lowmem linear address) are copied into the user's
/// tables at the highest level where the user has nothing mapped — each a descriptor load of the user's entry, a
/// load of the kernel's and a store — then DSB so the walker sees them, and TTBR0 := the user tables. Both sides of
/// the copy then go through the MMU under the user ASID. After the section TTBR0 := the kernel tables, the entries
/// are cleared (a store each) and the translations the user ASID may hold for the kernel pages are invalidated one
/// page at a time (TLBIMVA, between DSBs, as ARM's flush_tlb_range). Where the user has a mapping in the way the
/// copy bounces through the scheme's per-CPU bounce page instead (LPAE: in the TTBR1 region; short descriptors: in the
/// trampoline); a kernel side in LPAE's TTBR1 region needs nothing.
/// The entries are removed while the fault handler runs, so it sees the user's own tables.
/// </summary>
public sealed class TrampolineUserAccess : UserTablesUserAccess
{
    private readonly List<PhysicalAddress> _installed = new();
    private VirtualAddress _windowStart;
    private ulong _windowBytes;
    private bool _bounceAll;

    public TrampolineUserAccess(SimKernel kernel, ArmFourGFourG fourG)
        : base(kernel, fourG)
    {
        fourG.RequestBouncePage();
    }

    /// <summary>Entries installed in user tables, and the TLBIMVAs their removal issued.</summary>
    public long Installs { get; private set; }

    public long Invalidations { get; private set; }

    public override void Begin(ulong totalBytes, bool write)
    {
        _bounceAll = false;
        _windowBytes = 0;
        if (KernelSideStart is VirtualAddress k && !FourG.MappedUnderUserTables(k) && totalBytes > 0)
        {
            _windowStart = k;
            _windowBytes = totalBytes;
            _bounceAll = !Install();
        }

        base.Begin(totalBytes, write);
    }

    public override void End()
    {
        base.End();
        if (_windowBytes > 0)
        {
            Remove(flush: true);
            _windowBytes = 0;
        }
    }

    private protected override void BeforeFault()
    {
        base.BeforeFault();
        Remove(flush: false); // the same entries come back after the handler: no stale translation to drop
    }

    private protected override void AfterFault()
    {
        if (_windowBytes > 0 && !_bounceAll)
        {
            _bounceAll = !Install();
        }

        base.AfterFault();
    }

    private protected override bool Transfer(Process p, VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        PhysicalAddress? pa = DirectTranslate(p, user, write);
        if (pa is null)
        {
            return false;
        }

        int n = write ? from.Length : into.Length;
        AccessType kernelAccess = write ? AccessType.Read : AccessType.Write;
        VirtualAddress? kernelSide = KernelSideOf(user);
        if (kernelSide is VirtualAddress k && (FourG.MappedUnderUserTables(k) || !_bounceAll))
        {
            Translation t = Kernel.Cpu.Access(k, kernelAccess, Privilege.Kernel); // through the installed entries, user ASID
            if (t.IsFault)
            {
                throw new InvalidOperationException($"trampoline: kernel side {k} does not translate under the user tables: {t.Fault}");
            }
        }
        else if (kernelSide is not null || n > 8)
        {
            VirtualAddress bounce = FourG.BouncePage;
            Translation b = Kernel.Cpu.Access(bounce + (user.Value & (Page - 1)), kernelAccess, Privilege.Kernel);
            Kernel.Cpu.ChargeMemcpy((ulong)n);
            Kernel.Cpu.TouchDataLines(b.Address, (ulong)n, store: !write);
        }

        Move(pa.Value, into, from, write);
        return true;
    }

    // Copies the kernel's entries over [window) into the user's tables; false when a user mapping is in the way
    // (what was installed so far is taken out again).
    private bool Install()
    {
        PageTable userTables = Kernel.Current!.Tables;
        PageTable lowTree = FourG.LowTree;
        PageTableFormat format = userTables.Format;
        MmuRegisters ur = userTables.Registers;
        MmuRegisters kr = lowTree.Registers;
        ulong va = _windowStart.Value;
        ulong end = _windowStart.Value + _windowBytes;
        while (va < end)
        {
            WalkRoot uroot = format.SelectRoot(in ur, new VirtualAddress(va));
            WalkRoot kroot = format.SelectRoot(in kr, new VirtualAddress(va));
            ulong ut = uroot.Table.Value;
            ulong kt = kroot.Table.Value;
            ulong span = 0;
            for (int i = 0; i < uroot.Geometry.Levels.Length; i++)
            {
                PageTableLevel level = uroot.Geometry.Levels[i];
                ulong offset = (ulong)level.IndexOf(va) * (ulong)level.EntrySize;
                PhysicalAddress ue = new(ut + offset);
                PhysicalAddress ke = new(kt + offset);
                ulong uraw = Kernel.LoadDescriptor(ue, KernelCostCause.Kmap);
                DecodedEntry u = format.Decode(in level, uraw, in ur);
                ulong kraw = Kernel.LoadDescriptor(ke, KernelCostCause.Kmap);
                DecodedEntry kd = format.Decode(in level, kraw, in kr);
                if (u.Kind == DescriptorKind.Invalid && kd.Kind != DescriptorKind.Invalid)
                {
                    Kernel.StoreDescriptor(ue, kraw, KernelCostCause.Kmap); // set_pmd(user, *kernel)
                    _installed.Add(ue);
                    Installs++;
                    span = level.EntrySpan;
                    break;
                }

                if (u.Kind != DescriptorKind.Table || kd.Kind != DescriptorKind.Table)
                {
                    Remove(flush: true); // a user mapping shares this range with the kernel side
                    return false;
                }

                ut = u.Address.Value;
                kt = kd.Address.Value;
            }

            if (span == 0)
            {
                Remove(flush: true);
                return false;
            }

            va = (va & ~(span - 1)) + span;
        }

        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb); // the table writes visible to the walker before TTBR0 moves
        return true;
    }

    private void Remove(bool flush)
    {
        if (_installed.Count == 0)
        {
            return;
        }

        foreach (PhysicalAddress e in _installed)
        {
            Kernel.StoreDescriptor(e, 0, KernelCostCause.Kmap); // pmd_clear
        }

        _installed.Clear();
        if (!flush)
        {
            return;
        }

        // flush_tlb_range over the kernel pages the user ASID reached: DSB, one TLBIMVA per page, DSB, ISB
        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        ulong first = _windowStart.Value & ~(Page - 1);
        ulong last = (_windowStart.Value + _windowBytes - 1) & ~(Page - 1);
        for (ulong va = first; va <= last; va += Page)
        {
            Kernel.Cpu.ChargeMaintenance(Kernel.Cpu.Mmu.TlbiMva(new VirtualAddress(va), Kernel.UserAsid).Op);
            Invalidations++;
        }

        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
    }
}
