using Vmsplit.Hardware;

namespace Vmsplit.Kernel.Uaccess;

/// <summary>
/// Two strategies composed by size: a section of fewer than <see cref="ThresholdBytes"/> bytes runs the small
/// one (a TTBR0 switch), a larger one the large one (pinned pages); chosen at each uaccess section's start.
/// </summary>
public sealed class HybridUserAccess : IUserPageAccess
{
    private readonly IUserPageAccess _small;
    private readonly IUserPageAccess _large;
    private IUserPageAccess _active;

    public HybridUserAccess(IUserPageAccess small, IUserPageAccess large, ulong thresholdBytes)
    {
        _small = small;
        _large = large;
        _active = large;
        ThresholdBytes = thresholdBytes;
    }

    public ulong ThresholdBytes { get; }

    public void Begin(ulong totalBytes, bool write)
    {
        _active = totalBytes < ThresholdBytes ? _small : _large;
        _active.Begin(totalBytes, write);
    }

    public void End() => _active.End();

    public void CopyRoutine(ulong bytes, bool toUser) => (bytes < ThresholdBytes ? _small : _large).CopyRoutine(bytes, toUser);

    public bool Read(VirtualAddress source, Span<byte> destination) => _active.Read(source, destination);

    public bool Write(VirtualAddress destination, ReadOnlySpan<byte> source) => _active.Write(destination, source);
}
