using System.Text;
using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Mm;
using Vmsplit.Lab.Replay;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Lab.Tests;

public class ReplayTests
{
    private static string Temp(string name, string text)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("vmsplit-replay").FullName, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    private const string Strace =
        "100 12:00:00.000001 execve(\"/bin/sh\", [\"sh\", \"-c\", \"x\"], 0x7ffd0 /* 3 vars */) = 0 <0.000100>\n" +
        "100 12:00:00.000002 openat(AT_FDCWD</tmp>, \"/dev/null\", O_WRONLY|O_CREAT, 0666) = 3</dev/null> <0.000010>\n" +
        "100 12:00:00.000003 write(3</dev/null>, \"hello\\n\", 6) = 6 <0.000005>\n" +
        "100 12:00:00.000004 pipe2([4<pipe:[42]>, 5<pipe:[42]>], 0) = 0 <0.000005>\n" +
        "100 12:00:00.000005 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>\n" +
        "101 12:00:00.000006 read(4<pipe:[42]>, \"a,b)\\\"\", 4096) = 5 <0.000001>\n" +
        "100 12:00:00.000007 <... clone resumed>, child_tidptr=0x7f0) = 101 <0.000050>\n" +
        "101 12:00:00.000008 exit_group(0)           = ?\n" +
        "101 12:00:00.000009 +++ exited with 0 +++\n" +
        "100 12:00:00.000010 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101} ---\n" +
        "100 12:00:00.000011 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101 <0.000003>\n" +
        "100 12:00:00.000012 stat(\"/etc/passwd\", 0x7ffc1) = -1 ENOENT (No such file or directory) <0.000002>\n" +
        "100 12:00:00.000013 read(7, \"xyz\", 100) = 3\n" +
        "100 12:00:00.000015 futex(0x7f12, FUTEX_WAKE_PRIVATE, 1) = 0 <0.000002>\n" +
        "100 12:00:00.000016 exit_group(0)           = ?\n" +
        "100 12:00:00.000017 +++ exited with 0 +++\n";

    private const string Lackey =
        "==100== Lackey, an example Valgrind tool\n" +
        "I  0401ab70,3\n" +
        " S 1fff000638,8\n" +
        " L 04020000,4\n" +
        " M 04020008,8\n" +
        " L 041ffffe,4\n" +
        "SYSCALL[100,1](257) sys_openat ( 4294967196, 0x4034bb0(/etc/ld.so.cache), 524288 ) --> [async] ... \n" +
        "SYSCALL[100,1](257) ... [async] --> Success(0x3) \n" +
        "SYSCALL[100,1](0) sys_read ( 3, 0x1ffeffece8, 832 )[sync] --> Success(0x340) \n" +
        "SYSCALL[100,1](9) sys_mmap ( 0x0, 8192, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x4835000) \n" +
        "SYSCALL[100,1](11) sys_munmap ( 0x4835000, 8192 )[sync] --> Success(0x0) \n" +
        "SYSCALL[100,1](56) sys_clone ( 0x1200011, 0x0, 0x0, 0x4a29a10, 0x0 ) --> [pre-success] Success(0x65) \n" +
        "SYSCALL[100,1](5) sys_fstat ( 3, 0x1ffeffec00 )[sync] --> Success(0x0) \n" +
        "SYSCALL[100,1](231) exit_group( 0 ) --> [pre-success] Success(0x0) \n" +
        "I  0401ab73,5\n";

    private static ReplayReport Replay(string path, TraceFormat format, MachineSpec machine, params string[] designs) =>
        TraceReplay.Run(new ReplayOptions(machine, designs, designs[0], path, format) { Parallel = false });

    [Fact]
    public void ATraceWithNothingToReplayIsRefusedNamingItsFile()
    {
        // found by the fuzz campaign (tests/Vmsplit.Fuzz.Tests): a lackey log of valgrind's lines only was refused as
        // "trace NAME: has no lines", naming neither the file nor what its lines were
        string path = Temp("banner.lackey", "==100== Lackey, an example Valgrind tool\n==100== \n");
        LabException e = Assert.Throws<LabException>(() => Replay(path, TraceFormat.Lackey, MachineSpec.SkylakeX86(), "classic"));
        Assert.Equal($"{path}: the trace has nothing to replay: none of its 2 lines is a system call, memory access, signal or exit", e.Message);

        path = Temp("empty.strace", "");
        e = Assert.Throws<LabException>(() => Replay(path, TraceFormat.Strace, MachineSpec.SkylakeX86(), "classic"));
        Assert.Equal($"{path}: the trace is empty", e.Message);
    }

    [Fact]
    public void EveryStraceLineIsAnEventOrASkippedLineAndEveryCallRunsItsPath()
    {
        ReplayReport r = Replay(Temp("hand.strace", Strace), TraceFormat.Strace, MachineSpec.SkylakeX86(), "classic", "kpti+nopcid");
        ReplayEvents e = r.Events;
        Assert.Equal(16, e.Lines);
        Assert.Equal(e.Lines, e.Accounted);
        Assert.Equal((12L, 10L, 2L), (e.Syscalls, e.SyscallsModelled, e.SyscallsGeneric)); // generic: pipe2, futex
        Assert.Equal((1L, 1L, 2L), (e.Skipped(SkipReason.CallStarted), e.Skipped(SkipReason.Signal), e.ExitLines));
        Assert.Equal((1L, 0L, 2L, 1L), (e.Forks, e.Threads, e.Exits, e.Execs));
        Assert.Equal((0L, 1L), (e.Killed, e.Signals));
        Assert.Equal(3L, e.Switches); // to the child at its first line, back for the clone's result, to the child for its exit
        Dictionary<string, (string Path, long Count)> calls = e.Calls.ToDictionary(t => t.Name, t => (t.Path, t.Count));
        Assert.Equal(("write-null", 1L), calls["write"]);
        Assert.Equal(("generic-out", 1L), calls["pipe2"]);
        Assert.Equal(("fork", 1L), calls["clone"]);
        Assert.Equal(("read-file", 2L), calls["read"]); // the last read: fd 7 is unknown, so a file (the pipe read ran before it)
        Assert.Equal(("exit", 2L), calls["exit_group"]);
        Assert.Equal(("generic", 1L), calls["futex"]);
        Assert.Equal(("exec", 1L), calls["execve"]);
        Assert.Equal(("stat", 1L), calls["stat"]);

        // without PCID every entry and exit writes CR3 and drops the user's TLB entries: the trace costs more
        RunResult classic = r.Run("classic").Result;
        RunResult nopcid = r.Run("kpti+nopcid").Result;
        Assert.True(nopcid.CyclesPerOp > classic.CyclesPerOp);
        Assert.True(nopcid.CyclesPerOpByCause[CostCause.RootRegisterWrite] > classic.CyclesPerOpByCause.GetValueOrDefault(CostCause.RootRegisterWrite));
        Assert.Equal(1, classic.Ops);
        Assert.Equal(r.Compare.Results.Select(x => x.Workload).Distinct(), ["hand"]);
    }

    [Fact]
    public void MprotectAndMadviseDontneedRunTheKernelsPathsOnTheReplaysMapping()
    {
        const string trace =
            "300 mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f3a5c000000\n" +
            "300 mprotect(0x7f3a5c003000, 4096, PROT_NONE) = 0\n" +
            "300 mprotect(0x7f3a5c000000, 4096, PROT_READ|PROT_WRITE|PROT_EXEC) = -1 EACCES (Permission denied)\n" +
            "300 mprotect(0x7ffd12345000, 4096, PROT_READ) = 0\n" +
            "300 mprotect(0x7f3a5c001000, 4096, PROT_READ) = 0\n" +
            "300 madvise(0x7f3a5c000000, 16384, MADV_WILLNEED) = 0\n" +
            "300 madvise(0x7f3a5c000000, 16384, MADV_DONTNEED) = 0\n" +
            "300 exit_group(0) = ?\n" +
            "300 +++ exited with 0 +++\n";
        MachineSpec m = MachineSpec.SkylakeX86();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic"));
        ReplayOptions o = new(m, ["classic"], "classic", Temp("prot.strace", trace), TraceFormat.Strace) { Parallel = false };
        (_, ReplayEvents e) = new Replayer(k, o).Run();

        // PROT_NONE, the failed call, MADV_WILLNEED: generic; the rest on their paths (the third mprotect on a range the
        // replay did not map: the path on no pages)
        Assert.Equal((8L, 5L, 3L), (e.Syscalls, e.SyscallsModelled, e.SyscallsGeneric));
        Dictionary<string, (string Path, long Count, bool Modelled)> calls = e.Calls.ToDictionary(t => t.Name, t => (t.Path, t.Count, t.Modelled));
        Assert.Equal(("mprotect", 4L, true), calls["mprotect"]);
        Assert.Equal(("madvise-dontneed", 2L, true), calls["madvise"]);

        // mprotect_fixup split the 16 KiB mapping around its second page, now read-only; the PROT_NONE call changed nothing
        List<Vma> areas = k.Processes[0].Vmas.Areas.ToList();
        int ro = areas.FindIndex(v => v.Flags == VmFlags.Read && v.Size == 4096);
        Assert.True(ro > 0);
        Assert.Equal((VmFlags.Read | VmFlags.Write, 4096UL), (areas[ro - 1].Flags, areas[ro - 1].Size));
        Assert.Equal((VmFlags.Read | VmFlags.Write, 8192UL), (areas[ro + 1].Flags, areas[ro + 1].Size));
        Assert.Equal(areas[ro - 1].End, areas[ro].Start);
        Assert.Equal(areas[ro].End, areas[ro + 1].Start);
        Assert.Equal((0L, 0L), (k.ProtectedPtes, k.ZappedPtes)); // strace's calls never touched the mapping's pages
    }

    [Fact]
    public void LackeysMprotectAndMadviseDontneedRunTheirPaths()
    {
        const string trace =
            "==100== Lackey, an example Valgrind tool\n" +
            "I  0401ab70,3\n" +
            "SYSCALL[100,1](9) sys_mmap ( 0x0, 8192, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x4835000) \n" +
            "SYSCALL[100,1](10) sys_mprotect ( 0x4835000, 4096, 1 )[sync] --> Success(0x0) \n" +
            "SYSCALL[100,1](28) sys_madvise ( 0x4835000, 8192, 4 )[sync] --> Success(0x0) \n" +
            "SYSCALL[100,1](28) sys_madvise ( 0x4835000, 8192, 3 )[sync] --> Success(0x0) \n" +
            "SYSCALL[100,1](231) exit_group( 0 ) --> [pre-success] Success(0x0) \n";
        ReplayEvents e = Replay(Temp("prot.lackey", trace), TraceFormat.Lackey, MachineSpec.DefaultArm(), "classic").Events;
        Assert.Equal((5L, 4L, 1L), (e.Syscalls, e.SyscallsModelled, e.SyscallsGeneric)); // MADV_WILLNEED is generic
        Dictionary<string, (string Path, long Count)> calls = e.Calls.ToDictionary(t => t.Name, t => (t.Path, t.Count));
        Assert.Equal(("mprotect", 1L), calls["mprotect"]);
        Assert.Equal(("generic", 2L), calls["madvise"]);
    }

    // a shell's SIGCHLD handler: the child's exit delivers the signal, the handler returns with rt_sigreturn
    private static string SigchldTrace(string handler) =>
        "300 rt_sigaction(SIGCHLD, {sa_handler=" + handler + ", sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f0}, NULL, 8) = 0\n" +
        "300 clone(child_stack=NULL, flags=SIGCHLD) = 301\n" +
        "301 exit_group(0) = ?\n" +
        "301 +++ exited with 0 +++\n" +
        "300 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=301, si_uid=0, si_status=0} ---\n" +
        "300 rt_sigreturn({mask=[]}) = 301\n" +
        "300 exit_group(0) = ?\n" +
        "300 +++ exited with 0 +++\n";

    [Theory]
    [InlineData("x86-64", 440)] // arch/x86/include/asm/sigframe.h: pretcode, ucontext 304, siginfo 128
    [InlineData("x86-32", 268)]
    [InlineData("arm", 888)]
    [InlineData("riscv-sv39", 1088)]
    public void ASignalWithAHandlerWritesItsFrameAndRtSigreturnReadsItBack(string arch, int frameBytes)
    {
        MachineSpec m = DefaultMachine(arch);
        Assert.Equal((ulong)frameBytes, Vmsplit.Kernel.Abi.SignalFrames.RtSigframeBytes(m.Arch));
        ReplayReport handled = Replay(Temp("sig.strace", SigchldTrace("0x5630a3ab6150")), TraceFormat.Strace, m, "classic");
        ReplayReport unhandled = Replay(Temp("dfl.strace", SigchldTrace("SIG_DFL")), TraceFormat.Strace, m, "classic");

        ReplayEvents e = handled.Events;
        Assert.Equal((1L, 1L, 0L), (e.Signals, e.SignalsDelivered, e.Skipped(SkipReason.Signal)));
        Assert.Equal(e.Lines, e.Accounted);
        Assert.Equal(("rt-sigreturn", true), e.Calls.Where(t => t.Name == "rt_sigreturn").Select(t => (t.Path, t.Modelled)).Single());
        ReplayEvents d = unhandled.Events;
        Assert.Equal((1L, 0L, 1L), (d.Signals, d.SignalsDelivered, d.Skipped(SkipReason.Signal)));
        Assert.Equal(d.Lines, d.Accounted);
        Assert.Equal(("generic", false), d.Calls.Where(t => t.Name == "rt_sigreturn").Select(t => (t.Path, t.Modelled)).Single());

        // the only bytes copied apart: the frame, once to the stack (copy_to_user) and once back (copy_from_user), each
        // inside the stack's top page
        double memcpy = MemcpyCycles(handled) - MemcpyCycles(unhandled);
        Assert.Equal(2 * m.Profile.MemcpyCycles((ulong)frameBytes), memcpy, 6);
    }

    // The SIGCHLD trace with the signal and its rt_sigreturn replaced by a getppid: one system call's entry and exit
    private static string SigchldReference() =>
        SigchldTrace("0x5630a3ab6150").Replace("300 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=301, si_uid=0, si_status=0} ---\n", "", StringComparison.Ordinal)
            .Replace("300 rt_sigreturn({mask=[]}) = 301\n", "300 getppid() = 1\n", StringComparison.Ordinal);

    // The child's exit switches to the parent; SIGCHLD is delivered on that return to user mode (exit_to_usermode_loop,
    // arch/x86/entry/common.c 5.4; do_notify_resume on arm64 and RISC-V, do_work_pending on arm), not on an entry of its
    // own; the handler's rt_sigreturn is the one more entry and exit, with the design's costs: as many exception entries
    // and exits, root-register writes (KPTI's CR3 switches, 4g4g's TTBR0 writes) and uaccess-control cycles as a getppid
    // in its place
    [Theory]
    [InlineData("x86-64", "classic")]
    [InlineData("x86-64", "kpti")]
    [InlineData("x86-64", "kpti+nopcid")]
    [InlineData("x86-32", "x86-4g4g")]
    [InlineData("arm-lpae", "4g4g")]
    [InlineData("aarch64", "kpti")]
    public void ASignalRidesTheReturnToUserModeAndItsRtSigreturnIsOneEntry(string arch, string design)
    {
        MachineSpec m = DefaultMachine(arch);
        ReplayReport handled = Replay(Temp("sig.strace", SigchldTrace("0x5630a3ab6150")), TraceFormat.Strace, m, design);
        ReplayReport reference = Replay(Temp("ref.strace", SigchldReference()), TraceFormat.Strace, m, design);
        ReplayReport none = Replay(Temp("none.strace", SigchldReference().Replace("300 getppid() = 1\n", "", StringComparison.Ordinal)), TraceFormat.Strace, m, design);
        Assert.Equal(1L, handled.Events.SignalsDelivered);
        foreach (CostCause c in new[] { CostCause.ExceptionEntryExit, CostCause.RootRegisterWrite, CostCause.UserAccessControl })
        {
            Assert.Equal(Cycles(reference, design, c), Cycles(handled, design, c), 6);
        }

        // and the getppid is an entry and exit that costs something in every design
        Assert.True(Cycles(reference, design, CostCause.ExceptionEntryExit) > Cycles(none, design, CostCause.ExceptionEntryExit));
        if (design != "classic")
        {
            Assert.True(Cycles(reference, design, CostCause.RootRegisterWrite) > Cycles(none, design, CostCause.RootRegisterWrite), "the design's root writes at entry and exit");
        }
    }

    // A read blocked on a terminal, interrupted by SIGALRM (alarm), as strace 6.1 -f showed it (the recorded
    // tests/traces/strace/interrupted.strace.gz has these lines): the handler with or without SA_RESTART
    private static string InterruptedRead(bool saRestart) =>
        "500 rt_sigaction(SIGALRM, {sa_handler=0x5600, sa_mask=[], sa_flags=SA_RESTORER" + (saRestart ? "|SA_RESTART" : "") + ", sa_restorer=0x7f00}, NULL, 8) = 0\n" +
        "500 read(0, 0x7ffc0, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <1.000084>\n" +
        "500 --- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---\n" +
        (saRestart
            ? "500 rt_sigreturn({mask=[]}) = 0\n500 read(0, \"hi\\n\", 10) = 3\n"
            : "500 rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)\n") +
        "500 exit_group(0) = ?\n" +
        "500 +++ exited with 0 +++\n";

    private const string JustExit = "500 exit_group(0) = ?\n500 +++ exited with 0 +++\n";

    // A read interrupted by a signal with a handler: the read's entry, its handler up to the wait (no byte copied), and
    // its way out, on which handle_signal writes the frame (no entry of its own); rt_sigreturn is one entry; with
    // SA_RESTART the read runs again (a fresh strace line: one more entry, the 3 bytes copied), without it the program
    // gets EINTR. Entries beyond exit_group's: rt_sigaction, read, rt_sigreturn and the restarted read (4), or without
    // SA_RESTART 3; bytes copied: the frame twice (setup_rt_frame, rt_sigreturn) and the restarted read's 3.
    [Theory]
    [InlineData("x86-64", "classic")]
    [InlineData("x86-64", "kpti")]
    [InlineData("aarch64", "kpti")]
    [InlineData("arm-lpae", "4g4g")]
    public void ASignalInterruptingABlockedCallIsDeliveredOnItsReturnAndItsRestartIsOneMoreEntry(string arch, string design)
    {
        MachineSpec m = DefaultMachine(arch);
        ReplayReport restart = Replay(Temp("restart.strace", InterruptedRead(saRestart: true)), TraceFormat.Strace, m, design);
        ReplayReport eintr = Replay(Temp("eintr.strace", InterruptedRead(saRestart: false)), TraceFormat.Strace, m, design);
        EntryBaseline b = new(m, design);

        ReplayEvents e = restart.Events;
        Assert.Equal((7L, 7L, 5L), (e.Lines, e.Accounted, e.Syscalls));
        Assert.Equal((1L, 1L, 1L, 0L, 0L, 1L), (e.Interrupted, e.InterruptedByCode[(int)SyscallRestart.Sys], e.InterruptedRestarted, e.InterruptedEintr, e.InterruptedRestartSyscall, e.SignalsOnCallReturn));
        Assert.Equal(("rt-sigreturn", 1L), e.Calls.Where(t => t.Name == "rt_sigreturn").Select(t => (t.Path, t.Count)).Single());
        Assert.Equal(2L, e.Calls.Single(t => t.Name == "read").Count); // the interrupted attempt and the restart
        ReplayEvents x = eintr.Events;
        Assert.Equal((6L, 6L, 4L), (x.Lines, x.Accounted, x.Syscalls));
        Assert.Equal((1L, 0L, 1L, 1L), (x.Interrupted, x.InterruptedRestarted, x.InterruptedEintr, x.SignalsOnCallReturn));

        double entry = b.Entry;
        Assert.True(entry > 0);
        Assert.Equal(4 * entry, b.Beyond(restart, CostCause.ExceptionEntryExit), 6);
        Assert.Equal(3 * entry, b.Beyond(eintr, CostCause.ExceptionEntryExit), 6);

        ulong frame = Vmsplit.Kernel.Abi.SignalFrames.RtSigframeBytes(m.Arch);
        Assert.Equal((2 * m.Profile.MemcpyCycles(frame)) + m.Profile.MemcpyCycles(3), b.Beyond(restart, CostCause.Memcpy), 6);
        Assert.Equal(2 * m.Profile.MemcpyCycles(frame), b.Beyond(eintr, CostCause.Memcpy), 6);
    }

    // ERESTART_RESTARTBLOCK with no handler to run (SIGSTOP, then SIGCONT: both their default actions): do_signal sets the
    // call up for restart_syscall, the next line; no frame is written. Entries beyond exit_group's: the interrupted
    // clock_nanosleep and restart_syscall.
    [Fact]
    public void ARestartBlockWithoutAHandlerContinuesThroughRestartSyscall()
    {
        const string trace =
            "500 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, {tv_sec=0, tv_nsec=699362278}) = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <0.300700>\n" +
            "500 --- SIGSTOP {si_signo=SIGSTOP, si_code=SI_USER, si_pid=501, si_uid=0} ---\n" +
            "500 --- stopped by SIGSTOP ---\n" +
            "500 --- SIGCONT {si_signo=SIGCONT, si_code=SI_USER, si_pid=501, si_uid=0} ---\n" +
            "500 restart_syscall(<... resuming interrupted clock_nanosleep ...>) = 0\n" + JustExit;
        MachineSpec m = MachineSpec.SkylakeX86();
        ReplayReport r = Replay(Temp("block.strace", trace), TraceFormat.Strace, m, "kpti");
        EntryBaseline b = new(m, "kpti");
        ReplayEvents e = r.Events;
        Assert.Equal((7L, 7L, 3L, 0L), (e.Lines, e.Accounted, e.Syscalls, e.SignalsDelivered));
        Assert.Equal((1L, 1L, 1L, 1L, 0L), (e.InterruptedByCode[(int)SyscallRestart.RestartBlock], e.InterruptedRestarted, e.InterruptedRestartSyscall, e.Interrupted, e.InterruptedEintr));
        double entry = b.Entry;
        Assert.Equal(2 * entry, b.Beyond(r, CostCause.ExceptionEntryExit), 6);
    }

    // Two signals pending on one return (blocked, then unblocked by rt_sigprocmask; the lines of the recorded
    // tests/traces/strace/signals.strace.gz): exit_to_usermode_loop runs do_signal while TIF_SIGPENDING, each building one
    // frame, the second below the first (arch/x86/entry/common.c 5.4), then returns once; each handler's rt_sigreturn is
    // its own call. Entries and exits beyond exit_group's: the two rt_sigactions, rt_sigprocmask and the two rt_sigreturns
    // (5) and the return the signals ride (a line after a finished call: the model takes it for an interrupt's, 1); with a
    // call between the two signal lines the second is a return of its own, another interrupt (5 + 1 + getppid + 1 = 8).
    // Bytes copied: each frame written and read back.
    private static string TwoSignals(string between) =>
        "500 rt_sigaction(SIGUSR1, {sa_handler=0x5600, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f00}, NULL, 8) = 0\n" +
        "500 rt_sigaction(SIGUSR2, {sa_handler=0x5600, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f00}, NULL, 8) = 0\n" +
        "500 rt_sigprocmask(SIG_UNBLOCK, [USR1 USR2], NULL, 8) = 0\n" +
        "500 --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=500, si_uid=0} ---\n" + between +
        "500 --- SIGUSR2 {si_signo=SIGUSR2, si_code=SI_USER, si_pid=500, si_uid=0} ---\n" +
        "500 rt_sigreturn({mask=[USR1]}) = 0\n" +
        "500 rt_sigreturn({mask=[]}) = 0\n" + JustExit;

    [Theory]
    [InlineData("x86-64", "classic")]
    [InlineData("x86-64", "kpti")]
    [InlineData("aarch64", "kpti")]
    [InlineData("arm-lpae", "4g4g")]
    public void ConsecutiveSignalLinesAreDeliveredOnOneReturnWithOneFrameEach(string arch, string design)
    {
        MachineSpec m = DefaultMachine(arch);
        ReplayReport one = Replay(Temp("one-return.strace", TwoSignals("")), TraceFormat.Strace, m, design);
        ReplayReport two = Replay(Temp("two-returns.strace", TwoSignals("500 getppid() = 1\n")), TraceFormat.Strace, m, design);
        EntryBaseline b = new(m, design);

        ReplayEvents e = one.Events;
        Assert.Equal((2L, 1L, 0L), (e.SignalsDelivered, e.SignalsOnOneReturn, e.Skipped(SkipReason.Signal)));
        Assert.Equal(e.Lines, e.Accounted);
        Assert.Equal(("rt-sigreturn", 2L), e.Calls.Where(t => t.Name == "rt_sigreturn").Select(t => (t.Path, t.Count)).Single());
        Assert.Equal((2L, 0L), (two.Events.SignalsDelivered, two.Events.SignalsOnOneReturn));

        double entry = b.Entry;
        Assert.True(entry > 0);
        Assert.Equal(6 * entry, b.Beyond(one, CostCause.ExceptionEntryExit), 6);
        Assert.Equal(8 * entry, b.Beyond(two, CostCause.ExceptionEntryExit), 6);
        ulong frame = Vmsplit.Kernel.Abi.SignalFrames.RtSigframeBytes(m.Arch);
        Assert.Equal(4 * m.Profile.MemcpyCycles(frame), b.Beyond(one, CostCause.Memcpy), 6);
    }

    // A process killed in an interrupted call never returns to user mode: get_signal dequeues the fatal signal and calls
    // do_group_exit from the kernel (kernel/signal.c 5.4). Alone: the read's entry is the only one, as exit_group's is in
    // JustExit (and no exit: nothing of the process runs after it). With a handled signal first (its frame written on the
    // way out, then SIGKILL dequeued on the same way): rt_sigaction and the frame more. With its parent's lines between
    // (the recorded shape of tests/traces/strace/killed.strace.gz: the child waits in its signal code for the tracer and
    // the parent runs), the switches leave and reach the child on its kernel side: two entries and exits fewer than the
    // same lines with the read finished (a child killed in user mode: the switch away from it enters the kernel after its
    // read returned, and the switch to it returns to user mode before the kill's entry).
    [Theory]
    [InlineData("x86-64", "classic")]
    [InlineData("x86-64", "kpti")]
    [InlineData("aarch64", "kpti")]
    [InlineData("arm-lpae", "4g4g")]
    public void AProcessKilledInAnInterruptedCallDiesInTheKernel(string arch, string design)
    {
        MachineSpec m = DefaultMachine(arch);
        const string read = "500 read(0, 0x7ffc0, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <1.000084>\n";
        ReplayReport alone = Replay(Temp("alone.strace", read +
            "500 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=1, si_uid=0} ---\n" +
            "500 +++ killed by SIGTERM +++\n"), TraceFormat.Strace, m, design);
        ReplayReport handled = Replay(Temp("handled.strace",
            "500 rt_sigaction(SIGUSR1, {sa_handler=0x5600, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f00}, NULL, 8) = 0\n" + read +
            "500 --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=1, si_uid=0} ---\n" +
            "500 --- SIGKILL {si_signo=SIGKILL, si_code=SI_USER, si_pid=1, si_uid=0} ---\n" +
            "500 +++ killed by SIGKILL +++\n"), TraceFormat.Strace, m, design);
        ReplayReport parent = Replay(Temp("parent.strace",
            "400 clone(child_stack=NULL, flags=SIGCHLD) = 500\n" + read +
            "400 kill(500, SIGTERM) = 0\n" +
            "500 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=400, si_uid=0} ---\n" +
            "500 +++ killed by SIGTERM +++\n" +
            "400 exit_group(0) = ?\n400 +++ exited with 0 +++\n"), TraceFormat.Strace, m, design);
        ReplayReport inUser = Replay(Temp("in-user.strace",
            "400 clone(child_stack=NULL, flags=SIGCHLD) = 500\n500 read(0, 0x7ffc0, 10) = 0\n" +
            "400 kill(500, SIGTERM) = 0\n" +
            "500 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=400, si_uid=0} ---\n" +
            "500 +++ killed by SIGTERM +++\n" +
            "400 exit_group(0) = ?\n400 +++ exited with 0 +++\n"), TraceFormat.Strace, m, design);
        EntryBaseline b = new(m, design);

        Assert.Equal((1L, 0L), (inUser.Events.Killed, inUser.Events.KilledInKernel));
        Assert.Equal((1L, 1L, 1L, 1L), (alone.Events.Killed, alone.Events.KilledInKernel, alone.Events.InterruptedEnded, alone.Events.Exits));
        Assert.Equal((1L, 1L, 1L), (handled.Events.KilledInKernel, handled.Events.SignalsDelivered, handled.Events.SignalsOnCallReturn));
        Assert.Equal((1L, 2L), (parent.Events.KilledInKernel, parent.Events.Exits));
        foreach (ReplayReport r in new[] { alone, handled, parent })
        {
            Assert.Equal(r.Events.Lines, r.Events.Accounted);
        }

        double entry = b.Entry;
        Assert.Equal(Cycles(b.ExitOnly, design, CostCause.ExceptionEntryExit), Cycles(alone, design, CostCause.ExceptionEntryExit), 6);
        Assert.Equal(entry, b.Beyond(handled, CostCause.ExceptionEntryExit), 6);
        Assert.Equal(2 * entry, Cycles(inUser, design, CostCause.ExceptionEntryExit) - Cycles(parent, design, CostCause.ExceptionEntryExit), 6);
        ulong frame = Vmsplit.Kernel.Abi.SignalFrames.RtSigframeBytes(m.Arch);
        Assert.Equal(m.Profile.MemcpyCycles(frame), Cycles(handled, design, CostCause.Memcpy) - Cycles(alone, design, CostCause.Memcpy), 6);
    }

    private const string StopCont =
        "500 --- SIGSTOP {si_signo=SIGSTOP, si_code=SI_USER, si_pid=501, si_uid=0} ---\n" +
        "500 --- stopped by SIGSTOP ---\n" +
        "500 --- SIGCONT {si_signo=SIGCONT, si_code=SI_USER, si_pid=501, si_uid=0} ---\n";

    // restart_syscall runs the restart the interrupted call left (kernel/signal.c 5.4 sys_restart_syscall). clock_nanosleep
    // reads its request (get_timespec64, 16 bytes; on x86-32 and 32-bit ARM the time32 call's get_old_timespec32, 8) and,
    // interrupted, writes the time left to rmtp (put_timespec64, 16; put_old_timespec32, 8); hrtimer_nanosleep_restart
    // reads nothing and writes the time left, as the type the call recorded, only when interrupted again
    // (kernel/time/hrtimer.c): copies T in, T out, T out (the first restart, interrupted), none (the second, which
    // finishes); with rmtp NULL only the request. poll reads its 2 pollfds (16 bytes) and writes each revents (2 bytes, __put_user), and do_restart_poll
    // does both again (fs/select.c). A futex wait's restart (futex_wait_restart) has no path in the model: generic. Each
    // call and restart is one entry and exit.
    [Theory]
    [InlineData("x86-64", "classic")]
    [InlineData("x86-64", "kpti")]
    [InlineData("arm-lpae", "4g4g")]
    [InlineData("x86-32", "classic")]
    [InlineData("aarch64", "kpti")]
    public void RestartSyscallRunsTheRestartItsInterruptedCallLeft(string arch, string design)
    {
        MachineSpec m = DefaultMachine(arch);
        ulong timespec = arch is "arm-lpae" or "x86-32" ? 8UL : 16UL; // old_timespec32 on the 32-bit ABIs, __kernel_timespec elsewhere
        string Sleep(string rmtp) =>
            "500 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, " + rmtp + ") = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <0.300700>\n" + StopCont +
            "500 restart_syscall(<... resuming interrupted clock_nanosleep ...>) = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <0.1>\n" + StopCont +
            "500 restart_syscall(<... resuming interrupted restart_syscall ...>) = 0 <0.5>\n" + JustExit;
        ReplayReport sleep = Replay(Temp("sleep.strace", Sleep("{tv_sec=0, tv_nsec=699362278}")), TraceFormat.Strace, m, design);
        ReplayReport noRmtp = Replay(Temp("normtp.strace", Sleep("NULL")), TraceFormat.Strace, m, design);
        ReplayReport poll = Replay(Temp("poll.strace",
            "500 poll([{fd=3, events=POLLIN}, {fd=4, events=POLLIN}], 2, 1000) = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <0.2>\n" + StopCont +
            "500 restart_syscall(<... resuming interrupted poll ...>) = 1 ([{fd=3, revents=POLLIN}]) <0.5>\n" + JustExit), TraceFormat.Strace, m, design);
        ReplayReport futex = Replay(Temp("futex.strace",
            "500 futex(0x7f12, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, FUTEX_BITSET_MATCH_ANY) = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <0.2>\n" + StopCont +
            "500 restart_syscall(<... resuming interrupted futex ...>) = -1 ETIMEDOUT (Connection timed out) <0.5>\n" + JustExit), TraceFormat.Strace, m, design);
        EntryBaseline b = new(m, design);

        Assert.Equal((2L, 0L), (sleep.Events.RestartSyscallAsCall, sleep.Events.RestartSyscallGeneric));
        Assert.Equal(("nanosleep(hrtimer_nanosleep_restart)", 2L), sleep.Events.Calls.Where(t => t.Name == "restart_syscall").Select(t => (t.Path, t.Count)).Single());
        Assert.Equal(("poll(do_restart_poll)", 1L), poll.Events.Calls.Where(t => t.Name == "restart_syscall").Select(t => (t.Path, t.Count)).Single());
        Assert.Equal((0L, 1L), (futex.Events.RestartSyscallAsCall, futex.Events.RestartSyscallGeneric));
        Assert.Equal(("generic", 1L), futex.Events.Calls.Where(t => t.Name == "restart_syscall").Select(t => (t.Path, t.Count)).Single());

        double Memcpy(ReplayReport r) => b.Beyond(r, CostCause.Memcpy);
        Assert.Equal(3 * m.Profile.MemcpyCycles(timespec), Memcpy(sleep), 6);
        Assert.Equal(m.Profile.MemcpyCycles(timespec), Memcpy(noRmtp), 6);
        Assert.Equal((2 * m.Profile.MemcpyCycles(16)) + (4 * m.Profile.MemcpyCycles(2)), Memcpy(poll), 6);
        Assert.Equal(0, Memcpy(futex), 6);

        double entry = b.Entry;
        Assert.Equal(3 * entry, b.Beyond(sleep, CostCause.ExceptionEntryExit), 6);
        Assert.Equal(2 * entry, b.Beyond(poll, CostCause.ExceptionEntryExit), 6);
    }

    // nanosleep and poll run their own kernel paths (SimKernel.Sleep.cs), not the generic one (getppid's text and
    // instructions): beyond a getppid, path-base is the paths' instructions at the kernel's rate minus getppid's. A
    // clock_nanosleep that returns 0 runs the nanosleep body (400), schedule() to the idle task and back (2 x 450) and the
    // timer's wake-up (600); one a signal interrupts is woken by the signal (no timer path). A poll of one pipe that finds it
    // ready runs the poll body (200) and one pass over the descriptor (160); one that times out also sleeps (350, 2 x 450,
    // 600) and passes over the descriptor again (160). Copies: the 16-byte request; the 8-byte pollfd in and its 2-byte
    // revents out, each with its uaccess window (2 cycles to open, 2 to close). Each is one entry and exit, as the getppid is.
    [Fact]
    public void NanosleepAndPollRunTheirOwnPathsAndSleepOnTheIdleTask()
    {
        MachineSpec m = DefaultMachine("x86-64");
        KernelSoftwareCosts sw = new();
        double getppid = Vmsplit.Kernel.Arch.KernelEntryPaths.For(m.Arch).Getppid.Instructions;
        ReplayReport generic = Replay(Temp("getppid.strace", "500 getppid() = 1\n" + JustExit), TraceFormat.Strace, m, "classic");
        ReplayReport Trace(string name, string line) => Replay(Temp(name, line + JustExit), TraceFormat.Strace, m, "classic");
        ReplayReport slept = Trace("slept.strace", "500 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000}, NULL) = 0\n");
        ReplayReport woken = Trace("woken.strace", "500 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, NULL) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)\n" + StopCont);
        ReplayReport ready = Trace("ready.strace", "500 poll([{fd=3, events=POLLIN}], 1, 1000) = 1 ([{fd=3, revents=POLLIN}])\n");
        ReplayReport timedOut = Trace("timeout.strace", "500 poll([{fd=3, events=POLLIN}], 1, 1000) = 0 (Timeout)\n");
        ReplayReport zero = Trace("zero.strace", "500 poll([{fd=3, events=POLLIN}], 1, 0) = 0 (Timeout)\n");

        double PathBase(ReplayReport r) => Cycles(r, "classic", KernelCostCause.PathBase) - Cycles(generic, "classic", KernelCostCause.PathBase);
        double Kernel(double instructions, int copies) => m.Profile.Kernel.Cycles(instructions) + (copies * 2 * 2); // each copy's uaccess window opened and closed, 2 cycles each (UaccessToggle)
        Assert.Equal(2, sw.UaccessToggle);
        Assert.Equal(Kernel(400 + (2 * 450) + 600 - getppid, 1), PathBase(slept), 6);
        Assert.Equal(Kernel(sw.Nanosleep + (2 * sw.Schedule) + sw.TimerWakeup - getppid, 1), PathBase(slept), 6);
        Assert.Equal(Kernel(400 + (2 * 450) - getppid, 1), PathBase(woken), 6);
        Assert.Equal(Kernel(200 + 160 - getppid, 2), PathBase(ready), 6);
        Assert.Equal(Kernel(200 + 160 + 350 + (2 * 450) + 600 + 160 - getppid, 2), PathBase(timedOut), 6);
        Assert.Equal(Kernel(200 + 160 - getppid, 2), PathBase(zero), 6);

        double Memcpy(ReplayReport r) => Cycles(r, "classic", CostCause.Memcpy) - Cycles(generic, "classic", CostCause.Memcpy);
        Assert.Equal(m.Profile.MemcpyCycles(16), Memcpy(slept), 6);
        Assert.Equal(m.Profile.MemcpyCycles(8) + m.Profile.MemcpyCycles(2), Memcpy(timedOut), 6);
        double Entries(ReplayReport r) => Cycles(r, "classic", CostCause.ExceptionEntryExit);
        Assert.Equal(Entries(generic), Entries(slept), 6);
        Assert.Equal(Entries(generic), Entries(timedOut), 6);

        Assert.Equal(("nanosleep", true), slept.Events.Calls.Where(t => t.Name == "clock_nanosleep").Select(t => (t.Path, t.Modelled)).Single());
        Assert.Equal(("poll", true), timedOut.Events.Calls.Where(t => t.Name == "poll").Select(t => (t.Path, t.Modelled)).Single());
        Assert.Equal((2L, 0L), (slept.Events.SyscallsModelled, slept.Events.SyscallsGeneric)); // clock_nanosleep and exit_group
    }

    // The time calls copy the ABI's structures (Linux 5.4): on x86-32 and 32-bit ARM nanosleep, clock_nanosleep,
    // clock_gettime, clock_getres and gettimeofday are the time32 calls (old_timespec32, struct timeval of two 32-bit
    // longs: 8 bytes), clock_nanosleep_time64 and clock_gettime64 copy __kernel_timespec (16), and the restart of an
    // interrupted clock_nanosleep_time64 writes rmtp as TT_NATIVE (16); on the 64-bit ABIs every one copies 16 (riscv32's
    // sizes: TimeTypesTests). Bytes beyond exit_group's: nanosleep's request, clock_gettime's and gettimeofday's result, then
    // clock_gettime64's result and clock_nanosleep_time64's request, rmtp and the restart's rmtp.
    [Theory]
    [InlineData("arm-lpae", 8)]
    [InlineData("arm", 8)]
    [InlineData("x86-32", 8)]
    [InlineData("x86-64", 16)]
    [InlineData("aarch64", 16)]
    public void TimeCallsCopyTheAbisTimespec(string arch, int native)
    {
        MachineSpec m = DefaultMachine(arch);
        const string Rmtp = "{tv_sec=0, tv_nsec=699362278}";
        const string Time32 =
            "500 nanosleep({tv_sec=0, tv_nsec=1000}, NULL) = 0\n" +
            "500 clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=2}) = 0\n" +
            "500 gettimeofday({tv_sec=1, tv_usec=2}, NULL) = 0\n";
        const string Time64 =
            "500 clock_gettime64(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=2}) = 0\n" +
            "500 clock_nanosleep_time64(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, " + Rmtp + ") = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <0.3>\n" + StopCont +
            "500 restart_syscall(<... resuming interrupted clock_nanosleep_time64 ...>) = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <0.1>\n" + StopCont +
            "500 restart_syscall(<... resuming interrupted restart_syscall ...>) = 0 <0.5>\n";
        ReplayReport t32 = Replay(Temp("time32.strace", Time32 + JustExit), TraceFormat.Strace, m, "classic");
        ReplayReport t64 = Replay(Temp("time64.strace", Time64 + JustExit), TraceFormat.Strace, m, "classic");
        EntryBaseline b = new(m, "classic");
        Assert.Equal(3 * m.Profile.MemcpyCycles((ulong)native), b.Beyond(t32, CostCause.Memcpy), 6);
        Assert.Equal(4 * m.Profile.MemcpyCycles(16), b.Beyond(t64, CostCause.Memcpy), 6);
        Assert.Equal(("nanosleep(hrtimer_nanosleep_restart)", 2L), t64.Events.Calls.Where(t => t.Name == "restart_syscall").Select(t => (t.Path, t.Count)).Single());
    }

    // The fixed structures the replayed calls copy out are the ABI's (Linux 5.4 uapi headers; sizes by hand in
    // UserStructsTests): fstat's struct stat (x86-64 144, arm64 128) or fstat64's struct stat64 (i386 96, ARM EABI 104),
    // getrusage's rusage and sysinfo's sysinfo (144 and 112; 72 and 64 with 4-byte longs), times' tms (32; 16),
    // getrlimit's rlimit (16; 8); prlimit64's rlimit64 is 16 on every ABI. Bytes beyond exit_group's: one copy each.
    [Theory]
    [InlineData("x86-64", 144, 144, 112, 32, 16)]
    [InlineData("aarch64", 128, 144, 112, 32, 16)]
    [InlineData("x86-32", 96, 72, 64, 16, 8)]
    [InlineData("arm-lpae", 104, 72, 64, 16, 8)]
    public void FixedStructuresAreTheAbis(string arch, int stat, int rusage, int sysinfo, int tms, int rlimit)
    {
        MachineSpec m = DefaultMachine(arch);
        const string Calls =
            "500 fstat(3, {st_mode=S_IFREG|0644, st_size=100, ...}) = 0\n" +
            "500 getrusage(RUSAGE_SELF, {ru_utime={tv_sec=0, tv_usec=1}, ru_stime={tv_sec=0, tv_usec=2}, ...}) = 0\n" +
            "500 sysinfo({uptime=1, loads=[0, 0, 0], totalram=1, freeram=1, sharedram=0, bufferram=0, totalswap=0, freeswap=0, procs=1, totalhigh=0, freehigh=0, mem_unit=1}) = 0\n" +
            "500 times({tms_utime=1, tms_stime=0, tms_cutime=0, tms_cstime=0}) = 42\n" +
            "500 getrlimit(RLIMIT_STACK, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0\n" +
            "500 prlimit64(0, RLIMIT_NOFILE, NULL, {rlim_cur=1024, rlim_max=4096}) = 0\n";
        ReplayReport r = Replay(Temp("structs.strace", Calls + JustExit), TraceFormat.Strace, m, "classic");
        EntryBaseline b = new(m, "classic");
        double expected = new[] { stat, rusage, sysinfo, tms, rlimit, 16 }.Sum(n => m.Profile.MemcpyCycles((ulong)n));
        Assert.Equal(expected, b.Beyond(r, CostCause.Memcpy), 6);
    }

    // The stat family copies its result after the walk (fs/stat.c 5.4): stat, lstat64 and newfstatat the ABI's struct stat
    // (cp_new_stat; cp_new_stat64 on 32-bit), statx its 256-byte struct statx, readlink the bytes it returns; access and a
    // failed stat copy nothing. Each is measured against access of the same path, which runs the same path walk and path copy.
    [Theory]
    [InlineData("x86-64", 144)]
    [InlineData("aarch64", 128)]
    [InlineData("x86-32", 96)]
    [InlineData("arm-lpae", 104)]
    public void TheStatFamilyCopiesItsStructureOut(string arch, int stat)
    {
        MachineSpec m = DefaultMachine(arch);
        double Copied(string line) => MemcpyCycles(Replay(Temp("stat.strace", line + JustExit), TraceFormat.Strace, m, "classic"));
        double access = Copied("500 access(\"/etc/passwd\", R_OK) = 0\n");
        double Extra(string line) => Copied(line) - access;
        Assert.Equal(m.Profile.MemcpyCycles((ulong)stat), Extra("500 stat(\"/etc/passwd\", {st_mode=S_IFREG|0644, st_size=3000, ...}) = 0\n"), 6);
        Assert.Equal(m.Profile.MemcpyCycles((ulong)stat), Extra("500 lstat64(\"/etc/passwd\", {st_mode=S_IFREG|0644, st_size=3000, ...}) = 0\n"), 6);
        Assert.Equal(m.Profile.MemcpyCycles((ulong)stat), Extra("500 newfstatat(AT_FDCWD, \"/etc/passwd\", {st_mode=S_IFREG|0644, st_size=3000, ...}, 0) = 0\n"), 6);
        Assert.Equal(m.Profile.MemcpyCycles(256), Extra("500 statx(AT_FDCWD, \"/etc/passwd\", AT_STATX_SYNC_AS_STAT, STATX_ALL, {stx_mask=STATX_BASIC_STATS, stx_size=3000, ...}) = 0\n"), 6);
        Assert.Equal(m.Profile.MemcpyCycles(11), Extra("500 readlink(\"/etc/passwd\", \"/etc/passwd\", 4096) = 11\n"), 6);
        Assert.Equal(0, Extra("500 stat(\"/etc/passwd\", 0x7ffc1234) = -1 ENOENT (No such file or directory)\n"), 6);
        Assert.Equal(0, Extra("500 faccessat(AT_FDCWD, \"/etc/passwd\", R_OK) = 0\n"), 6);
    }

    // the recorded traces of these cases (tests/traces/README.md): perl's two pending signals unblocked at once, a shell's
    // `sleep` killed by SIGTERM in its interrupted clock_nanosleep while the shell runs on, a python poll stopped and
    // continued (restart_syscall → do_restart_poll), and interrupted.strace's clock_nanosleep restarted twice
    [Fact]
    public void TheRecordedTracesDeliverTwoSignalsOnOneReturnKillInTheKernelAndRunTheRestarts()
    {
        ReplayEvents s = Replay(RepoPath("tests/traces/strace/signals.strace.gz"), TraceFormat.Strace, MachineSpec.SkylakeX86(), "classic").Events;
        Assert.Equal((2L, 1L, 0L), (s.SignalsDelivered, s.SignalsOnOneReturn, s.KilledInKernel));
        Assert.Equal(2L, s.Calls.Single(t => t.Name == "rt_sigreturn").Count);
        ReplayEvents k = Replay(RepoPath("tests/traces/strace/killed.strace.gz"), TraceFormat.Strace, MachineSpec.SkylakeX86(), "classic").Events;
        Assert.Equal((1L, 1L, 1L), (k.Killed, k.KilledInKernel, k.InterruptedEnded));
        Assert.Equal(k.Lines, k.Accounted);
        ReplayEvents p = Replay(RepoPath("tests/traces/strace/poll.strace.gz"), TraceFormat.Strace, MachineSpec.SkylakeX86(), "classic").Events;
        Assert.Equal((1L, 0L), (p.RestartSyscallAsCall, p.RestartSyscallGeneric));
        Assert.Equal("poll(do_restart_poll)", p.Calls.Single(t => t.Name == "restart_syscall").Path);
        ReplayEvents i = Replay(RepoPath("tests/traces/strace/interrupted.strace.gz"), TraceFormat.Strace, MachineSpec.SkylakeX86(), "classic").Events;
        Assert.Equal((2L, 0L), (i.RestartSyscallAsCall, i.RestartSyscallGeneric)); // clock_nanosleep's restart, then the restart's
        foreach (ReplayEvents e in new[] { s, k, p, i })
        {
            Assert.Equal(e.Lines, e.Accounted);
            Assert.All(e.Calls.Where(t => t.Name is "clock_nanosleep" or "poll"), t => Assert.True(t.Modelled, $"{t.Name}: {t.Path}"));
        }

        Assert.Equal("poll", p.Calls.Single(t => t.Name == "poll").Path);
        Assert.Equal("nanosleep", i.Calls.Single(t => t.Name == "clock_nanosleep").Path);
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

    private static double Cycles(ReplayReport r, string design, CostCause c) =>
        r.Run(design).Result.CyclesPerOpByCause.TryGetValue(c, out double v) ? v : 0;

    // An architecture's default CPU profile with 512 MiB, the machine of the hand-computed signal and restart tests.
    private static MachineSpec DefaultMachine(string arch)
    {
        Vmsplit.Kernel.Layout.KernelArchInfo a = Vmsplit.Kernel.Layout.KernelArchitectures.All.Single(x => x.Name == arch);
        return new(MachineSpec.Require(a.DefaultProfile), a.Arch, 512 * Vmsplit.Hardware.ByteSize.MiB);
    }

    // What the hand-computed counts are measured against on one machine and design: a trace of exit_group alone, and the
    // cycles of one entry and exit (a getppid's, the difference of the two traces).
    private sealed class EntryBaseline
    {
        private readonly string _design;

        public EntryBaseline(MachineSpec machine, string design)
        {
            _design = design;
            ExitOnly = Replay(Temp("exit.strace", JustExit), TraceFormat.Strace, machine, design);
            ReplayReport oneCall = Replay(Temp("call.strace", "500 getppid() = 1\n" + JustExit), TraceFormat.Strace, machine, design);
            Entry = Cycles(oneCall, design, CostCause.ExceptionEntryExit) - Cycles(ExitOnly, design, CostCause.ExceptionEntryExit);
        }

        public ReplayReport ExitOnly { get; }

        public double Entry { get; }

        // A trace's cycles of one cause beyond the exit_group-only trace's.
        public double Beyond(ReplayReport r, CostCause c) => Cycles(r, _design, c) - Cycles(ExitOnly, _design, c);
    }

    private static string ExecTrace(string argv) =>
        "400 openat(AT_FDCWD, \"/a\", O_RDONLY|O_CLOEXEC) = 3\n" +
        "400 openat(AT_FDCWD, \"/b\", O_RDONLY) = 4\n" +
        "400 pipe2([5, 6], O_CLOEXEC) = 0\n" +
        "400 fcntl(4, F_SETFD, FD_CLOEXEC) = 0\n" +
        "400 close(5) = 0\n" +
        "400 execve(\"/bin/sh\", " + argv + ") = 0\n" +
        "400 read(3, \"x\", 1) = -1 EBADF (Bad file descriptor)\n" +
        "400 exit_group(0) = ?\n" +
        "400 +++ exited with 0 +++\n";

    [Fact]
    public void ExecveCopiesItsStringsAndClosesTheCloseOnExecDescriptors()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        ReplayReport full = Replay(Temp("exec.strace", ExecTrace("[\"sh\", \"-c\", \"x\"], 0x7ffd0 /* 3 vars */")), TraceFormat.Strace, m, "classic");
        ReplayReport bare = Replay(Temp("bare.strace", ExecTrace("[], NULL")), TraceFormat.Strace, m, "classic");

        // 3 (O_CLOEXEC), 6 (pipe2's other end; 5 was closed) and 4 (F_SETFD) close at the exec
        Assert.Equal((3L, 3L), (full.Events.ClosedOnExec, bare.Events.ClosedOnExec));
        Assert.Equal((1L, full.Events.Lines), (full.Events.Execs, full.Events.Accounted));

        // count() reads argv's 3 pointers and NULL, envp's 3 and NULL (8 × 8 bytes; bare: the two NULLs), copy_strings each
        // string's pointer (6 × 8) and its bytes twice, strnlen_user and copy_from_user ("sh", "-c", "x" with NULs: 3 + 3 + 2;
        // envp's 3 strings strace counted without printing them: 3 × 32, the stated assumption); create_elf_tables writes
        // argc, 3 argv pointers, NULL, 3 envp pointers and NULL on the new stack (bare: argc and the two NULLs) and runs
        // strnlen_user over every string there
        Assert.Equal(32, Replayer.AssumedEnvStringBytes);
        Assert.Equal((3L, 0L), (full.Events.EnvStringsAssumed, bare.Events.EnvStringsAssumed));
        double extra = MemcpyCycles(full) - MemcpyCycles(bare);
        Assert.Equal(m.Profile.MemcpyCycles((6 * 8) + (6 * 8) + (2 * (8 + 96)) + (6 * 8) + (8 + 96)), extra, 6);
    }

    // Without -v, execve's environment is copied as strings of the assumed length: exactly what strace -v printing three
    // variables of 31 characters gives
    [Theory]
    [InlineData("x86-64", "kpti")]
    [InlineData("arm", "classic")]
    [InlineData("arm-lpae", "4g4g")]
    public void AnEnvironmentCountedWithoutVIsCopiedAsStringsOfTheAssumedLength(string arch, string design)
    {
        MachineSpec m = DefaultMachine(arch);
        string var = "\"" + new string('v', Replayer.AssumedEnvStringBytes - 1) + "\"";
        ReplayReport counted = Replay(Temp("count.strace", ExecTrace("[\"sh\"], 0x7ffd0 /* 3 vars */")), TraceFormat.Strace, m, design);
        ReplayReport printed = Replay(Temp("v.strace", ExecTrace($"[\"sh\"], [{var}, {var}, {var}]")), TraceFormat.Strace, m, design);
        Assert.Equal((3L, 0L), (counted.Events.EnvStringsAssumed, printed.Events.EnvStringsAssumed));
        Assert.Equal(printed.Run(design).Result.CyclesPerOpByCause, counted.Run(design).Result.CyclesPerOpByCause);
    }

    // valgrind prints a lackey execve's line and runs the exec itself; the new program replaces valgrind, so the log ends
    // there without a result or an end of line (valgrind 3.19, recorded: sh -c 'exec /bin/true a b'). That is the exec
    // that succeeded, run as execve with the least argv (the path) and no envp: its kernel-side copies are exactly those
    // of strace's execve("/bin/true", ["/bin/true"], NULL)
    [Theory]
    [InlineData("x86-64", "classic")]
    [InlineData("x86-64", "kpti")]
    [InlineData("arm-lpae", "4g4g")]
    public void ALackeyExecveAtTheEndOfItsLogBuildsTheStackWithTheLeastArgv(string arch, string design)
    {
        MachineSpec m = DefaultMachine(arch);
        const string lackey = "==9738== Lackey, an example Valgrind tool\nSYSCALL[9738,1](59) sys_execve ( 0x1298e0(/bin/true), 0x129940, 0x4035c78 )";
        ReplayReport l = Replay(Temp("exec.lackey", lackey), TraceFormat.Lackey, m, design);
        ReplayReport s = Replay(Temp("exec.strace", "100 execve(\"/bin/true\", [\"/bin/true\"], NULL) = 0\n"), TraceFormat.Strace, m, design);
        ReplayEvents e = l.Events;
        Assert.Equal((2L, 2L, 1L, 1L, 1L, 0L, 0L), (e.Lines, e.Accounted, e.Syscalls, e.Execs, e.ExecsArgvAssumed, (long)e.UnfinishedAtEnd, e.Skipped(SkipReason.CallStarted)));
        foreach (CostCause c in new[] { CostCause.Memcpy, KernelCostCause.Kmap, KernelCostCause.Pinning })
        {
            Assert.Equal(Cycles(s, design, c), Cycles(l, design, c), 6);
        }

        Assert.True(Cycles(l, design, CostCause.Memcpy) > 0);
    }

    // An environment larger than the model's 128 KiB stack VMA: the strings that do not fit are left out and counted
    [Fact]
    public void AnEnvironmentBeyondTheStackVmaIsClampedAndCounted()
    {
        ReplayReport r = Replay(Temp("huge.strace", ExecTrace("[\"sh\"], 0x7ffd0 /* 5000 vars */")), TraceFormat.Strace, MachineSpec.SkylakeX86(), "classic");
        Assert.Equal((1L, 5000L), (r.Events.Execs, r.Events.EnvStringsAssumed));

        // room: 128 KiB less three pages for the tables and arch_align_stack's offset and the 8-byte path "/bin/sh"; "sh"
        // (3 bytes) and its pointer, then 40-byte strings and pointers while they fit: (131072 - 12288 - 8 - 11) / 40 = 2969
        long kept = (131072 - 12288 - 8 - 11) / 40;
        Assert.Equal((5000 - kept) * 40, r.Events.BytesClamped);
    }

    private static double MemcpyCycles(ReplayReport r) =>
        r.Run("classic").Result.CyclesPerOpByCause.TryGetValue(CostCause.Memcpy, out double c) ? c : 0;

    [Fact]
    public void SignalsAndKilledProcessesAreCountedAsProcessEvents()
    {
        const string trace =
            "200 clone(child_stack=NULL, flags=SIGCHLD) = 201\n" +
            "201 getpid() = 201\n" +
            "201 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=200} ---\n" +
            "201 +++ killed by SIGTERM +++\n" +
            "200 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=201} ---\n" +
            "200 exit_group(0) = ?\n" +
            "200 +++ exited with 0 +++\n";
        ReplayEvents e = Replay(Temp("kill.strace", trace), TraceFormat.Strace, MachineSpec.SkylakeX86(), "classic").Events;
        Assert.Equal((1L, 2L, 2L, 2L), (e.Killed, e.Signals, e.ExitLines, e.Exits));
        Assert.Equal(e.Lines, e.Accounted);
    }

    [Fact]
    public void EveryLackeyLineIsAnEventAndTheAccessesGoThroughTheMmu()
    {
        ReplayReport r = Replay(Temp("hand.lackey", Lackey), TraceFormat.Lackey, MachineSpec.DefaultArm(), "classic", "4g4g+pin-kmap");
        ReplayEvents e = r.Events;
        Assert.Equal(15, e.Lines);
        Assert.Equal(e.Lines, e.Accounted);
        Assert.Equal((1L, 2L, 1L, 1L), (e.Fetches, e.Loads, e.Stores, e.Modifies));
        Assert.Equal(1L, e.AfterExit); // the fetch after exit_group
        Assert.Equal((7L, 6L, 1L), (e.Syscalls, e.SyscallsModelled, e.SyscallsGeneric));
        Assert.Equal((1L, 1L, 1L), (e.Forks, e.ChildrenExitedAtOnce, e.Exits));

        // 0x0401ab70 and 0x04020000 share a 2 MiB area; 0x041ffffe (4 bytes) crosses into the next; the stack, the
        // read buffer and fstat's buffer are in a fourth: four areas
        Assert.Equal(4L, e.ArenaAreas);
        Dictionary<string, string> paths = e.Calls.ToDictionary(t => t.Name, t => t.Path);
        Assert.Equal("read-file", paths["read"]);
        Assert.Equal("open", paths["openat"]);
        Assert.Equal("generic-out", paths["fstat"]);
        Assert.Equal("mmap", paths["mmap"]);
        Assert.Equal("munmap", paths["munmap"]);

        // every access is a translation; the first touch of each page faults it in under the design
        RunResult classic = r.Run("classic").Result;
        Assert.True(classic.Tlb.Translations >= e.Fetches + e.Loads + e.Stores + e.Modifies);
        Assert.True(classic.CyclesPerOpByCause.GetValueOrDefault(KernelCostCause.FaultHandling) > 0);
    }

    [Fact]
    public void AChampSimReplayInjectsTheChosenCallEveryNInstructions()
    {
        byte[] records = new byte[64 * 10];
        for (int i = 0; i < 10; i++)
        {
            BitConverter.TryWriteBytes(records.AsSpan(i * 64), 0x400000UL + (ulong)(4 * i));
            BitConverter.TryWriteBytes(records.AsSpan((i * 64) + 32), 0x10000000UL + (ulong)(4096 * i));
        }

        string path = Path.Combine(Directory.CreateTempSubdirectory("vmsplit-replay").FullName, "t.champsimtrace");
        File.WriteAllBytes(path, records);
        ReplayReport r = TraceReplay.Run(new ReplayOptions(MachineSpec.SkylakeX86(), ["classic", "kpti"], "classic", path, TraceFormat.ChampSim) { SyscallEvery = 3, InjectedCall = "read4k", Parallel = false });
        ReplayEvents e = r.Events;
        Assert.Equal((10L, 10L, 10L, 0L), (e.Lines, e.Fetches, e.Loads, e.Stores));
        Assert.Equal(3L, e.SyscallsInjected);
        Assert.Equal(("read4k", 3L), (e.Calls.Single().Path, e.Calls.Single().Count));
        Assert.Equal(2L, e.ArenaAreas); // the text area and the ten data pages' area
    }

    [Fact]
    public void AReplayIsDeterministic()
    {
        string path = Temp("hand.strace", Strace);
        RunResult a = Replay(path, TraceFormat.Strace, MachineSpec.DefaultArm(), "classic", "4g4g+ttbr0-switch").Run("4g4g+ttbr0-switch").Result;
        RunResult b = Replay(path, TraceFormat.Strace, MachineSpec.DefaultArm(), "classic", "4g4g+ttbr0-switch").Run("4g4g+ttbr0-switch").Result;
        Assert.Equal(a.CyclesPerOp, b.CyclesPerOp);
        Assert.Equal(a.Tlb, b.Tlb);
    }
}
