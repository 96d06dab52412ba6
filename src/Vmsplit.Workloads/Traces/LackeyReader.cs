using System.Runtime.CompilerServices;
using System.Text;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// valgrind's lackey with <c>--trace-mem=yes --trace-syscalls=yes</c> (valgrind 3.19, lackey/lk_main.c and
/// coregrind/m_syswrap/syswrap-main.c): <c>I  ADDR,SIZE</c>, <c> L ADDR,SIZE</c>, <c> S ...</c>, <c> M ...</c>
/// (hex address, decimal size); <c>SYSCALL[PID,TID](NR) sys_NAME ( ARGS ) --&gt; [pre-success] Success(0xRES)</c>,
/// <c>... )[sync] --&gt; Failure(0xERRNO)</c>, or a call split in two by <c>--&gt; [async] ...</c> and a later
/// <c>SYSCALL[PID,TID](NR) ... [async] --&gt; Success(0xRES)</c>; a line of its own <c> --&gt; [pre-fail] Failure(..)</c>
/// finishes the call named on the line before (valgrind's "unimplemented syscall" message); <c>==PID== ...</c>
/// lines are valgrind's messages. A path argument reads <c>0xADDR(/the/path)</c>.
/// </summary>
public sealed class LackeyReader : LineTraceReader<TraceRecord>, ITraceReader
{
    private int _pid;
    private int _lastStartedTid = -1;

    public LackeyReader(Stream data, CountingStream raw, string file)
        : base(data, raw, file, TraceFormat.Lackey)
    {
        Lines.UnterminatedLastLine = IsExecStart;
    }

    // valgrind prints an execve's line, then runs the exec itself (syswrap-generic.c handle_pre_sys_execve): when it
    // succeeds the process is the new program and the log ends there, without the result and the end of line; a failure
    // is printed on the same line
    private static bool IsExecStart(ReadOnlySpan<byte> line) =>
        line.StartsWith("SYSCALL["u8) && line.IndexOf("-->"u8) < 0 && (line.IndexOf(") sys_execve "u8) > 0 || line.IndexOf(") sys_execveat "u8) > 0);

    public bool Next(ref TraceRecord r)
    {
        if (!ReadLine(ref r, out ReadOnlySpan<byte> line))
        {
            return ExecAtEnd(ref r);
        }

        if (line.Length > 3)
        {
            byte c0 = line[0];
            byte c1 = line[1];
            if (c0 == (byte)'I' && c1 == (byte)' ' && line[2] == (byte)' ')
            {
                ParseAccess(line[3..], TraceRecordKind.Fetch, ref r);
                return true;
            }

            if (c0 == (byte)' ' && line[2] == (byte)' ')
            {
                switch (c1)
                {
                    case (byte)'L':
                        ParseAccess(line[3..], TraceRecordKind.Load, ref r);
                        return true;
                    case (byte)'S':
                        ParseAccess(line[3..], TraceRecordKind.Store, ref r);
                        return true;
                    case (byte)'M':
                        ParseAccess(line[3..], TraceRecordKind.Modify, ref r);
                        return true;
                }
            }
        }

        return SlowLine(line, ref r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ParseAccess(ReadOnlySpan<byte> s, TraceRecordKind kind, ref TraceRecord r)
    {
        ulong addr = 0;
        int i = 0;
        for (; i < s.Length; i++)
        {
            uint c = s[i];
            uint d = c - '0';
            if (d > 9)
            {
                uint lower = (c | 0x20) - 'a';
                if (lower > 5)
                {
                    break;
                }

                d = lower + 10;
            }

            addr = (addr << 4) | d;
        }

        if (i == 0 || i > 16 || i >= s.Length - 1 || s[i] != (byte)',')
        {
            Malformed(s, "an access is 'ADDR,SIZE' with a hex address");
        }

        uint size = 0;
        int j = i + 1;
        for (; j < s.Length; j++)
        {
            uint d = (uint)s[j] - '0';
            if (d > 9)
            {
                break;
            }

            size = (size * 10) + d;
            if (size > 1 << 20)
            {
                Malformed(s, "an access size above 1 MiB");
            }
        }

        if (j == i + 1 || j != s.Length || size == 0)
        {
            Malformed(s, "an access is 'ADDR,SIZE' with a positive decimal size");
        }

        r.Kind = kind;
        r.Pid = _pid;
        r.Address = addr;
        r.Size = size;
    }

    private bool SlowLine(ReadOnlySpan<byte> line, ref TraceRecord r)
    {
        if (line.IsEmpty || line.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0)
        {
            return Skip(ref r, SkipReason.Blank);
        }

        if (line.StartsWith("=="u8))
        {
            // ==PID== banner and summary: the first one names the process
            if (_pid == 0)
            {
                int end = line[2..].IndexOf("=="u8);
                if (end > 0 && int.TryParse(Encoding.ASCII.GetString(line.Slice(2, end)), out int pid))
                {
                    _pid = pid;
                }
            }

            return Skip(ref r, SkipReason.ToolMessage);
        }

        if (line.StartsWith("SYSCALL["u8))
        {
            return Syscall(line, ref r);
        }

        if (line.TrimStart((byte)' ').StartsWith("-->"u8))
        {
            // the result of the call named alone on the line before (valgrind's "unimplemented syscall")
            if (_lastStartedTid >= 0 && Pending.Remove(_lastStartedTid, out TraceRecord call))
            {
                r = call;
                r.Line = Lines.LineNumber;
                _lastStartedTid = -1;
                ParseResult(line, ref r);
                return true;
            }

            return Skip(ref r, SkipReason.Orphan);
        }

        Malformed(line, "not a lackey line (I, L, S, M, SYSCALL or ==PID==)");
        return false;
    }

    private bool Syscall(ReadOnlySpan<byte> line, ref TraceRecord r)
    {
        // SYSCALL[pid,tid](nr) ...
        int close = line.IndexOf((byte)']');
        int comma = line.IndexOf((byte)',');
        int paren = line.IndexOf((byte)')');
        if (close < 0 || comma < 0 || comma > close || paren < close || line.Length <= close + 1 || line[close + 1] != (byte)'('
            || !TryInt(line[8..comma], out int pid) || !TryInt(line[(comma + 1)..close], out int tid) || !TryInt(line[(close + 2)..paren], out int nr))
        {
            Malformed(line, "a system call line is 'SYSCALL[PID,TID](NR) NAME ( ARGS ) --> RESULT'");
            return false;
        }

        _pid = pid;
        ReadOnlySpan<byte> rest = line[(paren + 1)..].TrimStart((byte)' ');
        if (rest.StartsWith("..."u8))
        {
            // "... [async] --> Success(0x..)": the end of a call started earlier by this thread
            if (!Pending.Remove(tid, out TraceRecord call))
            {
                return Skip(ref r, SkipReason.Orphan);
            }

            r = call;
            r.Line = Lines.LineNumber;
            ParseResult(rest, ref r);
            return true;
        }

        r.Kind = TraceRecordKind.Syscall;
        r.Pid = pid;
        r.HasResult = false;
        r.Result = 0;
        r.PathBytes = 0;
        r.PathAddress = 0;
        r.FdKind = FdKind.Unknown;
        r.PathKind = FdKind.Unknown;
        r.SharesMm = false;
        r.Fd0 = r.Fd1 = -1;
        r.Arg0 = r.Arg1 = r.Arg2 = r.Arg3 = 0;
        if (rest.StartsWith("unimplemented"u8))
        {
            r.Call = Names.Intern("ni_syscall".AsSpan());
            Pending[tid] = r;
            _lastStartedTid = tid;
            return Skip(ref r, SkipReason.CallStarted);
        }

        int nameEnd = rest.IndexOfAny((byte)' ', (byte)'(');
        if (nameEnd <= 0)
        {
            Malformed(line, "no system call name after SYSCALL[PID,TID](NR)");
        }

        ReadOnlySpan<byte> name = rest[..nameEnd];
        if (name.StartsWith("sys_"u8))
        {
            name = name[4..];
        }

        r.Call = Names.Intern(name);
        if (r.Call < 0)
        {
            TooManyNames(line);
        }
        int open = rest.IndexOf((byte)'(');
        int arrow = rest.IndexOf("-->"u8);
        ReadOnlySpan<byte> argsEnd = arrow >= 0 ? rest[..arrow] : rest;
        int argsClose = argsEnd.LastIndexOf((byte)')');
        if (open < 0 || argsClose < open)
        {
            Malformed(line, "the arguments are not in parentheses");
        }

        ParseArgs(rest[(open + 1)..argsClose], ref r);
        if (name.SequenceEqual("clone"u8))
        {
            r.SharesMm = (r.Arg0 & 0x100) != 0; // CLONE_VM (include/uapi/linux/sched.h)
        }

        if (arrow < 0)
        {
            Pending[tid] = r;
            _lastStartedTid = tid;
            return Skip(ref r, SkipReason.CallStarted);
        }

        ReadOnlySpan<byte> result = rest[arrow..];
        if (result.IndexOf("[async] ..."u8) >= 0)
        {
            Pending[tid] = r;
            return Skip(ref r, SkipReason.CallStarted);
        }

        ParseResult(result, ref r);
        return true;
    }

    // The end of the trace with an execve started and not finished: the exec that replaced the traced program (the
    // new program is not in this file); it is the trace's last call, counted as one that succeeded.
    private bool ExecAtEnd(ref TraceRecord r)
    {
        foreach ((int tid, TraceRecord call) in Pending)
        {
            string name = Names[call.Call];
            if (name is "execve" or "execveat")
            {
                Pending.Remove(tid);
                r = call;
                r.FinishedAtEnd = true;
                return true;
            }
        }

        return false;
    }

    // " ( 4294967196, 0x4034bb0(/usr/lib/x.so), 524288 )": integers, hex addresses (with or without 0x) and paths
    private static void ParseArgs(ReadOnlySpan<byte> args, ref TraceRecord r)
    {
        int index = 0;
        int i = 0;
        while (i < args.Length)
        {
            while (i < args.Length && args[i] == (byte)' ')
            {
                i++;
            }

            if (i >= args.Length)
            {
                break;
            }

            int start = i;
            bool hex = args.Length - i > 2 && args[i] == (byte)'0' && args[i + 1] == (byte)'x';
            if (hex)
            {
                i += 2;
            }

            int digits = i;
            while (i < args.Length && HexOrDec(args[i], true, out _))
            {
                i++;
            }

            // valgrind prints some pointers in hex without 0x (arch_prctl ( 4098, 4a29740 ))
            hex |= args[digits..i].IndexOfAnyInRange((byte)'a', (byte)'f') >= 0 || args[digits..i].IndexOfAnyInRange((byte)'A', (byte)'F') >= 0;
            ulong value = 0;
            for (int k = digits; k < i; k++)
            {
                HexOrDec(args[k], true, out uint d);
                value = hex ? (value << 4) | d : (value * 10) + d;
            }

            if (i < args.Length && args[i] == (byte)'(')
            {
                // a path: up to the first ')' followed by ',' or the end of the arguments
                int close = args.Length - 1;
                for (int k = i + 1; k < args.Length; k++)
                {
                    if (args[k] == (byte)')')
                    {
                        ReadOnlySpan<byte> after = args[(k + 1)..].TrimStart((byte)' ');
                        if (after.IsEmpty || after[0] == (byte)',')
                        {
                            close = k;
                            break;
                        }
                    }
                }

                if (r.PathBytes == 0)
                {
                    r.PathBytes = close - i; // the characters and the NUL
                    r.PathAddress = value;
                    r.PathKind = StraceReader.Classify(args[(i + 1)..close]);
                }

                i = close + 1;
            }

            while (i < args.Length && args[i] != (byte)',')
            {
                i++;
            }

            if (i > start)
            {
                switch (index)
                {
                    case 0:
                        r.Arg0 = value;
                        break;
                    case 1:
                        r.Arg1 = value;
                        break;
                    case 2:
                        r.Arg2 = value;
                        break;
                    case 3:
                        r.Arg3 = value;
                        break;
                }
            }

            index++;
            i++;
        }
    }

    private static bool HexOrDec(byte c, bool hex, out uint d)
    {
        d = (uint)c - '0';
        if (d <= 9)
        {
            return true;
        }

        d = (uint)(c | 0x20) - 'a';
        if (hex && d <= 5)
        {
            d += 10;
            return true;
        }

        return false;
    }

    private void ParseResult(ReadOnlySpan<byte> s, ref TraceRecord r)
    {
        int at = s.IndexOf("Success(0x"u8);
        bool ok = at >= 0;
        if (!ok)
        {
            at = s.IndexOf("Failure(0x"u8);
        }

        if (at < 0)
        {
            Malformed(s, "a result is Success(0xN) or Failure(0xN)");
        }

        ReadOnlySpan<byte> hex = s[(at + 10)..];
        int end = hex.IndexOf((byte)')');
        ulong v = 0;
        if (end <= 0 || end > 16)
        {
            Malformed(s, "a result is Success(0xN) or Failure(0xN)");
        }

        for (int k = 0; k < end; k++)
        {
            if (!HexOrDec(hex[k], true, out uint d))
            {
                Malformed(s, "a result is Success(0xN) or Failure(0xN)");
            }

            v = (v << 4) | d;
        }

        r.HasResult = true;
        r.Result = ok ? (long)v : -(long)v;
    }

    private static bool TryInt(ReadOnlySpan<byte> s, out int v)
    {
        v = 0;
        if (s.IsEmpty || s.Length > 9)
        {
            return false;
        }

        foreach (byte b in s)
        {
            uint d = (uint)b - '0';
            if (d > 9)
            {
                return false;
            }

            v = (v * 10) + (int)d;
        }

        return true;
    }

    private static bool Skip(ref TraceRecord r, SkipReason why)
    {
        r.Kind = TraceRecordKind.Skipped;
        r.Skip = why;
        return true;
    }

}
