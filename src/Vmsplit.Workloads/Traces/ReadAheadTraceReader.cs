using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// A trace parsed on a thread of its own, a few batches of records ahead of the replay, so that parsing and simulating
/// run on two cores as <see cref="ReadAheadStream"/> lets decompression and parsing do. The records are the inner
/// reader's, in order, each as the inner reader's <see cref="Next"/> left it (fields a line does not set keep the previous
/// record's values, as they do in a caller's reused record); what the caller reads of the reader beside a record is
/// what it would read after that record from the inner reader directly: <see cref="BytesRead"/>,
/// <see cref="PendingClone"/>, and <see cref="Names"/>, the caller's own table. Names are interned into it in the order
/// the inner reader interned them, each just before the record that first named it, so that a caller's own interns
/// between records (the replay's "clone" for a child that appears before its clone returned) take the ids they would
/// take next to the inner reader; <see cref="TraceRecord.Call"/> is carried across into that table. An exception of the
/// inner reader (a malformed or truncated trace) is thrown to the caller after every record before it, as a direct read
/// would throw it.
/// </summary>
public sealed class ReadAheadTraceReader : ITraceReader
{
    /// <summary>Records per batch handed from the parsing thread to the caller.</summary>
    public const int DefaultBatchRecords = 1024;

    /// <summary>Batches in flight: parsed and waiting, being parsed, being read.</summary>
    public const int DefaultBatches = 4;

    private readonly ITraceReader _inner;
    private readonly BlockingCollection<Batch> _full;
    private readonly BlockingCollection<Batch> _free;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly List<int> _ids = []; // the inner reader's name id -> this reader's
    private Batch? _current;
    private int _pos;
    private int _namesTaken;
    private long _bytesRead;
    private CloneState _clone;
    private bool _disposed;

    public ReadAheadTraceReader(ITraceReader inner, int batchRecords = DefaultBatchRecords, int batches = DefaultBatches)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchRecords, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batches, 2);
        _inner = inner;
        Format = inner.Format;
        _full = new BlockingCollection<Batch>(batches + 1);
        _free = new BlockingCollection<Batch>(batches);
        for (int i = 0; i < batches; i++)
        {
            _free.Add(new Batch(batchRecords));
        }

        _thread = new Thread(Produce) { IsBackground = true, Name = "vmsplit trace parser" };
        _thread.Start();
    }

    private readonly record struct CloneState(bool Pending, int ParentPid, bool SharesMm);

    private sealed class Batch(int records)
    {
        public readonly TraceRecord[] Records = new TraceRecord[records];
        public readonly long[] BytesRead = new long[records];
        public readonly CloneState[] Clones = new CloneState[records];
        public readonly int[] NamesAfter = new int[records]; // NewNames.Count once the record was read
        public readonly List<string> NewNames = [];
        public int Count;
        public bool End;
        public ExceptionDispatchInfo? Error;
    }

    public TraceFormat Format { get; }

    public SyscallNames Names { get; } = new();

    public long BytesRead => _bytesRead;

    public int UnfinishedAtEnd => _current is { End: true, Error: null } && _pos == _current.Count ? _inner.UnfinishedAtEnd : 0;

    public bool PendingClone(out int parentPid, out bool sharesMm)
    {
        parentPid = _clone.ParentPid;
        sharesMm = _clone.SharesMm;
        return _clone.Pending;
    }

    private void Produce()
    {
        CancellationToken stop = _stop.Token;
        TraceRecord r = default;
        int names = 0;
        try
        {
            while (true)
            {
                Batch b = _free.Take(stop);
                b.Count = 0;
                b.NewNames.Clear();
                try
                {
                    while (b.Count < b.Records.Length && !stop.IsCancellationRequested)
                    {
                        if (!_inner.Next(ref r))
                        {
                            b.End = true;
                            break;
                        }

                        int i = b.Count++;
                        b.Records[i] = r;
                        b.BytesRead[i] = _inner.BytesRead;
                        bool pending = _inner.PendingClone(out int parentPid, out bool sharesMm);
                        b.Clones[i] = new CloneState(pending, parentPid, sharesMm);
                        SyscallNames inner = _inner.Names;
                        while (names < inner.Count)
                        {
                            b.NewNames.Add(inner[names++]);
                        }

                        b.NamesAfter[i] = b.NewNames.Count;
                    }
                }
                catch (Exception e)
                {
                    b.End = true;
                    b.Error = ExceptionDispatchInfo.Capture(e);
                }

                _full.Add(b, stop);
                if (b.End)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // disposed before the end: nothing waits for further batches
        }
    }

    public bool Next(ref TraceRecord r)
    {
        while (_current is null || _pos == _current.Count)
        {
            if (_current is Batch done)
            {
                if (done.End)
                {
                    done.Error?.Throw();
                    return false;
                }

                _current = null;
                _free.Add(done);
            }

            _current = _full.Take();
            _pos = 0;
            _namesTaken = 0;
        }

        Batch b = _current;
        int i = _pos++;
        for (int end = b.NamesAfter[i]; _namesTaken < end; _namesTaken++)
        {
            _ids.Add(Names.Intern(b.NewNames[_namesTaken].AsSpan()));
        }

        r = b.Records[i];
        if ((uint)r.Call < (uint)_ids.Count)
        {
            r.Call = _ids[r.Call];
        }

        _bytesRead = b.BytesRead[i];
        _clone = b.Clones[i];
        return true;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop.Cancel();
        _thread.Join();
        _inner.Dispose();
        _stop.Dispose();
        _full.Dispose();
        _free.Dispose();
    }
}
