using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Paging;

namespace Vmsplit.Kernel.Layout;

/// <summary>A machine as the layout sees it: the architecture and its RAM banks (physical address and size).</summary>
public sealed class Machine
{
    public const ulong PageSize = 4096;

    public Machine(KernelArch arch, IEnumerable<RamBank> banks)
    {
        Arch = arch;
        List<RamBank> sorted = [.. banks];
        sorted.Sort((a, b) => a.Base.CompareTo(b.Base));
        if (sorted.Count == 0)
        {
            throw new LayoutException(LayoutErrorKind.BadOption, "the machine has no RAM (give --ram SIZE or --mem BASE:SIZE)");
        }

        for (int i = 0; i < sorted.Count; i++)
        {
            RamBank b = sorted[i];
            if (b.Size == 0 || !b.Base.IsAligned(PageSize) || (b.Size & (PageSize - 1)) != 0)
            {
                throw new LayoutException(LayoutErrorKind.BadOption, $"RAM bank {b} must be a non-empty, page-aligned range");
            }

            if (i > 0 && sorted[i - 1].End > b.Base)
            {
                throw new LayoutException(LayoutErrorKind.Overlap, $"RAM banks {sorted[i - 1]} and {b} overlap");
            }
        }

        ulong limit = arch.PhysicalAddressBits() >= 64 ? ulong.MaxValue : 1UL << arch.PhysicalAddressBits();
        RamBank last = sorted[^1];
        if (last.End.Value > limit || last.End.Value < last.Base.Value)
        {
            throw new LayoutException(
                LayoutErrorKind.RamNotAddressable,
                $"RAM up to {last.End} is beyond what {arch.Name()} can address ({arch.PhysicalAddressBits()}-bit physical addresses)");
        }

        Banks = sorted;
    }

    /// <summary>A machine with one bank at the architecture's customary RAM base.</summary>
    public static Machine WithRam(KernelArch arch, ulong bytes, PhysicalAddress? at = null)
        => new(arch, [new RamBank(at ?? DefaultRamBase(arch), bytes)]);

    /// <summary>Where RAM starts when only a size is given: 0 on x86 and ARM (PHYS_OFFSET 0 as on many boards), 0x80000000 on RISC-V.</summary>
    public static PhysicalAddress DefaultRamBase(KernelArch arch) =>
        arch.Family() == ArchFamily.Riscv ? new PhysicalAddress(0x80000000) : PhysicalAddress.Zero;

    public KernelArch Arch { get; }

    public IReadOnlyList<RamBank> Banks { get; }

    public ulong TotalRam
    {
        get
        {
            ulong t = 0;
            foreach (RamBank b in Banks)
            {
                t += b.Size;
            }

            return t;
        }
    }

    /// <summary>PHYS_OFFSET: the start of the lowest bank.</summary>
    public PhysicalAddress PhysOffset => Banks[0].Base;

    public PhysicalAddress EndOfDram => Banks[^1].End;

    /// <summary>Bytes of RAM inside [start, end).</summary>
    public ulong RamBetween(ulong start, ulong end)
    {
        ulong total = 0;
        foreach (RamBank b in Banks)
        {
            ulong s = Math.Max(start, b.Base.Value);
            ulong e = Math.Min(end, b.End.Value);
            if (e > s)
            {
                total += e - s;
            }
        }

        return total;
    }
}
