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

    // TTBR0 with TTBCR.N = n indexes VA[31-n:20]: 4096 >> n first-level entries (B3.5.4); TTBR1 always 4096.
    private static readonly PageTableGeometry[] s_geometries = CreateGeometries();

    private ArmShortFormat()
    {
    }

    public override MmuFormat Id => MmuFormat.ArmShort;

    public override string Name => "arm-short";

    public override int VirtualAddressBits => 32;

    /// <summary>Sections and pages hold 32-bit PAs; supersections alone reach 40 bits (see <see cref="CanMapFrame"/>).</summary>
    public override int PhysicalAddressBits => 32;

    public override PageTableGeometry Geometry => s_geometries[0];

    public override string RootRegisterName => "TTBR0";

    /// <summary>The tree TTBR0 walks when TTBCR.N = <paramref name="n"/> (its first-level table is 16 KiB &gt;&gt; N); N = 0 is also TTBR1's tree.</summary>
    public static PageTableGeometry GeometryForTtbr0(int n) => s_geometries[n];

    private static PageTableGeometry[] CreateGeometries()
    {
        PageTableGeometry[] g = new PageTableGeometry[8];
        PageTableLevel l2 = new(2, "L2", 12, 8, 4, [ArmShortDescriptor.LargePageSize, ArmShortDescriptor.SmallPageSize], allowsTable: false);
        for (int n = 0; n < 8; n++)
        {
            ulong[] l1Leaves = 12 - n >= 4 ? [ArmShortDescriptor.SupersectionSize, ArmShortDescriptor.SectionSize] : [ArmShortDescriptor.SectionSize];
            g[n] = new PageTableGeometry(new PageTableLevel(1, "L1", 20, 12 - n, 4, l1Leaves, allowsTable: true), l2);
        }

        return g;
    }

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

    /// <summary>
    /// Linux without CONFIG_CPU_SW_DOMAIN_PAN: TTBR0 = TTBR1 = the tree, TTBCR.N = 0, DACR 0x55 (kernel, user, io
    /// and vectors domains client), ASID 0. Domain PAN is <see cref="ArmShortDescriptor.LinuxDacr"/>(false).
    /// </summary>
    public override MmuRegisters CreateRegisters(PhysicalAddress root) => Registers(root, root, 0, ArmShortDescriptor.LinuxDacr(true));

    public override WalkRoot SelectRoot(in MmuRegisters registers, VirtualAddress va)
    {
        if (va.Value > uint.MaxValue)
        {
            return new WalkRoot(default, s_geometries[0], "TTBR0", registers.Ttbr0, FaultKind.Translation);
        }

        uint ttbcr = (uint)registers.Ttbcr;
        int n = (int)(ttbcr & TtbcrNMask);
        if (UsesTtbr1(ttbcr, (uint)va.Value))
        {
            return new WalkRoot(new PhysicalAddress(registers.Ttbr1 & 0xFFFF_C000), s_geometries[0], "TTBR1", registers.Ttbr1, (ttbcr & TtbcrPd1) != 0 ? FaultKind.Translation : FaultKind.None);
        }

        return new WalkRoot(new PhysicalAddress(registers.Ttbr0 & (0xFFFF_FFFFu << (14 - n))), s_geometries[n], "TTBR0", registers.Ttbr0, (ttbcr & TtbcrPd0) != 0 ? FaultKind.Translation : FaultKind.None);
    }

    public override DecodedEntry Decode(in PageTableLevel level, ulong descriptor, in MmuRegisters registers)
    {
        uint d = (uint)descriptor;
        if (level.Number == 1)
        {
            switch (ArmShortDescriptor.KindL1(d))
            {
                case ArmShortKind.Fault:
                    return DecodedEntry.Invalid;
                case ArmShortKind.PageTable:
                    AccessRights mask = (d & ArmShortDescriptor.PageTablePxn) != 0 ? DecodedEntry.AllRights & ~AccessRights.KernelExecute : DecodedEntry.AllRights;
                    return DecodedEntry.Table(new PhysicalAddress(d & ArmShortDescriptor.PageTableBaseMask), mask, domain: (byte)ArmShortDescriptor.Domain(d));
                default:
                    bool super = (d & ArmShortDescriptor.SectionSupersection) != 0;
                    ArmShortAttributes s = ArmShortDescriptor.SectionAttributes(d);
                    return Leaf(new PhysicalAddress(ArmShortDescriptor.SectionBase(d)), super ? ArmShortDescriptor.SupersectionSize : ArmShortDescriptor.SectionSize, s, super ? 0 : ArmShortDescriptor.Domain(d));
            }
        }

        ArmShortKind kind = ArmShortDescriptor.KindL2(d);
        if (kind == ArmShortKind.Fault)
        {
            return DecodedEntry.Invalid;
        }

        bool large = kind == ArmShortKind.LargePage;
        ArmShortAttributes a = ArmShortDescriptor.PageAttributesOf(d, pxnTable: false);
        return Leaf(new PhysicalAddress(d & (large ? ArmShortDescriptor.LargeBaseMask : ArmShortDescriptor.SmallBaseMask)), large ? ArmShortDescriptor.LargePageSize : ArmShortDescriptor.SmallPageSize, a, 0);
    }

    private static DecodedEntry Leaf(PhysicalAddress frame, ulong size, ArmShortAttributes a, int domain)
    {
        AccessRights rights = ArmShortDescriptor.Rights(a.Ap, a.Xn, a.Pxn);
        return DecodedEntry.Leaf(frame, size, rights, (rights & AccessRights.UserRead) != 0, !a.NotGlobal, ArmShortDescriptor.DecodeMemoryType(a.Tex, a.C, a.B), (byte)domain);
    }

    /// <summary>Linux's domains (arch/arm/mm/mmu.c mem_types): user pages in DOMAIN_USER, device memory in DOMAIN_IO, the rest DOMAIN_KERNEL.</summary>
    public static int DomainFor(PageAttributes attributes) =>
        attributes.User ? ArmShortDescriptor.LinuxDomainUser
        : attributes.MemoryType is MemoryType.Device or MemoryType.StronglyOrdered ? ArmShortDescriptor.LinuxDomainIo
        : ArmShortDescriptor.LinuxDomainKernel;

    /// <summary>
    /// A first-level page-table descriptor in the domain of the mappings it will hold; user tables get PXNTABLE,
    /// as Linux's pmd_populate does on PXN-capable cores (small pages have no PXN bit of their own).
    /// A 1 MiB region has one domain: pages mapped later under the table keep the domain it was created with.
    /// </summary>
    public override ulong EncodeTable(in PageTableLevel level, PhysicalAddress table, PageAttributes attributes) =>
        ArmShortDescriptor.PageTable(table, DomainFor(attributes), pxnTable: attributes.User);

    public override ulong EncodeLeaf(in PageTableLevel level, PhysicalAddress frame, ulong size, PageAttributes attributes) =>
        EncodeLeaf(level.Number, frame, size, ArmShortAttributes.FromNeutral(attributes), DomainFor(attributes));

    private static ulong EncodeLeaf(int level, PhysicalAddress frame, ulong size, ArmShortAttributes a, int domain) => (level, size) switch
    {
        (1, ArmShortDescriptor.SupersectionSize) => ArmShortDescriptor.Supersection(frame, a),
        (1, ArmShortDescriptor.SectionSize) => ArmShortDescriptor.Section(frame, a, domain),
        (2, ArmShortDescriptor.LargePageSize) => ArmShortDescriptor.LargePage(frame, a),
        (2, ArmShortDescriptor.SmallPageSize) => ArmShortDescriptor.SmallPage(frame, a),
        _ => throw new ArgumentOutOfRangeException(nameof(size), $"arm-short has no {ByteSize.Format(size)} leaf at level {level}"),
    };

    /// <summary>Moves AP, TEX/C/B, S, nG and XN between section and page layouts unchanged; PXN survives only in sections.</summary>
    public override ulong ConvertLeaf(in PageTableLevel from, ulong descriptor, in PageTableLevel to, PhysicalAddress frame, ulong size, in MmuRegisters registers)
    {
        uint d = (uint)descriptor;
        bool fromSection = from.Number == 1;
        ArmShortAttributes a = fromSection ? ArmShortDescriptor.SectionAttributes(d) : ArmShortDescriptor.PageAttributesOf(d, pxnTable: false);
        int domain = fromSection && (d & ArmShortDescriptor.SectionSupersection) == 0
            ? ArmShortDescriptor.Domain(d)
            : DomainFor(Decode(from, descriptor, registers).Attributes);
        return EncodeLeaf(to.Number, frame, size, a, domain);
    }

    /// <summary>A kernel-executable page going under a user table (PXNTABLE set) needs PXNTABLE cleared.</summary>
    public override ulong MergeTable(in PageTableLevel level, ulong descriptor, PageAttributes attributes) =>
        !attributes.User && attributes.Execute ? descriptor & ~(ulong)ArmShortDescriptor.PageTablePxn : descriptor;

    /// <summary>
    /// 32-bit PAs everywhere except supersections, whose PA[39:32] lives in bits 23:20 and 8:5: a range above
    /// 4 GiB is mappable only as whole 16 MiB supersections.
    /// </summary>
    public override bool CanMapFrame(in PageTableLevel level, PhysicalAddress frame, ulong size)
    {
        ulong last = frame.Value + size - 1;
        if (size == 0 || last < frame.Value)
        {
            return false;
        }

        if (last >> 32 == 0)
        {
            return true;
        }

        bool supersections = frame.IsAligned(ArmShortDescriptor.SupersectionSize) && size % ArmShortDescriptor.SupersectionSize == 0;
        return last <= ArmShortDescriptor.SupersectionMaxAddress && supersections && (level.Number == 2 || size == ArmShortDescriptor.SupersectionSize);
    }

    public override IReadOnlyList<DescriptorField> Describe(int level, ulong descriptor) => ArmShortDescriptor.Describe((uint)descriptor, level);

    /// <summary>True when TTBCR.N sends <paramref name="va"/> to TTBR1: "the top N bits of the VA are not all zero".</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool UsesTtbr1(uint ttbcr, uint va)
    {
        int n = (int)(ttbcr & TtbcrNMask);
        return n != 0 && (va >> (32 - n)) != 0;
    }

    /// <summary>The framework's generic walk over <see cref="SelectRoot"/> and <see cref="Decode"/>, kept to cross-check the hand-written one.</summary>
    internal WalkResult GenericWalk(PhysicalMemory memory, in MmuRegisters registers, VirtualAddress va, AccessType access, Privilege privilege, WalkTrace? trace = null) =>
        base.Walk(memory, registers, va, access, privilege, trace);

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
                trace.RootValue = registers.Ttbr1;
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
                trace.RootValue = registers.Ttbr0;
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
        ArmShortKind.Fault => "invalid",
        ArmShortKind.PageTable => "page table",
        ArmShortKind.Section => "section",
        ArmShortKind.Supersection => "supersection",
        ArmShortKind.LargePage => "large page",
        _ => "small page",
    };
}
