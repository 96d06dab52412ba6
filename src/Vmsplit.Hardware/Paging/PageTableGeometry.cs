using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Paging;

/// <summary>
/// One level of a radix page-table tree: which VA bits index it, how wide its entries are, how big its
/// tables are, and which leaf sizes its entries may map. Leaves larger than one entry's span occupy
/// several consecutive, naturally aligned entries (ARM supersections and 64 KiB large pages are
/// repeated 16 times; AArch64 contiguous runs would use the same rule).
/// </summary>
public readonly struct PageTableLevel
{
    private readonly ulong[] _leafSizes;

    public PageTableLevel(int number, string name, int indexShift, int indexBits, int entrySize, ulong[] leafSizes, bool allowsTable)
    {
        if (entrySize is not (4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(entrySize), "entries are 4 or 8 bytes");
        }

        if (indexBits is < 0 or > 16 || indexShift is < 0 or > 63)
        {
            throw new ArgumentOutOfRangeException(nameof(indexBits), "index bits out of range");
        }

        ulong span = 1UL << indexShift;
        ulong[] sizes = (ulong[])leafSizes.Clone();
        Array.Sort(sizes);
        Array.Reverse(sizes);
        foreach (ulong s in sizes)
        {
            if (s < span || (s & (s - 1)) != 0 || s > (span << indexBits))
            {
                throw new ArgumentException($"leaf size {ByteSize.Format(s)} does not fit level {name} (entry span {ByteSize.Format(span)})", nameof(leafSizes));
            }
        }

        Number = number;
        Name = name;
        IndexShift = indexShift;
        IndexBits = indexBits;
        EntrySize = entrySize;
        _leafSizes = sizes;
        AllowsTable = allowsTable;
    }

    /// <summary>The architecture's number for this level (x86: 4 = PML4 … 1 = PT; AArch64 0..3; RISC-V i).</summary>
    public int Number { get; }

    /// <summary>The architecture's name for the table ("PML4", "PD", "L1", "level 2").</summary>
    public string Name { get; }

    /// <summary>The lowest VA bit of this level's index.</summary>
    public int IndexShift { get; }

    public int IndexBits { get; }

    /// <summary>Bytes per descriptor (4 or 8).</summary>
    public int EntrySize { get; }

    /// <summary>Whether an entry at this level may point to a next-level table.</summary>
    public bool AllowsTable { get; }

    /// <summary>Leaf sizes an entry at this level may map, largest first (empty when only tables).</summary>
    public ReadOnlySpan<ulong> LeafSizes => _leafSizes;

    public int Entries => 1 << IndexBits;

    public ulong IndexMask => (1UL << IndexBits) - 1;

    /// <summary>Bytes of VA one entry covers.</summary>
    public ulong EntrySpan => 1UL << IndexShift;

    /// <summary>Bytes of VA the whole table covers.</summary>
    public ulong TableSpan => 1UL << (IndexShift + IndexBits);

    /// <summary>Bytes of one table (and its alignment): can be below a page (ARM short L2 1 KiB, PAE PDPT 32 bytes) or above (ARM short L1 16 KiB).</summary>
    public int TableBytes => EntrySize << IndexBits;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(ulong va) => (int)((va >> IndexShift) & IndexMask);

    public bool AllowsLeaf(ulong size)
    {
        foreach (ulong s in _leafSizes)
        {
            if (s == size)
            {
                return true;
            }
        }

        return false;
    }

    public override string ToString() => $"{Name} (level {Number}): VA[{IndexShift + IndexBits - 1}:{IndexShift}], {Entries}×{EntrySize} bytes";
}

/// <summary>A page-table tree's shape: its levels from the root down.</summary>
public sealed class PageTableGeometry
{
    private readonly PageTableLevel[] _levels;
    private readonly ulong[] _pageSizes;

    public PageTableGeometry(params PageTableLevel[] levels)
    {
        if (levels.Length == 0 || levels.Length > MaxLevels)
        {
            throw new ArgumentException($"a tree has 1 to {MaxLevels} levels", nameof(levels));
        }

        for (int i = 0; i < levels.Length; i++)
        {
            bool last = i == levels.Length - 1;
            if (last == levels[i].AllowsTable)
            {
                throw new ArgumentException($"level {levels[i].Name}: only the last level may not point to tables", nameof(levels));
            }

            if (!last && levels[i].IndexShift != levels[i + 1].IndexShift + levels[i + 1].IndexBits)
            {
                throw new ArgumentException($"level {levels[i + 1].Name} does not cover one entry of {levels[i].Name}", nameof(levels));
            }
        }

        if (levels[^1].LeafSizes.IsEmpty)
        {
            throw new ArgumentException("the last level must map leaves", nameof(levels));
        }

        _levels = levels;
        List<ulong> sizes = new();
        foreach (PageTableLevel l in levels)
        {
            foreach (ulong s in l.LeafSizes)
            {
                if (!sizes.Contains(s))
                {
                    sizes.Add(s);
                }
            }
        }

        sizes.Sort();
        sizes.Reverse();
        _pageSizes = sizes.ToArray();
    }

    /// <summary>The deepest tree any format has (x86 LA57 and RISC-V Sv57: 5).</summary>
    public const int MaxLevels = 5;

    /// <summary>Levels from the root (index 0) to the last level.</summary>
    public ReadOnlySpan<PageTableLevel> Levels => _levels;

    public int LevelCount => _levels.Length;

    public ref readonly PageTableLevel this[int index] => ref _levels[index];

    /// <summary>Every leaf size the tree can map, largest first.</summary>
    public ReadOnlySpan<ulong> PageSizes => _pageSizes;

    /// <summary>The smallest page: the granule every mapping is aligned to.</summary>
    public ulong SmallestPage => _pageSizes[^1];

    /// <summary>VA bits the tree translates (the root table's span).</summary>
    public int VirtualAddressBits => _levels[0].IndexShift + _levels[0].IndexBits;

    /// <summary>The level index (0 = root) whose number is <paramref name="number"/>, or -1.</summary>
    public int IndexOfLevel(int number)
    {
        for (int i = 0; i < _levels.Length; i++)
        {
            if (_levels[i].Number == number)
            {
                return i;
            }
        }

        return -1;
    }
}
