using System.Globalization;

namespace Vmsplit.Hardware.Paging;

/// <summary>What a descriptor is.</summary>
public enum DescriptorKind : byte
{
    /// <summary>Not valid: the walk stops with a translation fault.</summary>
    Invalid,

    /// <summary>Points to a next-level table.</summary>
    Table,

    /// <summary>Maps a page or block.</summary>
    Leaf,

    /// <summary>An encoding the architecture reserves (x86 reserved bits, RISC-V W without R, ARM short type 11).</summary>
    Reserved,
}

/// <summary>
/// A descriptor decoded by its format: its kind, the address it holds, and what it grants. For a table
/// descriptor <see cref="Rights"/> is the mask it applies to everything below (x86 U/S, R/W, NX of
/// every level; ARM APTable/PXNTable/XNTable); for a leaf it is what the leaf grants.
/// </summary>
public readonly struct DecodedEntry
{
    private DecodedEntry(DescriptorKind kind, FaultKind fault, PhysicalAddress address, ulong leafSize, AccessRights rights, bool user, bool global, MemoryType memoryType, byte domain, bool accessed = true, bool dirty = true)
    {
        Accessed = accessed;
        Dirty = dirty;
        Kind = kind;
        Fault = fault;
        Address = address;
        LeafSize = leafSize;
        Rights = rights;
        User = user;
        Global = global;
        MemoryType = memoryType;
        Domain = domain;
    }

    public const AccessRights AllRights = AccessRights.KernelRead | AccessRights.KernelWrite | AccessRights.KernelExecute
        | AccessRights.UserRead | AccessRights.UserWrite | AccessRights.UserExecute;

    public DescriptorKind Kind { get; }

    /// <summary>
    /// For <see cref="DescriptorKind.Reserved"/>: the fault the walker raises (normally
    /// <see cref="FaultKind.ReservedBit"/>). For a leaf: a fault the leaf itself raises before the
    /// permission check (ARM access flag, RISC-V misaligned superpage), else <see cref="FaultKind.None"/>.
    /// </summary>
    public FaultKind Fault { get; }

    /// <summary>Next-level table address, or the physical base of the whole leaf (all repeated entries share it).</summary>
    public PhysicalAddress Address { get; }

    /// <summary>Bytes the leaf maps (0 for tables).</summary>
    public ulong LeafSize { get; }

    public AccessRights Rights { get; }

    /// <summary>Leaf: the page is user-accessible. Table: false when it denies user access below (x86 U/S=0).</summary>
    public bool User { get; }

    /// <summary>The mapping is global; the walker ORs it over the levels (RISC-V G in a pointer makes everything below global).</summary>
    public bool Global { get; }

    public MemoryType MemoryType { get; }

    /// <summary>ARMv7 short-descriptor domain carried by this descriptor (0 elsewhere).</summary>
    public byte Domain { get; }

    /// <summary>
    /// False when the descriptor's accessed flag is clear and the hardware would set it (formats that
    /// manage A/D in hardware); true otherwise. Lets the walk skip the update path when nothing changes.
    /// </summary>
    public bool Accessed { get; }

    /// <summary>Leaf: false when a write would have the hardware set the dirty flag.</summary>
    public bool Dirty { get; }

    public bool IsValid => Kind is DescriptorKind.Table or DescriptorKind.Leaf;

    /// <summary>The format-neutral attributes of a leaf: permissions of the privilege that owns the page.</summary>
    public PageAttributes Attributes
    {
        get
        {
            int shift = User ? 3 : 0;
            PagePermissions p = (PagePermissions)(((int)Rights >> shift) & 7);
            return new PageAttributes(p, User, Global, MemoryType);
        }
    }

    public static DecodedEntry Invalid => default;

    public static DecodedEntry ReservedEncoding(FaultKind fault = FaultKind.ReservedBit) =>
        new(DescriptorKind.Reserved, fault, default, 0, AccessRights.None, false, false, MemoryType.Normal, 0);

    public static DecodedEntry Table(PhysicalAddress table, AccessRights mask = AllRights, bool user = true, bool global = false, byte domain = 0, bool accessed = true) =>
        new(DescriptorKind.Table, FaultKind.None, table, 0, mask, user, global, MemoryType.Normal, domain, accessed);

    public static DecodedEntry Leaf(PhysicalAddress frame, ulong size, AccessRights rights, bool user, bool global, MemoryType memoryType, byte domain = 0, FaultKind fault = FaultKind.None, bool accessed = true, bool dirty = true) =>
        new(DescriptorKind.Leaf, fault, frame, size, rights, user, global, memoryType, domain, accessed, dirty);

    public static string KindName(DescriptorKind kind) => kind switch
    {
        DescriptorKind.Invalid => "invalid",
        DescriptorKind.Table => "table",
        DescriptorKind.Leaf => "leaf",
        _ => "reserved",
    };
}

/// <summary>One named field of a descriptor as the architecture manual names it (x86 "RW", ARM "APX", RISC-V "PPN").</summary>
public readonly record struct DescriptorField(string Name, ulong Value, bool IsAddress = false)
{
    public override string ToString() =>
        Name + "=" + (IsAddress ? ByteSize.Hex(Value) : Value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Joins fields as "P=1 RW=1 US=0 … PFN=0x1234".</summary>
    public static string Join(IReadOnlyList<DescriptorField> fields)
    {
        string[] parts = new string[fields.Count];
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = fields[i].ToString();
        }

        return string.Join(' ', parts);
    }
}
