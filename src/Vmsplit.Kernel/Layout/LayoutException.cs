namespace Vmsplit.Kernel.Layout;

/// <summary>Why a configuration cannot be laid out.</summary>
public enum LayoutErrorKind
{
    /// <summary>An option value that makes no sense on its own (unknown split, bad version, ...).</summary>
    BadOption,

    /// <summary>Two options that cannot hold together (3G_OPT with LPAE, 4g4g without LPAE, ...).</summary>
    Conflict,

    /// <summary>vmalloc= asks for more than the split leaves.</summary>
    VmallocTooLarge,

    /// <summary>Two regions of the computed layout overlap.</summary>
    Overlap,

    /// <summary>RAM lies beyond what the format's descriptors can address.</summary>
    RamNotAddressable,
}

/// <summary>An impossible configuration; the message is one line naming the conflict.</summary>
public sealed class LayoutException(LayoutErrorKind kind, string message) : Exception(message)
{
    public LayoutErrorKind Kind { get; } = kind;
}
