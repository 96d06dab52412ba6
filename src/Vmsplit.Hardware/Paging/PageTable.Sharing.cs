namespace Vmsplit.Hardware.Paging;

/// <summary>
/// Entries shared between trees: a kernel copies the kernel part of swapper_pg_dir into every new pgd
/// (arch/arm/mm/pgd.c pgd_alloc, x86 pgd_ctor's clone_pgd_range), and KPTI's user PGD shares the user
/// half of the kernel PGD (arch/x86/mm/pti.c: only the top level is duplicated). The shared entry
/// points at tables the source tree owns; this tree never edits below it nor frees them.
/// </summary>
public sealed partial class PageTable
{
    private List<(ulong Start, ulong Span, int LevelIndex)>? _shared;

    /// <summary>
    /// Keep tables that become empty (kernel page tables: Linux never frees the PTE tables of pkmap, fixmap
    /// or vmalloc, and other trees may share entries pointing at them).
    /// </summary>
    public bool KeepEmptyTables { get; set; }

    /// <summary>Entries this tree shares from other trees.</summary>
    public int SharedEntries => _shared?.Count ?? 0;

    /// <summary>
    /// Copies <paramref name="source"/>'s descriptor for <paramref name="va"/> at level index
    /// <paramref name="levelIndex"/> (a table or a block) into this tree, allocating this tree's own
    /// tables above it. Re-sharing an identical entry is a no-op; an occupied, different entry is an
    /// <see cref="PageTableStatus.Overlap"/>.
    /// </summary>
    public PageTableResult ShareEntry(PageTable source, VirtualAddress va, int levelIndex)
    {
        ThrowIfReleased();
        if (source._geometry.LevelCount != _geometry.LevelCount || (uint)levelIndex >= (uint)_geometry.LevelCount || source._format != _format)
        {
            throw new ArgumentException("shared entries need trees of one format and geometry");
        }

        int sli = source.Descend(va.Value, out _, out _);
        if (sli < levelIndex)
        {
            return new PageTableResult(PageTableStatus.NotMapped, va);
        }

        ref readonly PageTableLevel level = ref _geometry[levelIndex];
        int index = level.IndexOf(va.Value);
        ulong raw = source.ReadEntry(source._path[levelIndex], levelIndex, index);
        DecodedEntry entry = _format.Decode(level, raw, _registers);
        if (entry.Kind is DescriptorKind.Invalid or DescriptorKind.Reserved)
        {
            return new PageTableResult(PageTableStatus.NotMapped, va);
        }

        ulong table = Root.Value;
        for (int i = 0; i < levelIndex; i++)
        {
            ref readonly PageTableLevel upper = ref _geometry[i];
            _path[i] = table;
            int ui = upper.IndexOf(va.Value);
            DecodedEntry e = _format.Decode(upper, ReadEntry(table, i, ui), _registers);
            if (e.Kind == DescriptorKind.Invalid)
            {
                if (!_tables.TryAllocate(_geometry[i + 1].TableBytes, out PhysicalAddress child))
                {
                    return new PageTableResult(PageTableStatus.NoMemory, va);
                }

                _info.Add(child.Value, new TableInfo(i + 1, 0, va.Value & ~(upper.EntrySpan - 1)));
                SetEntry(table, i, ui, _format.EncodeTable(upper, child, entry.Attributes));
                table = child.Value;
            }
            else if (e.Kind == DescriptorKind.Table && _info.ContainsKey(e.Address.Value))
            {
                table = e.Address.Value;
            }
            else
            {
                return new PageTableResult(PageTableStatus.Overlap, va);
            }
        }

        ulong existing = ReadEntry(table, levelIndex, index);
        ulong start = va.Value & ~(level.EntrySpan - 1);
        if (existing == raw && IsSharedEntry(start, levelIndex))
        {
            return PageTableResult.Ok;
        }

        if (_format.Decode(level, existing, _registers).Kind != DescriptorKind.Invalid)
        {
            return new PageTableResult(PageTableStatus.Overlap, va);
        }

        SetEntry(table, levelIndex, index, raw);
        (_shared ??= new()).Add((start, level.EntrySpan, levelIndex));
        return PageTableResult.Ok;
    }

    /// <summary>Removes a shared entry (and this tree's tables above it that become empty).</summary>
    public PageTableResult Unshare(VirtualAddress va, int levelIndex)
    {
        ThrowIfReleased();
        ulong start = va.Value & ~(_geometry[levelIndex].EntrySpan - 1);
        int at = _shared?.FindIndex(s => s.Start == start && s.LevelIndex == levelIndex) ?? -1;
        if (at < 0)
        {
            return new PageTableResult(PageTableStatus.NotMapped, va);
        }

        _shared!.RemoveAt(at);
        ulong table = Root.Value;
        for (int i = 0; i < levelIndex; i++)
        {
            _path[i] = table;
            table = _format.Decode(_geometry[i], ReadEntry(table, i, _geometry[i].IndexOf(start)), _registers).Address.Value;
        }

        _path[levelIndex] = table;
        SetEntry(table, levelIndex, _geometry[levelIndex].IndexOf(start), _format.EncodeInvalid(_geometry[levelIndex]));
        Prune(start, levelIndex);
        return PageTableResult.Ok;
    }

    /// <summary>Bytes one top-level entry maps.</summary>
    public ulong TopLevelEntrySpan => _geometry[0].EntrySpan;

    /// <summary>Whether the top-level entry covering <paramref name="va"/> is valid (a table or a block).</summary>
    public bool HasTopLevelEntry(VirtualAddress va)
    {
        ThrowIfReleased();
        ref readonly PageTableLevel top = ref _geometry[0];
        return _format.Decode(top, ReadEntry(Root.Value, 0, top.IndexOf(va.Value)), _registers).Kind is not (DescriptorKind.Invalid or DescriptorKind.Reserved);
    }

    private bool IsSharedEntry(ulong start, int levelIndex) =>
        _shared is not null && _shared.Exists(s => s.Start == start && s.LevelIndex == levelIndex);

    private bool OverlapsShared(ulong va, ulong size, out VirtualAddress at)
    {
        at = default;
        if (_shared is null)
        {
            return false;
        }

        foreach ((ulong start, ulong span, _) in _shared)
        {
            if (va < start + span && start < va + size)
            {
                at = new VirtualAddress(Math.Max(va, start));
                return true;
            }
        }

        return false;
    }
}
