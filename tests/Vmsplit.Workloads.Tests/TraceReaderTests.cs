using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Workloads.Tests;

public class TraceReaderTests
{
    internal static string Temp(string name, byte[] bytes)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("vmsplit-trace").FullName, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    internal static string Temp(string name, string text) => Temp(name, Encoding.UTF8.GetBytes(text));

    private static List<TraceRecord> ReadAll(string path, TraceFormat format, out SyscallNames names)
    {
        using ITraceReader reader = TraceFile.OpenReader(path, format);
        names = reader.Names;
        List<TraceRecord> all = [];
        TraceRecord r = default;
        while (reader.Next(ref r))
        {
            all.Add(r);
        }

        return all;
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

    public const string Lackey =
        "==100== Lackey, an example Valgrind tool\n" +
        "I  0401ab70,3\n" +
        " S 1fff000638,8\n" +
        " L 04020000,4\n" +
        " M 04020008,8\n" +
        "SYSCALL[100,1](257) sys_openat ( 4294967196, 0x4034bb0(/etc/ld.so.cache), 524288 ) --> [async] ... \n" +
        "I  0401ab73,5\n" +
        "SYSCALL[100,1](257) ... [async] --> Success(0x3) \n" +
        "SYSCALL[100,1](0) sys_read ( 3, 0x1ffeffece8, 832 )[sync] --> Success(0x340) \n" +
        "SYSCALL[100,1](334) unimplemented (by the kernel) syscall: 334! (ni_syscall)\n" +
        " --> [pre-fail] Failure(0x26) \n" +
        "SYSCALL[100,1](158) arch_prctl ( 4098, 4a29740 ) --> [pre-success] Success(0x0) \n" +
        "SYSCALL[100,1](231) exit_group( 0 ) --> [pre-success] Success(0x0) \n";

    [Fact]
    public void LackeyLinesBecomeTheseRecords()
    {
        List<TraceRecord> r = ReadAll(Temp("t.lackey", Lackey), TraceFormat.Lackey, out SyscallNames names);
        Assert.Equal(13, r.Count);
        Assert.Equal(
            [TraceRecordKind.Skipped, TraceRecordKind.Fetch, TraceRecordKind.Store, TraceRecordKind.Load, TraceRecordKind.Modify, TraceRecordKind.Skipped, TraceRecordKind.Fetch,
             TraceRecordKind.Syscall, TraceRecordKind.Syscall, TraceRecordKind.Skipped, TraceRecordKind.Syscall, TraceRecordKind.Syscall, TraceRecordKind.Syscall],
            r.Select(x => x.Kind));
        Assert.Equal((0x0401ab70UL, 3U, 100), (r[1].Address, r[1].Size, r[1].Pid));
        Assert.Equal((0x1fff000638UL, 8U), (r[2].Address, r[2].Size));
        Assert.Equal(SkipReason.ToolMessage, r[0].Skip);
        Assert.Equal(SkipReason.CallStarted, r[5].Skip);

        TraceRecord open = r[7];
        Assert.Equal("openat", names[open.Call]);
        Assert.Equal(8, open.Line); // reported at the line that finished it
        Assert.Equal(("/etc/ld.so.cache".Length + 1, 0x4034bb0UL, 3L, 524288UL), (open.PathBytes, open.PathAddress, open.Result, open.Arg2));
        Assert.Equal(FdKind.File, open.PathKind);

        TraceRecord read = r[8];
        Assert.Equal("read", names[read.Call]);
        Assert.Equal((3UL, 0x1ffeffece8UL, 832UL, 0x340L), (read.Arg0, read.Arg1, read.Arg2, read.Result));

        Assert.Equal(("ni_syscall", -0x26L), (names[r[10].Call], r[10].Result));
        Assert.Equal(("arch_prctl", 0x4a29740UL), (names[r[11].Call], r[11].Arg1)); // hex without 0x
        Assert.Equal("exit_group", names[r[12].Call]);
    }

    public const string Strace =
        "100 12:00:00.000001 execve(\"/bin/sh\", [\"sh\", \"-c\", \"x\"], 0x7ffd0 /* 3 vars */) = 0 <0.000100>\n" +
        "100 12:00:00.000002 openat(AT_FDCWD</tmp>, \"/dev/null\", O_WRONLY|O_CREAT, 0666) = 3</dev/null> <0.000010>\n" +
        "100 12:00:00.000004 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished ...>\n" +
        "101 12:00:00.000006 read(4<pipe:[42]>, \"a,b)\\\"\", 4096) = 5 <0.000001>\n" +
        "100 12:00:00.000007 <... clone resumed>, child_tidptr=0x7f0) = 101 <0.000050>\n" +
        "101 12:00:00.000008 exit_group(0)           = ?\n" +
        "101 12:00:00.000009 +++ exited with 0 +++\n" +
        "100 12:00:00.000010 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101} ---\n" +
        "[pid   100] stat(\"/etc/passwd\", 0x7ffc1) = -1 ENOENT (No such file or directory)\n" +
        "mmap(NULL, 65536, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1234560000\n" +
        "1733355555.123456 pipe2([3, 4], O_CLOEXEC) = 0\n" +
        "strace: Process 102 attached\n" +
        "\n" +
        "100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_THREAD, exit_signal=0}, 88) = 103\n" +
        "100 +++ killed by SIGKILL (core dumped) +++\n";

    [Fact]
    public void StraceLinesBecomeTheseRecords()
    {
        List<TraceRecord> r = ReadAll(Temp("t.strace", Strace), TraceFormat.Strace, out SyscallNames names);
        Assert.Equal(15, r.Count);
        Assert.Equal(("execve", 100, 8), (names[r[0].Call], r[0].Pid, r[0].PathBytes));
        Assert.Equal(("openat", 3L, FdKind.DevNull, 10), (names[r[1].Call], r[1].Result, r[1].PathKind, r[1].PathBytes));
        Assert.Equal((TraceRecordKind.Skipped, SkipReason.CallStarted), (r[2].Kind, r[2].Skip));
        Assert.Equal(("read", 101, FdKind.Pipe, 5L, 4096UL, 6), (names[r[3].Call], r[3].Pid, r[3].FdKind, r[3].Result, r[3].Arg2, r[3].PathBytes)); // a,b)" is 5 bytes
        Assert.Equal(("clone", 101L, false), (names[r[4].Call], r[4].Result, r[4].SharesMm));
        Assert.Equal(("exit_group", false), (names[r[5].Call], r[5].HasResult));
        Assert.Equal((TraceRecordKind.ProcessExit, 101), (r[6].Kind, r[6].Pid));
        Assert.Equal((TraceRecordKind.Signal, 100, 17UL), (r[7].Kind, r[7].Pid, r[7].Arg0)); // SIGCHLD
        Assert.Equal(("stat", 100, -1L), (names[r[8].Call], r[8].Pid, r[8].Result));
        Assert.Equal(("mmap", 0, 65536UL, 0x7f1234560000L), (names[r[9].Call], r[9].Pid, r[9].Arg1, r[9].Result));
        Assert.Equal(("pipe2", 3, 4), (names[r[10].Call], r[10].Fd0, r[10].Fd1));
        Assert.Equal(SkipReason.ToolMessage, r[11].Skip);
        Assert.Equal(SkipReason.Blank, r[12].Skip);
        Assert.Equal(("clone3", true, 103L), (names[r[13].Call], r[13].SharesMm, r[13].Result));
        Assert.Equal(TraceRecordKind.ProcessExit, r[14].Kind);
    }

    [Fact]
    public void ProtectionsAndAdviceShownAsNamesBecomeTheirValues()
    {
        const string trace =
            "300 mprotect(0x7f3a5c001000, 4096, PROT_READ) = 0\n" +
            "300 mprotect(0x7f3a5c001000, 4096, PROT_READ|PROT_WRITE|PROT_EXEC) = 0\n" +
            "300 mprotect(0x7ffd12345000, 4096, PROT_NONE) = 0\n" +
            "300 mprotect(0x7f3a5c001000, 4096, 0x1 /* PROT_READ */) = 0\n" +
            "300 madvise(0x7f3a5c000000, 16384, MADV_DONTNEED) = 0\n" +
            "300 madvise(0x7f3a5c000000, 16384, MADV_WILLNEED) = 0\n" +
            "300 mprotect(0x7f3a5c001000, 4096, PROT_READ|PROT_SEM) = 0\n" +
            "300 openat(AT_FDCWD, \"/x\", O_RDONLY|O_CLOEXEC) = 3\n";
        List<TraceRecord> r = ReadAll(Temp("p.strace", trace), TraceFormat.Strace, out SyscallNames names);
        Assert.Equal((0x7f3a5c001000UL, 4096UL, 0x1UL), (r[0].Arg0, r[0].Arg1, r[0].Arg2));
        Assert.Equal(0x7UL, r[1].Arg2);
        Assert.Equal(0UL, r[2].Arg2);
        Assert.Equal(0x1UL, r[3].Arg2); // -X verbose
        Assert.Equal(("madvise", 16384UL, 4UL), (names[r[4].Call], r[4].Arg1, r[4].Arg2));
        Assert.Equal(StraceReader.UnknownSymbol, r[5].Arg2); // an advice the model has no path for
        Assert.Equal(StraceReader.UnknownSymbol | 0x1, r[6].Arg2);
        Assert.Equal(0UL, r[7].Arg2); // other flag names stay 0, as before
    }

    [Theory]
    [InlineData("I  04zz,3\n", 1, "an access is 'ADDR,SIZE' with a hex address")]
    [InlineData("==1== x\n L 0400,\n", 2, "an access is 'ADDR,SIZE'")]
    [InlineData("I  0400,0\n", 1, "an access is 'ADDR,SIZE' with a positive decimal size")]
    [InlineData("I  0401,3\nhello\n", 2, "not a lackey line")]
    [InlineData("SYSCALL[1,1](0) sys_read ( 3, 0x10, 4 ) --> Success(zz)\n", 1, "a result is Success(0xN) or Failure(0xN)")]
    [InlineData("SYSCALL[x,1](0) sys_read\n", 1, "a system call line is")]
    [InlineData("I  0401,3\nI  0402,3", 2, "the trace is truncated: its last line has no end of line")]
    public void MalformedLackeyIsOneLineNamingFileAndLine(string text, int line, string what)
    {
        string path = Temp("bad.lackey", text);
        WorkloadException e = Assert.Throws<WorkloadException>(() => ReadAll(path, TraceFormat.Lackey, out _));
        Assert.StartsWith($"{path}:{line}: {what}", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("read(3, \"abc\", 4096) = 3\nread(3, \"abc\n", 2, "a string argument does not end")]
    [InlineData("read(3, 4096\n", 1, "the arguments do not end with ')'")]
    [InlineData("read(3, 4096) 3\n", 1, "no ' = RESULT' after the arguments")]
    [InlineData("read(3, 4096) = abc\n", 1, "the result is not a number or '?'")]
    [InlineData("100 12:00:00.0x1 read(3) = 0\n", 1, "a time stamp")]
    [InlineData("!!!\n", 1, "not a system call")]
    [InlineData("getpid() = 1\ngetpid() = 1", 2, "the trace is truncated")]
    [InlineData("getpid() = 1\n--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED\n", 2, "a signal line is '--- SIGNAME {...} ---'")]
    public void MalformedStraceIsOneLineNamingFileAndLine(string text, int line, string what)
    {
        string path = Temp("bad.strace", text);
        WorkloadException e = Assert.Throws<WorkloadException>(() => ReadAll(path, TraceFormat.Strace, out _));
        Assert.StartsWith($"{path}:{line}: {what}", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ATraceNamingMoreSystemCallsThanTheTableHoldsIsRefusedAtTheFirstNameTooMany()
    {
        // found by the fuzz campaign (tests/Vmsplit.Fuzz.Tests): 300,000 lines each naming a call of its own grew the
        // names table, and the replay's per-call tables, with the trace (800 MB for 300,000 names); a name already met
        // still reads once the table is full
        int n = SyscallNames.MaxTraceNames;
        StringBuilder strace = new();
        StringBuilder lackey = new();
        for (int i = 0; i <= n; i++)
        {
            strace.Append(CultureInfo.InvariantCulture, $"100 call{i}(1) = 0\n");
            lackey.Append(CultureInfo.InvariantCulture, $"SYSCALL[100,1](0) sys_call{i} ( 1 )[sync] --> Success(0x0) \n");
        }

        string fits = Temp("fits.strace", strace.ToString().Replace($"call{n}(", "call0(", StringComparison.Ordinal));
        Assert.Equal(n + 1, ReadAll(fits, TraceFormat.Strace, out SyscallNames names).Count);
        Assert.Equal(n, names.Count);

        string path = Temp("names.strace", strace.ToString());
        WorkloadException e = Assert.Throws<WorkloadException>(() => ReadAll(path, TraceFormat.Strace, out _));
        Assert.StartsWith($"{path}:{n + 1}: a system call name beyond the {n} distinct ones", e.Message);

        path = Temp("names.lackey", lackey.ToString());
        e = Assert.Throws<WorkloadException>(() => ReadAll(path, TraceFormat.Lackey, out _));
        Assert.StartsWith($"{path}:{n + 1}: a system call name beyond the {n} distinct ones", e.Message);
    }

    [Fact]
    public void ALackeyLogEndingInAnExecveLineIsTheExecNotATruncation()
    {
        // valgrind 3.19's log of sh -c 'exec /bin/true a b': the exec replaced the program, no result, no end of line
        string exec = Temp("exec.lackey", "==9738== Lackey\nSYSCALL[9738,1](59) sys_execve ( 0x1298e0(/bin/true), 0x129940, 0x4035c78 )");
        List<TraceRecord> all = ReadAll(exec, TraceFormat.Lackey, out SyscallNames names);
        Assert.Equal(3, all.Count);
        Assert.Equal((TraceRecordKind.Skipped, SkipReason.CallStarted), (all[1].Kind, all[1].Skip));
        Assert.Equal((TraceRecordKind.Syscall, "execve", true, false, 10, 2L), (all[2].Kind, names[all[2].Call], all[2].FinishedAtEnd, all[2].HasResult, all[2].PathBytes, all[2].Line));

        // any other line without its end is a truncated trace
        string cut = Temp("cut.lackey", "==9738== Lackey\nSYSCALL[9738,1](0) sys_read ( 3, 0x1ffeffece8, 832 )");
        WorkloadException e = Assert.Throws<WorkloadException>(() => ReadAll(cut, TraceFormat.Lackey, out _));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void RestartCodesAndSaRestartAreRead()
    {
        string path = Temp("restart.strace",
            "7 rt_sigaction(SIGALRM, {sa_handler=0x5600, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f00}, NULL, 8) = 0\n" +
            "7 rt_sigaction(SIGALRM, {sa_handler=0x5600, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f00}, {sa_handler=0x5600, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f00}, 8) = 0\n" +
            "7 rt_sigaction(0xe, {sa_handler=0x5600, sa_mask=[], sa_flags=0x14000000, sa_restorer=0x7f00}, NULL, 8) = 0\n" +
            "7 read(0, 0x7ffc0, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <1.000084>\n" +
            "7 clone(child_stack=NULL, flags=SIGCHLD) = ? ERESTARTNOINTR (To be restarted)\n" +
            "7 pselect6(0, NULL, NULL, NULL, {tv_sec=1, tv_nsec=0}, NULL) = ? ERESTARTNOHAND (To be restarted if no handler)\n" +
            "7 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, {tv_sec=0, tv_nsec=6993}) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)\n" +
            "7 restart_syscall(<... resuming interrupted clock_nanosleep ...>) = 0\n" +
            "7 exit_group(0) = ?\n");
        List<TraceRecord> all = ReadAll(path, TraceFormat.Strace, out SyscallNames names);
        Assert.Equal(new[] { true, false, true }, all.Take(3).Select(r => r.SaRestart)); // the old action's SA_RESTART is not the new one's; -X raw 0x10000000
        Assert.Equal(
            new[] { SyscallRestart.Sys, SyscallRestart.NoIntr, SyscallRestart.NoHand, SyscallRestart.RestartBlock, SyscallRestart.None, SyscallRestart.None },
            all.Skip(3).Select(r => r.Restart));
        Assert.Equal(("restart_syscall", false), (names[all[7].Call], all[3].HasResult));
        Assert.Equal(((byte)0b1100, (byte)0b10000, (byte)0), (all[6].StructArgs, all[5].StructArgs, all[3].StructArgs)); // clock_nanosleep's request and rmtp, pselect6's timeout
    }

    [Fact]
    public void SignalLinesAndSigactionHandlersAreRead()
    {
        string path = Temp("sig.strace",
            "7 rt_sigaction(SIGCHLD, {sa_handler=0x5630a3ab6150, sa_mask=[HUP INT], sa_flags=SA_RESTORER, sa_restorer=0x7f5f}, NULL, 8) = 0\n" +
            "7 rt_sigaction(SIGINT, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f5f}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0\n" +
            "7 rt_sigaction(SIGRT_1, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, NULL, 8) = 0\n" +
            "7 rt_sigaction(SIGPIPE, NULL, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0\n" +
            "7 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=8, si_uid=0, si_status=0} ---\n" +
            "7 rt_sigreturn({mask=[]}) = 8\n" +
            "7 --- stopped by SIGSTOP ---\n" +
            "7 --- SIGWHAT {si_signo=99} ---\n");
        List<TraceRecord> all = ReadAll(path, TraceFormat.Strace, out SyscallNames names);
        Assert.Equal((true, 17UL, 0x5630a3ab6150UL), (all[0].NewAction, all[0].Arg0, all[0].Arg1));
        Assert.Equal((true, 2UL, 1UL), (all[1].NewAction, all[1].Arg0, all[1].Arg1)); // SIG_IGN; the old action is not read
        Assert.Equal((true, 33UL, 0UL), (all[2].NewAction, all[2].Arg0, all[2].Arg1)); // SIGRT_1 is 32 + 1
        Assert.Equal((false, 13UL), (all[3].NewAction, all[3].Arg0)); // a query: no new action
        Assert.Equal((TraceRecordKind.Signal, 7, 17UL), (all[4].Kind, all[4].Pid, all[4].Arg0));
        Assert.Equal("rt_sigreturn", names[all[5].Call]);
        Assert.Equal((TraceRecordKind.Skipped, SkipReason.Signal), (all[6].Kind, all[6].Skip));
        Assert.Equal((TraceRecordKind.Signal, 0UL), (all[7].Kind, all[7].Arg0)); // a name not known: number 0
    }

    [Fact]
    public void ExecveArgumentsAndCloseOnExecFlagsAreRead()
    {
        string path = Temp("exec.strace",
            "execve(\"/bin/sh\", [\"sh\", \"-c\", \"x\"], 0x7ffd0 /* 3 vars */) = 0\n" +
            "execve(\"/bin/ls\", [\"ls\"], [\"PATH=/bin\", \"HOME=/\"]) = 0\n" +
            "openat(AT_FDCWD, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3\n" +
            "fcntl(4, F_SETFD, FD_CLOEXEC) = 0\n" +
            "pipe2([5, 6], O_CLOEXEC) = 0\n" +
            "read(3, \"O_CLOEXEC\", 9) = 9\n" +
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 7\n");
        List<TraceRecord> r = ReadAll(path, TraceFormat.Strace, out _);
        Assert.Equal((3, 3), (r[0].Argc, r[0].Envc));
        Assert.Equal([3, 3, 2], r[0].ExecStrings!);
        Assert.Equal((1, 2), (r[1].Argc, r[1].Envc));
        Assert.Equal([3, 10, 7], r[1].ExecStrings!); // -v: envp's strings too
        Assert.Equal((true, false, 3L), (r[2].CloExec, r[2].CloExecOnArg0, r[2].Result));
        Assert.Equal((true, true, 4UL), (r[3].CloExec, r[3].CloExecOnArg0, r[3].Arg0));
        Assert.Equal((true, 5, 6), (r[4].CloExec, r[4].Fd0, r[4].Fd1));
        Assert.False(r[5].CloExec); // read's bytes are not flags
        Assert.Equal((false, -1), (r[6].CloExec, r[6].Argc));
        Assert.Null(r[6].ExecStrings);
    }

    internal static byte[] ChampSim(params (ulong Ip, ulong[] Dst, ulong[] Src)[] records)
    {
        byte[] b = new byte[records.Length * 64];
        for (int i = 0; i < records.Length; i++)
        {
            Span<byte> rec = b.AsSpan(i * 64, 64);
            BinaryPrimitives.WriteUInt64LittleEndian(rec, records[i].Ip);
            for (int k = 0; k < records[i].Dst.Length; k++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(rec[(16 + (8 * k))..], records[i].Dst[k]);
            }

            for (int k = 0; k < records[i].Src.Length; k++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(rec[(32 + (8 * k))..], records[i].Src[k]);
            }
        }

        return b;
    }

    [Fact]
    public void ChampSimRecordsAreAFetchThenTheirDestinationsThenTheirSources()
    {
        byte[] bytes = ChampSim((0x400000, [], [0x600000]), (0x400004, [0x600008], [0x7000, 0, 0x8000]), (0x400008, [], []));
        List<TraceRecord> r = ReadAll(Temp("t.champsimtrace", bytes), TraceFormat.ChampSim, out _);
        Assert.Equal(
            [(TraceRecordKind.Fetch, 0x400000UL, 0L), (TraceRecordKind.Load, 0x600000UL, 0L), (TraceRecordKind.Fetch, 0x400004UL, 1L), (TraceRecordKind.Store, 0x600008UL, 1L),
             (TraceRecordKind.Load, 0x7000UL, 1L), (TraceRecordKind.Load, 0x8000UL, 1L), (TraceRecordKind.Fetch, 0x400008UL, 2L)],
            r.Select(x => (x.Kind, x.Address, x.Line)));
    }

    [Fact]
    public void TruncatedAndMalformedChampSimNameTheRecord()
    {
        byte[] bytes = ChampSim((0x400000, [], []), (0x400004, [], []));
        string truncated = Temp("t.champsimtrace", bytes[..100]);
        WorkloadException e = Assert.Throws<WorkloadException>(() => ReadAll(truncated, TraceFormat.ChampSim, out _));
        Assert.Equal($"{truncated}: record 1 is truncated: 36 of its 64 bytes (the trace ends inside it)", e.Message);

        bytes[64 + 8] = 7;
        string bad = Temp("b.champsimtrace", bytes);
        e = Assert.Throws<WorkloadException>(() => ReadAll(bad, TraceFormat.ChampSim, out _));
        Assert.StartsWith($"{bad}: record 1: is_branch 7 and branch_taken 0", e.Message);
    }

    [Theory]
    [InlineData("tests/traces/lackey/cat.lackey.xz", TraceFormat.Lackey, 424811)]
    [InlineData("tests/traces/strace/gzip.strace.gz", TraceFormat.Strace, 51)]
    [InlineData("tests/traces/strace/perl.strace.zst", TraceFormat.Strace, 245)]
    [InlineData("tests/traces/strace/find.strace.xz", TraceFormat.Strace, 215)]
    [InlineData("tests/traces/champsim/cat.champsimtrace.xz", TraceFormat.ChampSim, 318108)]
    public void EachCodecDecompressesTheRepositorysTraces(string relative, TraceFormat format, long lines)
    {
        // the line counts are `xz -dc | wc -l` (gzip -dc, zstd -dc) of each file; ChampSim: bytes / 64
        List<TraceRecord> r = ReadAll(RepoPath(relative), format, out _);
        Assert.Equal(lines, format == TraceFormat.ChampSim ? r.Count(x => x.Kind == TraceRecordKind.Fetch) : r.Count);
        Assert.Equal(format, TraceFile.Detect(RepoPath(relative)).Format);
    }

    [Fact]
    public void GzipOfAHandWrittenTraceReadsLikeThePlainText()
    {
        using MemoryStream ms = new();
        using (GZipStream gz = new(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(Encoding.UTF8.GetBytes(Lackey));
        }

        string plain = Temp("a.lackey", Lackey);
        string packed = Temp("a.lackey.gz", ms.ToArray());
        Assert.Equal(TraceFile.Codec.Gzip, TraceFile.CodecOf(ms.ToArray()));
        Assert.Equal(ReadAll(plain, TraceFormat.Lackey, out _), ReadAll(packed, TraceFormat.Lackey, out _));
    }

    [Theory]
    [InlineData("tests/traces/strace/gzip.strace.gz", TraceFormat.Strace)]
    [InlineData("tests/traces/strace/perl.strace.zst", TraceFormat.Strace)]
    [InlineData("tests/traces/lackey/cat.lackey.xz", TraceFormat.Lackey)]
    public void ACutCompressedTraceIsAOneLineError(string relative, TraceFormat format)
    {
        byte[] whole = File.ReadAllBytes(RepoPath(relative));
        string cut = Temp(Path.GetFileName(relative), whole[..(whole.Length / 2)]);
        WorkloadException e = Assert.Throws<WorkloadException>(() => ReadAll(cut, format, out _));
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(cut)}:[0-9]+: (the compressed trace (ends early|is corrupt)|the trace is truncated)", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("x.bin", "I  0401,3\n", TraceFormat.Lackey)]
    [InlineData("x.bin", "==12== Lackey\n", TraceFormat.Lackey)]
    [InlineData("x.bin", "execve(\"/bin/true\", [], []) = 0\n", TraceFormat.Strace)]
    [InlineData("x.strace", "I  0401,3\n", TraceFormat.Strace)]
    public void DetectionReadsTheNameThenTheFirstBytes(string name, string text, TraceFormat expected) =>
        Assert.Equal(expected, TraceFile.Detect(Temp(name, text)).Format);

    [Fact]
    public void BinaryBytesAreDetectedAsChampSim() =>
        Assert.Equal(TraceFormat.ChampSim, TraceFile.Detect(Temp("x.bin", ChampSim((0x400000, [], [])))).Format);
}
