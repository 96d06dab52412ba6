using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Workloads.Traces;

/// <summary>
/// strace's output as <c>strace [-f] [-t|-tt|-ttt|-r] [-T] [-y|-yy] [-s N] [-X raw|abbrev|verbose] -o FILE</c>
/// writes it (strace 5.x/6.x, src/strace.c and src/syscall.c): <c>[PID ][TIME ]NAME(ARGS) = RESULT[ ERRNO (TEXT)][ &lt;DURATION&gt;]</c>;
/// a call interrupted by another process's line ends in <c> &lt;unfinished ...&gt;</c> and continues on a later
/// <c>[PID ][TIME ]&lt;... NAME resumed&gt;ARGS) = RESULT</c>; <c>--- SIGNAME {...} ---</c> is a signal,
/// <c>+++ exited with N +++</c> or <c>+++ killed by SIG +++</c> the end of a process, <c>strace: ...</c> its own
/// messages. Arguments: integers (decimal, 0x hex, negative), quoted strings with C escapes and a trailing
/// <c>...</c> when cut by -s, structures, arrays, flag names, and -y's <c>FD&lt;path&gt;</c> annotations.
/// </summary>
public sealed class StraceReader : LineTraceReader<byte[]>, ITraceReader
{
    private byte[] _joined = new byte[4096];

    public StraceReader(Stream data, CountingStream raw, string file)
        : base(data, raw, file, TraceFormat.Strace)
    {
    }

    public bool Next(ref TraceRecord r)
    {
        if (!ReadLine(ref r, out ReadOnlySpan<byte> line))
        {
            return false;
        }

        // one pass from the left, dispatched on the first byte (the three tool-message prefixes, '[pid N]' and a
        // number start with different bytes, so the order of the tests does not matter)
        int at = 0;
        while (at < line.Length && line[at] == (byte)' ')
        {
            at++;
        }

        if (at == line.Length)
        {
            return Skip(ref r, SkipReason.Blank);
        }

        ReadOnlySpan<byte> s = line[at..];
        byte c0 = s[0];
        int pid = 0;
        if ((uint)(c0 - '0') <= 9)
        {
            int end = 1;
            while (end < s.Length && (uint)(s[end] - '0') <= 9)
            {
                end++;
            }

            if (end < s.Length && s[end] == (byte)' ')
            {
                // digits then a space: -f's PID (a timestamp has ':' or '.')
                TryInt(s[..end], out pid);
                s = SpacesSkipped(s, end);
            }
        }
        else if (c0 == (byte)'[')
        {
            if (s.StartsWith("[ Process"u8))
            {
                return Skip(ref r, SkipReason.ToolMessage);
            }

            // [pid N] (strace writing to a terminal)
            if (s.StartsWith("[pid "u8))
            {
                int close = s.IndexOf((byte)']');
                if (close < 0 || !TryInt(s[5..close].TrimStart((byte)' '), out pid))
                {
                    Malformed(line, "'[pid N]' without its number");
                }

                s = SpacesSkipped(s, close + 1);
            }
        }
        else if ((c0 == (byte)'s' && s.StartsWith("strace: "u8)) || (c0 == (byte)'?' && s.StartsWith("??? "u8)))
        {
            return Skip(ref r, SkipReason.ToolMessage);
        }

        if (!s.IsEmpty && (uint)(s[0] - '0') <= 9)
        {
            // -t/-tt/-ttt/-r: a time of digits, ':' and '.'
            int end = s.IndexOfAnyExcept(s_timeBytes);
            end = end < 0 ? s.Length : end;

            if (end == s.Length || s[end] != (byte)' ')
            {
                Malformed(line, "a time stamp (-t, -tt, -ttt, -r) is digits, ':' and '.' followed by a space");
            }

            s = SpacesSkipped(s, end);
        }

        r.Pid = pid;
        if (!s.IsEmpty && (uint)(s[0] - 'a') <= 25 && !s.EndsWith(" <unfinished ...>"u8))
        {
            // the common line, a finished call (its name's lower-case first letter starts no '---', '+++' or '<...')
            return Call(line, s, pid, ref r);
        }

        if (s.StartsWith("---"u8))
        {
            if (!s.StartsWith("--- SIG"u8))
            {
                return Skip(ref r, SkipReason.Signal); // --- stopped by SIGSTOP ---, --- SIGCHLD ... of an older strace
            }

            if (!s.EndsWith(" ---"u8) || s.Length < 11)
            {
                Malformed(line, "a signal line is '--- SIGNAME {...} ---' (a truncated line?)");
            }

            ReadOnlySpan<byte> name = s[4..];
            int space = name.IndexOf((byte)' ');
            r.Kind = TraceRecordKind.Signal;
            r.Arg0 = SignalNumber(space < 0 ? name : name[..space]);
            return true;
        }

        if (s.StartsWith("+++"u8))
        {
            if (!s.EndsWith("+++"u8) || s.Length < 7)
            {
                Malformed(line, "a '+++' line is '+++ exited with N +++' or '+++ killed by SIG +++'");
            }

            r.Kind = TraceRecordKind.ProcessExit;
            r.Killed = s.StartsWith("+++ killed by "u8);
            return true;
        }

        if (s.StartsWith("<... "u8))
        {
            int resumed = s.IndexOf(" resumed>"u8);
            if (resumed < 0)
            {
                Malformed(line, "'<... NAME resumed>' without 'resumed>'");
            }

            if (!Pending.Remove(pid, out byte[]? first))
            {
                // strace started after the call began (-p), or the trace was cut: the call's start is not in it
                return Skip(ref r, SkipReason.Orphan);
            }

            _pendingClones -= IsClone(first) ? 1 : 0;

            ReadOnlySpan<byte> tail = s[(resumed + 9)..];
            int length = BitConverter.ToInt32(first, 0);
            int need = length + tail.Length;
            if (_joined.Length < need)
            {
                _joined = new byte[Math.Max(need, _joined.Length * 2)];
            }

            first.AsSpan(4, length).CopyTo(_joined);
            tail.CopyTo(_joined.AsSpan(length));
            ReadOnlySpan<byte> whole = _joined.AsSpan(0, need);
            if (whole.EndsWith(" <unfinished ...>"u8))
            {
                // interrupted again: keep waiting
                Remember(pid, whole[..^17]);
                return Skip(ref r, SkipReason.CallStarted);
            }

            return Call(line, whole, pid, ref r);
        }

        if (s.EndsWith(" <unfinished ...>"u8))
        {
            if (s.IndexOf((byte)'(') <= 0)
            {
                Malformed(line, "an unfinished call without 'NAME('");
            }

            Remember(pid, s[..^17]);
            return Skip(ref r, SkipReason.CallStarted);
        }

        return Call(line, s, pid, ref r);
    }

    /// <summary>A process whose clone, clone3, fork or vfork is unfinished (its child may show up before the call returns), and whether the call shares the mm.</summary>
    public bool PendingClone(out int parentPid, out bool sharesMm)
    {
        // asked after every record (ReadAheadTraceReader): the scan runs only while some clone is unfinished, so that a
        // trace with thousands of processes blocked in other calls does not scan them all on every line
        if (_pendingClones > 0)
        {
            foreach ((int pid, byte[] first) in Pending)
            {
                if (IsClone(first))
                {
                    parentPid = pid;
                    sharesMm = Text(first).IndexOf("CLONE_VM"u8) >= 0;
                    return true;
                }
            }
        }

        parentPid = 0;
        sharesMm = false;
        return false;
    }

    // the unfinished calls that are a clone, clone3, fork or vfork (PendingClone's candidates)
    private int _pendingClones;

    private static ReadOnlySpan<byte> Text(byte[] first) => first.AsSpan(4, BitConverter.ToInt32(first, 0));

    private static bool IsClone(byte[] first)
    {
        ReadOnlySpan<byte> text = Text(first);
        return text.StartsWith("clone"u8) || text.StartsWith("fork"u8) || text.StartsWith("vfork"u8);
    }

    private void Remember(int pid, ReadOnlySpan<byte> first)
    {
        byte[] copy = new byte[4 + first.Length];
        BitConverter.TryWriteBytes(copy, first.Length);
        first.CopyTo(copy.AsSpan(4));
        if (Pending.TryGetValue(pid, out byte[]? replaced) && IsClone(replaced))
        {
            _pendingClones--;
        }

        Pending[pid] = copy;
        _pendingClones += IsClone(copy) ? 1 : 0;
    }

    private bool Call(ReadOnlySpan<byte> line, ReadOnlySpan<byte> s, int pid, ref TraceRecord r)
    {
        // the name: letters, digits and '_' up to the '(' (anything else is refused by BadName, as it says why)
        int open = 0;
        while (open < s.Length && IsNameByte(s[open]))
        {
            open++;
        }

        if (open == 0 || open == s.Length || s[open] != (byte)'(' || !IsNameStart(s[0]))
        {
            BadName(line, s);
        }

        ReadOnlySpan<byte> name = s[..open];
        r.Kind = TraceRecordKind.Syscall;
        r.Pid = pid;
        r.Call = Names.Intern(name);
        if (r.Call < 0)
        {
            TooManyNames(line);
        }
        r.Arg0 = r.Arg1 = r.Arg2 = r.Arg3 = 0;
        r.StructArgs = 0;
        r.PathBytes = 0;
        r.PathAddress = 0;
        r.FdKind = FdKind.Unknown;
        r.PathKind = FdKind.Unknown;
        r.Fd0 = r.Fd1 = -1;
        r.NewAction = false;
        r.SaRestart = false;
        r.Restart = SyscallRestart.None;
        r.Argc = -1;
        r.Envc = 0;
        r.ExecStrings = null;
        // the calls that take a *_CLOEXEC flag (open*, pipe2, socket*, accept4, dup3, fcntl, epoll_create1, eventfd2,
        // memfd_create, inotify_init1, timerfd_create); a scan of every line would cost as much as the parse
        byte first = name[0];
        r.CloExec = first is (byte)'o' or (byte)'p' or (byte)'s' or (byte)'a' or (byte)'d' or (byte)'f' or (byte)'e' or (byte)'m' or (byte)'i' or (byte)'t'
            && s.IndexOf("CLOEXEC"u8) >= 0;
        r.CloExecOnArg0 = r.CloExec && s.IndexOf("F_SETFD"u8) >= 0;
        // only clone and clone3 take flags; a scan of every line for the flag's name would cost as much as the parse
        r.SharesMm = name.StartsWith("clone"u8) && s.IndexOf("CLONE_VM"u8) >= 0;
        int end = ParseArgs(line, s, open + 1, ref r);

        // " = RESULT ..." after the closing parenthesis
        ReadOnlySpan<byte> rest = SpacesSkipped(s, end + 1);
        if (rest.IsEmpty || rest[0] != (byte)'=')
        {
            Malformed(line, "no ' = RESULT' after the arguments (a truncated line?)");
        }

        rest = SpacesSkipped(rest, 1);
        if (rest.IsEmpty)
        {
            Malformed(line, "nothing after ' = '");
        }

        if (rest[0] == (byte)'?')
        {
            r.HasResult = false;
            r.Result = 0;
            r.Restart = RestartCode(rest[1..].TrimStart((byte)' '));
            return true;
        }

        if (!TryNumber(rest, out long value, out _))
        {
            Malformed(line, "the result is not a number or '?'");
        }

        r.HasResult = true;
        r.Result = value;
        if (value == -1 && rest.Length > 3 && rest[2] == (byte)' ' && rest[3] >= (byte)'A' && rest[3] <= (byte)'Z')
        {
            r.Result = -1; // -1 ENOENT (...): a failure; the errno's name is not needed
        }

        return true;
    }

    // the two errors of a line that is not NAME( ... : no '(' or no name before it, or a name of other bytes
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BadName(ReadOnlySpan<byte> line, ReadOnlySpan<byte> s)
    {
        int open = s.IndexOf((byte)'(');
        if (open <= 0 || !IsNameStart(s[0]))
        {
            Malformed(line, "not a system call 'NAME(ARGS) = RESULT', signal '---', exit '+++' or strace message");
        }

        Malformed(line, "a system call name is letters, digits and '_'");
    }

    // '= ? ERESTARTSYS (To be restarted if SA_RESTART is set)' and its kin (strace src/linux/errnoent.h names 512-516)
    private static SyscallRestart RestartCode(ReadOnlySpan<byte> errno) =>
        errno.StartsWith("ERESTARTSYS"u8) ? SyscallRestart.Sys
        : errno.StartsWith("ERESTARTNOINTR"u8) ? SyscallRestart.NoIntr
        : errno.StartsWith("ERESTARTNOHAND"u8) ? SyscallRestart.NoHand
        : errno.StartsWith("ERESTART_RESTARTBLOCK"u8) ? SyscallRestart.RestartBlock
        : SyscallRestart.None;

    // a time stamp's bytes
    private static readonly SearchValues<byte> s_timeBytes = SearchValues.Create("0123456789:."u8);

    // the bytes ParseArgs stops at: a string's quote, a -y annotation's '<', nesting, and the separators
    private static readonly SearchValues<byte> s_argSyntax = SearchValues.Create("\"<([{}]),"u8);

    // Splits the top-level arguments from s[from] to the matching ')'; returns that parenthesis' index. Bytes that are
    // none of s_argSyntax are skipped in one vector search.
    private int ParseArgs(ReadOnlySpan<byte> line, ReadOnlySpan<byte> s, int from, ref TraceRecord r)
    {
        int index = 0;
        int i = from;
        int argStart = i;
        int depth = 0;
        while (true)
        {
            int next = i < s.Length ? s[i..].IndexOfAny(s_argSyntax) : -1;
            if (next < 0)
            {
                Malformed(line, "the arguments do not end with ')' (a truncated line?)");
            }

            i += next;
            byte c = s[i];
            if (c == (byte)'"')
            {
                i = SkipString(line, s, i);
                continue;
            }

            if (c == (byte)'<')
            {
                if (i > argStart && IsDigit(s[i - 1]))
                {
                    // -y/-yy: FD<path> or FD<socket:[N]>, <TCP:[a:p->b:q]>
                    int close = AnnotationEnd(s, i);
                    if (close < 0)
                    {
                        Malformed(line, "a descriptor's '<...>' annotation does not end");
                    }

                    if (index == 0 && depth == 0)
                    {
                        r.FdKind = Classify(s[(i + 1)..close]);
                    }

                    i = close + 1;
                    continue;
                }
            }
            else if (c is (byte)'(' or (byte)'[' or (byte)'{')
            {
                depth++;
            }
            else if (c is (byte)']' or (byte)'}')
            {
                depth--;
            }
            else if (c == (byte)')')
            {
                if (depth == 0)
                {
                    Arg(s[argStart..i], index, ref r);
                    return i;
                }

                depth--;
            }
            else if (depth == 0)
            {
                // ','
                Arg(s[argStart..i], index, ref r);
                index++;
                argStart = i + 1;
            }

            i++;
        }
    }

    private static int AnnotationEnd(ReadOnlySpan<byte> s, int lt)
    {
        int depth = 0;
        for (int k = lt + 1; k < s.Length; k++)
        {
            byte c = s[k];
            if (c == (byte)'[')
            {
                depth++;
            }
            else if (c == (byte)']')
            {
                depth--;
            }
            else if (c == (byte)'>' && depth <= 0)
            {
                return k;
            }
        }

        return -1;
    }

    internal static FdKind Classify(ReadOnlySpan<byte> what)
    {
        // a name that starts with none of the first bytes of the names below (a path outside /dev, a string's data)
        // skips straight to the last test
        byte lead = what.IsEmpty ? (byte)0 : what[0];
        if (lead is not ((byte)'/' or (byte)'p' or (byte)'s' or (byte)'T' or (byte)'U' or (byte)'N') || (lead == (byte)'/' && !what.StartsWith("/dev/"u8)))
        {
            return what.IndexOf((byte)':') >= 0 ? FdKind.Other : FdKind.File;
        }

        if (what.SequenceEqual("/dev/null"u8))
        {
            return FdKind.DevNull;
        }

        if (what.SequenceEqual("/dev/zero"u8))
        {
            return FdKind.DevZero;
        }

        if (what.StartsWith("pipe:"u8))
        {
            return FdKind.Pipe;
        }

        if (what.StartsWith("/dev/pts/"u8) || what.StartsWith("/dev/tty"u8) || what.StartsWith("/dev/console"u8) || what.Contains((byte)'[') && what.StartsWith("/dev/pts"u8))
        {
            return FdKind.Tty;
        }

        if (what.StartsWith("socket:"u8) || what.StartsWith("TCP"u8) || what.StartsWith("UDP"u8) || what.StartsWith("UNIX"u8) || what.StartsWith("NETLINK"u8))
        {
            return FdKind.Socket;
        }

        // anon_inode:[eventfd], /memfd:... and the like; any other name is a file
        return what.IndexOf((byte)':') >= 0 ? FdKind.Other : FdKind.File;
    }

    // a quoted string from its opening quote: returns the index after it (and after a trailing "..." of -s)
    private int SkipString(ReadOnlySpan<byte> line, ReadOnlySpan<byte> s, int quote)
    {
        int k = quote + 1;
        while (k < s.Length)
        {
            int next = s[k..].IndexOfAny((byte)'\\', (byte)'"');
            if (next < 0)
            {
                break;
            }

            k += next;
            if (s[k] == (byte)'\\')
            {
                k += 2;
                continue;
            }

            k++;
            if (s[k..].StartsWith("..."u8))
            {
                k += 3;
            }

            return k;
        }

        Malformed(line, "a string argument does not end (a truncated line?)");
        return k;
    }

    // one argument's value: an integer (decimal, 0x hex, negative), a string's length, a pipe's pair
    private static void Arg(ReadOnlySpan<byte> a, int index, ref TraceRecord r)
    {
        int lo = 0;
        int hi = a.Length;
        while (lo < hi && a[lo] == (byte)' ')
        {
            lo++;
        }

        if (lo == hi)
        {
            return;
        }

        while (a[hi - 1] == (byte)' ')
        {
            hi--;
        }

        a = a[lo..hi];

        ulong value = 0;
        if (a[0] == (byte)'{' && index < 8)
        {
            r.StructArgs |= (byte)(1 << index);
        }

        if (a[0] == (byte)'"')
        {
            if (r.PathBytes == 0)
            {
                r.PathBytes = StringBytes(a) + 1; // the characters and the NUL
                int close = a[1..].IndexOf((byte)'"');
                r.PathKind = close >= 0 ? Classify(a[1..(close + 1)]) : FdKind.Unknown;
            }
        }
        else if (a.Length > 1 && a[0] == (byte)'[' && a[1] == (byte)'"')
        {
            // execve's argv, then envp with -v: ["sh", "-c", "x"] (a trailing ... when strace cut the array)
            ExecArray(a, ref r);
        }
        else if (a[0] == (byte)'[')
        {
            // pipe2([3, 4], 0) or [3<pipe:[1]>, 4<pipe:[1]>]
            ReadOnlySpan<byte> inner = a[1..];
            if (TryNumber(inner, out long f0, out int used))
            {
                r.Fd0 = (int)f0;
                int comma = inner[used..].IndexOf((byte)',');
                if (comma >= 0 && TryNumber(inner[(used + comma + 1)..].TrimStart((byte)' '), out long f1, out _))
                {
                    r.Fd1 = (int)f1;
                }
            }
        }
        else if (TryNumber(a, out long v, out _))
        {
            value = (ulong)v;
            int comment;
            if (r.Argc >= 0 && (comment = a.IndexOf("/* "u8)) > 0 && a.EndsWith(" vars */"u8) && TryNumber(a[(comment + 3)..], out long vars, out _))
            {
                r.Envc = (int)vars; // execve's envp without -v: 0x7ffd0 /* 3 vars */
            }
        }
        else if (a.StartsWith("PROT_"u8) || a.StartsWith("MADV_"u8))
        {
            value = Symbolic(a);
        }
        else if (a.StartsWith("SIG"u8))
        {
            value = SignalNumber(a); // kill(pid, SIGTERM), rt_sigaction(SIGINT, ...)
        }
        else if (index == 1 && a.StartsWith("{sa_handler="u8))
        {
            // rt_sigaction's new action: {sa_handler=SIG_DFL|SIG_IGN|0xADDR, sa_mask=..., ...} (strace src/signal.c)
            ReadOnlySpan<byte> h = a[12..];
            int end = h.IndexOfAny((byte)',', (byte)'}');
            h = (end < 0 ? h : h[..end]).Trim((byte)' ');
            r.NewAction = true;
            r.SaRestart = SaFlagsRestart(a);
            value = h.SequenceEqual("SIG_DFL"u8) ? 0 : h.SequenceEqual("SIG_IGN"u8) ? 1 : TryNumber(h, out long handler, out _) ? (ulong)handler : 2;
        }

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

    // the new action's sa_flags=SA_RESTORER|SA_RESTART (strace's names) or, with -X raw, its number: SA_RESTART is
    // 0x10000000 (include/uapi/asm-generic/signal-defs.h)
    private static bool SaFlagsRestart(ReadOnlySpan<byte> action)
    {
        int at = action.IndexOf("sa_flags="u8);
        if (at < 0)
        {
            return false;
        }

        ReadOnlySpan<byte> flags = action[(at + 9)..];
        int end = flags.IndexOfAny((byte)',', (byte)'}');
        flags = end < 0 ? flags : flags[..end];
        return flags.IndexOf("SA_RESTART"u8) >= 0 || (TryNumber(flags, out long raw, out _) && (raw & 0x10000000) != 0);
    }

    // an array of quoted strings: the first is execve's argv, the second its envp
    private static void ExecArray(ReadOnlySpan<byte> a, ref TraceRecord r)
    {
        List<int> bytes = r.ExecStrings is null ? [] : [.. r.ExecStrings];
        int count = 0;
        int k = 1;
        while (k < a.Length)
        {
            int quote = a[k..].IndexOf((byte)'"');
            if (quote < 0)
            {
                break;
            }

            k += quote;
            bytes.Add(StringBytes(a[k..]) + 1);
            count++;
            k++;
            while (k < a.Length && a[k] != (byte)'"')
            {
                k += a[k] == (byte)'\\' ? 2 : 1;
            }

            k++;
        }

        if (r.Argc < 0)
        {
            r.Argc = count;
        }
        else
        {
            r.Envc = count;
        }

        r.ExecStrings = [.. bytes];
    }

    /// <summary>A value strace -X abbrev (the default) shows as names: mprotect's protection, madvise's advice.</summary>
    internal const ulong UnknownSymbol = 1UL << 63;

    // PROT_READ|PROT_WRITE, MADV_DONTNEED (include/uapi/asm-generic/mman-common.h); a name the model does not use sets
    // UnknownSymbol, so that the call runs as generic rather than with a wrong value
    private static ulong Symbolic(ReadOnlySpan<byte> a)
    {
        ulong value = 0;
        foreach (Range part in a.Split((byte)'|'))
        {
            ReadOnlySpan<byte> name = a[part].Trim((byte)' ');
            value |= name switch
            {
                _ when name.SequenceEqual("PROT_NONE"u8) => 0,
                _ when name.SequenceEqual("PROT_READ"u8) => 0x1,
                _ when name.SequenceEqual("PROT_WRITE"u8) => 0x2,
                _ when name.SequenceEqual("PROT_EXEC"u8) => 0x4,
                _ when name.SequenceEqual("MADV_DONTNEED"u8) => 0x4,
                _ when TryNumber(name, out long n, out int used) && used == name.Length => (ulong)n,
                _ => UnknownSymbol,
            };
        }

        return value;
    }

    /// <summary>
    /// A signal's number from strace's name (include/uapi/asm-generic/signal.h and x86's, the numbering of the traced
    /// machine; SIGRTMIN is the kernel's 32, SIGRT_n 32 + n); 0 for a name not known, or a number as -X raw shows it.
    /// </summary>
    internal static ulong SignalNumber(ReadOnlySpan<byte> name)
    {
        if (TryNumber(name, out long n, out _))
        {
            return (ulong)n;
        }

        if (name.StartsWith("SIGRT_"u8) && TryNumber(name[6..], out long rt, out _))
        {
            return 32 + (ulong)rt;
        }

        ReadOnlySpan<byte> s = name.StartsWith("SIG"u8) ? name[3..] : name;
        int at = 0;
        foreach (byte[] known in s_signalNames)
        {
            at++;
            if (s.SequenceEqual(known))
            {
                return (ulong)at;
            }
        }

        return s.SequenceEqual("RTMIN"u8) ? 32UL : s.SequenceEqual("IOT"u8) ? 6UL : s.SequenceEqual("POLL"u8) ? 29UL : 0UL;
    }

    // signals 1 to 31 in order
    private static readonly byte[][] s_signalNames =
    [
        .. new[]
        {
            "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
            "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
        }.Select(Encoding.ASCII.GetBytes),
    ];

    // the bytes a quoted C string stands for (\n, \\, \", \ooo, \xhh each one byte); the runs between escapes are counted
    // a vector search at a time
    private static int StringBytes(ReadOnlySpan<byte> q)
    {
        int n = 0;
        int k = 1;
        while (k < q.Length)
        {
            int next = q[k..].IndexOfAny((byte)'"', (byte)'\\');
            if (next < 0)
            {
                n += q.Length - k;
                break;
            }

            n += next;
            k += next;
            if (q[k] == (byte)'"')
            {
                break;
            }

            if (k + 1 < q.Length)
            {
                byte e = q[k + 1];
                if (e == (byte)'x')
                {
                    k += 3;
                }
                else if (e >= (byte)'0' && e <= (byte)'7')
                {
                    k++;
                    int digits = 1;
                    while (digits < 3 && k + 1 < q.Length && q[k + 1] >= (byte)'0' && q[k + 1] <= (byte)'7')
                    {
                        k++;
                        digits++;
                    }
                }
                else
                {
                    k++;
                }
            }

            n++;
            k++;
        }

        return n;
    }

    /// <summary>A leading integer: decimal, negative decimal or 0x hex (a flag name or structure is not one).</summary>
    internal static bool TryNumber(ReadOnlySpan<byte> s, out long value, out int used)
    {
        value = 0;
        used = 0;
        bool negative = s.Length > 0 && s[0] == (byte)'-';
        int k = negative ? 1 : 0;
        if (s.Length - k > 2 && s[k] == (byte)'0' && (s[k + 1] | 0x20) == (byte)'x')
        {
            k += 2;
            int start = k;
            ulong v = 0;
            while (k < s.Length && k - start < 16)
            {
                uint d = (uint)s[k] - '0';
                if (d > 9)
                {
                    d = (uint)(s[k] | 0x20) - 'a';
                    if (d > 5)
                    {
                        break;
                    }

                    d += 10;
                }

                v = (v << 4) | d;
                k++;
            }

            if (k == start)
            {
                return false;
            }

            value = negative ? -(long)v : (long)v;
            used = k;
            return true;
        }

        int first = k;
        long dec = 0;
        while (k < s.Length && (uint)(s[k] - '0') <= 9 && k - first < 19)
        {
            dec = (dec * 10) + (s[k] - '0');
            k++;
        }

        if (k == first)
        {
            return false;
        }

        value = negative ? -dec : dec;
        used = k;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool IsNameStart(byte b) => (uint)((b | 0x20) - 'a') <= 25 || b == (byte)'_';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsNameByte(byte b) => (uint)((b | 0x20) - 'a') <= 25 || (uint)(b - '0') <= 9 || b == (byte)'_';

    // s from start on, without the spaces there
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<byte> SpacesSkipped(ReadOnlySpan<byte> s, int start)
    {
        while (start < s.Length && s[start] == (byte)' ')
        {
            start++;
        }

        return s[start..];
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
            if (!IsDigit(b))
            {
                return false;
            }

            v = (v * 10) + (b - '0');
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
