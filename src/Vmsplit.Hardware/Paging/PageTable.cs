using System.Runtime.InteropServices;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging;

/// <summary>Outcome of a page-table edit.</summary>
public enum PageTableStatus : byte
{
    Ok,

    /// <summary>Map: part of the range is already mapped.</summary>
    Overlap,

    /// <summary>Protect: part of the range is not mapped.</summary>
    NotMapped,

    /// <summary>No frame was free for a table (nothing of a failed map is left behind).</summary>
    NoMemory,

    /// <summary>VA, PA or size is not a multiple of the smallest page.</summary>
    Misaligned,

    /// <summary>The VA range is outside what the tree translates, or the PA beyond what the format can hold.</summary>
    OutOfRange,

    /// <summary>The range lies under an entry shared from another tree (<see cref="PageTable.ShareEntry"/>); edit it there.</summary>
    Shared,
}

/// <summary>A page-table edit's status and, when it failed, the first virtual address concerned.</summary>
public readonly record struct PageTableResult(PageTableStatus Status, VirtualAddress Address)
{
    public static PageTableResult Ok => default;

    public bool Succeeded => Status == PageTableStatus.Ok;

    /// <summary>A one-line explanation ("0x400000 is already mapped").</summary>
    public string Message => Status switch
    {
        PageTableStatus.Ok => "ok",
        PageTableStatus.Overlap => $"{Address} is already mapped",
        PageTableStatus.NotMapped => $"{Address} is not mapped",
        PageTableStatus.NoMemory => $"no free frame for a page table while editing {Address}",
        PageTableStatus.Misaligned => $"{Address}: address or size is not a multiple of the smallest page",
        PageTableStatus.Shared => $"{Address} lies under an entry shared from another page table",
        _ => $"{Address}: range is outside what the format can translate",
    };
}

/// <summary>A software lookup's answer: the leaf that maps an address, with its decoded attributes.</summary>
public readonly record struct PageTableLookup(bool Found, int Level, VirtualAddress PageBase, PhysicalAddress FrameBase, ulong PageSize, PageAttributes Attributes, ulong Descriptor, PhysicalAddress EntryAddress)
{
    public PhysicalAddress Translate(VirtualAddress va) => FrameBase + (va.Value - PageBase.Value);
}

/// <summary>
/// One page-table tree from one root, edited as a kernel does: map a range with the largest blocks the
/// alignment allows, unmap, change protection, split a block when only part of it changes, free
/// tables that become empty. Every descriptor lives in <see cref="PhysicalMemory"/> in the format's
/// real encoding; the editor keeps only a count of valid entries per table (as Linux keeps
/// pt_frag_refcount/ptdesc counts) so that it knows when a table is empty.
/// </summary>
public sealed partial class PageTable
{
    private readonly PageTableFormat _format;
    private readonly PhysicalMemory _memory;
    private readonly TableMemory _tables;
    private readonly PageTableGeometry _geometry;
    private readonly HashSet<ulong> _pinned = new(); // preallocated first-level children, never pruned
    private MmuRegisters _registers;
    private readonly Dictionary<ulong, TableInfo> _info = new();
    private readonly ulong[] _path = new ulong[PageTableGeometry.MaxLevels];
    private readonly long[] _allocatedAt = new long[PageTableGeometry.MaxLevels];
    private bool _released;

    private PageTable(PageTableFormat format, PhysicalMemory memory, TableMemory tables, PageTableGeometry geometry, PhysicalAddress root)
    {
        _format = format;
        _memory = memory;
        _tables = tables;
        _geometry = geometry;
        Root = root;
        _registers = format.CreateRegisters(root);
        _info.Add(root.Value, new TableInfo(0, 0, 0));
    }

    /// <summary>Creates an empty tree whose tables come from <paramref name="allocator"/>; false when no frame is free for the root.</summary>
    public static bool TryCreate(PageTableFormat format, PhysicalMemory memory, FrameAllocator allocator, out PageTable? table, PageTableGeometry? geometry = null, bool preallocateRootEntries = true) =>
        TryCreate(format, memory, new TableMemory(allocator, memory), out table, geometry, preallocateRootEntries);

    /// <summary>
    /// Creates an empty tree whose tables come from <paramref name="tables"/> (shared by the trees of one address space).
    /// <paramref name="preallocateRootEntries"/> false leaves a PAE root empty, for a tree whose first-level entries
    /// will point at another tree's tables (32-bit PTI's user PGD, arch/x86/mm/pgtable.c).
    /// </summary>
    public static bool TryCreate(PageTableFormat format, PhysicalMemory memory, TableMemory tables, out PageTable? table, PageTableGeometry? geometry = null, bool preallocateRootEntries = true)
    {
        geometry ??= format.Geometry;
        table = null;
        if (!tables.TryAllocate(geometry[0].TableBytes, out PhysicalAddress root))
        {
            return false;
        }

        PageTable created = new(format, memory, tables, geometry, root);
        if (format.PreallocatesRootEntries && preallocateRootEntries && !created.PreallocateRootEntries())
        {
            created.Release();
            return false;
        }

        created._registers = format.LoadRegisters(memory, root);
        table = created;
        return true;
    }

    // Populates every first-level entry with an empty table that stays for the tree's life (Linux's
    // pgd_prepopulate_pmd for PAE), so that the root entries the CPU caches never change.
    private bool PreallocateRootEntries()
    {
        ref readonly PageTableLevel top = ref _geometry[0];
        for (int index = 0; index < top.Entries; index++)
        {
            if (!_tables.TryAllocate(_geometry[1].TableBytes, out PhysicalAddress child))
            {
                return false;
            }

            _info.Add(child.Value, new TableInfo(1, 0, (ulong)index * top.EntrySpan));
            _pinned.Add(child.Value);
            SetEntry(Root.Value, 0, index, _format.EncodeTable(top, child, PageAttributes.KernelData));
        }

        return true;
    }

    /// <summary>Creates an empty tree, throwing <see cref="InvalidOperationException"/> when no frame is free.</summary>
    public static PageTable Create(PageTableFormat format, PhysicalMemory memory, FrameAllocator allocator, PageTableGeometry? geometry = null, bool preallocateRootEntries = true) =>
        TryCreate(format, memory, allocator, out PageTable? t, geometry, preallocateRootEntries) ? t! : throw new InvalidOperationException("no free frame for the root page table");

    public PageTableFormat Format => _format;

    /// <summary>Told about every descriptor write (the coherence checker's change log); null costs one test per write.</summary>
    public IPageTableObserver? Observer { get; set; }

    public PageTableGeometry Geometry => _geometry;

    public PhysicalMemory Memory => _memory;

    /// <summary>Physical address of the root table (what CR3/TTBR/satp point at).</summary>
    public PhysicalAddress Root { get; }

    /// <summary>
    /// Control registers pointing the MMU at this tree with the format's usual settings, as loaded when
    /// the tree was created (<see cref="PageTableFormat.LoadRegisters"/>).
    /// </summary>
    public MmuRegisters Registers => _registers;

    /// <summary>Tables in this tree, the root included.</summary>
    public int Tables => _info.Count;

    /// <summary>Bytes of this tree's tables (sub-page tables count their own size).</summary>
    public long TableBytesUsed
    {
        get
        {
            long bytes = 0;
            foreach (TableInfo t in _info.Values)
            {
                bytes += _geometry[t.LevelIndex].TableBytes;
            }

            return bytes;
        }
    }

    /// <summary>4 KiB frames held for page tables (by every tree sharing this tree's <see cref="TableMemory"/>).</summary>
    public long TablePages => _tables.Frames;

    /// <summary>Page-table memory in bytes, counted from the frames actually held.</summary>
    public long TableBytes => _tables.Frames * PhysicalMemory.PageSize;

    public TableMemory TableMemory => _tables;

    /// <summary>
    /// Maps [va, va+size) to [pa, pa+size) with the largest leaf sizes that VA and PA alignment and the
    /// remaining size allow, up to <paramref name="maxPageSize"/> (0 = the largest the format has).
    /// </summary>
    public PageTableResult Map(VirtualAddress va, PhysicalAddress pa, ulong size, PageAttributes attributes, ulong maxPageSize = 0)
    {
        ThrowIfReleased();
        ulong granule = _geometry.SmallestPage;
        if (size == 0 || size % granule != 0 || !va.IsAligned(granule) || !pa.IsAligned(granule))
        {
            return new PageTableResult(PageTableStatus.Misaligned, va);
        }

        if (!_format.ContainsRange(va, size) || !_format.CanMapFrame(_geometry[_geometry.LevelCount - 1], pa, size))
        {
            return new PageTableResult(PageTableStatus.OutOfRange, va);
        }

        if (OverlapsShared(va.Value, size, out VirtualAddress shared))
        {
            return new PageTableResult(PageTableStatus.Shared, shared);
        }

        if (FindFirst(va, size, mapped: true, out VirtualAddress conflict))
        {
            return new PageTableResult(PageTableStatus.Overlap, conflict);
        }

        ulong done = 0;
        while (done < size)
        {
            ulong v = va.Value + done;
            ulong p = pa.Value + done;
            ulong leaf = ChooseLeaf(v, p, size - done, maxPageSize, out int levelIndex);

            // A format whose PA reach depends on the leaf size (ARM short supersections) may have no leaf for this piece.
            if (!_format.CanMapFrame(_geometry[levelIndex], new PhysicalAddress(p), leaf))
            {
                if (done > 0)
                {
                    Unmap(va, done);
                }

                return new PageTableResult(PageTableStatus.OutOfRange, new VirtualAddress(v));
            }

            if (!Install(v, p, leaf, levelIndex, attributes))
            {
                if (done > 0)
                {
                    Unmap(va, done);
                }

                return new PageTableResult(PageTableStatus.NoMemory, new VirtualAddress(v));
            }

            done += leaf;
        }

        return PageTableResult.Ok;
    }

    /// <summary>
    /// Allocates the tables that smallest-page leaves in [va, va+size) need, writing no leaf: the page-table
    /// structure only, as Linux builds it at boot for ranges mapped later (page_table_range_init in
    /// arch/x86/mm/init_32.c for the fixmap and pkmap; early_pte_alloc in arch/arm/mm/mmu.c kmap_init).
    /// </summary>
    public PageTableResult PopulateTables(VirtualAddress va, ulong size, PageAttributes attributes)
    {
        PageTableResult check = CheckEditable(va, size);
        if (!check.Succeeded)
        {
            return check;
        }

        int leafLevel = _geometry.LevelCount - 1;
        ulong span = leafLevel > 0 ? _geometry[leafLevel - 1].EntrySpan : size;
        for (ulong v = va.Value & ~(span - 1); v < va.Value + size; v += span)
        {
            ulong table = Root.Value;
            for (int i = 0; i < leafLevel; i++)
            {
                ref readonly PageTableLevel level = ref _geometry[i];
                _path[i] = table;
                int index = level.IndexOf(v);
                DecodedEntry entry = _format.Decode(level, ReadEntry(table, i, index), _registers);
                if (entry.Kind == DescriptorKind.Invalid)
                {
                    if (!_tables.TryAllocate(_geometry[i + 1].TableBytes, out PhysicalAddress child))
                    {
                        return new PageTableResult(PageTableStatus.NoMemory, new VirtualAddress(v));
                    }

                    _info.Add(child.Value, new TableInfo(i + 1, 0, v & ~(level.EntrySpan - 1)));
                    _allocatedAt[i + 1]++;
                    SetEntry(table, i, index, _format.EncodeTable(level, child, attributes));
                    table = child.Value;
                }
                else if (entry.Kind == DescriptorKind.Table)
                {
                    table = entry.Address.Value;
                }
                else
                {
                    break; // a block already maps this part: no table below it
                }
            }

            if (v > ulong.MaxValue - span)
            {
                break;
            }
        }

        return PageTableResult.Ok;
    }

    // What every range edit checks first: the tree is live, the range is one it can hold, and no shared part lies in it.
    private PageTableResult CheckEditable(VirtualAddress va, ulong size)
    {
        ThrowIfReleased();
        PageTableResult check = CheckRange(va, size);
        if (!check.Succeeded)
        {
            return check;
        }

        return OverlapsShared(va.Value, size, out VirtualAddress shared) ? new PageTableResult(PageTableStatus.Shared, shared) : PageTableResult.Ok;
    }

    /// <summary>Removes every mapping in [va, va+size); holes are skipped; blocks that straddle an end are split.</summary>
    public PageTableResult Unmap(VirtualAddress va, ulong size)
    {
        PageTableResult check = CheckEditable(va, size);
        if (!check.Succeeded)
        {
            return check;
        }

        ulong cur = va.Value;
        ulong remaining = size;
        while (remaining > 0)
        {
            int li = Descend(cur, out ulong raw, out DecodedEntry entry);
            ref readonly PageTableLevel level = ref _geometry[li];
            if (entry.Kind == DescriptorKind.Invalid)
            {
                ulong skip = level.EntrySpan - (cur & (level.EntrySpan - 1));
                if (skip >= remaining)
                {
                    break;
                }

                cur += skip;
                remaining -= skip;
                continue;
            }

            ulong leaf = entry.Kind == DescriptorKind.Leaf ? entry.LeafSize : level.EntrySpan;
            ulong start = cur & ~(leaf - 1);
            if (start == cur && leaf <= remaining)
            {
                int first = level.IndexOf(start);
                int count = (int)(leaf / level.EntrySpan);
                ulong invalid = _format.EncodeInvalid(level);
                for (int k = 0; k < count; k++)
                {
                    SetEntry(_path[li], li, first + k, invalid);
                }

                Prune(cur, li);
                cur += leaf;
                remaining -= leaf;
                continue;
            }

            if (!Split(li, cur, raw, entry))
            {
                return new PageTableResult(PageTableStatus.NoMemory, new VirtualAddress(cur));
            }
        }

        return PageTableResult.Ok;
    }

    /// <summary>
    /// Points the present smallest-granule leaf that maps <paramref name="va"/> at <paramref name="pa"/> with
    /// <paramref name="attributes"/> in one descriptor write, as set_pte over a live entry does (Linux's
    /// set_top_pte, arch/arm/mm/mm.h): no table is allocated or freed. NotMapped when no such leaf maps va.
    /// </summary>
    public PageTableResult Replace(VirtualAddress va, PhysicalAddress pa, PageAttributes attributes)
    {
        ThrowIfReleased();
        ulong granule = _geometry.SmallestPage;
        if (!va.IsAligned(granule) || !pa.IsAligned(granule))
        {
            return new PageTableResult(PageTableStatus.Misaligned, va);
        }

        if (!_format.ContainsRange(va, granule))
        {
            return new PageTableResult(PageTableStatus.OutOfRange, va);
        }

        if (OverlapsShared(va.Value, granule, out VirtualAddress shared))
        {
            return new PageTableResult(PageTableStatus.Shared, shared);
        }

        int li = Descend(va.Value, out _, out DecodedEntry entry);
        ref readonly PageTableLevel level = ref _geometry[li];
        if (entry.Kind != DescriptorKind.Leaf || entry.LeafSize != granule)
        {
            return new PageTableResult(PageTableStatus.NotMapped, va);
        }

        if (!_format.CanMapFrame(level, pa, granule))
        {
            return new PageTableResult(PageTableStatus.OutOfRange, va);
        }

        ulong descriptor = _format.EncodeLeaf(level, pa, granule, attributes);
        int first = level.IndexOf(va.Value);
        int count = (int)(granule / level.EntrySpan);
        for (int k = 0; k < count; k++)
        {
            SetEntry(_path[li], li, first + k, _format.RepeatLeaf(level, descriptor, k));
        }

        return PageTableResult.Ok;
    }

    /// <summary>Changes the attributes of every page in [va, va+size), which must be wholly mapped; splits straddling blocks.</summary>
    public PageTableResult Protect(VirtualAddress va, ulong size, PageAttributes attributes)
    {
        PageTableResult check = CheckEditable(va, size);
        if (!check.Succeeded)
        {
            return check;
        }

        if (FindFirst(va, size, mapped: false, out VirtualAddress hole))
        {
            return new PageTableResult(PageTableStatus.NotMapped, hole);
        }

        ulong cur = va.Value;
        ulong remaining = size;
        while (remaining > 0)
        {
            int li = Descend(cur, out ulong raw, out DecodedEntry entry);
            ref readonly PageTableLevel level = ref _geometry[li];
            ulong leaf = entry.LeafSize;
            ulong start = cur & ~(leaf - 1);
            if (start == cur && leaf <= remaining)
            {
                int first = level.IndexOf(start);
                int count = (int)(leaf / level.EntrySpan);
                ulong descriptor = _format.ChangeLeaf(level, raw, entry.Address, leaf, attributes);
                for (int k = 0; k < count; k++)
                {
                    SetEntry(_path[li], li, first + k, _format.RepeatLeaf(level, descriptor, k));
                }

                for (int i = 0; i < li; i++)
                {
                    int index = _geometry[i].IndexOf(cur);
                    ulong old = ReadEntry(_path[i], i, index);
                    ulong merged = _format.MergeTable(_geometry[i], old, attributes);
                    if (merged != old)
                    {
                        WriteEntry(_path[i], i, index, merged);
                    }
                }

                cur += leaf;
                remaining -= leaf;
                continue;
            }

            if (!Split(li, cur, raw, entry))
            {
                return new PageTableResult(PageTableStatus.NoMemory, new VirtualAddress(cur));
            }
        }

        return PageTableResult.Ok;
    }

    /// <summary>The kernel's own software walk (no permission checks, no accessed/dirty updates).</summary>
    public PageTableLookup Lookup(VirtualAddress va)
    {
        ThrowIfReleased();
        int li = Descend(va.Value, out ulong raw, out DecodedEntry entry);
        ref readonly PageTableLevel level = ref _geometry[li];
        PhysicalAddress entryAddress = new(_path[li] + ((ulong)level.IndexOf(va.Value) * (ulong)level.EntrySize));
        if (entry.Kind != DescriptorKind.Leaf)
        {
            return new PageTableLookup(false, level.Number, default, default, 0, default, raw, entryAddress);
        }

        ulong size = entry.LeafSize;
        return new PageTableLookup(true, level.Number, new VirtualAddress(va.Value & ~(size - 1)), entry.Address, size, entry.Attributes, raw, entryAddress);
    }

    /// <summary>
    /// Tables a <see cref="Map"/> has allocated at geometry level <paramref name="levelIndex"/> and linked under an
    /// empty entry of the level above, since the tree was created (the kernel's p?d_alloc and p?d_populate).
    /// </summary>
    public long TablesAllocatedAt(int levelIndex) => _allocatedAt[levelIndex];

    /// <summary>The table at geometry level <paramref name="levelIndex"/> on the way to <paramref name="va"/>, or null when the walk stops above it.</summary>
    public PhysicalAddress? TableOf(VirtualAddress va, int levelIndex)
    {
        ThrowIfReleased();
        int li = Descend(va.Value, out _, out _);
        return levelIndex <= li ? new PhysicalAddress(_path[levelIndex]) : null;
    }

    /// <summary>Every leaf of the tree in VA order (a multi-entry leaf once).</summary>
    public IEnumerable<PageTableLookup> Leaves()
    {
        ThrowIfReleased();
        List<PageTableLookup> leaves = new();
        CollectLeaves(Root.Value, 0, 0, leaves);
        return leaves;
    }

    /// <summary>Frees every table of the tree, the root included; the tree is unusable afterwards.</summary>
    public void Release()
    {
        if (_released)
        {
            return;
        }

        foreach (KeyValuePair<ulong, TableInfo> t in _info)
        {
            _tables.Free(new PhysicalAddress(t.Key), _geometry[t.Value.LevelIndex].TableBytes);
        }

        _info.Clear();
        _released = true;
    }

    private void ThrowIfReleased()
    {
        if (_released)
        {
            throw new InvalidOperationException("the page table has been released");
        }
    }

    private PageTableResult CheckRange(VirtualAddress va, ulong size)
    {
        ulong granule = _geometry.SmallestPage;
        if (size == 0 || size % granule != 0 || !va.IsAligned(granule))
        {
            return new PageTableResult(PageTableStatus.Misaligned, va);
        }

        return _format.ContainsRange(va, size) ? PageTableResult.Ok : new PageTableResult(PageTableStatus.OutOfRange, va);
    }

    private ulong ChooseLeaf(ulong va, ulong pa, ulong remaining, ulong maxPageSize, out int levelIndex)
    {
        for (int i = 0; i < _geometry.LevelCount; i++)
        {
            ref readonly PageTableLevel level = ref _geometry[i];
            foreach (ulong s in level.LeafSizes)
            {
                if (s <= remaining && (maxPageSize == 0 || s <= maxPageSize) && (va & (s - 1)) == 0 && (pa & (s - 1)) == 0
                    && _format.CanMapFrame(level, new PhysicalAddress(pa), s))
                {
                    levelIndex = i;
                    return s;
                }
            }
        }

        // The smallest page of the last level always fits: Map checked alignment and frame range.
        levelIndex = _geometry.LevelCount - 1;
        return _geometry[_geometry.LevelCount - 1].LeafSizes[^1];
    }

    private bool Install(ulong va, ulong pa, ulong size, int levelIndex, PageAttributes attributes)
    {
        ulong table = Root.Value;
        for (int i = 0; i < levelIndex; i++)
        {
            ref readonly PageTableLevel level = ref _geometry[i];
            _path[i] = table;
            int index = level.IndexOf(va);
            ulong raw = ReadEntry(table, i, index);
            DecodedEntry entry = _format.Decode(level, raw, _registers);
            if (entry.Kind == DescriptorKind.Invalid)
            {
                if (!_tables.TryAllocate(_geometry[i + 1].TableBytes, out PhysicalAddress child))
                {
                    Prune(va, i);
                    return false;
                }

                _info.Add(child.Value, new TableInfo(i + 1, 0, va & ~(level.EntrySpan - 1)));
                _allocatedAt[i + 1]++;
                SetEntry(table, i, index, _format.EncodeTable(level, child, attributes));
                table = child.Value;
            }
            else if (entry.Kind == DescriptorKind.Table)
            {
                ulong merged = _format.MergeTable(level, raw, attributes);
                if (merged != raw)
                {
                    WriteEntry(table, i, index, merged);
                }

                table = entry.Address.Value;
            }
            else
            {
                throw new InvalidOperationException($"{ByteSize.Hex(va)}: a {DecodedEntry.KindName(entry.Kind)} entry at {level.Name} is in the way of a range checked to be free");
            }
        }

        ref readonly PageTableLevel leafLevel = ref _geometry[levelIndex];
        _path[levelIndex] = table;
        int first = leafLevel.IndexOf(va);
        ulong descriptor = _format.EncodeLeaf(leafLevel, new PhysicalAddress(pa), size, attributes);
        int count = (int)(size / leafLevel.EntrySpan);
        for (int k = 0; k < count; k++)
        {
            SetEntry(table, levelIndex, first + k, _format.RepeatLeaf(leafLevel, descriptor, k));
        }

        return true;
    }

    // Splits the leaf covering va (found at level li by Descend, so _path is set) into smaller leaves:
    // first into smaller leaves at the same level (supersection -> sections), else into a next-level table.
    private bool Split(int li, ulong va, ulong raw, DecodedEntry entry)
    {
        ref readonly PageTableLevel level = ref _geometry[li];
        if (entry.Kind != DescriptorKind.Leaf)
        {
            throw new InvalidOperationException($"{ByteSize.Hex(va)}: cannot split a {DescriptorKind.Reserved} entry at {level.Name}");
        }

        ulong size = entry.LeafSize;
        ulong span = level.EntrySpan;
        int count = (int)(size / span);
        int first = level.IndexOf(va & ~(size - 1));
        ulong table = _path[li];
        ulong smaller = 0;
        foreach (ulong s in level.LeafSizes)
        {
            if (s < size)
            {
                smaller = s;
                break;
            }
        }

        if (smaller != 0)
        {
            int per = (int)(smaller / span);
            ulong descriptor = 0;
            for (int k = 0; k < count; k++)
            {
                if (k % per == 0)
                {
                    descriptor = _format.ConvertLeaf(level, raw, level, entry.Address + ((ulong)(k / per) * smaller), smaller, _registers);
                }

                SetEntry(table, li, first + k, _format.RepeatLeaf(level, descriptor, k % per));
            }

            return true;
        }

        if (li == _geometry.LevelCount - 1)
        {
            throw new InvalidOperationException($"{ByteSize.Hex(va)}: the smallest page cannot be split");
        }

        ref readonly PageTableLevel child = ref _geometry[li + 1];
        ulong childLeaf = 0;
        foreach (ulong s in child.LeafSizes)
        {
            if (s <= span)
            {
                childLeaf = s;
                break;
            }
        }

        if (childLeaf == 0)
        {
            throw new InvalidOperationException($"{child.Name} has no leaf size to split a {ByteSize.Format(span)} block into");
        }

        int childPer = (int)(childLeaf / child.EntrySpan);
        for (int k = 0; k < count; k++)
        {
            if (!_tables.TryAllocate(child.TableBytes, out PhysicalAddress childTable))
            {
                return false;
            }

            PhysicalAddress frame = entry.Address + ((ulong)k * span);
            ulong descriptor = 0;
            for (int j = 0; j < child.Entries; j++)
            {
                if (j % childPer == 0)
                {
                    descriptor = _format.ConvertLeaf(level, raw, child, frame + ((ulong)(j / childPer) * childLeaf), childLeaf, _registers);
                }

                WriteEntry(childTable.Value, li + 1, j, _format.RepeatLeaf(child, descriptor, j % childPer));
            }

            _info.Add(childTable.Value, new TableInfo(li + 1, child.Entries, _info[table].VaBase + ((ulong)(first + k) * level.EntrySpan)));
            SetEntry(table, li, first + k, _format.EncodeTable(level, childTable, entry.Attributes));
        }

        return true;
    }

    // Frees the tables on va's path that have become empty, from level li up (never the root).
    private void Prune(ulong va, int li)
    {
        if (KeepEmptyTables)
        {
            return;
        }

        for (int i = li; i > 0; i--)
        {
            ulong table = _path[i];
            if (_info[table].Live != 0 || _pinned.Contains(table))
            {
                return;
            }

            _info.Remove(table);
            _tables.Free(new PhysicalAddress(table), _geometry[i].TableBytes);
            SetEntry(_path[i - 1], i - 1, _geometry[i - 1].IndexOf(va), _format.EncodeInvalid(_geometry[i - 1]));
        }
    }

    // Walks down from the root to the entry that maps va or is invalid; fills _path; returns its level index.
    private int Descend(ulong va, out ulong raw, out DecodedEntry entry)
    {
        ulong table = Root.Value;
        int last = _geometry.LevelCount - 1;
        for (int i = 0; ; i++)
        {
            _path[i] = table;
            raw = ReadEntry(table, i, _geometry[i].IndexOf(va));
            entry = _format.Decode(_geometry[i], raw, _registers);
            if (entry.Kind != DescriptorKind.Table || i == last)
            {
                return i;
            }

            table = entry.Address.Value;
        }
    }

    // Finds the first address in [va, va+size) that is mapped (mapped = true) or not mapped (false).
    private bool FindFirst(VirtualAddress va, ulong size, bool mapped, out VirtualAddress found)
    {
        ulong cur = va.Value;
        ulong remaining = size;
        while (remaining > 0)
        {
            int li = Descend(cur, out _, out DecodedEntry entry);
            // A reserved encoding occupies the entry (Map must not overwrite it) but maps nothing (Protect cannot change it).
            bool isMapped = mapped ? entry.Kind != DescriptorKind.Invalid : entry.Kind == DescriptorKind.Leaf;
            if (isMapped == mapped)
            {
                found = new VirtualAddress(cur);
                return true;
            }

            ulong span = entry.Kind == DescriptorKind.Leaf ? entry.LeafSize : _geometry[li].EntrySpan;
            ulong skip = span - (cur & (span - 1));
            if (skip >= remaining)
            {
                break;
            }

            cur += skip;
            remaining -= skip;
        }

        found = default;
        return false;
    }

    private void CollectLeaves(ulong table, int li, ulong vaBase, List<PageTableLookup> leaves)
    {
        ref readonly PageTableLevel level = ref _geometry[li];
        for (int index = 0; index < level.Entries; index++)
        {
            ulong raw = ReadEntry(table, li, index);
            DecodedEntry entry = _format.Decode(level, raw, _registers);
            ulong va = vaBase + ((ulong)index << level.IndexShift);
            if (entry.Kind == DescriptorKind.Table && li < _geometry.LevelCount - 1)
            {
                CollectLeaves(entry.Address.Value, li + 1, va, leaves);
            }
            else if (entry.Kind == DescriptorKind.Leaf)
            {
                leaves.Add(new PageTableLookup(true, level.Number, new VirtualAddress(va), entry.Address, entry.LeafSize, entry.Attributes, raw, new PhysicalAddress(table + ((ulong)index * (ulong)level.EntrySize))));
                index += (int)(entry.LeafSize / level.EntrySpan) - 1;
            }
        }
    }

    private ulong ReadEntry(ulong table, int li, int index)
    {
        ref readonly PageTableLevel level = ref _geometry[li];
        PhysicalAddress at = new(table + ((ulong)index * (ulong)level.EntrySize));
        return level.EntrySize == 8 ? _memory.ReadUInt64(at) : _memory.ReadUInt32(at);
    }

    private void WriteEntry(ulong table, int li, int index, ulong value)
    {
        ref readonly PageTableLevel level = ref _geometry[li];
        PhysicalAddress at = new(table + ((ulong)index * (ulong)level.EntrySize));
        if (Observer is not null)
        {
            Notify(table, li, index, at, value);
        }

        if (level.EntrySize == 8)
        {
            _memory.WriteUInt64(at, value);
        }
        else
        {
            _memory.WriteUInt32(at, checked((uint)value));
        }
    }

    // Tells the observer; tables not yet linked into the tree (being filled before their parent points at them) are skipped.
    private void Notify(ulong table, int li, int index, PhysicalAddress at, ulong value)
    {
        if (!_info.TryGetValue(table, out TableInfo info))
        {
            return;
        }

        ref readonly PageTableLevel level = ref _geometry[li];
        long reads = _memory.Reads;
        ulong old = level.EntrySize == 8 ? _memory.ReadUInt64(at) : _memory.ReadUInt32(at);
        _memory.Reads = reads;
        ulong va = info.VaBase + ((ulong)index * level.EntrySpan);
        int bits = _geometry.VirtualAddressBits;
        if (bits is >= 39 and < 64 && ((va >> (bits - 1)) & 1) != 0)
        {
            va |= ~0UL << bits; // upper-half trees (x86-64, AArch64 TTBR1, RISC-V) report canonical addresses
        }

        Observer!.DescriptorWritten(new PageTableWrite(Root, new VirtualAddress(va), level.EntrySpan, at, old, value));
    }

    // Writes an entry and keeps the table's count of valid entries.
    private void SetEntry(ulong table, int li, int index, ulong value)
    {
        ref readonly PageTableLevel level = ref _geometry[li];
        bool wasValid = _format.Decode(level, ReadEntry(table, li, index), _registers).Kind != DescriptorKind.Invalid;
        bool isValid = _format.Decode(level, value, _registers).Kind != DescriptorKind.Invalid;
        WriteEntry(table, li, index, value);
        if (wasValid != isValid)
        {
            ref TableInfo info = ref CollectionsMarshal.GetValueRefOrNullRef(_info, table);
            info.Live += isValid ? 1 : -1;
        }
    }

    private struct TableInfo(int levelIndex, int live, ulong vaBase)
    {
        public int LevelIndex = levelIndex;
        public int Live = live;

        /// <summary>The lowest VA the table maps (for the observer's reports).</summary>
        public ulong VaBase = vaBase;
    }
}
