using System.Runtime.CompilerServices;
using System.Text;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// What the two text trace readers (strace, lackey) share: the line source, the format, the byte count of the raw
/// file, the names of the system calls met, the calls started and not yet finished (<typeparamref name="TPending"/>
/// is what a reader keeps of each, by process or thread), disposal, the read of each line, and the one-line error
/// naming FILE:LINE and the text.
/// </summary>
public abstract class LineTraceReader<TPending>
{
    private readonly CountingStream _raw;
    private readonly string _file;

    protected LineTraceReader(Stream data, CountingStream raw, string file, TraceFormat format)
    {
        Lines = new LineReader(data, file);
        _raw = raw;
        _file = file;
        Format = format;
    }

    protected LineReader Lines { get; }

    /// <summary>The first half of each call split by another's line, kept until it finishes.</summary>
    protected Dictionary<int, TPending> Pending { get; } = new();

    public TraceFormat Format { get; }

    public SyscallNames Names { get; } = new();

    public long BytesRead => _raw.Count;

    /// <summary>Calls started and never finished by the end of the trace (a process killed inside a call).</summary>
    public int UnfinishedAtEnd => Pending.Count;

    public void Dispose() => Lines.Dispose();

    /// <summary>The next line into <paramref name="line"/>, its number into the record; false at the end of the trace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected bool ReadLine(ref TraceRecord r, out ReadOnlySpan<byte> line)
    {
        if (!Lines.TryReadLine(out line))
        {
            return false;
        }

        r.Line = Lines.LineNumber;
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    protected void Malformed(ReadOnlySpan<byte> text, string what) =>
        throw new WorkloadException($"{_file}:{Lines.LineNumber}: {what}: {InputText.Quote(Encoding.Latin1.GetString(text[..Math.Min(text.Length, 80)]))}");

    /// <summary>A line naming a system call beyond the <see cref="SyscallNames.MaxTraceNames"/> distinct names a trace may bring.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    protected void TooManyNames(ReadOnlySpan<byte> text) =>
        Malformed(text, $"a system call name beyond the {SyscallNames.MaxTraceNames} distinct ones a trace may name (Linux has fewer than 500): not a real program's trace");
}
