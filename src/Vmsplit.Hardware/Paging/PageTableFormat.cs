using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging;

/// <summary>Where a walk starts: the root table the registers select for an address, or why none.</summary>
public readonly struct WalkRoot
{
    public WalkRoot(PhysicalAddress table, PageTableGeometry geometry, string register, ulong registerValue, FaultKind fault = FaultKind.None, bool firstLevelInRegisters = false)
    {
        FirstLevelInRegisters = firstLevelInRegisters;
        Table = table;
        Geometry = geometry;
        Register = register;
        RegisterValue = registerValue;
        Fault = fault;
    }

    /// <summary>Physical address of the root table.</summary>
    public PhysicalAddress Table { get; }

    /// <summary>The tree's shape from this root (ARM: T0SZ/T1SZ/TTBCR.N change the first level).</summary>
    public PageTableGeometry Geometry { get; }

    /// <summary>"CR3", "TTBR0", "TTBR1", "satp".</summary>
    public string Register { get; }

    public ulong RegisterValue { get; }

    /// <summary>Non-canonical address, or an address no root covers; <see cref="FaultKind.None"/> otherwise.</summary>
    public FaultKind Fault { get; }

    /// <summary>The CPU holds the first level's entries in registers (x86 PAE PDPTEs): the walk reads them there, not from memory.</summary>
    public bool FirstLevelInRegisters { get; }
}

/// <summary>
/// A page-table format: its tree shape, the encoding of its descriptors, the hardware walk, and the
/// permission rules that apply on every access (also on TLB hits). One sealed instance per
/// <see cref="MmuFormat"/>, found with <see cref="Get"/> or <see cref="Parse"/>.
/// The walk loop is shared: a format supplies the root selection, the descriptor decoder and the final
/// permission check; <see cref="PageTable"/> edits trees through the encoders.
/// </summary>
public abstract partial class PageTableFormat
{
    public abstract MmuFormat Id { get; }

    /// <summary>The command-line name ("arm-short", "x86-64", "riscv-sv39", ...).</summary>
    public abstract string Name { get; }

    /// <summary>Width of the virtual address space the format translates, in bits.</summary>
    public abstract int VirtualAddressBits { get; }

    /// <summary>Width of the physical addresses it can produce, in bits.</summary>
    public abstract int PhysicalAddressBits { get; }

    /// <summary>The tree <see cref="PageTable"/> builds by default (ARM: the TTBR0 tree of the default TTBCR).</summary>
    public abstract PageTableGeometry Geometry { get; }

    /// <summary>Name of the root register for display ("CR3", "TTBR0", "satp").</summary>
    public abstract string RootRegisterName { get; }

    /// <summary>
    /// The control registers of a CPU running with the tree at <paramref name="root"/> as its (first) root
    /// and the format's usual kernel settings (x86: CR4.PAE/PGE, EFER.NXE, CR0.WP; ARM: TTBCR; RISC-V: satp.MODE).
    /// </summary>
    public abstract MmuRegisters CreateRegisters(PhysicalAddress root);

    /// <summary>
    /// The registers after the kernel writes the root register: <see cref="CreateRegisters"/> plus any
    /// state the CPU loads from memory at that moment (x86 PAE: the four PDPTEs).
    /// </summary>
    public virtual MmuRegisters LoadRegisters(PhysicalMemory memory, PhysicalAddress root) => CreateRegisters(root);

    /// <summary>
    /// Whether a new tree gets every first-level entry populated at once and never cleared: Linux does
    /// so for x86 PAE (PREALLOCATED_PMDS in arch/x86/mm/pgtable.c) because the CPU caches the PDPTEs at
    /// CR3 load and would not see later changes.
    /// </summary>
    public virtual bool PreallocatesRootEntries => false;

    /// <summary>The first-level entry <paramref name="index"/> held in registers, when <see cref="WalkRoot.FirstLevelInRegisters"/>.</summary>
    protected virtual ulong ReadFirstLevelFromRegisters(in MmuRegisters registers, int index) => 0;

    /// <summary>Picks the root table for <paramref name="va"/> and checks the address is translatable.</summary>
    public abstract WalkRoot SelectRoot(in MmuRegisters registers, VirtualAddress va);

    /// <summary>Decodes a descriptor read at <paramref name="level"/> under the given control registers.</summary>
    public abstract DecodedEntry Decode(in PageTableLevel level, ulong descriptor, in MmuRegisters registers);

    /// <summary>A table descriptor pointing at <paramref name="table"/>, for a tree that will hold mappings like <paramref name="attributes"/>.</summary>
    public abstract ulong EncodeTable(in PageTableLevel level, PhysicalAddress table, PageAttributes attributes);

    /// <summary>The leaf descriptor (the first of the group when <paramref name="size"/> spans several entries).</summary>
    public abstract ulong EncodeLeaf(in PageTableLevel level, PhysicalAddress frame, ulong size, PageAttributes attributes);

    /// <summary>The descriptor written when an entry is cleared.</summary>
    public virtual ulong EncodeInvalid(in PageTableLevel level) => 0;

    /// <summary>Entry <paramref name="k"/> of a leaf that spans several entries (ARM repeats the same descriptor).</summary>
    public virtual ulong RepeatLeaf(in PageTableLevel level, ulong first, int k) => first;

    /// <summary>
    /// An existing table descriptor widened so that a mapping with <paramref name="attributes"/> below it
    /// works (x86: set U/S when a user page goes under a kernel table). Never narrows.
    /// </summary>
    public virtual ulong MergeTable(in PageTableLevel level, ulong descriptor, PageAttributes attributes) => descriptor;

    /// <summary>
    /// Re-expresses part of a leaf at another level or size when a block is split, keeping every
    /// format-specific bit the neutral attributes cannot carry (override to move e.g. x86 PAT bits).
    /// </summary>
    public virtual ulong ConvertLeaf(in PageTableLevel from, ulong descriptor, in PageTableLevel to, PhysicalAddress frame, ulong size, in MmuRegisters registers) =>
        EncodeLeaf(to, frame, size, Decode(from, descriptor, registers).Attributes);

    /// <summary>A leaf with new attributes (mprotect); override to keep bits such as accessed/dirty.</summary>
    public virtual ulong ChangeLeaf(in PageTableLevel level, ulong descriptor, PhysicalAddress frame, ulong size, PageAttributes attributes) =>
        EncodeLeaf(level, frame, size, attributes);

    /// <summary>The named fields of a descriptor for display; <paramref name="level"/> is the architecture's level number.</summary>
    public abstract IReadOnlyList<DescriptorField> Describe(int level, ulong descriptor);

    /// <summary>The fields of the root register a walk started from, for display ("MODE=Sv39 ASID=5 PPN=0x80400"); empty when nothing is worth splitting out.</summary>
    public virtual string DescribeRoot(string register, ulong value) => "";

    /// <summary>Whether [va, va+size) lies in VA the default tree translates (x86-64: one canonical half).</summary>
    public virtual bool ContainsRange(VirtualAddress va, ulong size)
    {
        int bits = Geometry.VirtualAddressBits;
        ulong last = va.Value + size - 1;
        return size != 0 && last >= va.Value && (bits >= 64 || last >> bits == 0);
    }

    /// <summary>Whether a leaf at <paramref name="frame"/> of <paramref name="size"/> bytes is addressable by the format.</summary>
    public virtual bool CanMapFrame(in PageTableLevel level, PhysicalAddress frame, ulong size)
    {
        int bits = PhysicalAddressBits;
        ulong last = frame.Value + size - 1;
        return last >= frame.Value && (bits >= 64 || last >> bits == 0);
    }

    /// <summary>
    /// Whether the hardware sets accessed/dirty flags in memory during walks (x86 always; ARM with TCR.HA;
    /// RISC-V Svadu). The walk calls <see cref="SetAccessedDirty"/> only when a decoded entry reported
    /// <see cref="DecodedEntry.Accessed"/> or (on a write) <see cref="DecodedEntry.Dirty"/> false.
    /// </summary>
    protected virtual bool UpdatesAccessedDirty => false;

    /// <summary>The descriptor with accessed (and, on a write to a leaf, dirty) set; equal to the input when nothing changes.</summary>
    protected virtual ulong SetAccessedDirty(in PageTableLevel level, ulong descriptor, bool leaf, AccessType access) => descriptor;

    /// <summary>
    /// The permission check alone, for a translation already held in a TLB: returns
    /// <see cref="FaultKind.None"/>, <see cref="FaultKind.Permission"/> or <see cref="FaultKind.Domain"/>.
    /// </summary>
    public abstract FaultKind CheckAccess(AccessRights rights, bool user, byte domain, AccessType access, Privilege privilege, in MmuRegisters registers);

    /// <summary>
    /// The hardware walk: selects the root, reads one descriptor per level from <paramref name="memory"/>,
    /// folds table restrictions into the leaf's rights, and checks the access with the register state
    /// (PAN, SMAP/AC, SMEP, SUM, MXR, DACR). Allocates nothing unless a trace is given.
    /// </summary>
    public virtual WalkResult Walk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null)
    {
        WalkRoot root = SelectRoot(in registers, va);
        ReadOnlySpan<PageTableLevel> levels = root.Geometry.Levels;
        if (trace is not null)
        {
            trace.Root = root.Register;
            trace.RootValue = root.RegisterValue;
            trace.FirstLevelInRegisters = root.FirstLevelInRegisters;
        }

        if (root.Fault != FaultKind.None)
        {
            return WalkResult.Faulted(root.Fault, levels[0].Number, 0);
        }

        bool updateFlags = UpdatesAccessedDirty;
        // Inline buffers rather than stackalloc: a method with localloc is not eligible for tiered PGO.
        LevelBuffer entryAddresses = default;
        LevelBuffer descriptors = default;
        ulong table = root.Table.Value;
        AccessRights rights = DecodedEntry.AllRights;
        bool user = true;
        bool global = false;
        byte domain = 0;
        bool accessed = true;
        int reads = 0;
        for (int i = 0; i < levels.Length; i++)
        {
            ref readonly PageTableLevel level = ref levels[i];
            int index = level.IndexOf(va.Value);
            ulong entryAddress = table + ((ulong)index * (ulong)level.EntrySize);
            ulong raw;
            if (i == 0 && root.FirstLevelInRegisters)
            {
                raw = ReadFirstLevelFromRegisters(in registers, index);
            }
            else
            {
                raw = level.EntrySize == 8
                    ? memory.ReadUInt64(new PhysicalAddress(entryAddress))
                    : memory.ReadUInt32(new PhysicalAddress(entryAddress));
                reads++;
            }

            entryAddresses[i] = entryAddress;
            descriptors[i] = raw;
            DecodedEntry entry = Decode(in level, raw, in registers);
            trace?.Add(new WalkStep(level.Number, new PhysicalAddress(table), index, raw, DecodedEntry.KindName(entry.Kind)));
            switch (entry.Kind)
            {
                case DescriptorKind.Invalid:
                    return WalkResult.Faulted(FaultKind.Translation, level.Number, reads, raw);
                case DescriptorKind.Reserved:
                    return WalkResult.Faulted(entry.Fault == FaultKind.None ? FaultKind.ReservedBit : entry.Fault, level.Number, reads, raw);
                case DescriptorKind.Table:
                    if (i == levels.Length - 1)
                    {
                        return WalkResult.Faulted(FaultKind.ReservedBit, level.Number, reads, raw);
                    }

                    rights &= entry.Rights;
                    user &= entry.User;
                    global |= entry.Global;
                    domain |= entry.Domain;
                    accessed &= entry.Accessed;
                    table = entry.Address.Value;
                    break;
                default:
                    if (entry.Fault != FaultKind.None)
                    {
                        return WalkResult.Faulted(entry.Fault, level.Number, reads, raw);
                    }

                    rights &= entry.Rights;
                    user &= entry.User;
                    global |= entry.Global;
                    domain |= entry.Domain;
                    FaultKind fault = CheckAccess(rights, user, domain, access, privilege, in registers);
                    if (fault != FaultKind.None)
                    {
                        return WalkResult.Faulted(fault, level.Number, reads, raw);
                    }

                    if (updateFlags && (!accessed || !entry.Accessed || (access == AccessType.Write && !entry.Dirty)))
                    {
                        WriteAccessedDirty(memory, levels, entryAddresses, descriptors, i, access);
                    }

                    ulong size = entry.LeafSize;
                    return new WalkResult(FaultKind.None, level.Number, new VirtualAddress(va.Value & ~(size - 1)), entry.Address, size, rights, user, global, entry.MemoryType, domain, reads, raw);
            }
        }

        return WalkResult.Faulted(FaultKind.ReservedBit, levels[^1].Number, reads);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteAccessedDirty(PhysicalMemory memory, ReadOnlySpan<PageTableLevel> levels, ReadOnlySpan<ulong> addresses, ReadOnlySpan<ulong> descriptors, int leafIndex, AccessType access)
    {
        for (int i = 0; i <= leafIndex; i++)
        {
            ulong updated = SetAccessedDirty(in levels[i], descriptors[i], i == leafIndex, access);
            if (updated == descriptors[i])
            {
                continue;
            }

            if (levels[i].EntrySize == 8)
            {
                memory.WriteUInt64(new PhysicalAddress(addresses[i]), updated);
            }
            else
            {
                memory.WriteUInt32(new PhysicalAddress(addresses[i]), (uint)updated);
            }
        }
    }

    public override string ToString() => Name;

    [InlineArray(PageTableGeometry.MaxLevels)]
    private struct LevelBuffer
    {
        private ulong _element0;
    }
}
