using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Vmsplit.Hardware.Input;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Workloads.Tests;

/// <summary>
/// Fuzz properties of the three trace readers: lines of the repository's real traces mutated, cut, shuffled and mixed
/// with random bytes, random bytes alone, and the repository's .gz/.xz/.zst traces cut or with a byte flipped, each
/// read to its end. Every input must end in records or in one line (a <see cref="WorkloadException"/>) that names the
/// file and the line (ChampSim: the record); any other exception fails the property, FsCheck printing the input.
/// </summary>
public class TraceReaderFuzzTests
{
    private const ulong Seed = 0x7_2ACE_2026;

    // hand-written strace shapes the recorded traces lack: -f pids, [pid N], times, splits, signals, exits
    private static readonly string[] StraceOddities =
    [
        "[pid  4242] 12:00:00.000001 clone(child_stack=NULL, flags=CLONE_VM|CLONE_FS|SIGCHLD) = 4243",
        "4242 1700000000.000001 read(3</etc/passwd>, \"root:x:0:0\\n\"..., 4096) = 4096 <0.000005>",
        "4243 write(1<pipe:[123]>, \"\\x41\\102\\\"\", 3 <unfinished ...>",
        "4242 <... write resumed>) = 3",
        "4243 <... write resumed>) = 3",
        "4242 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=4243} ---",
        "4243 +++ exited with 0 +++",
        "4242 +++ killed by SIGKILL +++",
        "strace: Process 4243 attached",
        "4242 pipe2([3<pipe:[9]>, 4<pipe:[9]>], O_CLOEXEC) = 0",
        "4242 exit_group(0) = ?",
        "4242 openat(AT_FDCWD, \"/dev/null\", O_RDONLY) = -1 ENOENT (No such file or directory)",
        "4242 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
        "4242 munmap(0x7f0000000000, 8192) = 0",
    ];

    private static readonly Lazy<byte[][]> s_strace = new(() =>
        [.. new[] { "tests/traces/strace/find.strace.xz", "tests/traces/strace/gzip.strace.gz", "tests/traces/strace/perl.strace.zst", "tests/traces/strace/pipeline.strace.gz", "tests/traces/hand/small.strace" }
            .SelectMany(p => LinesOf(p, int.MaxValue)), .. StraceOddities.Select(Encoding.UTF8.GetBytes)]);

    // every system-call and valgrind line of a real lackey trace and its first accesses
    private static readonly Lazy<byte[][]> s_lackey = new(() =>
        [.. LinesOf("tests/traces/lackey/cat.lackey.xz", 4000).Where((l, i) => i < 400 || !(l.Length > 1 && l[1] is (byte)' ' or (byte)'L' or (byte)'S' or (byte)'M')), .. TraceReaderTests.Lackey.Split('\n').Select(Encoding.UTF8.GetBytes)]);

    private static readonly Lazy<byte[]> s_champsim = new(() =>
    {
        (Stream data, _, _) = TraceFile.Open(RepoPath("tests/traces/champsim/cat.champsimtrace.xz"));
        using (data)
        {
            byte[] records = new byte[200 * ChampSimReader.RecordBytes];
            data.ReadExactly(records);
            return records;
        }
    });

    // pieces a mutation inserts: the syntax the readers split on, and numbers at and beyond their limits
    private static readonly string[] Tokens =
    [
        "(", ")", "[", "]", "{", "}", "<", ">", "\"", "\\", ",", " = ", "= ?", "...", " <unfinished ...>", "<... read resumed>", " resumed>",
        "+++", "---", "[pid ", "SYSCALL[", "](", ") --> ", "[async] ...", "[async] --> Success(0x", "Failure(0x", "Success(0x", "==1==",
        "I  ", " L ", " S ", " M ", "0x", "-", "0", "4096", "99999999999999999999", "0xffffffffffffffffff", "-9223372036854775808", "2147483648",
        "CLONE_VM", "clone(", "fork(", "execve(", "exit_group(", "<pipe:[1]>", "<socket:[2]>", "<TCP:[1.2.3.4:5->6.7.8.9:10]>", "\r", "\t", "\0", "\u00ff",
        "\n",
    ];

    private enum EditKind
    {
        Cut,
        FlipBit,
        InsertToken,
        InsertBytes,
        DeleteSpan,
        DuplicateSpan,
        DropLine,
    }

    private readonly record struct Edit(EditKind Kind, int Where, int What);

    private static readonly Gen<Edit> s_edit =
        from kind in Gen.Elements(Enum.GetValues<EditKind>())
        from place in Gen.Choose(0, int.MaxValue)
        from what in Gen.Choose(0, int.MaxValue)
        select new Edit(kind, place, what);

    // a text trace: 1-24 real lines, 0-3 edits, ended by a newline or not
    private static Gen<byte[]> TextCase(Lazy<byte[][]> corpus) =>
        from count in Gen.Choose(1, 24)
        from picks in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), count)
        from editCount in Gen.Elements(0, 1, 1, 1, 2, 3)
        from edits in Gen.ArrayOf(s_edit, editCount)
        from endsInNewline in Gen.Elements(true, true, true, false)
        select Build(corpus.Value, picks, edits, endsInNewline);

    private static Gen<byte[]> RandomBytes =>
        from length in Gen.Choose(0, 600)
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), length)
        select bytes;

    private static byte[] Build(byte[][] corpus, int[] picks, Edit[] edits, bool endsInNewline)
    {
        List<byte[]> lines = [.. picks.Select(p => corpus[p % corpus.Length])];
        foreach (Edit e in edits.Where(e => e.Kind == EditKind.DropLine && lines.Count > 1))
        {
            lines.RemoveAt(e.Where % lines.Count);
        }

        List<byte> b = [];
        foreach (byte[] line in lines)
        {
            b.AddRange(line);
            b.Add((byte)'\n');
        }

        if (!endsInNewline && b.Count > 0)
        {
            b.RemoveAt(b.Count - 1);
        }

        foreach (Edit e in edits)
        {
            Apply(b, e);
        }

        return [.. b];
    }

    private static void Apply(List<byte> b, Edit e)
    {
        int at = b.Count == 0 ? 0 : e.Where % (b.Count + 1);
        switch (e.Kind)
        {
            case EditKind.Cut:
                b.RemoveRange(at, b.Count - at);
                break;
            case EditKind.FlipBit when b.Count > 0:
                b[e.Where % b.Count] ^= (byte)(1 << (e.What % 8));
                break;
            case EditKind.InsertToken:
                b.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[e.What % Tokens.Length]));
                break;
            case EditKind.InsertBytes:
                b.InsertRange(at, BitConverter.GetBytes(e.What).Take(1 + (e.What % 4)));
                break;
            case EditKind.DeleteSpan:
                b.RemoveRange(at, Math.Min(b.Count - at, e.What % 40));
                break;
            case EditKind.DuplicateSpan:
                b.InsertRange(at, b.GetRange(at, Math.Min(b.Count - at, e.What % 60)));
                break;
        }
    }

    [Fact]
    public void MutatedStraceLinesEndInRecordsOrALocatedLine() =>
        ForAll(TextCase(s_strace), bytes => Holds(bytes, TraceFormat.Strace), 1500);

    // shapes whose scan StraceReader restructured: escapes, execve's arrays and /* N vars */, rt_sigaction's action,
    // symbolic arguments, names with digits, leading spaces, annotations inside structures
    private static readonly string[] StraceScanShapes =
    [
        "  4242 12:00:00.5 execve(\"/bin/sh\", [\"sh\", \"-c\", \"x\\\\\"], 0x7ffd0 /* 3 vars */) = 0",
        "execve(\"/bin/ls\", [\"ls\"], [\"A=1\", \"B=\\x41\\101\\7\"...]) = 0",
        "rt_sigaction(SIGINT, {sa_handler=0x401000, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f}, NULL, 8) = 0",
        "rt_sigaction(SIGTERM, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0x14000000}, {sa_handler=SIG_DFL}, 8) = 0",
        "mprotect(0x7f0000, 4096, PROT_READ|PROT_EXEC) = 0",
        "madvise(0x7f0000, 4096, MADV_DONTNEED|MADV_FREE) = 0",
        "kill(4243, SIGRT_3) = 0",
        "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 4243",
        "fcntl(3</dev/null>, F_SETFD, FD_CLOEXEC) = 0",
        "sendmsg(3<socket:[77]>, {msg_name=NULL, msg_iov=[{iov_base=\"a\\\"b\", iov_len=3}], msg_flags=0}, 0) = 3",
        "epoll_create1(EPOLL_CLOEXEC) = 5",
        "clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000}, 88) = 4244",
        "nanosleep({tv_sec=1, tv_nsec=0}, {tv_sec=0, tv_nsec=5}) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)",
        "read(0</dev/pts/0>, \"\\\", 1) = 1",
        "llseek32(3, 0, SEEK_SET) = 0",
        "3read(3, \"\", 1) = 0",
        "[pid 17] ??? getpid() = 1",
        "??? 1",
        "[ Process PID=4243 runs in 32 bit mode. ]",
        "open(\"/dev/zero\", O_RDONLY|O_CLOEXEC) = 3 <0.000010>",
    ];

    private static readonly Lazy<byte[][]> s_straceAgreement = new(() => [.. s_strace.Value, .. StraceScanShapes.Select(Encoding.UTF8.GetBytes)]);

    /// <summary>
    /// The strace reader yields what the reader before its scan was restructured (<see cref="ReferenceStraceReader"/>)
    /// yields, record for record and field for field, and fails on the same line with the same message.
    /// </summary>
    [Fact]
    public void MutatedStraceLinesReadAsTheReferenceReaderReadsThem() =>
        ForAll(TextCase(s_straceAgreement), bytes => StraceReadings(bytes, reference: false).SequenceEqual(StraceReadings(bytes, reference: true)), 3000);

    [Theory]
    [InlineData("tests/traces/strace/find.strace.xz")]
    [InlineData("tests/traces/strace/gzip.strace.gz")]
    [InlineData("tests/traces/strace/perl.strace.zst")]
    [InlineData("tests/traces/strace/pipeline.strace.gz")]
    [InlineData("tests/traces/hand/small.strace")]
    public void RecordedStraceTracesReadAsTheReferenceReaderReadsThem(string relative)
    {
        (Stream data, _, _) = TraceFile.Open(RepoPath(relative));
        using MemoryStream ms = new();
        using (data)
        {
            data.CopyTo(ms);
        }

        byte[] bytes = ms.ToArray();
        List<string> mine = StraceReadings(bytes, reference: false);
        Assert.True(mine.Count > 10);
        Assert.Equal(StraceReadings(bytes, reference: true), mine);
    }

    [Fact]
    public void DescriptorAndPathNamesClassifyAsTheReferenceReaderClassifiesThem()
    {
        string[] names =
        [
            "", "/", "/dev", "/dev/", "/dev/null", "/dev/null2", "/dev/zero", "/dev/pts/0", "/dev/pts", "/dev/pts[1]", "/dev/tty", "/dev/tty1", "/dev/console",
            "/dev/sda:1", "/dev/sda", "/usr/lib/libc.so.6", "/a:b", "pipe:[5]", "pipe", "socket:[7]", "socket", "TCP:[1.2.3.4:5->6.7.8.9:10]", "TCPv6", "UDP:[1]",
            "UNIX:[9]", "UNIX-STREAM:[9]", "NETLINK:[3]", "anon_inode:[eventfd]", "/memfd:x (deleted)", "0123456789abcdef", "p", "s:", "T", "N:x", "U",
        ];
        foreach (string name in names)
        {
            byte[] b = Encoding.UTF8.GetBytes(name);
            Assert.Equal(ReferenceStraceReader.Classify(b), StraceReader.Classify(b));
        }
    }

    /// <summary>
    /// Read ahead on a thread of its own (<see cref="ReadAheadTraceReader"/>, batches of 1 to 5 records so that every
    /// hand-over is crossed), a trace yields what its reader yields directly: every field of every record (the call's raw
    /// id included, in a table the caller interns names of its own into between records, as the replay interns "clone"),
    /// the bytes read and the pending clone after each record, the calls left unfinished, and the error on the same line.
    /// </summary>
    [Fact]
    public void MutatedStraceLinesReadAheadAsTheyReadDirectly() =>
        ForAll(
            from bytes in TextCase(s_straceAgreement)
            from batch in Gen.Choose(1, 5)
            from every in Gen.Choose(1, 4)
            select (bytes, batch, every),
            c => CallerReadings(c.bytes, 0, c.every).SequenceEqual(CallerReadings(c.bytes, c.batch, c.every)),
            3000);

    [Theory]
    [InlineData("tests/traces/strace/find.strace.xz", 1)]
    [InlineData("tests/traces/strace/gzip.strace.gz", 7)]
    [InlineData("tests/traces/strace/perl.strace.zst", ReadAheadTraceReader.DefaultBatchRecords)]
    [InlineData("tests/traces/strace/pipeline.strace.gz", 3)]
    [InlineData("tests/traces/hand/small.strace", 2)]
    public void RecordedStraceTracesReadAheadAsTheyReadDirectly(string relative, int batch)
    {
        (Stream data, _, _) = TraceFile.Open(RepoPath(relative));
        using MemoryStream ms = new();
        using (data)
        {
            data.CopyTo(ms);
        }

        byte[] bytes = ms.ToArray();
        List<string> direct = CallerReadings(bytes, 0, 5);
        Assert.True(direct.Count > 10);
        Assert.Equal(direct, CallerReadings(bytes, batch, 5));
    }

    /// <summary>A caller that stops early disposes the reader while its thread waits for a free batch or parses one.</summary>
    [Fact]
    public void ReadingAheadStopsWhenTheCallerDisposesEarly()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("4242 getpid() = 4242\n", 5000)));
        for (int take = 0; take < 4; take++)
        {
            CountingStream raw = new(new MemoryStream(bytes));
            ReadAheadTraceReader reader = new(new StraceReader(raw, raw, "early.trace"), batchRecords: 16, batches: 2);
            TraceRecord r = default;
            for (int i = 0; i < take; i++)
            {
                Assert.True(reader.Next(ref r));
                Assert.Equal(i + 1, r.Line);
            }

            reader.Dispose();
            reader.Dispose();
        }
    }

    // what a caller sees, record by record, reading directly (batch 0) or ahead in batches of `batch` records; it interns
    // "clone" and a name of its own into the reader's table after every `every`-th record
    private static List<string> CallerReadings(byte[] bytes, int batch, int every)
    {
        CountingStream raw = new(new MemoryStream(bytes));
        List<string> seen = [];
        StraceReader direct = new(raw, raw, "fuzz.trace");
        ITraceReader reader = batch == 0 ? direct : new ReadAheadTraceReader(direct, batch, 2);
        using (reader)
        {
            try
            {
                TraceRecord r = default;
                int n = 0;
                while (reader.Next(ref r))
                {
                    string exec = r.ExecStrings is null ? "-" : string.Join(",", r.ExecStrings);
                    bool clone = reader.PendingClone(out int parent, out bool shares);
                    seen.Add($"{r.Kind} {r.Pid} {r.Call} {r.Arg0} {r.Arg1} {r.Arg2} {r.Arg3} {r.StructArgs} {r.Result} {r.HasResult} {r.PathBytes} {r.PathAddress} {r.FdKind} {r.PathKind} " +
                        $"{r.NewAction} {r.SaRestart} {r.Restart} {r.Argc} {r.Envc} {exec} {r.CloExec} {r.CloExecOnArg0} {r.SharesMm} {r.Fd0} {r.Fd1} {r.FinishedAtEnd} {r.Killed} {r.Skip} {r.Line} " +
                        $"{r.Address} {r.Size} | {reader.BytesRead} {clone} {parent} {shares} | {reader.Names.Count}");
                    if (++n % every == 0)
                    {
                        reader.Names.Intern("clone".AsSpan());
                        reader.Names.Intern($"caller{n % 7}".AsSpan());
                    }
                }

                seen.Add($"unfinished {reader.UnfinishedAtEnd}");
                seen.Add(string.Join(",", Enumerable.Range(0, reader.Names.Count).Select(i => reader.Names[i])));
            }
            catch (WorkloadException e)
            {
                seen.Add(e.Message);
            }
        }

        return seen;
    }

    /// <summary>
    /// Unfinished clones, forks and vforks among many other unfinished calls, finished, resumed out of order, a pid's
    /// unfinished call replaced by another: the clone the reader names after each record is the reference's (the first
    /// unfinished clone in its table's order), though the reader keeps a count and scans only while one is unfinished.
    /// </summary>
    [Fact]
    public void APendingCloneAmongManyUnfinishedCallsIsTheReferencesOne()
    {
        StringBuilder t = new();
        for (int i = 0; i < 200; i++)
        {
            t.Append(1000 + i).Append(" read(0,  <unfinished ...>\n");
        }

        t.Append("7 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>\n");
        t.Append("8 vfork( <unfinished ...>\n");
        t.Append("9 clone(child_stack=0x7f00, flags=CLONE_VM|CLONE_THREAD <unfinished ...>\n");
        t.Append("1003 <... read resumed>\"x\", 1) = 1\n");
        t.Append("7 <... clone resumed>) = 20\n");
        t.Append("1003 fork( <unfinished ...>\n");
        t.Append("8 <... vfork resumed>) = 21\n");
        t.Append("1004 read(0,  <unfinished ...>\n"); // replaces nothing: 1004's read is unfinished already (a malformed line)
        t.Append("9 <... clone resumed>) = 22\n");
        t.Append("1003 <... fork resumed>) = 23\n");
        t.Append("5 getpid() = 5\n");
        byte[] bytes = Encoding.UTF8.GetBytes(t.ToString());
        List<string> mine = StraceReadings(bytes, reference: false);
        Assert.Equal(StraceReadings(bytes, reference: true), mine);
        string[] clones = [.. mine.Skip(200).SkipLast(1).Select(l => l[(l.LastIndexOf('|') + 2)..])];

        // 7's clone first; after it and 8's vfork return, 1003's fork, which took the table slot its finished read left,
        // comes before 9's CLONE_VM clone; none after the last returns
        Assert.Equal(["True 7 False", "True 7 False", "True 7 False", "True 7 False", "True 8 False", "True 1003 False", "True 1003 False", "True 1003 False", "True 1003 False", "False 0 False", "False 0 False"], clones);
    }

    // every record's fields (the call by its name), the calls left unfinished, the clone left unfinished after each, or the
    // error that ended the read
    private static List<string> StraceReadings(byte[] bytes, bool reference)
    {
        CountingStream raw = new(new MemoryStream(bytes));
        List<string> seen = [];
        ITraceReader reader = reference ? new ReferenceStraceReader(raw, raw, "fuzz.trace") : new StraceReader(raw, raw, "fuzz.trace");
        using (reader)
        {
            try
            {
                TraceRecord r = default;
                while (reader.Next(ref r))
                {
                    string exec = r.ExecStrings is null ? "-" : string.Join(",", r.ExecStrings);
                    string call = r.Kind == TraceRecordKind.Syscall ? reader.Names[r.Call] : "";
                    bool clone = reader.PendingClone(out int parent, out bool shares); // the reference scans every unfinished call
                    seen.Add($"{r.Kind} {r.Pid} {call} {r.Arg0} {r.Arg1} {r.Arg2} {r.Arg3} {r.StructArgs} {r.Result} {r.HasResult} {r.PathBytes} {r.PathAddress} {r.FdKind} {r.PathKind} " +
                        $"{r.NewAction} {r.SaRestart} {r.Restart} {r.Argc} {r.Envc} {exec} {r.CloExec} {r.CloExecOnArg0} {r.SharesMm} {r.Fd0} {r.Fd1} {r.FinishedAtEnd} {r.Killed} {r.Skip} {r.Line} " +
                        $"| {clone} {parent} {shares}");
                }

                seen.Add($"unfinished {reader.UnfinishedAtEnd}");
            }
            catch (WorkloadException e)
            {
                seen.Add(e.Message);
            }
        }

        return seen;
    }

    [Fact]
    public void MutatedLackeyLinesEndInRecordsOrALocatedLine() =>
        ForAll(TextCase(s_lackey), bytes => Holds(bytes, TraceFormat.Lackey), 1500);

    [Fact]
    public void RandomBytesEndInRecordsOrALocatedLineInEveryFormat() =>
        ForAll(RandomBytes, bytes => Holds(bytes, TraceFormat.Strace) && Holds(bytes, TraceFormat.Lackey) && Holds(bytes, TraceFormat.ChampSim), 500);

    [Fact]
    public void MutatedChampSimRecordsEndInRecordsOrALocatedLine()
    {
        Gen<byte[]> records =
            from count in Gen.Choose(0, 40)
            from first in Gen.Choose(0, 199)
            from edits in Gen.ListOf(s_edit).Select(l => l.Take(4).ToArray())
            select ChampSimCase(first, count, edits);
        ForAll(records, bytes => Holds(bytes, TraceFormat.ChampSim), 800);
    }

    private static byte[] ChampSimCase(int first, int count, Edit[] edits)
    {
        int n = Math.Min(count, 200 - first);
        List<byte> b = [.. s_champsim.Value.AsSpan(first * ChampSimReader.RecordBytes, n * ChampSimReader.RecordBytes)];
        foreach (Edit e in edits.Where(e => e.Kind != EditKind.DropLine))
        {
            Apply(b, e);
        }

        return [.. b];
    }

    public static TheoryData<string, TraceFormat, TraceFile.XzDecoder> CompressedTraces => new()
    {
        { "tests/traces/strace/gzip.strace.gz", TraceFormat.Strace, TraceFile.XzDecoder.System },
        { "tests/traces/strace/perl.strace.zst", TraceFormat.Strace, TraceFile.XzDecoder.System },
        { "tests/traces/strace/find.strace.xz", TraceFormat.Strace, TraceFile.XzDecoder.System },
        { "tests/traces/strace/find.strace.xz", TraceFormat.Strace, TraceFile.XzDecoder.Managed },
        { "tests/traces/champsim/cat.champsimtrace.xz", TraceFormat.ChampSim, TraceFile.XzDecoder.System },
    };

    /// <summary>A compressed trace cut anywhere, or with one bit flipped, or both: records, or one line naming the file and a line.</summary>
    [Theory]
    [MemberData(nameof(CompressedTraces))]
    public void CutAndCorruptCompressedStreamsEndInRecordsOrALocatedLine(string relative, TraceFormat format, TraceFile.XzDecoder xz)
    {
        byte[] whole = File.ReadAllBytes(RepoPath(relative));
        string dir = Directory.CreateTempSubdirectory("vmsplit-trace-fuzz").FullName;
        string path = Path.Combine(dir, Path.GetFileName(relative));
        Gen<(int Cut, int Flip, int Bit)> damage =
            from cut in Gen.Choose(0, whole.Length)
            from flip in Gen.Choose(-1, whole.Length - 1)
            from bit in Gen.Choose(0, 7)
            select (cut, flip, bit);
        try
        {
            ForAll(damage, d =>
            {
                byte[] bytes = whole[..Math.Max(d.Cut, d.Flip + 1)];
                if (d.Flip >= 0)
                {
                    bytes[d.Flip] ^= (byte)(1 << d.Bit);
                }

                File.WriteAllBytes(path, bytes);
                string? error = Outcome(() => TraceFile.OpenReader(path, format, xz));
                return error is null || (OneLine(error) && (error.StartsWith(InputText.ShowPath(path) + ":", StringComparison.Ordinal) || error.StartsWith("trace ", StringComparison.Ordinal)));
            }, 60);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The system's liblzma and the managed decoder give the same bytes for every .xz trace of the repository.</summary>
    [Theory]
    [InlineData("tests/traces/strace/find.strace.xz")]
    [InlineData("tests/traces/champsim/cat.champsimtrace.xz")]
    [InlineData("tests/traces/lackey/gzip.lackey.xz")]
    public void TheSystemAndManagedXzDecodersAgree(string relative)
    {
        Assert.True(LiblzmaStream.Available, "liblzma.so.5 is on every Debian system (dpkg depends on liblzma5)");
        Assert.Equal(Decoded(RepoPath(relative), TraceFile.XzDecoder.Managed), Decoded(RepoPath(relative), TraceFile.XzDecoder.System));
    }

    private static byte[] Decoded(string path, TraceFile.XzDecoder xz)
    {
        (Stream data, _, _) = TraceFile.Open(path, xz);
        using (data)
        {
            using MemoryStream ms = new();
            data.CopyTo(ms);
            return ms.ToArray();
        }
    }

    private static bool Holds(byte[] bytes, TraceFormat format)
    {
        const string name = "fuzz.trace";
        string? error = Outcome(() =>
        {
            CountingStream raw = new(new MemoryStream(bytes));
            return format switch
            {
                TraceFormat.Strace => new StraceReader(raw, raw, name),
                TraceFormat.Lackey => new LackeyReader(raw, raw, name),
                _ => new ChampSimReader(raw, raw, name),
            };
        });
        if (error is null)
        {
            return true;
        }

        string located = format == TraceFormat.ChampSim ? $"^{name}: record [0-9]+" : $"^{name}:[0-9]+: ";
        return OneLine(error) && System.Text.RegularExpressions.Regex.IsMatch(error, located);
    }

    // null when the whole trace was read; the message of the reader's one-line error otherwise
    private static string? Outcome(Func<ITraceReader> open)
    {
        try
        {
            using ITraceReader reader = open();
            TraceRecord r = default;
            while (reader.Next(ref r))
            {
            }

            return null;
        }
        catch (WorkloadException e)
        {
            return e.Message;
        }
    }

    private static bool OneLine(string message) => message.Length > 0 && !message.Contains('\n') && !message.Contains('\r');

    // FUZZ_ITERATIONS and FUZZ_SEED as in the fuzz harness (docs/fuzzing.md): more cases per property, other cases
    private static void ForAll<T>(Gen<T> generator, Func<T, bool> property, int maxTest)
    {
        Replay replay = new(new Rnd(Seed ^ (ulong.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out ulong seed) ? seed : 0), 0x9E37_79B9_7F4A_7C15UL), FSharpOption<int>.None);
        Config config = Config.QuickThrowOnFailure.WithMaxTest(int.TryParse(Environment.GetEnvironmentVariable("FUZZ_ITERATIONS"), out int n) && n > 0 ? n : maxTest).WithReplay(FSharpOption<Replay>.Some(replay));
        Check.One(config, Prop.ForAll(generator.ToArbitrary(), property));
    }

    private static IEnumerable<byte[]> LinesOf(string relative, int max)
    {
        (Stream data, _, _) = TraceFile.Open(RepoPath(relative));
        using LineReader lines = new(data, relative);
        for (int i = 0; i < max && lines.TryReadLine(out ReadOnlySpan<byte> line); i++)
        {
            yield return line.ToArray();
        }
    }

    private static string RepoPath(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Vmsplit.slnx")))
            {
                return Path.Combine(d.FullName, relative);
            }
        }

        throw new InvalidOperationException("Vmsplit.slnx not found");
    }
}
