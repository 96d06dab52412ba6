using System.Runtime.CompilerServices;
using System.Text;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// What the two text trace readers (strace, lackey) share: the line source, the byte count of the raw file, the
/// names of the system calls met, disposal, and the one-line error naming FILE:LINE and the text.
/// </summary>
public abstract class LineTraceReader
{
    private readonly CountingStream _raw;
    private readonly string _file;

    protected LineTraceReader(Stream data, CountingStream raw, string file)
    {
        Lines = new LineReader(data, file);
        _raw = raw;
        _file = file;
    }

    protected LineReader Lines { get; }

    public SyscallNames Names { get; } = new();

    public long BytesRead => _raw.Count;

    public void Dispose() => Lines.Dispose();

    [MethodImpl(MethodImplOptions.NoInlining)]
    protected void Malformed(ReadOnlySpan<byte> text, string what) =>
        throw new WorkloadException($"{_file}:{Lines.LineNumber}: {what}: {InputText.Quote(Encoding.Latin1.GetString(text[..Math.Min(text.Length, 80)]))}");
}
