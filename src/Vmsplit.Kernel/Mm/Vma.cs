using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Kernel.Mm;

/// <summary>VM_* flags of a mapping (include/linux/mm.h), the subset the model uses.</summary>
[Flags]
public enum VmFlags : ushort
{
    None = 0,
    Read = 1,
    Write = 2,
    Exec = 4,
    Shared = 8,

    /// <summary>The stack: grows down on a fault just below it (VM_GROWSDOWN).</summary>
    GrowsDown = 0x100,
}

/// <summary>
/// A file whose pages live in the page cache (and may be in highmem). A page added with its contents pending
/// (<see cref="AddPendingPage"/>) gets them written into its frame the first time the page is looked up, so a file
/// whose pages are never read or mapped backs no host memory for them; every look-up sees the same bytes as if they
/// had been written when the page was added.
/// </summary>
public sealed class PageCacheFile
{
    private readonly Dictionary<ulong, PhysicalAddress> _pages = new();
    private readonly PhysicalMemory? _memory;
    private ulong[] _pending = [];

    public PageCacheFile(string name, ulong size, PhysicalMemory? memory = null)
    {
        Name = name;
        Size = size;
        _memory = memory;
    }

    public string Name { get; }

    public ulong Size { get; set; }

    /// <summary>Pages in the cache.</summary>
    public int Count => _pages.Count;

    public bool TryGetPage(ulong index, out PhysicalAddress frame)
    {
        if (!_pages.TryGetValue(index, out frame))
        {
            return false;
        }

        FillIfPending(index, frame);
        return true;
    }

    /// <summary>The frame of page <paramref name="index"/>, which is in the cache.</summary>
    public PhysicalAddress PageAt(ulong index)
    {
        PhysicalAddress frame = _pages[index];
        FillIfPending(index, frame);
        return frame;
    }

    public void AddPage(ulong index, PhysicalAddress frame) => _pages.Add(index, frame);

    /// <summary>Adds a page whose contents are its index as a little-endian 64-bit word then zeros, written to its frame when the page is first looked up.</summary>
    public void AddPendingPage(ulong index, PhysicalAddress frame)
    {
        if (_memory is null)
        {
            throw new InvalidOperationException($"file {Name}: a pending page needs the memory it is written to");
        }

        _pages.Add(index, frame);
        int word = (int)(index >> 6);
        if (word >= _pending.Length)
        {
            Array.Resize(ref _pending, Math.Max(word + 1, _pending.Length * 2));
        }

        _pending[word] |= 1UL << (int)(index & 63);
    }

    public bool RemovePage(ulong index, out PhysicalAddress frame)
    {
        if (!_pages.Remove(index, out frame))
        {
            return false;
        }

        FillIfPending(index, frame);
        return true;
    }

    private void FillIfPending(ulong index, PhysicalAddress frame)
    {
        ulong word = index >> 6;
        if (word < (ulong)_pending.Length && (_pending[word] & (1UL << (int)(index & 63))) != 0)
        {
            _pending[word] &= ~(1UL << (int)(index & 63));
            Span<byte> bytes = stackalloc byte[8];
            BitConverter.TryWriteBytes(bytes, index);
            _memory!.Write(frame, bytes);
        }
    }
}

/// <summary>A virtual memory area (struct vm_area_struct): [Start, End) with flags and a backing.</summary>
public sealed class Vma
{
    public Vma(VirtualAddress start, VirtualAddress end, VmFlags flags, PageCacheFile? file = null, ulong fileOffset = 0)
    {
        if (end <= start || !start.IsAligned(4096) || !end.IsAligned(4096))
        {
            throw new ArgumentException($"VMA [{start}, {end}) is empty or not page-aligned");
        }

        Start = start;
        End = end;
        Flags = flags;
        File = file;
        FileOffset = fileOffset;
    }

    public VirtualAddress Start { get; internal set; }

    public VirtualAddress End { get; internal set; }

    public VmFlags Flags { get; internal set; }

    /// <summary>Null for anonymous memory (zero-filled on demand).</summary>
    public PageCacheFile? File { get; }

    /// <summary>Byte offset in <see cref="File"/> that <see cref="Start"/> maps.</summary>
    public ulong FileOffset { get; internal set; }

    public ulong Size => End - Start;

    public bool Contains(VirtualAddress va) => va >= Start && va < End;

    public bool Allows(VmFlags access) => (Flags & access) == access;

    public override string ToString() =>
        $"{Start}-{End} {((Flags & VmFlags.Read) != 0 ? 'r' : '-')}{((Flags & VmFlags.Write) != 0 ? 'w' : '-')}{((Flags & VmFlags.Exec) != 0 ? 'x' : '-')}{((Flags & VmFlags.Shared) != 0 ? 's' : 'p')} {File?.Name ?? "[anon]"}";
}

/// <summary>
/// The VMAs of one mm, kept sorted by start; lookups follow find_vma() (mm/mmap.c): the first VMA whose
/// end lies above the address. New areas are placed top-down below mmap_base, as Linux's default
/// (arch_get_unmapped_area_topdown).
/// </summary>
public sealed class VmaSet
{
    private readonly List<Vma> _vmas = new();

    public IReadOnlyList<Vma> Areas => _vmas;

    /// <summary>The first VMA with End &gt; <paramref name="va"/>, or null (find_vma).</summary>
    public Vma? FindVma(VirtualAddress va)
    {
        int lo = 0;
        int hi = _vmas.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_vmas[mid].End <= va)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo < _vmas.Count ? _vmas[lo] : null;
    }

    /// <summary>The VMA containing <paramref name="va"/>, or null.</summary>
    public Vma? Find(VirtualAddress va)
    {
        Vma? v = FindVma(va);
        return v is not null && v.Contains(va) ? v : null;
    }

    /// <summary>Inserts a VMA; it must not overlap an existing one.</summary>
    public void Insert(Vma vma)
    {
        Vma? next = FindVma(vma.Start);
        if (next is not null && next.Start < vma.End)
        {
            throw new InvalidOperationException($"VMA {vma} overlaps {next}");
        }

        int at = next is null ? _vmas.Count : _vmas.IndexOf(next);
        _vmas.Insert(at, vma);
    }

    /// <summary>
    /// Finds a free range of <paramref name="length"/> bytes, highest first, below <paramref name="top"/>
    /// and at or above <paramref name="bottom"/> (arch_get_unmapped_area_topdown, without the gap guard).
    /// </summary>
    public bool TryFindFree(ulong length, VirtualAddress bottom, VirtualAddress top, out VirtualAddress start)
    {
        start = default;
        ulong limit = top.Value;
        for (int i = _vmas.Count - 1; i >= -1; i--)
        {
            ulong gapStart = i >= 0 ? _vmas[i].End.Value : bottom.Value;
            if (gapStart < bottom.Value)
            {
                gapStart = bottom.Value;
            }

            if (i >= 0 && _vmas[i].Start.Value >= limit)
            {
                continue;
            }

            ulong gapEnd = limit;
            if (gapEnd >= gapStart && gapEnd - gapStart >= length)
            {
                start = new VirtualAddress(gapEnd - length);
                return true;
            }

            if (i >= 0)
            {
                limit = Math.Min(limit, _vmas[i].Start.Value);
            }
        }

        return false;
    }

    /// <summary>
    /// Removes [start, end) from every VMA it touches, splitting VMAs that straddle an edge (do_vmi_munmap).
    /// Returns the removed pieces so the caller can tear down their page-table entries.
    /// </summary>
    public List<Vma> Remove(VirtualAddress start, VirtualAddress end)
    {
        List<Vma> removed = new();
        for (int i = 0; i < _vmas.Count; i++)
        {
            Vma v = _vmas[i];
            if (v.End <= start || v.Start >= end)
            {
                continue;
            }

            VirtualAddress cutStart = v.Start > start ? v.Start : start;
            VirtualAddress cutEnd = v.End < end ? v.End : end;
            removed.Add(new Vma(cutStart, cutEnd, v.Flags, v.File, v.FileOffset + (cutStart - v.Start)));
            bool keepHead = v.Start < cutStart;
            bool keepTail = v.End > cutEnd;
            if (keepHead && keepTail)
            {
                Vma tail = new(cutEnd, v.End, v.Flags, v.File, v.FileOffset + (cutEnd - v.Start));
                v.End = cutStart;
                _vmas.Insert(i + 1, tail);
                i++;
            }
            else if (keepHead)
            {
                v.End = cutStart;
            }
            else if (keepTail)
            {
                v.FileOffset += cutEnd - v.Start;
                v.Start = cutEnd;
            }
            else
            {
                _vmas.RemoveAt(i);
                i--;
            }
        }

        return removed;
    }

    /// <summary>
    /// Gives [<paramref name="start"/>, <paramref name="end"/>), which must lie in one VMA, the flags <paramref name="flags"/>:
    /// the VMA is split at the edges that fall inside it (split_vma in mprotect_fixup, mm/mprotect.c). Neighbours with the
    /// same flags are not merged back (vma_merge is not modelled). Returns the VMA that now covers the range.
    /// </summary>
    public Vma SetFlags(VirtualAddress start, VirtualAddress end, VmFlags flags)
    {
        Vma v = Find(start) ?? throw new InvalidOperationException($"no VMA at {start}");
        if (end > v.End || end <= start)
        {
            throw new InvalidOperationException($"[{start}, {end}) does not lie in {v}");
        }

        int i = _vmas.IndexOf(v);
        if (end < v.End)
        {
            _vmas.Insert(i + 1, new Vma(end, v.End, v.Flags, v.File, v.FileOffset + (end - v.Start)));
            v.End = end;
        }

        if (start > v.Start)
        {
            Vma head = new(v.Start, start, v.Flags, v.File, v.FileOffset);
            v.FileOffset += start - v.Start;
            v.Start = start;
            _vmas.Insert(i, head);
        }

        v.Flags = flags;
        return v;
    }

    /// <summary>A copy of every VMA (fork's dup_mmap).</summary>
    public VmaSet Clone()
    {
        VmaSet c = new();
        foreach (Vma v in _vmas)
        {
            c._vmas.Add(new Vma(v.Start, v.End, v.Flags, v.File, v.FileOffset));
        }

        return c;
    }
}
