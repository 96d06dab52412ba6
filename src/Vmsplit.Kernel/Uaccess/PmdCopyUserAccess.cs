using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// Catalin Marinas' other idea (linux-arm-kernel, March 2020: "temporarily locking the user page table and copying
/// the user pmd into a dedicated kernel pmd, then accessing the user via this location"). The kernel keeps its own
/// tables loaded. For each 2 MiB of user space a section touches: the user's pgd and pmd entries are loaded by a
/// software walk, the PTE table's lock taken (a read-modify-write of its struct page in mem_map, where split PTE
/// locks live), the pmd stored into a dedicated slot of the kernel's tables (LPAE: TTBR1; short descriptors: the
/// kernel's own full table, where a pmd is a pair of first-level entries), then DSB and ISB; the user page is
/// reached at slot + offset through the MMU under the kernel's ASID (the user PTEs are non-global). A missing
/// page faults at the slot address; the handler is given the real user address and the pmd is copied again. At
/// the end of the section the slot is cleared, the pages reached through it are invalidated one TLBIMVA each
/// (kernel ASID) between DSBs, ISB, and the lock is released.
/// </summary>
public sealed class PmdCopyUserAccess : KernelUserAccess
{
    private const ulong PmdSize = 2UL << 20;
    private readonly ArmFourGFourG _fourG;
    private VirtualAddress? _slot;
    private ulong _region = ulong.MaxValue; // the user pmd's 2 MiB now in the slot
    private PhysicalAddress _pteTable;
    private readonly SortedSet<ulong> _touched = new();

    public PmdCopyUserAccess(SimKernel kernel, ArmFourGFourG fourG)
        : base(kernel)
    {
        _fourG = fourG;
    }

    /// <summary>The dedicated kernel pmd: a 2 MiB-aligned range taken from the top of the vmalloc area at first use.</summary>
    public VirtualAddress Slot => _slot ??= ReserveSlot();

    /// <summary>User pmds copied into the slot, and the TLBIMVAs their removal issued.</summary>
    public long Copies { get; private set; }

    public long Invalidations { get; private set; }

    public override void End() => Release();

    private protected override bool Transfer(Process p, VirtualAddress user, Span<byte> into, ReadOnlySpan<byte> from, bool write)
    {
        ulong region = user.Value & ~(PmdSize - 1);
        AccessType a = write ? AccessType.Write : AccessType.Read;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (region != _region && !CopyPmd(p, region))
            {
                if (attempt == 1 || !Kernel.HandleMmFault(p, user.AlignDown(Page), write))
                {
                    return false; // no PTE table and no VMA: -EFAULT
                }

                continue;
            }

            VirtualAddress at = Slot + (user.Value - region);
            Translation t = Kernel.Cpu.Access(at, a, Privilege.Kernel);
            _touched.Add(at.Value & ~(Page - 1));
            if (!t.IsFault)
            {
                Move(t.Address, into, from, write);
                return true;
            }

            // the fault handler maps the slot address back to the user address; the pmd may change under it
            Release();
            if (t.Fault != FaultKind.Translation || attempt == 1 || !Kernel.HandleMmFault(p, user.AlignDown(Page), write))
            {
                return false;
            }
        }

        return false;
    }

    // The software walk to the user's pmd, the PTE lock, set_pmd(slot, *user_pmd), DSB + ISB. False when the user has no PTE table there.
    // A 2-level ARM pmd is a pair of 1 MiB first-level entries, copied together (copy_pmd, arch/arm/include/asm/pgtable-2level.h).
    private bool CopyPmd(Process p, ulong region)
    {
        Release();
        PageTable tables = p.Tables;
        PageTableFormat format = tables.Format;
        MmuRegisters registers = tables.Registers;
        WalkRoot root = format.SelectRoot(in registers, new VirtualAddress(region));
        ulong table = root.Table.Value;
        bool found = false;
        for (int i = 0; i < root.Geometry.Levels.Length; i++)
        {
            PageTableLevel level = root.Geometry.Levels[i];
            if (level.EntrySpan <= PmdSize)
            {
                int n = (int)(PmdSize / level.EntrySpan);
                for (int j = 0; j < n; j++)
                {
                    PhysicalAddress e = new(table + ((ulong)(level.IndexOf(region) + j) * (ulong)level.EntrySize));
                    ulong raw = Kernel.LoadDescriptor(e, KernelCostCause.Kmap);
                    DecodedEntry d = format.Decode(in level, raw, in registers);
                    _pmd[j] = d.Kind == DescriptorKind.Table ? raw : 0;
                    if (d.Kind == DescriptorKind.Table && !found)
                    {
                        found = true;
                        _pteTable = d.Address;
                    }
                }

                _pmdEntries = n;
                break;
            }

            PhysicalAddress upper = new(table + ((ulong)level.IndexOf(region) * (ulong)level.EntrySize));
            DecodedEntry u = format.Decode(in level, Kernel.LoadDescriptor(upper, KernelCostCause.Kmap), in registers);
            if (u.Kind != DescriptorKind.Table)
            {
                return false;
            }

            table = u.Address.Value;
        }

        if (!found)
        {
            return false;
        }

        Lock(_pteTable, take: true);
        PhysicalAddress slot = SlotEntry();
        for (int j = 0; j < _pmdEntries; j++)
        {
            Kernel.StoreDescriptor(slot + ((ulong)j * _slotEntrySize), _pmd[j], KernelCostCause.Kmap);
        }

        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        _region = region;
        Copies++;
        return true;
    }

    // pmd_clear of the slot, the touched pages invalidated under the kernel ASID, the PTE lock released
    private void Release()
    {
        if (_region == ulong.MaxValue)
        {
            return;
        }

        PhysicalAddress slot = SlotEntry();
        for (int j = 0; j < _pmdEntries; j++)
        {
            Kernel.StoreDescriptor(slot + ((ulong)j * _slotEntrySize), 0, KernelCostCause.Kmap);
        }

        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        foreach (ulong va in _touched)
        {
            Kernel.Cpu.ChargeMaintenance(Kernel.Cpu.Mmu.TlbiMva(new VirtualAddress(va), ArmFourGFourG.KernelAsid).Op);
            Invalidations++;
        }

        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Dsb);
        Kernel.Cpu.Charge(CostCause.Barrier, PrimitiveCost.Isb);
        _touched.Clear();
        Lock(_pteTable, take: false);
        _region = ulong.MaxValue;
    }

    // spin_lock/spin_unlock of the split PTE lock in the PTE table's struct page (ptlock_ptr, include/linux/mm.h)
    private void Lock(PhysicalAddress pteTable, bool take)
    {
        if (Kernel.MemMap is MemMap map)
        {
            VirtualAddress page = map.PageOf(pteTable);
            if (take)
            {
                Kernel.Cpu.Load(page, KernelCostCause.Kmap);
            }

            Kernel.Cpu.Store(page, KernelCostCause.Kmap);
        }
    }

    // the slot's level-2 entry in the TTBR1 tables, found when the slot was reserved
    private PhysicalAddress SlotEntry()
    {
        _ = Slot;
        return _slotEntry;
    }

    private PhysicalAddress _slotEntry;
    private ulong _slotEntrySize;
    private readonly ulong[] _pmd = new ulong[2];
    private int _pmdEntries;

    // the kernel tree's pmd level: LPAE level 2 (2 MiB entries), short descriptors the first level (two 1 MiB entries)
    private VirtualAddress ReserveSlot()
    {
        ulong start = (Kernel.Layout.VmallocEnd - PmdSize) & ~(PmdSize - 1);
        Kernel.Vmalloc.Reserve(new VirtualAddress(start), PmdSize);
        PageTable tree = _fourG.KernelTreeFor(new VirtualAddress(start));
        PageTableLookup l = tree.Lookup(new VirtualAddress(start));
        PageTableLevel pmdLevel = default;
        foreach (PageTableLevel level in tree.Geometry.Levels)
        {
            if (level.EntrySpan <= PmdSize)
            {
                pmdLevel = level;
                break;
            }
        }

        _slotEntrySize = (ulong)pmdLevel.EntrySize;
        if (l.Found || l.Descriptor != 0 || l.Level != pmdLevel.Number)
        {
            throw new KernelSetupException($"pmd-copy: the 2 MiB at {new VirtualAddress(start)} already has kernel tables");
        }

        _slotEntry = l.EntryAddress;
        return new VirtualAddress(start);
    }
}
