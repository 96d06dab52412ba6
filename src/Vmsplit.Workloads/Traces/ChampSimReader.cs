using System.Buffers.Binary;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// ChampSim's binary trace: 64-byte <c>input_instr</c> records, little-endian (ChampSim inc/trace_instruction.h:
/// <c>unsigned long long ip; unsigned char is_branch, branch_taken, destination_registers[2], source_registers[4];
/// unsigned long long destination_memory[2], source_memory[4]</c>). Each record becomes a fetch of its ip, a load
/// per non-zero source address and a store per non-zero destination address, each of one byte (the record
/// gives no sizes; ChampSim works on 64-byte lines). <see cref="TraceRecord.Line"/> is the record's index.
/// </summary>
public sealed class ChampSimReader : ITraceReader
{
    /// <summary>sizeof(input_instr): 8 + 1 + 1 + 2 + 4 + 2·8 + 4·8.</summary>
    public const int RecordBytes = 64;

    private const int BatchRecords = 1024;

    private readonly Stream _data;
    private readonly CountingStream _raw;
    private readonly string _file;
    private readonly byte[] _buffer = new byte[RecordBytes * BatchRecords];
    private int _filled;
    private int _at;
    private long _record = -1;
    private int _operand = 7; // 0: ip, 1-2: destinations, 3-6: sources; 7: take the next record
    private bool _eof;

    public ChampSimReader(Stream data, CountingStream raw, string file)
    {
        _data = data;
        _raw = raw;
        _file = file;
    }

    public TraceFormat Format => TraceFormat.ChampSim;

    public SyscallNames Names { get; } = new();

    public long BytesRead => _raw.Count;

    /// <summary>Records (instructions) read so far.</summary>
    public long Records => _record + 1;

    public bool Next(ref TraceRecord r)
    {
        while (true)
        {
            if (_operand == 7)
            {
                if (!NextRecord())
                {
                    return false;
                }

                _operand = 0;
                r.Kind = TraceRecordKind.Fetch;
                r.Pid = 0;
                r.Line = _record;
                r.Address = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(_at));
                r.Size = 1;
                return true;
            }

            _operand++;
            if (_operand == 7)
            {
                _at += RecordBytes;
                continue;
            }

            // destination_memory at 16 and 24, source_memory at 32..56
            ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(_at + 8 + (_operand * 8)));
            if (addr == 0)
            {
                continue;
            }

            r.Kind = _operand <= 2 ? TraceRecordKind.Store : TraceRecordKind.Load;
            r.Address = addr;
            r.Size = 1;
            return true;
        }
    }

    private bool NextRecord()
    {
        if (_at + RecordBytes > _filled)
        {
            int keep = _filled - _at;
            Buffer.BlockCopy(_buffer, _at, _buffer, 0, keep);
            _filled = keep;
            _at = 0;
            while (!_eof && _filled < _buffer.Length)
            {
                int n = TraceFile.ReadSome(_data, _buffer.AsSpan(_filled), _file, _record + 1);
                if (n == 0)
                {
                    _eof = true;
                    break;
                }

                _filled += n;
            }

            if (_filled == 0)
            {
                return false;
            }

            if (_filled < RecordBytes)
            {
                throw new WorkloadException($"{_file}: record {_record + 1} is truncated: {_filled} of its {RecordBytes} bytes (the trace ends inside it)");
            }
        }

        _record++;
        byte isBranch = _buffer[_at + 8];
        byte taken = _buffer[_at + 9];
        if (isBranch > 1 || taken > 1 || (taken == 1 && isBranch == 0))
        {
            throw new WorkloadException($"{_file}: record {_record}: is_branch {isBranch} and branch_taken {taken} are not a branch flag pair (0/1, taken only for a branch): not a ChampSim trace, or misaligned");
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(_at)) == 0)
        {
            throw new WorkloadException($"{_file}: record {_record}: its instruction pointer is 0: not a ChampSim trace, or misaligned");
        }

        return true;
    }

    public void Dispose() => _data.Dispose();
}
