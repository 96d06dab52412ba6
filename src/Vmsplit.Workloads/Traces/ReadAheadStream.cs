using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// Decompression on a thread of its own, a few chunks ahead of the reader, so that decoding a compressed trace and
/// simulating it run on two cores as <c>xz -dc trace | replay</c> would (in constant memory: <see cref="Chunks"/>
/// buffers of <see cref="ChunkBytes"/>). The bytes are the inner stream's, in order; an exception of the inner
/// stream (a cut or corrupt stream) is thrown to the reader after every byte decoded before it, as a direct read
/// would throw it.
/// </summary>
public sealed class ReadAheadStream : ForwardReadStream
{
    /// <summary>Bytes of one chunk handed from the decoding thread to the reader.</summary>
    public const int ChunkBytes = 1 << 18;

    /// <summary>Chunks in flight: decoded and waiting, being decoded, being read.</summary>
    public const int Chunks = 4;

    private readonly Stream _inner;
    private readonly BlockingCollection<Chunk> _full = new(Chunks + 1);
    private readonly BlockingCollection<byte[]> _free = new(Chunks);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private byte[]? _current;
    private int _length;
    private int _pos;
    private bool _done;
    private bool _disposed;

    public ReadAheadStream(Stream inner)
    {
        _inner = inner;
        for (int i = 0; i < Chunks; i++)
        {
            _free.Add(new byte[ChunkBytes]);
        }

        _thread = new Thread(Produce) { IsBackground = true, Name = "vmsplit trace decompression" };
        _thread.Start();
    }

    private readonly record struct Chunk(byte[]? Buffer, int Length, ExceptionDispatchInfo? Error);

    private void Produce()
    {
        CancellationToken stop = _stop.Token;
        try
        {
            while (true)
            {
                byte[] buffer = _free.Take(stop);
                int n = 0;
                try
                {
                    while (n < buffer.Length)
                    {
                        int got = _inner.Read(buffer, n, buffer.Length - n);
                        if (got == 0)
                        {
                            break;
                        }

                        n += got;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (n > 0)
                    {
                        _full.Add(new Chunk(buffer, n, null), stop);
                    }

                    _full.Add(new Chunk(null, 0, ExceptionDispatchInfo.Capture(e)), stop);
                    return;
                }

                _full.Add(new Chunk(buffer, n, null), stop);
                if (n == 0)
                {
                    return; // the end of the stream
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the reader was disposed before the end
        }
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            if (_current is not null && _pos < _length)
            {
                int n = Math.Min(buffer.Length, _length - _pos);
                _current.AsSpan(_pos, n).CopyTo(buffer);
                _pos += n;
                return n;
            }

            if (_done || buffer.IsEmpty)
            {
                return 0;
            }

            if (_current is not null)
            {
                _free.Add(_current);
                _current = null;
            }

            Chunk next = _full.Take();
            if (next.Error is not null)
            {
                _done = true;
                next.Error.Throw();
            }

            if (next.Length == 0)
            {
                _done = true;
                return 0;
            }

            _current = next.Buffer;
            _length = next.Length;
            _pos = 0;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _stop.Cancel();
            _thread.Join();
            _inner.Dispose();
            _full.Dispose();
            _free.Dispose();
            _stop.Dispose();
        }

        base.Dispose(disposing);
    }
}
