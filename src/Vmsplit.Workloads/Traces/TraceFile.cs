using System.IO.Compression;
using System.Text;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// System call names met in a trace, each given a small id on first sight, so that records carry an int and
/// the replay keeps its per-call tables in arrays. Looking a name up allocates nothing once it is known.
/// </summary>
public sealed class SyscallNames
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<string> _names = new();

    public SyscallNames()
    {
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// The most distinct names a trace may bring (Linux has fewer than 500 system calls on any architecture): a table
    /// that grew with every line of a hostile trace would make the replay's memory grow with the trace's length.
    /// </summary>
    public const int MaxTraceNames = 4096;

    public int Count => _names.Count;

    public string this[int id] => _names[id];

    // a direct-mapped cache of names as bytes, in front of the dictionary: a trace's few names hit it every line
    private readonly byte[]?[] _recentBytes = new byte[]?[64];
    private readonly int[] _recentIds = new int[64];

    /// <summary>The id of an ASCII name (at most 64 bytes are kept); -1 for a new name when the table holds <see cref="MaxTraceNames"/> already.</summary>
    public int Intern(ReadOnlySpan<byte> ascii)
    {
        if (ascii.Length > 64)
        {
            ascii = ascii[..64];
        }

        int slot = ascii.IsEmpty ? 0 : ((ascii.Length * 7) + ascii[0] + (ascii[^1] * 3) + ascii[ascii.Length >> 1]) & 63;
        if (_recentBytes[slot] is byte[] known && ascii.SequenceEqual(known))
        {
            return _recentIds[slot];
        }

        int id = InternChars(ascii);
        if (id < 0)
        {
            return id;
        }

        _recentBytes[slot] = ascii.ToArray();
        _recentIds[slot] = id;
        return id;
    }

    private int InternChars(ReadOnlySpan<byte> ascii)
    {
        Span<char> chars = stackalloc char[Math.Min(ascii.Length, 64)];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = (char)ascii[i];
        }

        if (_names.Count >= MaxTraceNames && !_lookup.ContainsKey((ReadOnlySpan<char>)chars))
        {
            return -1;
        }

        return Intern((ReadOnlySpan<char>)chars);
    }

    public int Intern(ReadOnlySpan<char> name)
    {
        if (_lookup.TryGetValue(name, out int id))
        {
            return id;
        }

        string s = name.ToString();
        id = _names.Count;
        _names.Add(s);
        _ids.Add(s, id);
        return id;
    }
}

/// <summary>
/// Lines of a text stream as byte spans, read through one reusable buffer: no string per line, constant
/// memory whatever the file's length (a line may be at most <see cref="MaxLine"/> bytes).
/// </summary>
/// <summary>A test of one line of a trace.</summary>
public delegate bool LineCheck(ReadOnlySpan<byte> line);

public sealed class LineReader : IDisposable
{
    /// <summary>The longest line accepted (strace -s with long strings makes long lines).</summary>
    public const int MaxLine = 16 << 20;

    private readonly Stream _stream;
    private readonly string _file;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;

    public LineReader(Stream stream, string file, int bufferBytes = 1 << 16)
    {
        _stream = stream;
        _file = file;
        _buffer = new byte[bufferBytes];
    }

    /// <summary>The number of the line last returned (1-based).</summary>
    public long LineNumber { get; private set; }

    /// <summary>Whether a last line without its end of line is the format's own ending rather than a truncated trace.</summary>
    public LineCheck? UnterminatedLastLine { get; set; }

    /// <summary>The next line without its end of line (a trailing CR is removed); false at the end of the stream.</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        int scanFrom = _start;
        while (true)
        {
            int nl = _buffer.AsSpan(scanFrom, _end - scanFrom).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                int at = scanFrom + nl;
                int stop = at > _start && _buffer[at - 1] == (byte)'\r' ? at - 1 : at;
                line = _buffer.AsSpan(_start, stop - _start);
                _start = at + 1;
                LineNumber++;
                return true;
            }

            if (_eof)
            {
                if (_end > _start && UnterminatedLastLine?.Invoke(_buffer.AsSpan(_start, _end - _start)) == true)
                {
                    line = _buffer.AsSpan(_start, _end - _start);
                    _start = _end;
                    LineNumber++;
                    return true;
                }

                if (_end > _start)
                {
                    LineNumber++;
                    throw new WorkloadException($"{_file}:{LineNumber}: the trace is truncated: its last line has no end of line ({InputText.Quote(Encoding.Latin1.GetString(_buffer, _start, Math.Min(_end - _start, 80)))})");
                }

                line = default;
                return false;
            }

            scanFrom = _end;
            Fill();
            scanFrom -= _shift;
        }
    }

    private int _shift;

    private void Fill()
    {
        _shift = _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxLine)
            {
                throw new WorkloadException($"{_file}:{LineNumber + 1}: a line longer than {MaxLine >> 20} MiB: not a text trace");
            }

            Array.Resize(ref _buffer, Math.Min(MaxLine, _buffer.Length * 2));
        }

        int n = TraceFile.ReadSome(_stream, _buffer.AsSpan(_end), _file, LineNumber);
        if (n == 0)
        {
            _eof = true;
        }

        _end += n;
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>Opening a trace: transparent decompression by the file's magic bytes, and the format's detection.</summary>
public static class TraceFile
{
    /// <summary>The compression a trace file is stored with.</summary>
    public enum Codec : byte
    {
        None,
        Gzip,
        Xz,
        Zstd,
    }

    /// <summary>The codec of a file, from its first bytes (RFC 1952 gzip 1f 8b; xz fd 37 7a 58 5a 00; zstd frame 28 b5 2f fd).</summary>
    public static Codec CodecOf(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        {
            return Codec.Gzip;
        }

        if (head.Length >= 6 && head[..6].SequenceEqual((ReadOnlySpan<byte>)[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
        {
            return Codec.Xz;
        }

        if (head.Length >= 4 && head[..4].SequenceEqual((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd]))
        {
            return Codec.Zstd;
        }

        return Codec.None;
    }

    /// <summary>Which decoder reads an .xz trace.</summary>
    public enum XzDecoder : byte
    {
        /// <summary>The system's liblzma when it is present (<see cref="LiblzmaStream"/>), otherwise the managed one.</summary>
        System,

        /// <summary>SharpCompress's managed decoder.</summary>
        Managed,
    }

    /// <summary>
    /// A counting stream over the file and the decompressed stream over it; a compressed stream is decoded on a thread
    /// of its own ahead of the reader (<see cref="ReadAheadStream"/>) unless <paramref name="readAhead"/> is false.
    /// </summary>
    public static (Stream Data, CountingStream Raw, Codec Codec) Open(string path, XzDecoder xz = XzDecoder.System, bool readAhead = true)
    {
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new WorkloadException($"trace {InputText.Quote(path)}: cannot be read ({e.Message})");
        }

        if (Directory.Exists(path))
        {
            fs.Dispose();
            throw new WorkloadException($"trace {InputText.Quote(path)}: is a directory");
        }

        CountingStream raw = new(fs);
        Span<byte> head = stackalloc byte[6];
        int got = 0;
        try
        {
            while (got < head.Length)
            {
                int n = fs.Read(head[got..]);
                if (n == 0)
                {
                    break;
                }

                got += n;
            }

            fs.Seek(0, SeekOrigin.Begin);
        }
        catch (IOException e)
        {
            fs.Dispose();
            throw new WorkloadException($"trace {InputText.Quote(path)}: cannot be read ({e.Message})");
        }

        Codec codec = CodecOf(head[..got]);
        Stream data = codec switch
        {
            Codec.Gzip => new GZipStream(raw, CompressionMode.Decompress),
            Codec.Xz => (xz == XzDecoder.System ? LiblzmaStream.TryCreate(raw) : null) ?? (Stream)new SharpCompress.Compressors.Xz.XZStream(raw),
            Codec.Zstd => new ZstdSharp.DecompressionStream(raw),
            _ => raw,
        };
        return (codec != Codec.None && readAhead ? new ReadAheadStream(data) : data, raw, codec);
    }

    /// <summary>Reads into <paramref name="into"/>; a decompressor's failure (a truncated or corrupt stream) becomes a one-line error naming the place.</summary>
    public static int ReadSome(Stream s, Span<byte> into, string file, long afterLine)
    {
        try
        {
            return s.Read(into);
        }
        catch (Exception e) when (e is not WorkloadException and not OutOfMemoryException)
        {
            string what = e is EndOfStreamException ? "ends early" : "is corrupt (" + e.Message.Split('\n')[0] + ")";
            throw new WorkloadException($"{file}:{afterLine + 1}: the compressed trace {what} after line {afterLine}");
        }
    }

    /// <summary>
    /// The format of a trace: the name first (<c>*.champsimtrace*</c>, <c>*.lackey*</c>, <c>*.strace*</c>),
    /// then the first 4 KiB after decompression: bytes that are not text make it ChampSim; a first line of
    /// valgrind's (<c>==PID==</c>) or lackey's (<c>I  </c>, <c> L </c>, <c> S </c>, <c> M </c>, <c>SYSCALL[</c>)
    /// makes it lackey; anything else is read as strace. The second value says how it was decided.
    /// </summary>
    public static (TraceFormat Format, string How) Detect(string path)
    {
        string name = Path.GetFileName(path).ToLowerInvariant();
        if (name.Contains("champsim", StringComparison.Ordinal))
        {
            return (TraceFormat.ChampSim, "the file name contains 'champsim'");
        }

        if (name.Contains("lackey", StringComparison.Ordinal))
        {
            return (TraceFormat.Lackey, "the file name contains 'lackey'");
        }

        if (name.Contains("strace", StringComparison.Ordinal))
        {
            return (TraceFormat.Strace, "the file name contains 'strace'");
        }

        (Stream data, _, _) = Open(path, readAhead: false);
        byte[] head = new byte[4096];
        int got = 0;
        using (data)
        {
            while (got < head.Length)
            {
                int n = ReadSome(data, head.AsSpan(got), path, 0);
                if (n == 0)
                {
                    break;
                }

                got += n;
            }
        }

        ReadOnlySpan<byte> h = head.AsSpan(0, got);
        if (got == 0)
        {
            throw new WorkloadException($"trace {InputText.Quote(path)}: is empty");
        }

        foreach (byte b in h)
        {
            if (b == 0 || (b < 0x20 && b is not ((byte)'\n' or (byte)'\r' or (byte)'\t')))
            {
                return (TraceFormat.ChampSim, "its first bytes are binary, not text");
            }
        }

        if (h.StartsWith("=="u8) || h.StartsWith("I  "u8) || h.StartsWith(" L "u8) || h.StartsWith(" S "u8) || h.StartsWith(" M "u8) || h.StartsWith("SYSCALL["u8))
        {
            return (TraceFormat.Lackey, "its first line is valgrind's or lackey's");
        }

        return (TraceFormat.Strace, "its first line is text and not valgrind's");
    }

    /// <summary>The reader of <paramref name="path"/> in <paramref name="format"/>.</summary>
    public static ITraceReader OpenReader(string path, TraceFormat format, XzDecoder xz = XzDecoder.System)
    {
        (Stream data, CountingStream raw, _) = Open(path, xz);
        string shown = InputText.ShowPath(path);
        return format switch
        {
            TraceFormat.Lackey => new LackeyReader(data, raw, shown),
            TraceFormat.Strace => new StraceReader(data, raw, shown),
            _ => new ChampSimReader(data, raw, shown),
        };
    }

    /// <summary>The name a trace's results carry: the file name without its compression and trace suffixes.</summary>
    public static string NameOf(string path)
    {
        string name = Path.GetFileName(path);
        foreach (string suffix in new[] { ".xz", ".gz", ".zst", ".champsimtrace", ".lackey", ".strace", ".trace", ".txt", ".log", ".out" })
        {
            if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                name = name[..^suffix.Length];
            }
        }

        return name;
    }
}

/// <summary>A read-only stream that counts the bytes read through it (the compressed position, for progress).</summary>
public sealed class CountingStream(Stream inner) : Stream
{
    private long _count;

    /// <summary>Bytes read so far (read from another thread for progress, hence the volatile read).</summary>
    public long Count => Volatile.Read(ref _count);

    public long TotalLength => inner.CanSeek ? inner.Length : 0;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => _count;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        Volatile.Write(ref _count, _count + n);
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
