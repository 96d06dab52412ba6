using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Paging.Riscv;

/// <summary>Svpbmt page-based memory type, PTE bits 62:61 (privileged spec, "Svpbmt" chapter, table "Encodings for PBMT field").</summary>
public enum RiscvPbmt : byte
{
    /// <summary>No override: the physical memory attributes of the address apply.</summary>
    Pma = 0,

    /// <summary>Non-cacheable, idempotent, weakly-ordered main memory.</summary>
    Nc = 1,

    /// <summary>Non-cacheable, non-idempotent, strongly-ordered I/O.</summary>
    Io = 2,

    /// <summary>Reserved for future standard use: a leaf with this value raises a page fault.</summary>
    Reserved = 3,
}

/// <summary>
/// RISC-V page-table entry bits and the pure encode/decode helpers shared by Sv32, Sv39, Sv48 and Sv57
/// (privileged spec, "Sv32"/"Sv39" PTE figures; Linux arch/riscv/include/asm/pgtable-bits.h).
/// An Sv32 PTE is the low 32 bits of these values.
/// </summary>
public static class RiscvPte
{
    public const ulong V = 1UL << 0;
    public const ulong R = 1UL << 1;
    public const ulong W = 1UL << 2;
    public const ulong X = 1UL << 3;
    public const ulong U = 1UL << 4;
    public const ulong G = 1UL << 5;
    public const ulong A = 1UL << 6;
    public const ulong D = 1UL << 7;

    /// <summary>R, W and X: all clear means "pointer to the next level".</summary>
    public const ulong Xwr = R | W | X;

    /// <summary>RSW, bits 9:8: ignored by hardware, free for the supervisor (Linux: _PAGE_SPECIAL, _PAGE_DEVMAP).</summary>
    public const int RswShift = 8;
    public const ulong RswMask = 3UL << RswShift;

    /// <summary>The PPN starts at bit 10 in every mode (Linux _PAGE_PFN_SHIFT).</summary>
    public const int PpnShift = 10;

    /// <summary>Sv32 PPN, PTE bits 31:10: 22 bits, a 34-bit physical address.</summary>
    public const ulong Sv32PpnMask = (1UL << 22) - 1;

    /// <summary>Sv39/48/57 PPN, PTE bits 53:10: 44 bits, a 56-bit physical address.</summary>
    public const ulong Sv64PpnMask = (1UL << 44) - 1;

    /// <summary>Bits 60:54, reserved for future standard use in Sv39/48/57: any set bit raises a page fault.</summary>
    public const ulong ReservedMask = 0x7FUL << 54;

    /// <summary>Svpbmt memory type, bits 62:61.</summary>
    public const int PbmtShift = 61;
    public const ulong PbmtMask = 3UL << PbmtShift;

    /// <summary>Svnapot: the leaf is one of a naturally aligned power-of-two run (only 64 KiB is defined).</summary>
    public const ulong N = 1UL << 63;

    /// <summary>Linux _PAGE_TABLE: a non-leaf entry carries V alone (D, A, U are reserved there).</summary>
    public const ulong LinuxPageTable = V;

    /// <summary>Linux _PAGE_KERNEL (arch/riscv/include/asm/pgtable.h): R|W|V|A|D|G = 0xE7.</summary>
    public const ulong LinuxPageKernel = R | W | V | A | D | G;

    /// <summary>Linux PAGE_KERNEL_EXEC: _PAGE_KERNEL | _PAGE_EXEC = 0xEF.</summary>
    public const ulong LinuxPageKernelExec = LinuxPageKernel | X;

    /// <summary>Linux PAGE_KERNEL_READ_EXEC (kernel text): (_PAGE_KERNEL &amp; ~_PAGE_WRITE) | _PAGE_EXEC = 0xEB.</summary>
    public const ulong LinuxPageKernelReadExec = (LinuxPageKernel & ~W) | X;

    /// <summary>Linux _PAGE_BASE for user mappings: V|A|U = 0x51 (D is set on the first write fault).</summary>
    public const ulong LinuxPageBase = V | A | U;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsValid(ulong pte) => (pte & V) != 0;

    /// <summary>A valid PTE with R or X set is a leaf (step 4 of the translation algorithm).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLeaf(ulong pte) => (pte & (R | X)) != 0;

    /// <summary>W without R (XWR 010 or 110) is reserved for future use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsReservedXwr(ulong pte) => (pte & (R | W)) == W;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RiscvPbmt Pbmt(ulong pte) => (RiscvPbmt)((pte >> PbmtShift) & 3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Rsw(ulong pte) => (int)((pte >> RswShift) & 3);

    /// <summary>The whole PPN field of <paramref name="pte"/> for a mode with the given PPN mask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ppn(ulong pte, ulong ppnMask) => (pte >> PpnShift) & ppnMask;

    /// <summary>A non-leaf PTE pointing at the table page <paramref name="tablePa"/> (Linux pfn_pgd(pfn, PAGE_TABLE)).</summary>
    public static ulong Table(ulong tablePa) => ((tablePa >> 12) << PpnShift) | V;

    /// <summary>A leaf PTE: the physical frame's PPN shifted to bit 10, with the given low flags (and N/PBMT for Sv39+).</summary>
    public static ulong Leaf(ulong pa, ulong flags) => ((pa >> 12) << PpnShift) | flags;

    /// <summary>
    /// The leaf flags for a format-neutral request: XWR from the permissions (W implies R, since W without R is
    /// reserved), U, G, and A|D always set as Linux does for kernel mappings (PAGE_KERNEL), so Svade never faults
    /// on tables Vmsplit builds. The memory type goes to PBMT when <paramref name="hasPbmt"/> (Sv39+).
    /// </summary>
    public static ulong LeafFlags(PageAttributes attributes, bool hasPbmt)
    {
        ulong flags = V | A | D;
        if (attributes.Read || attributes.Write)
        {
            flags |= R;
        }

        if (attributes.Write)
        {
            flags |= W;
        }

        if (attributes.Execute)
        {
            flags |= X;
        }

        if (attributes.User)
        {
            flags |= U;
        }

        if (attributes.Global)
        {
            flags |= G;
        }

        if (hasPbmt)
        {
            flags |= (ulong)PbmtFor(attributes.MemoryType) << PbmtShift;
        }

        return flags;
    }

    /// <summary>The nearest PBMT for a neutral memory type: write-through has no encoding and becomes NC.</summary>
    public static RiscvPbmt PbmtFor(MemoryType type) => type switch
    {
        MemoryType.Normal => RiscvPbmt.Pma,
        MemoryType.WriteThrough or MemoryType.NonCacheable => RiscvPbmt.Nc,
        _ => RiscvPbmt.Io,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MemoryType MemoryTypeOf(RiscvPbmt pbmt) => pbmt switch
    {
        RiscvPbmt.Nc => MemoryType.NonCacheable,
        RiscvPbmt.Io => MemoryType.Device,
        _ => MemoryType.Normal,
    };

    /// <summary>What a leaf's R/W/X/U bits decode to in the neutral model.</summary>
    public static PageAttributes Attributes(ulong pte, bool hasPbmt)
    {
        PagePermissions p = PagePermissions.None;
        if ((pte & R) != 0)
        {
            p |= PagePermissions.Read;
        }

        if ((pte & W) != 0)
        {
            p |= PagePermissions.Write;
        }

        if ((pte & X) != 0)
        {
            p |= PagePermissions.Execute;
        }

        MemoryType type = hasPbmt ? MemoryTypeOf(Pbmt(pte)) : MemoryType.Normal;
        return new PageAttributes(p, (pte & U) != 0, (pte & G) != 0, type);
    }

    // Rights per R/W/X/U (PTE bits 4:1). U=1: the user gets R/W/X, S-mode gets R/W (taken only with SUM, checked
    // per access) and never X; U=0: S-mode gets R/W/X, the user nothing (privileged spec, "Sv32", U-bit rules).
    private static readonly AccessRights[] s_rights = BuildRightsTable();

    private static AccessRights[] BuildRightsTable()
    {
        AccessRights[] table = new AccessRights[16];
        for (int i = 0; i < 16; i++)
        {
            bool r = (i & 1) != 0;
            bool w = (i & 2) != 0;
            bool x = (i & 4) != 0;
            bool u = (i & 8) != 0;
            AccessRights rights = AccessRights.None;
            if (u)
            {
                rights |= (r ? AccessRights.UserRead | AccessRights.KernelRead : 0)
                    | (w ? AccessRights.UserWrite | AccessRights.KernelWrite : 0)
                    | (x ? AccessRights.UserExecute : 0);
            }
            else
            {
                rights |= (r ? AccessRights.KernelRead : 0) | (w ? AccessRights.KernelWrite : 0) | (x ? AccessRights.KernelExecute : 0);
            }

            table[i] = rights;
        }

        return table;
    }

    /// <summary>What a leaf grants, before SUM and MXR (which <see cref="RiscvPageTableFormat.CheckAccess"/> applies).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights Rights(ulong pte) => s_rights[(int)((pte >> 1) & 0xF)];
}
