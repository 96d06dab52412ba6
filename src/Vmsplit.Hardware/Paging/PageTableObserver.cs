namespace Vmsplit.Hardware.Paging;

/// <summary>
/// One descriptor write made by a page-table editor: which tree (its root), which VA range the
/// descriptor maps (for a table descriptor, the range below it), where it sits, old and new value.
/// </summary>
public readonly record struct PageTableWrite(
    PhysicalAddress Root,
    VirtualAddress Va,
    ulong Size,
    PhysicalAddress EntryAddress,
    ulong OldDescriptor,
    ulong NewDescriptor)
{
    public bool Covers(ulong va) => va >= Va.Value && va - Va.Value < Size;

    public override string ToString() =>
        $"descriptor at {EntryAddress} for {Va}..{ByteSize.Hex(Va.Value + Size - 1)} (root {Root}): {ByteSize.Hex(OldDescriptor)} -> {ByteSize.Hex(NewDescriptor)}";
}

/// <summary>
/// Told about every descriptor write of the trees it watches (the coherence checker's change log).
/// An editor with no observer pays one null test per write.
/// </summary>
public interface IPageTableObserver
{
    void DescriptorWritten(in PageTableWrite write);
}
