using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Memory;

namespace Vmsplit.Hardware.Paging.Arm;

/// <summary>
/// ARMv7-A short-descriptor translation (VMSAv7, ARM DDI 0406C B3.5): two levels of 32-bit descriptors,
/// sections, supersections, large and small pages, domains checked through the DACR, TTBCR.N splitting
/// the address space between TTBR0 and TTBR1. Models an LPAE-capable core (PXN present) with
/// SCTLR.AFE=0 (full AP[2:0] table, no access flag) and SCTLR.TRE=0 (TEX/C/B read directly).
/// </summary>
public sealed class ArmShortFormat : PageTableFormat
{
    /// <summary>TTBCR.N occupies bits 2:0; PD0/PD1 disable walks from TTBR0/TTBR1 (B4.1.153).</summary>
    public const uint TtbcrNMask = 0b111;
    public const uint TtbcrPd0 = 1u << 4;
    public const uint TtbcrPd1 = 1u << 5;

    public static ArmShortFormat Instance { get; } = new();

    public override MmuFormat Id => MmuFormat.ArmShort;

    public override string Name => "arm-short";

    public override int VirtualAddressBits => 32;

    /// <summary>Supersections reach 40 bits; sections and pages 32.</summary>
    public override int PhysicalAddressBits => 40;

    /// <summary>TTBCR value: N (0..7) and the walk-disable bits.</summary>
    public static uint Ttbcr(int n, bool pd0 = false, bool pd1 = false)
    {
        if ((uint)n > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(n), $"TTBCR.N {n} is not 0..7");
        }

        return (uint)n | (pd0 ? TtbcrPd0 : 0) | (pd1 ? TtbcrPd1 : 0);
    }

    /// <summary>
    /// CONTEXTIDR: with short descriptors the ASID is CONTEXTIDR[7:0] (PROCID in bits 31:8), not a TTBR field
    /// (ARM DDI 0406C B4.1.36); Linux writes the ASID there in cpu_v7_switch_mm (proc-v7-2level.S).
    /// </summary>
    public static uint ContextIdr(int asid, uint procId = 0)
    {
        if ((uint)asid > 0xFF)
        {
            throw new ArgumentOutOfRangeException(nameof(asid), $"short-descriptor ASID {asid} does not fit CONTEXTIDR[7:0]");
        }

        return (procId << 8) | (uint)asid;
    }

    /// <summary>The ASID the TLB tags new entries with: CONTEXTIDR[7:0].</summary>
    public static int CurrentAsid(in MmuRegisters registers) => (int)(registers.ContextIdr & 0xFF);

    /// <summary>
    /// Registers for a short-descriptor MMU: TTBR0/TTBR1 hold the first-level table bases (TTBR0's table is
    /// 16 KiB &gt;&gt; N), TTBCR.N the split, the DACR the domain rights and CONTEXTIDR the ASID.
    /// </summary>
    public static MmuRegisters Registers(PhysicalAddress ttbr0, PhysicalAddress ttbr1, int n, uint dacr, int asid = 0)
    {
        if (ttbr0.Value > uint.MaxValue || ttbr1.Value > uint.MaxValue || !ttbr0.IsAligned(ArmShortDescriptor.L1TableBytes >> n) || !ttbr1.IsAligned(ArmShortDescriptor.L1TableBytes))
        {
            throw new ArgumentOutOfRangeException(nameof(ttbr0), "short-descriptor TTBRs must be 32-bit and aligned to their table size (TTBR1 16 KiB, TTBR0 16 KiB >> N)");
        }

        return new MmuRegisters
        {
            Ttbr0 = ttbr0.Value,
            Ttbr1 = ttbr1.Value,
            Ttbcr = Ttbcr(n),
            Dacr = dacr,
            ContextIdr = ContextIdr(asid),
        };
    }

    /// <summary>True when TTBCR.N sends <paramref name="va"/> to TTBR1: "the top N bits of the VA are not all zero".</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool UsesTtbr1(uint ttbcr, uint va)
    {
        int n = (int)(ttbcr & TtbcrNMask);
        return n != 0 && (va >> (32 - n)) != 0;
    }

    public override WalkResult Walk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null)
    {
        if (va.Value > uint.MaxValue)
        {
            return WalkResult.Faulted(FaultKind.Translation, 1, 0); // no such address on a 32-bit core
        }

        uint v = (uint)va.Value;
        uint ttbcr = (uint)registers.Ttbcr;
        int n = (int)(ttbcr & TtbcrNMask);
        ulong l1Base;
        if (UsesTtbr1(ttbcr, v))
        {
            if (trace is not null)
            {
                trace.Root = "TTBR1";
            }

            if ((ttbcr & TtbcrPd1) != 0)
            {
                return WalkResult.Faulted(FaultKind.Translation, 1, 0); // "section translation fault" when PD1 disables the walk
            }

            l1Base = registers.Ttbr1 & 0xFFFF_C000;
        }
        else
        {
            if (trace is not null)
            {
                trace.Root = "TTBR0";
            }

            if ((ttbcr & TtbcrPd0) != 0)
            {
                return WalkResult.Faulted(FaultKind.Translation, 1, 0);
            }

            l1Base = registers.Ttbr0 & (0xFFFF_FFFFu << (14 - n)); // TTBR0 base is bits 31:14-N
        }

        int l1Index = (int)(v >> 20);
        PhysicalAddress l1Address = new(l1Base + ((ulong)l1Index << 2));
        uint l1 = memory.ReadUInt32(l1Address);
        ArmShortKind kind = ArmShortDescriptor.KindL1(l1);
        trace?.Add(new WalkStep(1, new PhysicalAddress(l1Base), l1Index, l1, KindName(kind)));
        switch (kind)
        {
            case ArmShortKind.Fault:
                return WalkResult.Faulted(FaultKind.Translation, 1, 1, l1);

            case ArmShortKind.Section:
            case ArmShortKind.Supersection:
            {
                bool super = kind == ArmShortKind.Supersection;
                ulong size = super ? ArmShortDescriptor.SupersectionSize : ArmShortDescriptor.SectionSize;
                int domain = super ? 0 : ArmShortDescriptor.Domain(l1);
                int ap = ((l1 & ArmShortDescriptor.SectionApx) != 0 ? 4 : 0) | (int)((l1 >> ArmShortDescriptor.SectionApShift) & 3);
                AccessRights rights = ArmShortDescriptor.Rights(ap, (l1 & ArmShortDescriptor.SectionXn) != 0, (l1 & ArmShortDescriptor.SectionPxn) != 0);
                MemoryType type = ArmShortDescriptor.DecodeMemoryType((byte)((l1 >> ArmShortDescriptor.SectionTexShift) & 7), (l1 & ArmShortDescriptor.SectionC) != 0, (l1 & ArmShortDescriptor.SectionB) != 0);
                return Leaf(1, v, size, ArmShortDescriptor.SectionBase(l1), rights, (l1 & ArmShortDescriptor.SectionNg) == 0, type, domain, 1, l1, access, privilege, registers);
            }

            default:
            {
                int domain = ArmShortDescriptor.Domain(l1);
                bool pxnTable = (l1 & ArmShortDescriptor.PageTablePxn) != 0;
                int l2Index = (int)((v >> 12) & 0xFF);
                PhysicalAddress l2Table = new(l1 & ArmShortDescriptor.PageTableBaseMask);
                uint l2 = memory.ReadUInt32(l2Table + ((ulong)l2Index << 2));
                ArmShortKind kind2 = ArmShortDescriptor.KindL2(l2);
                trace?.Add(new WalkStep(2, l2Table, l2Index, l2, KindName(kind2)));
                if (kind2 == ArmShortKind.Fault)
                {
                    return WalkResult.Faulted(FaultKind.Translation, 2, 2, l2);
                }

                bool large = kind2 == ArmShortKind.LargePage;
                int ap = ((l2 & ArmShortDescriptor.PageApx) != 0 ? 4 : 0) | (int)((l2 >> ArmShortDescriptor.PageApShift) & 3);
                bool xn = large ? (l2 & ArmShortDescriptor.LargeXn) != 0 : (l2 & ArmShortDescriptor.SmallXn) != 0;
                AccessRights rights = ArmShortDescriptor.Rights(ap, xn, pxnTable);
                byte tex = (byte)((l2 >> (large ? ArmShortDescriptor.LargeTexShift : ArmShortDescriptor.SmallTexShift)) & 7);
                MemoryType type = ArmShortDescriptor.DecodeMemoryType(tex, (l2 & ArmShortDescriptor.PageC) != 0, (l2 & ArmShortDescriptor.PageB) != 0);
                ulong size = large ? ArmShortDescriptor.LargePageSize : ArmShortDescriptor.SmallPageSize;
                ulong frame = l2 & (large ? ArmShortDescriptor.LargeBaseMask : ArmShortDescriptor.SmallBaseMask);
                return Leaf(2, v, size, frame, rights, (l2 & ArmShortDescriptor.PageNg) == 0, type, domain, 2, l2, access, privilege, registers);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static WalkResult Leaf(int level, uint v, ulong size, ulong frame, AccessRights rights, bool global, MemoryType type, int domain, int reads, uint descriptor, AccessType access, Privilege privilege, in MmuRegisters registers)
    {
        bool user = (rights & AccessRights.UserRead) != 0;
        FaultKind fault = Check(rights, domain, access, privilege, registers.Dacr);

        // A domain or permission fault still reports the translation, as the TLB may hold it (B3.12.3).
        return new WalkResult(fault, level, new VirtualAddress(v & ~(size - 1)), new PhysicalAddress(frame), size, rights, user, global, type, (byte)domain, reads, descriptor);
    }

    public override FaultKind CheckAccess(AccessRights rights, bool user, byte domain, AccessType access, Privilege privilege, in MmuRegisters registers) =>
        Check(rights, domain, access, privilege, registers.Dacr);

    /// <summary>
    /// The DACR decides first: no access (or the reserved value) is a Domain fault, manager skips every
    /// permission check including XN (B3.7.2: XN applies in client domains), client checks AP/XN/PXN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FaultKind Check(AccessRights rights, int domain, AccessType access, Privilege privilege, uint dacr)
    {
        DomainAccess d = ArmShortDescriptor.DomainAccessOf(dacr, domain);
        if (d == DomainAccess.Manager)
        {
            return FaultKind.None;
        }

        if (d != DomainAccess.Client)
        {
            return FaultKind.Domain;
        }

        return rights.Allows(privilege, access) ? FaultKind.None : FaultKind.Permission;
    }

    private static string KindName(ArmShortKind kind) => kind switch
    {
        ArmShortKind.Fault => "fault",
        ArmShortKind.PageTable => "page table",
        ArmShortKind.Section => "section",
        ArmShortKind.Supersection => "supersection",
        ArmShortKind.LargePage => "large page",
        _ => "small page",
    };
}
