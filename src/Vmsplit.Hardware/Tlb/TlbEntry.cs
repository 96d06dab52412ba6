using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Hardware.Tlb;

/// <summary>
/// One cached translation. The tag packs the VA page number at the entry's page size with that size and
/// a valid bit, so a lookup is one 64-bit compare plus the ASID test.
/// </summary>
public struct TlbEntry
{
    internal const byte ValidFlag = 1;
    internal const byte GlobalFlag = 2;
    internal const byte UserFlag = 4;

    /// <summary>(VA &gt;&gt; PageShift) &lt;&lt; 7 | PageShift &lt;&lt; 1 | valid.</summary>
    internal ulong Key;

    /// <summary>Physical base of the page this entry maps (for a splintered entry: of the splinter).</summary>
    internal ulong Frame;

    /// <summary>LRU age stamp (larger = more recent).</summary>
    internal ulong Stamp;

    internal ushort AsidTag;
    internal byte Shift;
    internal byte Flags;
    internal AccessRights RightsValue;
    internal MemoryType MemoryTypeValue;
    internal byte DomainValue;

    /// <summary>log2 of the size of the translation the walker returned (larger than <see cref="PageShift"/> when splintered).</summary>
    internal byte SourceShift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong MakeKey(ulong va, int shift) => ((va >> shift) << 7) | ((ulong)shift << 1) | 1;

    public readonly bool Valid => (Flags & ValidFlag) != 0;

    public readonly bool Global => (Flags & GlobalFlag) != 0;

    public readonly bool User => (Flags & UserFlag) != 0;

    /// <summary>The ASID/PCID tag (meaningless when <see cref="Global"/>).</summary>
    public readonly ushort Asid => AsidTag;

    public readonly int PageShift => Shift;

    public readonly ulong PageSize => 1UL << Shift;

    /// <summary>log2 of the translation this entry came from; larger than <see cref="PageShift"/> for a splinter.</summary>
    public readonly int SourcePageShift => SourceShift;

    public readonly VirtualAddress PageBase => new((Key >> 7) << Shift);

    public readonly PhysicalAddress FrameBase => new(Frame);

    public readonly AccessRights Rights => RightsValue;

    public readonly MemoryType MemoryType => MemoryTypeValue;

    public readonly byte Domain => DomainValue;

    /// <summary>The physical address of <paramref name="va"/> (which must lie in this entry's page).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly PhysicalAddress Translate(VirtualAddress va) => new(Frame | (va.Value & ((1UL << Shift) - 1)));

    /// <summary>Whether this entry translates <paramref name="va"/> (whatever its ASID).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Covers(ulong va) => Valid && Key == MakeKey(va, Shift);

    /// <summary>Builds the entry a walk result is held as, at <paramref name="shift"/> (splintered when smaller than the walk's page).</summary>
    public static TlbEntry FromWalk(in WalkResult walk, VirtualAddress va, int shift, ushort asid)
    {
        ulong size = 1UL << shift;
        ulong pageBase = va.Value & ~(size - 1);
        TlbEntry e = default;
        e.Key = MakeKey(va.Value, shift);
        e.Frame = walk.FrameBase.Value + (pageBase - walk.PageBase.Value);
        e.AsidTag = walk.Global ? (ushort)0 : asid;
        e.Shift = (byte)shift;
        e.SourceShift = (byte)System.Numerics.BitOperations.Log2(walk.PageSize);
        e.Flags = (byte)(ValidFlag | (walk.Global ? GlobalFlag : 0) | (walk.User ? UserFlag : 0));
        e.RightsValue = walk.Rights;
        e.MemoryTypeValue = walk.MemoryType;
        e.DomainValue = walk.Domain;
        return e;
    }

    /// <summary>The same translation re-held at a smaller <paramref name="shift"/> around <paramref name="va"/> (micro TLB fill from a main entry).</summary>
    internal readonly TlbEntry Splinter(ulong va, int shift)
    {
        TlbEntry e = this;
        ulong size = 1UL << shift;
        ulong pageBase = va & ~(size - 1);
        e.Key = MakeKey(va, shift);
        e.Frame = Frame + (pageBase - PageBase.Value);
        e.Shift = (byte)shift;
        e.Stamp = 0;
        return e;
    }

    public override readonly string ToString() => Valid
        ? $"{PageBase} -> {FrameBase} {ByteSize.Format(PageSize)} {(Global ? "global" : "asid " + Asid)} {Rights.Describe()}"
        : "invalid";
}
