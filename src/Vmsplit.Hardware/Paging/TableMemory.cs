using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging;

/// <summary>
/// Page-table memory of one address space: whole frames from the <see cref="FrameAllocator"/> for
/// tables of a page or more (ARM short L1 takes an order-2, 16 KiB-aligned block), and sub-page tables
/// packed several to a frame (Linux packs ARM short L2 tables two to a page, PAE PDPTs come from a
/// 32-byte slab). A frame goes back to the allocator when its last table is freed.
/// </summary>
public sealed class TableMemory
{
    private readonly FrameAllocator _allocator;
    private readonly PhysicalMemory _memory;
    private readonly Dictionary<ulong, SubFrame> _subFrames = new(); // frame PA -> slots
    private readonly Dictionary<int, List<ulong>> _partial = new(); // slot size -> frames with a free slot

    public TableMemory(FrameAllocator allocator, PhysicalMemory memory)
    {
        _allocator = allocator;
        _memory = memory;
    }

    public FrameAllocator Allocator => _allocator;

    /// <summary>4 KiB frames currently held for tables (whole or partly used).</summary>
    public long Frames { get; private set; }

    /// <summary>Tables currently allocated.</summary>
    public long Tables { get; private set; }

    /// <summary>Allocates a zeroed, naturally aligned table of <paramref name="bytes"/> (a power of two); false when no frame is free.</summary>
    public bool TryAllocate(int bytes, out PhysicalAddress table)
    {
        if (bytes <= 0 || (bytes & (bytes - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "table sizes are powers of two");
        }

        table = default;
        if (bytes >= PhysicalMemory.PageSize)
        {
            int order = System.Numerics.BitOperations.Log2((uint)(bytes / PhysicalMemory.PageSize));
            FrameAllocation a = _allocator.Allocate(order);
            if (!a.Succeeded)
            {
                return false;
            }

            _memory.Clear(a.Address, (ulong)bytes);
            Frames += 1L << order;
            Tables++;
            table = a.Address;
            return true;
        }

        if (!_partial.TryGetValue(bytes, out List<ulong>? frames))
        {
            frames = new List<ulong>();
            _partial.Add(bytes, frames);
        }

        if (frames.Count == 0)
        {
            FrameAllocation a = _allocator.Allocate(0);
            if (!a.Succeeded)
            {
                return false;
            }

            _memory.Clear(a.Address, PhysicalMemory.PageSize);
            Frames++;
            _subFrames.Add(a.Address.Value, new SubFrame(bytes));
            frames.Add(a.Address.Value);
        }

        ulong frame = frames[0];
        SubFrame sub = _subFrames[frame];
        int slot = sub.Take();
        if (sub.Full)
        {
            frames.RemoveAt(0);
        }

        table = new PhysicalAddress(frame + ((ulong)slot * (ulong)bytes));
        _memory.Clear(table, (ulong)bytes);
        Tables++;
        return true;
    }

    /// <summary>Frees a table allocated with <see cref="TryAllocate"/> with the same size.</summary>
    public void Free(PhysicalAddress table, int bytes)
    {
        Tables--;
        if (bytes >= PhysicalMemory.PageSize)
        {
            _allocator.Free(table);
            Frames -= bytes / PhysicalMemory.PageSize;
            return;
        }

        ulong frame = table.Value & ~(ulong)(PhysicalMemory.PageSize - 1);
        if (!_subFrames.TryGetValue(frame, out SubFrame? sub) || sub.SlotBytes != bytes)
        {
            throw new InvalidOperationException($"free of table {table}, which is not an allocated {bytes}-byte table");
        }

        bool wasFull = sub.Full;
        sub.Release((int)((table.Value - frame) / (ulong)bytes));
        List<ulong> frames = _partial[bytes];
        if (sub.Empty)
        {
            frames.Remove(frame);
            _subFrames.Remove(frame);
            _allocator.Free(new PhysicalAddress(frame));
            Frames--;
        }
        else if (wasFull)
        {
            // Keep the lowest frame first so that placement is deterministic.
            int at = frames.BinarySearch(frame);
            frames.Insert(at < 0 ? ~at : at, frame);
        }
    }

    private sealed class SubFrame
    {
        private readonly bool[] _busy;
        private int _used;

        public SubFrame(int slotBytes)
        {
            SlotBytes = slotBytes;
            _busy = new bool[PhysicalMemory.PageSize / slotBytes];
        }

        public int SlotBytes { get; }

        public bool Full => _used == _busy.Length;

        public bool Empty => _used == 0;

        public int Take()
        {
            for (int i = 0; i < _busy.Length; i++)
            {
                if (!_busy[i])
                {
                    _busy[i] = true;
                    _used++;
                    return i;
                }
            }

            throw new InvalidOperationException("no free slot in a table frame");
        }

        public void Release(int slot)
        {
            if (!_busy[slot])
            {
                throw new InvalidOperationException("double free of a sub-page table");
            }

            _busy[slot] = false;
            _used--;
        }
    }
}
