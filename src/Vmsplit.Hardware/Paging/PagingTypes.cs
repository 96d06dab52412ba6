using System.Runtime.CompilerServices;

namespace Vmsplit.Hardware.Paging;

/// <summary>What an access wants to do.</summary>
public enum AccessType : byte
{
    Read,
    Write,
    Execute,
}

/// <summary>The privilege the access is made at (EL0/EL1, CPL3/CPL0, U/S-mode).</summary>
public enum Privilege : byte
{
    User,
    Kernel,
}

/// <summary>Format-neutral memory type; formats map it to TEX/C/B, AttrIndx/MAIR, PAT/PCD/PWT or PBMT.</summary>
public enum MemoryType : byte
{
    /// <summary>Normal memory, write-back cacheable.</summary>
    Normal,

    /// <summary>Normal memory, write-through.</summary>
    WriteThrough,

    /// <summary>Normal memory, not cacheable.</summary>
    NonCacheable,

    /// <summary>Device memory (I/O).</summary>
    Device,

    /// <summary>Strongly-ordered (ARMv7) / UC (x86).</summary>
    StronglyOrdered,
}

/// <summary>The permissions a mapping request asks for.</summary>
[Flags]
public enum PagePermissions : byte
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
}

/// <summary>
/// Format-neutral attributes of a mapping: what is asked of <c>map</c> and what a decoded descriptor
/// reports. Each format encodes the nearest it can express; <see cref="AccessRights"/> is what it
/// actually grants.
/// </summary>
public readonly record struct PageAttributes(PagePermissions Permissions, bool User, bool Global, MemoryType MemoryType = MemoryType.Normal)
{
    public bool Read => (Permissions & PagePermissions.Read) != 0;

    public bool Write => (Permissions & PagePermissions.Write) != 0;

    public bool Execute => (Permissions & PagePermissions.Execute) != 0;

    public static PageAttributes KernelData => new(PagePermissions.Read | PagePermissions.Write, User: false, Global: true);

    public static PageAttributes KernelText => new(PagePermissions.Read | PagePermissions.Execute, User: false, Global: true);

    public static PageAttributes UserData => new(PagePermissions.Read | PagePermissions.Write, User: true, Global: false);

    public static PageAttributes UserText => new(PagePermissions.Read | PagePermissions.Execute, User: true, Global: false);

    /// <summary>Parses a comma list of <c>r</c>, <c>w</c>, <c>x</c>, <c>user</c>, <c>global</c> (and memory types <c>device</c>, <c>nc</c>, <c>wt</c>, <c>so</c>).</summary>
    public static bool TryParse(string text, out PageAttributes attributes, out string error)
    {
        PagePermissions p = PagePermissions.None;
        bool user = false;
        bool global = false;
        MemoryType type = MemoryType.Normal;
        error = "";
        attributes = default;
        foreach (string raw in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            switch (raw.ToLowerInvariant())
            {
                case "r":
                    p |= PagePermissions.Read;
                    break;
                case "w":
                    p |= PagePermissions.Write;
                    break;
                case "x":
                    p |= PagePermissions.Execute;
                    break;
                case "rw":
                    p |= PagePermissions.Read | PagePermissions.Write;
                    break;
                case "rx":
                    p |= PagePermissions.Read | PagePermissions.Execute;
                    break;
                case "rwx":
                    p |= PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute;
                    break;
                case "user" or "u":
                    user = true;
                    break;
                case "global" or "g":
                    global = true;
                    break;
                case "device":
                    type = MemoryType.Device;
                    break;
                case "nc":
                    type = MemoryType.NonCacheable;
                    break;
                case "wt":
                    type = MemoryType.WriteThrough;
                    break;
                case "so":
                    type = MemoryType.StronglyOrdered;
                    break;
                default:
                    error = $"unknown permission {Input.InputText.Quote(raw)} (use r, w, x, user, global)";
                    return false;
            }
        }

        attributes = new PageAttributes(p, user, global, type);
        return true;
    }

    public override string ToString()
    {
        string s = (Read ? "r" : "-") + (Write ? "w" : "-") + (Execute ? "x" : "-");
        s += User ? " user" : " kernel";
        if (Global)
        {
            s += " global";
        }

        if (MemoryType != MemoryType.Normal)
        {
            s += " " + MemoryType.ToString().ToLowerInvariant();
        }

        return s;
    }
}

/// <summary>
/// What a translation actually grants, per privilege, before the register-dependent checks (PAN, SMAP,
/// SMEP, SUM, domains) are applied. A TLB entry caches this with the translation.
/// </summary>
[Flags]
public enum AccessRights : byte
{
    None = 0,
    KernelRead = 1,
    KernelWrite = 2,
    KernelExecute = 4,
    UserRead = 8,
    UserWrite = 16,
    UserExecute = 32,
}

public static class AccessRightsExtensions
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights For(Privilege privilege, AccessType access) =>
        (AccessRights)(1 << ((int)access + (privilege == Privilege.User ? 3 : 0)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Allows(this AccessRights rights, Privilege privilege, AccessType access) =>
        (rights & For(privilege, access)) != 0;

    public static string Describe(this AccessRights r)
    {
        static string Part(bool rd, bool wr, bool ex) => (rd ? "r" : "-") + (wr ? "w" : "-") + (ex ? "x" : "-");
        return "kernel " + Part((r & AccessRights.KernelRead) != 0, (r & AccessRights.KernelWrite) != 0, (r & AccessRights.KernelExecute) != 0)
            + " user " + Part((r & AccessRights.UserRead) != 0, (r & AccessRights.UserWrite) != 0, (r & AccessRights.UserExecute) != 0);
    }
}

/// <summary>The architecture's answer to a translation that failed.</summary>
public enum FaultKind : byte
{
    None,

    /// <summary>No valid descriptor at some level (ARM translation fault, x86 #PF with P=0, RISC-V page fault on V=0).</summary>
    Translation,

    /// <summary>A valid mapping that does not allow this access at this privilege (including PXN/NX/XN, PAN, SMAP, SMEP, SUM).</summary>
    Permission,

    /// <summary>ARM: the descriptor's AF bit is clear (hardware access-flag management off); RISC-V Svade: A=0, or D=0 on a store.</summary>
    AccessFlag,

    /// <summary>ARMv7 short-descriptor: the DACR marks the domain "no access".</summary>
    Domain,

    /// <summary>x86-64 and RISC-V: the upper address bits are not a sign extension (ARM reports a VA outside both TTBR ranges as a translation fault instead).</summary>
    NonCanonical,

    /// <summary>x86: a reserved bit is set (#PF with RSVD); RISC-V: a reserved encoding (W without R, reserved bits).</summary>
    ReservedBit,

    /// <summary>RISC-V: a superpage whose low PPN fields are not zero.</summary>
    MisalignedSuperpage,

    /// <summary>ARM: the output address exceeds the configured physical address size; RISC-V: a PTE read outside the modelled bus (the access fault of step 2).</summary>
    AddressSize,
}

/// <summary>Every MMU format Vmsplit executes.</summary>
public enum MmuFormat : byte
{
    ArmShort,
    ArmLpae,
    AArch64Va39,
    AArch64Va48,
    X86_32,
    X86Pae,
    X86_64,
    X86_64La57,
    RiscvSv32,
    RiscvSv39,
    RiscvSv48,
    RiscvSv57,
}

/// <summary>
/// The instruction-set families whose root registers, TLB maintenance and Linux <c>arch/</c> directory
/// differ (32-bit ARM, arm64, x86, RISC-V). An MMU format belongs to exactly one.
/// </summary>
public enum ArchFamily : byte
{
    Arm32,
    Arm64,
    X86,
    Riscv,
}

public static class MmuFormatFamilies
{
    /// <summary>The family whose CPUs walk this format: the one place that groups the formats.</summary>
    public static ArchFamily Family(this MmuFormat format) => format switch
    {
        MmuFormat.ArmShort or MmuFormat.ArmLpae => ArchFamily.Arm32,
        MmuFormat.AArch64Va39 or MmuFormat.AArch64Va48 => ArchFamily.Arm64,
        MmuFormat.X86_32 or MmuFormat.X86Pae or MmuFormat.X86_64 or MmuFormat.X86_64La57 => ArchFamily.X86,
        _ => ArchFamily.Riscv,
    };
}

/// <summary>CR4 bits that change translation (Intel SDM Vol. 3A §2.5).</summary>
[Flags]
public enum Cr4Flags : uint
{
    None = 0,
    Pse = 1 << 4,
    Pae = 1 << 5,
    Pge = 1 << 7,
    Pcide = 1 << 17,
    Smep = 1 << 20,
    Smap = 1 << 21,
    La57 = 1 << 12,
}

/// <summary>
/// The root and control registers the walker reads. One struct for every family so that a CPU carries
/// one value; fields a format does not use are ignored by it.
/// </summary>
public struct MmuRegisters
{
    // ARM (ARMv7 short/LPAE and AArch64).
    public ulong Ttbr0;
    public ulong Ttbr1;

    /// <summary>ARMv7 TTBCR (N, T0SZ, T1SZ, EPD0/EPD1, EAE) or the AArch64 TCR_EL1 fields the walker needs.</summary>
    public ulong Ttbcr;

    /// <summary>ARMv7 CONTEXTIDR: PROCID and, in bits [7:0], the ASID of the short-descriptor format (ARM ARM B4.1.36).</summary>
    public uint ContextIdr;

    /// <summary>ARMv7 short-descriptor domain access control register: two bits per domain.</summary>
    public uint Dacr;

    /// <summary>ARMv8.1 PSTATE.PAN: privileged access to user-accessible data faults.</summary>
    public bool Pan;

    /// <summary>ARM SCTLR.AFE/hardware AF: when false an AF=0 descriptor raises an access-flag fault.</summary>
    public bool HardwareAccessFlag;

    // x86.
    public ulong Cr3;
    public Cr4Flags Cr4;

    /// <summary>EFER.NXE: bit 63 of PAE/64-bit entries is NX rather than reserved.</summary>
    public bool Nxe;

    /// <summary>RFLAGS.AC: set by STAC, cleared by CLAC; lets supervisor data accesses reach user pages under SMAP.</summary>
    public bool Ac;

    /// <summary>CR0.WP: supervisor writes honour read-only pages (Linux always sets it).</summary>
    public bool WriteProtect;

    /// <summary>
    /// x86 PAE: the four PDPTEs the processor loaded from memory at the last MOV to CR3 (SDM §4.4.1).
    /// Walks use these copies and do not read the PDPT again; a PDPTE changed in memory takes effect at
    /// the next CR3 load (see <c>X86PageTableFormat.LoadCr3</c>).
    /// </summary>
    public ulong Pdpte0;
    public ulong Pdpte1;
    public ulong Pdpte2;
    public ulong Pdpte3;

    // RISC-V.
    public ulong Satp;

    /// <summary>sstatus.SUM: S-mode loads and stores may touch U pages.</summary>
    public bool Sum;

    /// <summary>sstatus.MXR: loads from execute-only pages succeed.</summary>
    public bool Mxr;

    /// <summary>menvcfg.PBMTE (Svpbmt): PTE bits 62:61 select a memory type; when clear they are reserved and fault.</summary>
    public bool Pbmte;

    /// <summary>menvcfg.ADUE (Svadu): the walker sets A and D itself; when clear (Svade) A=0, or D=0 on a store, faults.</summary>
    public bool Adue;
}
