using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Workloads;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Lab.Replay;

/// <summary>
/// Runs one trace on one booted kernel. User accesses (lackey's I/L/S/M, ChampSim's ip and operands) go through the
/// simulated MMU as the built-in workloads' user work does, at addresses of an arena in the simulated process:
/// each 2 MiB-aligned area of the trace's address space gets an arena area on first touch (offsets inside it kept,
/// so TLB sets and page-table sharing within 2 MiB are the program's), and an untouched page faults in under the
/// design. Each system call becomes the kernel path the model has for it (<see cref="SyscallMap"/>), with the trace's
/// byte counts; a call without one runs as generic (entry, trivial handler, its uaccess, exit) and is counted so.
/// </summary>
public sealed class Replayer
{
    private const ulong Page = 4096;
    private const int AreaShift = 21;
    private const ulong AreaBytes = 1UL << AreaShift;
    private const int TextPages = 16;

    /// <summary>The I/O buffer of each process, for calls whose buffer address the trace does not give (strace).</summary>
    public const ulong BufferBytes = 1UL << 20;

    /// <summary>The stack region of a replayed program: the 128 KiB setup_arg_pages leaves below the arguments (stack_expand, fs/exec.c); its top page holds the program's frame.</summary>
    public const ulong StackRegionBytes = SimKernel.ExecStackBytes;

    /// <summary>The page-cache file reads and writes of regular files go through, position kept per descriptor.</summary>
    public const ulong FileBytes = 4UL << 20;

    private readonly SimKernel _k;
    private readonly ReplayOptions _o;
    private readonly ReplayEvents _ev = new();
    private readonly Dictionary<int, ProcState> _byPid = new();
    private readonly Dictionary<ulong, ulong> _areas = new();
    private readonly ulong[] _areaCacheKey = new ulong[64];
    private readonly ulong[] _areaCacheBase = new ulong[64];
    private CallTally?[] _tallies = new CallTally?[64];
    private TraceCallInfo[] _infos = new TraceCallInfo[64];
    private ITraceReader _reader = null!;
    private PageCacheFile? _textFile;
    private ulong _arenaBase;
    private ulong _arenaAreas;
    private int _lastPid = int.MinValue;
    private ProcState? _last;
    private ProcState? _current;
    private long _instructions;
    private ulong _injectOffset;
    private bool _finished;

    // what a pid that exited maps to: its later lines count as after exit
    private readonly ProcState _exited = new() { P = null!, Text = 0, Stack = 0, PathPage = 0, Buffer = 0, Wss = 0, Dead = true };

    // the process an exit switched to whose return to user mode is put off to the next line, and the exit's tally
    private ProcState? _returning;
    private CallTally? _returnTally;

    // the pending return is that of a call a signal interrupted (not of an exit's switch)
    private bool _returnInterrupted;

    // a signal was delivered on the pending return: a further one for the process rides the same return
    private bool _returnDelivered;

    // the call being run was interrupted by a signal: its kernel calls stay in the kernel after the handler
    private bool _interrupting;

    public Replayer(SimKernel kernel, ReplayOptions options)
    {
        _k = kernel;
        _o = options;
        Array.Fill(_areaCacheKey, ulong.MaxValue);
    }

    /// <summary>Replays the whole trace; the result's one operation is the whole program.</summary>
    public (RunResult Result, ReplayEvents Events) Run(IProgress<long>? progress = null)
    {
        _k.EnsureFile(FileBytes);
        // strace lines parsed on a thread of their own, ahead of the calls (the same records: ReadAheadTraceReader); a lackey
        // or ChampSim record costs too little to simulate for a hand-over per record to pay
        ITraceReader opened = TraceFile.OpenReader(_o.TracePath, _o.Format);
        using ITraceReader reader = _o.Format == TraceFormat.Strace ? new ReadAheadTraceReader(opened) : opened;
        _reader = reader;
        TraceRecord r = default;
        bool started = false;
        MmuCounters c = _k.Cpu.Mmu.Counters;
        long reported = 0;
        try
        {
            while (reader.Next(ref r))
            {
                if (!started && r.Kind != TraceRecordKind.Skipped)
                {
                    Start(r.Pid);
                    _k.Ledger.Reset();
                    c.Reset();
                    started = true;
                }

                if (r.Kind == TraceRecordKind.Syscall && r.FinishedAtEnd)
                {
                    _ev.Unskip(SkipReason.CallStarted); // its line, counted as started, is this call
                }
                else if (_o.Format != TraceFormat.ChampSim || r.Kind is not (TraceRecordKind.Load or TraceRecordKind.Store))
                {
                    _ev.Lines++; // a ChampSim record is its fetch and its operands
                }

                if (_returning is not null && !KeepsReturn(ref r))
                {
                    if (ParksReturn(ref r))
                    {
                        Park();
                    }
                    else
                    {
                        FinishReturn();
                    }
                }

                switch (r.Kind)
                {
                    case TraceRecordKind.Fetch:
                        if (!Access(ref r, AccessKind.Fetch))
                        {
                            break;
                        }

                        _ev.Fetches++;
                        if (_o.Format == TraceFormat.ChampSim && _o.SyscallEvery > 0 && ++_instructions % _o.SyscallEvery == 0)
                        {
                            Inject();
                        }

                        break;
                    case TraceRecordKind.Load:
                        _ev.Loads += Access(ref r, AccessKind.Read) ? 1 : 0;
                        break;
                    case TraceRecordKind.Store:
                        _ev.Stores += Access(ref r, AccessKind.Write) ? 1 : 0;
                        break;
                    case TraceRecordKind.Modify:
                        _ev.Modifies += Access(ref r, AccessKind.Write) ? 1 : 0;
                        break;
                    case TraceRecordKind.Syscall:
                        OnSyscall(ref r);
                        break;
                    case TraceRecordKind.Signal:
                        OnSignal(ref r);
                        break;
                    case TraceRecordKind.ProcessExit:
                        _ev.ExitLines++;
                        _ev.Killed += r.Killed ? 1 : 0;
                        OnProcessExit(r.Pid, r.Killed);
                        break;
                    default:
                        _ev.Skip(r.Skip);
                        break;
                }

                if (progress is not null && (_ev.Lines & 0xffff) == 0)
                {
                    long now = reader.BytesRead;
                    progress.Report(now - reported);
                    reported = now;
                }
            }
        }
        catch (KernelOutOfMemoryException e)
        {
            throw new LabException($"trace {_o.Name} does not fit {_k.Design.Name} on {_k.Layout.Arch.Name()} with {ByteSize.Human(_k.Layout.Machine.TotalRam)} of RAM: {e.Message} at record {r.Line}");
        }

        if (_returning is not null)
        {
            FinishReturn();
        }

        foreach (ProcState ps in _byPid.Values.Distinct())
        {
            if (ps.Interrupted != SyscallRestart.None)
            {
                ps.Interrupted = SyscallRestart.None;
                _ev.InterruptedEnded++; // the trace ends before the call's fate
            }
        }

        progress?.Report(reader.BytesRead - reported);
        if (!started)
        {
            // a whole-file problem: named by the file, as the readers name their errors
            string file = Hardware.Input.InputText.ShowPath(_o.TracePath);
            throw new LabException(_ev.Lines == 0 ? $"{file}: the trace is empty" : $"{file}: the trace has nothing to replay: none of its {_ev.Lines} lines is a system call, memory access, signal or exit");
        }

        _ev.UnfinishedAtEnd = reader.UnfinishedAtEnd;
        foreach (CallTally? t in _tallies)
        {
            if (t is not null && (t.Count > 0 || t.Cycles > 0))
            {
                _ev.CallList.Add(t);
            }
        }

        Dictionary<CostCause, double> byCause = new();
        foreach (CostCause cause in KernelCostCause.All)
        {
            double cycles = _k.Ledger.Cycles(cause);
            if (cycles != 0)
            {
                byCause[cause] = cycles;
            }
        }

        TlbCounters tlb = new(c.Translations, c.MicroIHits + c.MicroDHits, c.MainHits, c.Misses, c.Walks, c.WalkReads, _k.Cpu.WalkStepMisses, c.TotalFlushes, c.EntriesInvalidated);
        RunResult result = new(_k.Design.Name, _o.Name, 1, _k.Cpu.Profile.ClockMhz, _k.Ledger.TotalCycles, byCause, tlb)
        {
            ContextSwitchesPerOp = _ev.Switches + _ev.Exits,
            Mechanisms = new(_k.DescriptorWrites, _k.SoftwareWalkLoads, _k.Gup.Pins),
        };
        return (result, _ev);
    }

    private enum AccessKind : byte
    {
        Fetch,
        Read,
        Write,
    }

    // ---- processes -----------------------------------------------------------------------------

    private sealed class ProcState
    {
        public required Process P;
        public required ulong Text;
        public required ulong Stack;
        public required ulong PathPage;
        public required ulong Buffer;
        public required ulong Wss;
        public Dictionary<int, (FdKind Kind, ulong Position)> Fds = new();
        public Dictionary<ulong, (ulong Va, ulong Bytes)> Mmaps = new();
        public int Tasks = 1;
        public int Parent = -1;

        /// <summary>The first pid of the replay's table that names this process as last found (PidOf), -1 before.</summary>
        public int Pid = -1;

        /// <summary>Every pid the replay's table was made to name this process under (its own, its threads'): those to retire when it exits or execs.</summary>
        public List<int> Pids = [];

        /// <summary>Signals (bit n for signal n) with a handler installed by rt_sigaction.</summary>
        public ulong Handlers;

        /// <summary>Signals whose handler was installed with SA_RESTART (bit n for signal n).</summary>
        public ulong RestartHandlers;

        /// <summary>Signal frames written on the stack and not yet read back by rt_sigreturn.</summary>
        public int Frames;

        /// <summary>The restart code of the process's last call when a signal interrupted it and what becomes of it is not yet known.</summary>
        public SyscallRestart Interrupted;

        /// <summary>
        /// In the kernel, in the signal code of its interrupted call (stopped there for the tracer, or for SIGSTOP), while
        /// another process's lines run: it was switched away from the kernel side and returns to user mode, or dies, from there.
        /// </summary>
        public bool Parked;

        /// <summary>The restart_block the last call interrupted with ERESTART_RESTARTBLOCK left (its fn None: one the model has no path for).</summary>
        public RestartBlock Restart;

        /// <summary>Descriptors opened or marked close-on-exec (O_CLOEXEC, SOCK_CLOEXEC, FD_CLOEXEC, ...).</summary>
        public HashSet<int> CloExec = [];
        public int ExitCall = -1;
        public bool Dead;

        public ProcState Fork(Process child) => new()
        {
            P = child,
            Text = Text,
            Stack = Stack,
            PathPage = PathPage,
            Buffer = Buffer,
            Wss = Wss,
            Fds = new(Fds),
            Mmaps = new(Mmaps),
            Handlers = Handlers, // fork keeps the handlers (kernel/fork.c copy_sighand)
            RestartHandlers = RestartHandlers,
            CloExec = [.. CloExec], // and the descriptors' flags (dup_fd)
        };
    }

    private void Start(int pid)
    {
        Process p = _k.CreateProcess();
        (ulong text, ulong stack, ulong path, ulong buffer, ulong wss) = MapProgram(p);
        _k.Start(p);
        _k.UserFetch(p, new VirtualAddress(text), TextPages * Page);
        _k.UserTouch(p, new VirtualAddress(stack), Page, write: true);
        _k.UserTouch(p, new VirtualAddress(buffer), BufferBytes, write: true);
        if (wss > 0)
        {
            _k.UserTouch(p, new VirtualAddress(wss), _o.UserWss, write: true);
        }

        _k.EnterKernel();
        _k.Uaccess.CopyToUser(new VirtualAddress(path), PathFill());
        _k.ExitKernel();

        ProcState ps = new() { P = p, Text = text, Stack = stack, PathPage = path, Buffer = buffer, Wss = wss };
        Name(pid, ps);
        _current = ps;
    }

    // the path page holds a string that ends at its last byte, so a path of N bytes is its last N bytes
    private static byte[] PathFill()
    {
        byte[] fill = new byte[Page];
        Array.Fill(fill, (byte)'a');
        fill[^1] = 0;
        return fill;
    }

    // The program's regions in an empty mm: the stack at the mm's stack top (randomize_stack_top's, above the mmap
    // area), then text, path page, I/O buffer, working set and (lackey, ChampSim) the arena, placed top-down below
    // the mm's mmap_base in this order (each execve's mm has a layout of its own, drawn at the exec, so a new program's
    // regions move with it).
    // With stackMapped (an execve) the stack is the VMA execve made there, holding the arguments it copied.
    private (ulong Text, ulong Stack, ulong Path, ulong Buffer, ulong Wss) MapProgram(Process p, bool stackMapped = false)
    {
        _textFile ??= _k.CreateFile("trace-text", TextPages * Page);
        ulong text = _k.MapRegion(p, TextPages * Page, VmFlags.Read | VmFlags.Exec, _textFile).Value;
        ulong stack = (stackMapped ? p.StackTop - StackRegionBytes : _k.MapStack(p).Value) + StackRegionBytes - Page; // its top page
        ulong path = _k.MapRegion(p, Page, VmFlags.Read | VmFlags.Write).Value;
        ulong buffer = _k.MapRegion(p, BufferBytes, VmFlags.Read | VmFlags.Write).Value;
        ulong wss = _o.UserWss > 0 ? _k.MapRegion(p, _o.UserWss, VmFlags.Read | VmFlags.Write).Value : 0;
        if (_o.Format != TraceFormat.Strace)
        {
            // the arena that holds the traced program's own addresses: half the room left, at most 64 GiB
            ulong room = p.MmapBase - SimKernel.UserFloor;
            ulong fixedBytes = (TextPages * Page) + Page + BufferBytes + _o.UserWss;
            ulong arena = Math.Min((room - fixedBytes) / 2, 64UL << 30) & ~(AreaBytes - 1);
            ulong at = _k.MapRegion(p, arena, VmFlags.Read | VmFlags.Write | VmFlags.Exec).Value;
            _arenaBase = (at + AreaBytes - 1) & ~(AreaBytes - 1);
            _arenaAreas = (at + arena - _arenaBase) / AreaBytes;
        }

        return (text, stack, path, buffer, wss);
    }

    private ProcState Proc(int pid)
    {
        if (pid == _lastPid)
        {
            return _last!;
        }

        if (!_byPid.TryGetValue(pid, out ProcState? ps))
        {
            ps = _finished || _current is null || _current.Dead ? _exited : Appeared(pid);
        }

        _lastPid = pid;
        _last = ps;
        return ps;
    }

    // A process or thread whose first line comes before the clone that made it returned (strace -f prints the
    // child's lines as soon as it runs): created now, from the process whose clone is unfinished.
    private ProcState Appeared(int pid)
    {
        ProcState parent = _current!;
        bool sharesMm = false;
        if (_reader.PendingClone(out int parentPid, out bool shares) && _byPid.TryGetValue(parentPid, out ProcState? pp) && !pp.Dead)
        {
            parent = pp;
            sharesMm = shares;
        }

        if (sharesMm)
        {
            parent.Tasks++;
            _ev.Threads++;
            Name(pid, parent);
            return parent;
        }

        ProcState child = ForkFrom(parent, Tally(_reader.Names.Intern("clone".AsSpan())));
        child.Parent = PidOf(parent);
        Name(pid, child);
        return child;
    }

    // A pid the table did not hold, naming ps from now on. Nothing is ever removed from the table, so its order is the
    // order pids were added: the first pid naming ps is the one it was created under, while that still names it.
    private void Name(int pid, ProcState ps)
    {
        _byPid.Add(pid, ps);
        ps.Pids.Add(pid);
        if (ps.Pid < 0)
        {
            ps.Pid = pid;
        }
    }

    // The first pid of the table (in its order) that names ps: the one kept in ps while it still names ps (a pid that
    // names ps later was added after it), else the table searched once, as each new process asked it before
    private int PidOf(ProcState ps)
    {
        if (ps.Pid >= 0 && _byPid.TryGetValue(ps.Pid, out ProcState? named) && ReferenceEquals(named, ps))
        {
            return ps.Pid;
        }

        foreach ((int pid, ProcState p) in _byPid)
        {
            if (ReferenceEquals(p, ps))
            {
                ps.Pid = pid;
                return pid;
            }
        }

        return -1;
    }

    // Every pid that names ps, but `keep`, now names the exited (each was added by Name)
    private void Retire(ProcState ps, int keep = int.MinValue)
    {
        foreach (int other in ps.Pids)
        {
            if (other != keep && ReferenceEquals(_byPid[other], ps))
            {
                _byPid[other] = _exited;
            }
        }
    }

    private ProcState ForkFrom(ProcState parent, CallTally tally)
    {
        MakeCurrent(parent);
        double before = _k.Ledger.TotalCycles;
        SyscallResult forked = _k.Syscall(parent.P, new SyscallRequest(SyscallKind.Fork));
        tally.Cycles += _k.Ledger.TotalCycles - before;
        _ev.Forks++;
        return parent.Fork(forked.Child!);
    }

    // ps runs in user mode: the switch to it (from the kernel side of a parked process, without its entry), or the
    // return of a parked ps that is still the running process (no other process ran since)
    private void MakeCurrent(ProcState ps)
    {
        if (ReferenceEquals(ps, _current))
        {
            if (ps.Parked)
            {
                ps.Parked = false;
                _k.ReturnToUser(ps.P);
            }

            return;
        }

        if (_current!.Parked)
        {
            _k.SwitchTo(_current.P, ps.P); // schedule() from the parked process's kernel side
            _k.ExitKernel();
        }
        else
        {
            _k.ContextSwitch(_current.P, ps.P, null, null);
        }

        ps.Parked = false;
        _ev.Switches++;
        _current = ps;
    }

    // ps runs in the kernel and stays there (a signal to deliver, or its death): the switch to it without its return
    // to user mode, from the kernel side of a parked running process or through the running one's entry
    private void KernelSide(ProcState ps)
    {
        if (ReferenceEquals(ps, _current))
        {
            return;
        }

        if (_current!.Parked)
        {
            _k.SwitchTo(_current.P, ps.P);
        }
        else
        {
            _k.ContextSwitch(_current.P, ps.P, null, null, returnToUser: false);
        }

        _ev.Switches++;
        _current = ps;
    }

    private void OnProcessExit(int pid, bool killed)
    {
        if (!_byPid.TryGetValue(pid, out ProcState? ps) || ps.Dead)
        {
            return;
        }

        Exit(pid, ps, ps.ExitCall >= 0 ? Tally(ps.ExitCall) : null, killed);
    }

    private void Exit(int pid, ProcState ps, CallTally? tally, bool killed = false)
    {
        if (ps.Interrupted != SyscallRestart.None && ps.Tasks <= 1)
        {
            ps.Interrupted = SyscallRestart.None;
            _ev.InterruptedEnded++; // killed (get_signal's do_group_exit) before the call was restarted or returned
        }

        _byPid[pid] = _exited;
        _lastPid = int.MinValue;
        if (ps.Tasks > 1)
        {
            ps.Tasks--; // a thread ends; its process goes on
            return;
        }

        ProcState? next = null;
        if (ps.Parent >= 0 && _byPid.TryGetValue(ps.Parent, out ProcState? parent) && !parent.Dead && !ReferenceEquals(parent, ps))
        {
            next = parent;
        }
        else
        {
            foreach (ProcState other in _byPid.Values)
            {
                if (!other.Dead && !ReferenceEquals(other, ps))
                {
                    next = other;
                    break;
                }
            }
        }

        // killed while in the kernel (its return to user mode pending, or parked in its interrupted call's signal code):
        // get_signal dequeues the fatal signal and calls do_group_exit there, so the task never returns to user mode
        // (kernel/signal.c, Linux 5.4)
        bool inKernel = killed && (ReferenceEquals(_returning, ps) || ps.Parked);
        if (inKernel)
        {
            if (ReferenceEquals(_returning, ps))
            {
                _returning = null;
                _returnTally = null;
                _returnInterrupted = false;
                _returnDelivered = false;
            }

            KernelSide(ps);
            ps.Parked = false;
            _ev.KilledInKernel++;
        }
        else
        {
            MakeCurrent(ps);
        }

        double before = _k.Ledger.TotalCycles;
        if (next is not null)
        {
            // strace: next's return to user mode waits for the next line, which may be a signal delivered on it
            bool putOff = _o.Format == TraceFormat.Strace;
            _k.ExitAndSwitch(ps.P, next.P, returnToUser: !putOff, inKernel: inKernel);
            _current = next;
            next.Parked = false; // a parked parent is switched to in its kernel side; its return is put off as any
            if (putOff)
            {
                _returning = next;
                _returnTally = tally;
            }
        }
        else
        {
            _k.Exit(ps.P, inKernel); // the last process: nothing runs after it

            _finished = true;
        }

        if (tally is not null)
        {
            tally.Cycles += _k.Ledger.TotalCycles - before;
        }

        _ev.Exits++;
        ps.Dead = true;
        Retire(ps);
    }

    // ---- user accesses -------------------------------------------------------------------------

    // false for a record of a process that has exited (counted as such)
    private bool Access(ref TraceRecord r, AccessKind kind)
    {
        ProcState ps = r.Pid == _lastPid ? _last! : Proc(r.Pid);
        if (ps.Dead || _finished)
        {
            _ev.AfterExit++;
            return false;
        }

        if (!ReferenceEquals(ps, _current))
        {
            MakeCurrent(ps);
        }

        ulong offset = r.Address & (AreaBytes - 1);
        ulong size = r.Size;
        ulong va = ArenaArea(r.Address >> AreaShift) + offset;
        if (offset + size > AreaBytes)
        {
            // crosses into the next 2 MiB area, which may have its place elsewhere
            ulong first = AreaBytes - offset;
            Touch(ps.P, va, first, kind);
            Touch(ps.P, ArenaArea((r.Address >> AreaShift) + 1), size - first, kind);
            return true;
        }

        Touch(ps.P, va, size, kind);
        return true;
    }

    private void Touch(Process p, ulong va, ulong size, AccessKind kind)
    {
        if (kind == AccessKind.Fetch)
        {
            _k.UserFetch(p, new VirtualAddress(va), size);
        }
        else
        {
            _k.UserTouch(p, new VirtualAddress(va), size, kind == AccessKind.Write);
        }
    }

    private ulong ArenaArea(ulong area)
    {
        int slot = (int)(area & 63);
        if (_areaCacheKey[slot] == area)
        {
            return _areaCacheBase[slot];
        }

        if (!_areas.TryGetValue(area, out ulong at))
        {
            if ((ulong)_areas.Count >= _arenaAreas)
            {
                throw new LabException($"trace {_o.Name}: touches more than {_arenaAreas} distinct 2 MiB areas, more than {_k.Design.Name} on {_k.Layout.Arch.Name()} leaves room for in the user address space ({ByteSize.Human(_arenaAreas * AreaBytes)})");
            }

            at = _arenaBase + ((ulong)_areas.Count * AreaBytes);
            _areas.Add(area, at);
            _ev.ArenaAreas++;
        }

        _areaCacheKey[slot] = area;
        _areaCacheBase[slot] = at;
        return at;
    }

    // the trace's address of a buffer (lackey gives it) in the arena, or the process's I/O buffer (strace)
    private ulong BufferAt(ProcState ps, ulong traceAddress, ref ulong bytes)
    {
        if (_o.Format == TraceFormat.Lackey && traceAddress != 0)
        {
            return ArenaArea(traceAddress >> AreaShift) + (traceAddress & (AreaBytes - 1));
        }

        if (bytes > BufferBytes)
        {
            _ev.BytesClamped += (long)(bytes - BufferBytes);
            bytes = BufferBytes;
        }

        return ps.Buffer;
    }

    // ---- system calls --------------------------------------------------------------------------

    private CallTally Tally(int call)
    {
        if (call >= _tallies.Length)
        {
            Array.Resize(ref _tallies, Math.Max(call + 1, _tallies.Length * 2));
            Array.Resize(ref _infos, _tallies.Length);
        }

        if (_tallies[call] is not CallTally t)
        {
            string name = _reader.Names[call];
            _infos[call] = SyscallMap.Of(name);
            t = new CallTally(name, "generic", false);
            _tallies[call] = t;
        }

        return t;
    }

    private void OnSyscall(ref TraceRecord r)
    {
        ProcState ps = Proc(r.Pid);
        if (ps.Dead || _finished)
        {
            _ev.AfterExit++;
            return;
        }

        if (ps.Interrupted != SyscallRestart.None)
        {
            Resolve(ps, handler: false, saRestart: false); // no handler ran on the interrupted call's way out
        }

        MakeCurrent(ps);
        CallTally t = Tally(r.Call);
        TraceCallInfo info = _infos[r.Call];
        if (_o.Format == TraceFormat.Strace)
        {
            UserFootprint(ps, r.Call);
        }

        double before = _k.Ledger.TotalCycles;
        _interrupting = r.Restart != SyscallRestart.None;
        string path = RunCall(ps, ref r, info);
        t.Cycles += _k.Ledger.TotalCycles - before;
        if (_interrupting)
        {
            // a signal interrupted the call (= ? ERESTART...): it stays in the kernel; its way back to user mode runs the
            // signal code (exit_to_usermode_loop → do_signal, arch/x86/entry/common.c 5.4; do_notify_resume on arm64 and
            // RISC-V), which delivers the signal the next line shows, if it has a handler, on this return
            _interrupting = false;
            _returning = ps;
            _returnTally = t;
            _returnInterrupted = true;
            ps.Interrupted = r.Restart;
            _ev.Interrupt(r.Restart);
            if (r.Restart == SyscallRestart.RestartBlock && info.Restart == RestartFn.None)
            {
                ps.Restart = default; // a restart the model has none for (futex_wait_restart, ...)
            }
        }

        t.Count++;
        bool modelled = !path.StartsWith("generic", StringComparison.Ordinal);
        t.Path = path;
        t.Modelled = modelled;
        if (modelled)
        {
            _ev.SyscallsModelled++;
        }
        else
        {
            _ev.SyscallsGeneric++;
        }
    }

    // strace's '--- SIGNAME {...} ---': a signal with a handler gets its frame written on the stack (setup_rt_frame), which
    // the handler's rt_sigreturn reads back; one without (its default action, or ignored) writes nothing
    private void OnSignal(ref TraceRecord r)
    {
        ProcState ps = Proc(r.Pid);
        if (ps.Dead || _finished)
        {
            _ev.AfterExit++;
            return;
        }

        if (!Handled(ps, ref r))
        {
            _ev.Skip(SkipReason.Signal);
            return;
        }

        bool interrupted = ps.Interrupted != SyscallRestart.None;
        if (interrupted)
        {
            Resolve(ps, handler: true, saRestart: (ps.RestartHandlers & (1UL << (int)(r.Arg0 - 1))) != 0);
        }

        // the signal is delivered on a return to user mode: the one already under way (the pending return of a call a signal
        // interrupted, of a process an exit switched to, or of an earlier delivery: exit_to_usermode_loop runs do_signal, which
        // dequeues one signal and builds its frame, for as long as TIF_SIGPENDING stays set, arch/x86/entry/common.c 5.4;
        // arm64's do_notify_resume loops the same way, arch/arm64/kernel/signal.c), the one of the switch this line makes to
        // a process that was not running, or, for the process that was running its own code, the return of the interrupt
        // that brought it into the kernel (an entry of its own); the return itself waits for the next line, which may be
        // another signal for the process, delivered on it, its frame below this one
        SyscallRequest delivery = new(SyscallKind.SignalDelivery, new VirtualAddress(SignalFrameAt(ps, ps.Frames)), SignalFrames.RtSigframeBytes(_k.Layout.Arch));
        if (ReferenceEquals(_returning, ps))
        {
            _ev.SignalsOnCallReturn += _returnInterrupted ? 1 : 0;
            _ev.SignalsOnOneReturn += _returnDelivered ? 1 : 0;
            _k.RunInKernel(ps.P, delivery);
            _returnTally = null; // as a delivery's own return, not the call's or the exit's
        }
        else
        {
            bool parked = ps.Parked;
            if (parked || !ReferenceEquals(ps, _current))
            {
                KernelSide(ps); // a parked process is switched to on its kernel side, where its interrupted call's return is
                _k.RunInKernel(ps.P, delivery);
            }
            else
            {
                _k.Syscall(ps.P, delivery, returnToUser: false);
            }

            ps.Parked = false;
            _ev.SignalsOnCallReturn += parked && interrupted ? 1 : 0;
            _returning = ps;
            _returnTally = null;
            _returnInterrupted = parked && interrupted;
        }

        _returnDelivered = true;
        ps.Frames++;
        _ev.SignalsDelivered++;
    }

    // A line of the process whose return to user mode is pending that Linux handles before that return: another signal
    // (delivered on it, or dequeued and ignored), a stop, or its death by a signal (get_signal's loop, kernel/signal.c 5.4)
    private bool KeepsReturn(ref TraceRecord r) =>
        (r.Kind is TraceRecordKind.Signal || (r.Kind == TraceRecordKind.Skipped && r.Skip == SkipReason.Signal) || (r.Kind == TraceRecordKind.ProcessExit && r.Killed))
        && _byPid.TryGetValue(r.Pid, out ProcState? ps) && ReferenceEquals(ps, _returning);

    // A line of another process while the pending return is that of a call a signal interrupted: the process waits in its
    // signal code (ptrace_signal's stop for the tracer, or do_signal_stop, in get_signal) and the other runs; it is
    // switched away from on its kernel side, with no return to user mode
    private bool ParksReturn(ref TraceRecord r) =>
        _o.Format == TraceFormat.Strace && _returning!.Interrupted != SyscallRestart.None
        && !(r.Kind == TraceRecordKind.Skipped && r.Skip is SkipReason.Blank or SkipReason.ToolMessage)
        && !(_byPid.TryGetValue(r.Pid, out ProcState? ps) && ReferenceEquals(ps, _returning));

    private void Park()
    {
        _returning!.Parked = true;
        _returning = null;
        _returnTally = null;
        _returnInterrupted = false;
        _returnDelivered = false;
    }

    // whether a signal line is delivered to a handler (the process lives and has one for the signal)
    private bool Handled(ProcState ps, ref TraceRecord r) =>
        !ps.Dead && !_finished && r.Arg0 is > 0 and <= 64 && (ps.Handlers & (1UL << (int)(r.Arg0 - 1))) != 0;

    // The pending return to user mode (of a process an exit switched to, of a call a signal interrupted, of a signal's
    // delivery) happens: now, before the next line, which is not one the kernel handles before returning (KeepsReturn).
    // The return's cycles go to the exit's or the call's tally, as when it was not put off.
    private void FinishReturn()
    {
        ProcState ps = _returning!;
        _returning = null;
        _returnInterrupted = false;
        _returnDelivered = false;
        double before = _k.Ledger.TotalCycles;
        _k.ReturnToUser(ps.P);
        if (_returnTally is not null)
        {
            _returnTally.Cycles += _k.Ledger.TotalCycles - before;
        }

        _returnTally = null;
    }

    // get_sigframe: the frame below the stack pointer (the program's frame at the top of its stack page), a nested one
    // below the frame before it, 16-byte aligned (arch/*/kernel/signal.c); x86-64's 128-byte red zone and the FPU state
    // beside the frame are not modelled
    private ulong SignalFrameAt(ProcState ps, int depth)
    {
        ulong bytes = SignalFrames.RtSigframeBytes(_k.Layout.Arch);
        ulong sp = ps.Stack + Page - UserProgram.StackBytes;
        return (sp - ((ulong)(depth + 1) * bytes)) & ~15UL;
    }

    // what strace does not record: the user code between calls (loop, libc wrapper, stack frame, the working set)
    private void UserFootprint(ProcState ps, int call)
    {
        _k.UserFetch(ps.P, new VirtualAddress(ps.Text), UserProgram.TextBytesPerPage);
        _k.UserFetch(ps.P, new VirtualAddress(ps.Text + ((1 + ((ulong)call % (TextPages - 1))) * Page)), UserProgram.TextBytesPerPage);
        _k.UserTouch(ps.P, new VirtualAddress(ps.Stack + Page - UserProgram.StackBytes), UserProgram.StackBytes, write: true);
        if (_o.UserWss > 0)
        {
            _k.UserTouch(ps.P, new VirtualAddress(ps.Wss), _o.UserWss, write: false);
        }
    }

    private SyscallResult Sys(ProcState ps, SyscallKind kind, ulong user = 0, ulong bytes = 0, ulong fileOffset = 0, FileKind file = FileKind.None, ulong outAt = 0, ulong outBytes = 0) =>
        _k.Syscall(ps.P, new SyscallRequest(kind, new VirtualAddress(user), bytes, fileOffset, file, Out: new VirtualAddress(outAt), OutBytes: outBytes), returnToUser: !_interrupting);

    // What becomes of a call a signal interrupted, decided on its way back to user mode as Linux 5.4 decides it
    // (arch/x86/kernel/signal.c handle_signal and do_signal; arch/arm64/kernel/signal.c do_signal the same): with a handler
    // to run, ERESTARTSYS is restarted (the PC rewound to the syscall instruction, which runs again after rt_sigreturn)
    // when the handler has SA_RESTART and returns -EINTR otherwise, ERESTARTNOINTR is always restarted, ERESTARTNOHAND and
    // ERESTART_RESTARTBLOCK return -EINTR; with no handler (the signal stopped the process, or a tracer saw one that is
    // ignored) every code is restarted, ERESTART_RESTARTBLOCK through restart_syscall(2). The restart is a call of its
    // own, the trace's next line of the process; nothing else runs for it here.
    private void Resolve(ProcState ps, bool handler, bool saRestart)
    {
        SyscallRestart code = ps.Interrupted;
        ps.Interrupted = SyscallRestart.None;
        bool restarted = !handler || code == SyscallRestart.NoIntr || (code == SyscallRestart.Sys && saRestart);
        if (restarted)
        {
            _ev.InterruptedRestarted++;
            _ev.InterruptedRestartSyscall += code == SyscallRestart.RestartBlock ? 1 : 0;
        }
        else
        {
            _ev.InterruptedEintr++;
        }
    }

    private string RunCall(ProcState ps, ref TraceRecord r, TraceCallInfo info)
    {
        ulong result = r.HasResult && r.Result > 0 ? (ulong)r.Result : 0;
        bool failed = r.HasResult && r.Result < 0;
        if (r.NewAction && !failed && r.Arg0 is > 0 and <= 64)
        {
            // rt_sigaction(SIG, {sa_handler=...}, ...): a function's address installs a handler; SIG_DFL and SIG_IGN remove it
            ulong bit = 1UL << (int)(r.Arg0 - 1);
            ps.Handlers = r.Arg1 > 1 ? ps.Handlers | bit : ps.Handlers & ~bit;
            ps.RestartHandlers = r.Arg1 > 1 && r.SaRestart ? ps.RestartHandlers | bit : ps.RestartHandlers & ~bit;
        }

        if (r.CloExec && !failed)
        {
            MarkCloseOnExec(ps, ref r);
        }

        if (r.Restart != SyscallRestart.None && info.Call is not (SyscallKind.Read or SyscallKind.Write or SyscallKind.Stat or SyscallKind.Open
            or SyscallKind.Close or SyscallKind.Wait4 or SyscallKind.GenericIn or SyscallKind.GenericOut))
        {
            // interrupted before it did its work (a fork's copy_process that found a signal pending returns ERESTARTNOINTR,
            // kernel/fork.c): its entry, a handler that gave up, its exit
            return Generic(ps, ref r, info);
        }

        switch (info.Call)
        {
            case SyscallKind.Getppid:
                Sys(ps, SyscallKind.Getppid);
                return "getppid";
            case SyscallKind.Read:
            case SyscallKind.Write:
                return ReadWrite(ps, ref r, info.Call == SyscallKind.Read, result);
            case SyscallKind.Stat:
                {
                    ulong bytes = (ulong)Math.Clamp(r.PathBytes, 1, (int)Page);
                    // what the call copies out when it succeeds: its ABI's struct stat or statx, or readlink's target
                    // (an interrupted one writes nothing)
                    ulong outBytes = failed || r.Restart != SyscallRestart.None ? 0 : info.ResultOut ? result : info.OutBytes(_k.Layout.Arch);
                    ulong buffer = outBytes > 0 ? BufferAt(ps, ArgAt(ref r, info.BufferArg), ref outBytes) : 0;
                    Sys(ps, SyscallKind.Stat, ps.PathPage + Page - bytes, bytes, outAt: buffer, outBytes: outBytes);
                    return "stat";
                }

            case SyscallKind.Open:
                {
                    ulong bytes = (ulong)Math.Clamp(r.PathBytes, 1, (int)Page);
                    Sys(ps, SyscallKind.Open, ps.PathPage + Page - bytes, bytes);
                    if (r.HasResult && r.Result >= 0)
                    {
                        ps.Fds[(int)r.Result] = (r.PathKind == FdKind.Unknown ? FdKind.File : r.PathKind, 0);
                    }

                    return "open";
                }

            case SyscallKind.Close:
                Sys(ps, SyscallKind.Close);
                ps.Fds.Remove((int)r.Arg0);
                ps.CloExec.Remove((int)r.Arg0);
                return "close";
            case SyscallKind.Mmap:
                {
                    ulong bytes = (r.Arg1 + Page - 1) & ~(Page - 1);
                    if (failed || bytes == 0 || !ps.P.Vmas.TryFindFree(bytes, new VirtualAddress(SimKernel.UserFloor), new VirtualAddress(Math.Min(_k.Layout.TaskSize, ps.P.MmapBase)), out _))
                    {
                        _ev.Fallbacks += failed || bytes == 0 ? 0 : 1;
                        return Generic(ps, ref r, info);
                    }

                    SyscallResult mapped = Sys(ps, SyscallKind.Mmap, 0, bytes);
                    if (r.HasResult)
                    {
                        ps.Mmaps[(ulong)r.Result] = ((ulong)mapped.Value, bytes);
                    }

                    return "mmap";
                }

            case SyscallKind.Munmap:
                if (ps.Mmaps.Remove(r.Arg0, out (ulong Va, ulong Bytes) m))
                {
                    Sys(ps, SyscallKind.Munmap, m.Va, m.Bytes);
                }
                else
                {
                    Sys(ps, SyscallKind.Munmap, 0, 0); // a range the replay did not map (the loader's, or part of one): the path, nothing to unmap
                }

                return "munmap";
            case SyscallKind.Mprotect:
                return Protect(ps, ref r, info, failed);
            case SyscallKind.MadviseDontneed:
                return AdviseDontNeed(ps, ref r, info, failed);
            case SyscallKind.Fork:
                return Fork(ps, ref r, info);
            case SyscallKind.Exit:
                if (_o.Format == TraceFormat.Strace)
                {
                    ps.ExitCall = r.Call; // strace's '+++ exited' line ends the process (after the other threads' lines)
                    return "exit";
                }

                Exit(r.Pid, ps, null);
                return "exit";
            case SyscallKind.Wait4:
                Sys(ps, SyscallKind.Wait4);
                return "wait";
            case SyscallKind.Execve when failed:
                return Generic(ps, ref r, info); // ENOENT as a shell tries each directory of PATH: the path copied in, nothing replaced
            case SyscallKind.Execve:
                return Exec(r.Pid, ps, ref r);
            case SyscallKind.GenericIn when info.Restart == RestartFn.RestartSyscall || (info.Restart != RestartFn.None && !failed):
                return Restartable(ps, ref r, info); // nanosleep, clock_nanosleep(_time64), poll, restart_syscall: their kernel paths
            case SyscallKind.RtSigreturn when ps.Frames > 0:
                ps.Frames--;
                Sys(ps, SyscallKind.RtSigreturn, SignalFrameAt(ps, ps.Frames), SignalFrames.RtSigframeBytes(_k.Layout.Arch));
                return "rt-sigreturn";
            default:
                return Generic(ps, ref r, info);
        }
    }

    private string ReadWrite(ProcState ps, ref TraceRecord r, bool read, ulong bytes)
    {
        int fd = (int)r.Arg0;
        FdKind kind = r.FdKind;
        ulong position = 0;
        if (ps.Fds.TryGetValue(fd, out (FdKind Kind, ulong Position) entry))
        {
            kind = kind == FdKind.Unknown ? entry.Kind : kind;
            position = entry.Position;
        }

        ulong user = BufferAt(ps, r.Arg1, ref bytes);
        switch (kind)
        {
            case FdKind.DevZero when read:
                Sys(ps, SyscallKind.Read, user, bytes, file: FileKind.DevZero);
                return "read-zero";
            case FdKind.DevNull:
                Sys(ps, read ? SyscallKind.Read : SyscallKind.Write, user, bytes, file: FileKind.DevNull);
                return read ? "read-zero" : "write-null";
            case FdKind.Pipe:
                Sys(ps, read ? SyscallKind.Read : SyscallKind.Write, user, bytes, file: FileKind.Pipe);
                return read ? "read-pipe" : "write-pipe";
            case FdKind.DevZero:
                Sys(ps, SyscallKind.Write, user, bytes, file: FileKind.DevZero);
                return "write-null";
            case FdKind.Socket:
            case FdKind.Tty:
            case FdKind.Other:
                Sys(ps, read ? SyscallKind.GenericOut : SyscallKind.GenericIn, user, bytes);
                return read ? "generic-out" : "generic-in";
            default:
                Sys(ps, read ? SyscallKind.Read : SyscallKind.Write, user, bytes, position % FileBytes, FileKind.PageCache);
                ps.Fds[fd] = (kind, position + bytes);
                return read ? "read-file" : "write-file";
        }
    }

    // mprotect(addr, len, prot) (include/uapi/asm-generic/mman-common.h: PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4): the
    // kernel's mprotect_fixup on the replay's mapping that holds addr; PROT_NONE, a protection without PROT_READ (the
    // model's mprotect has neither) and a failed call run as generic
    private string Protect(ProcState ps, ref TraceRecord r, TraceCallInfo info, bool failed)
    {
        const ulong ProtRead = 0x1, ProtWrite = 0x2, ProtExec = 0x4;
        ulong prot = r.Arg2;
        if (failed || (prot & ProtRead) == 0 || (prot & ~(ProtRead | ProtWrite | ProtExec)) != 0)
        {
            return Generic(ps, ref r, info);
        }

        VmFlags flags = VmFlags.Read | ((prot & ProtWrite) != 0 ? VmFlags.Write : 0) | ((prot & ProtExec) != 0 ? VmFlags.Exec : 0);
        (ulong va, ulong bytes) = Mapped(ps, r.Arg0, r.Arg1);
        _k.Syscall(ps.P, new SyscallRequest(SyscallKind.Mprotect, new VirtualAddress(va), bytes, Prot: flags));
        return "mprotect";
    }

    // madvise(addr, len, MADV_DONTNEED) (4, include/uapi/asm-generic/mman-common.h): zap_page_range on the replay's
    // mapping that holds addr; any other advice and a failed call run as generic
    private string AdviseDontNeed(ProcState ps, ref TraceRecord r, TraceCallInfo info, bool failed)
    {
        const ulong MadvDontneed = 4;
        if (failed || r.Arg2 != MadvDontneed)
        {
            return Generic(ps, ref r, info);
        }

        (ulong va, ulong bytes) = Mapped(ps, r.Arg0, r.Arg1);
        Sys(ps, SyscallKind.MadviseDontneed, va, bytes);
        return "madvise-dontneed";
    }

    // The part of [addr, addr + len) that lies in one mapping the replay made for the trace's mmap (cut at its end: the
    // model places each mapping on its own), in the model's addresses; nothing (0, 0) for a range the replay did not
    // map (the loader's own, or the program's stack): the call's path runs on no pages, as munmap's does.
    private static (ulong Va, ulong Bytes) Mapped(ProcState ps, ulong addr, ulong len)
    {
        foreach ((ulong start, (ulong Va, ulong Bytes) m) in ps.Mmaps)
        {
            if (addr >= start && addr - start < m.Bytes)
            {
                ulong offset = addr - start;
                return (m.Va + offset, Math.Min(len, m.Bytes - offset));
            }
        }

        return (0, 0);
    }

    // execve that succeeded: the kernel's exec (a new mm with a layout of its own, switched to; the old one torn down),
    // then the new program's regions placed in it as the first program's were in its own; its pages fault in as it
    // touches them. The other threads of the
    // process end (de_thread), its mappings are gone, its descriptors stay, and (lackey, ChampSim) the arena restarts.
    private string Exec(int pid, ProcState ps, ref TraceRecord r)
    {
        ulong bytes = (ulong)Math.Clamp(r.PathBytes, 1, (int)Page);
        SyscallResult done = _k.Syscall(ps.P, new SyscallRequest(SyscallKind.Execve, new VirtualAddress(ps.PathPage + Page - bytes), bytes, Exec: ExecArguments(ps, ref r)));
        Process next = done.Child ?? throw new InvalidOperationException($"execve of {ps.P} copied no path ({done.Value})");
        ps.P = next;
        (ulong text, ulong stack, ulong path, ulong buffer, ulong wss) = MapProgram(next, stackMapped: true);
        (ps.Text, ps.Stack, ps.PathPage, ps.Buffer, ps.Wss) = (text, stack, path, buffer, wss);

        // the new program stores its strings (the page faults in); the bytes are what it stored
        _k.UserTouch(next, new VirtualAddress(path), Page, write: true);
        _k.Memory.Write(next.Tables.Lookup(new VirtualAddress(path)).Translate(new VirtualAddress(path)), PathFill());
        ps.Mmaps.Clear();
        ps.Tasks = 1;
        foreach (int fd in ps.CloExec)
        {
            ps.Fds.Remove(fd);
        }

        _ev.ClosedOnExec += ps.CloExec.Count;
        ps.CloExec.Clear();
        ps.Handlers = 0; // flush_signal_handlers: a handler's address means nothing in the new program (kernel/signal.c)
        ps.Frames = 0;
        Retire(ps, keep: pid);

        _lastPid = int.MinValue;
        _areas.Clear();
        Array.Fill(_areaCacheKey, ulong.MaxValue);
        _ev.Execs++;
        return "exec";
    }

    /// <summary>
    /// The bytes, NUL included, of each environment string of an execve that strace printed without its strings (no
    /// <c>-v</c>: <c>0x7ffd0 /* 23 vars */</c>): an assumption (a <c>NAME=value</c> of 31 characters), not a measured value.
    /// </summary>
    public const int AssumedEnvStringBytes = 32;

    // execve's argv and envp as the trace shows them: each string a string of its length in the path page (the model's
    // memory holds no program bytes), the pointer arrays in the I/O buffer; envp's strings as strace -v printed them or,
    // without -v, as many as its '/* N vars */' says, each AssumedEnvStringBytes long; none when the line shows no argv.
    // What does not fit the new stack VMA with its tables (three pages kept for them and arch_align_stack's offset) is left out and counted in bytesClamped.
    // The new stack ends where the kernel's exec puts it (the new mm's stack top). lackey's line shows the path and
    // the addresses of argv and envp, not their strings: the stack is built from the least an exec has, argv holding
    // the path alone and an empty envp (an assumption, a lower bound), counted in execsArgvAssumed. ChampSim traces
    // have no execve.
    private ExecArgs? ExecArguments(ProcState ps, ref TraceRecord r)
    {
        if (_o.Format != TraceFormat.Strace)
        {
            ulong n = (ulong)Math.Clamp(r.PathBytes, 1, (int)Page);
            _ev.ExecsArgvAssumed++;
            return new ExecArgs(new VirtualAddress(ps.Buffer), 1, 0, [(new VirtualAddress(ps.PathPage + Page - n), n)], ps.CloExec.Count);
        }

        List<(VirtualAddress At, ulong Bytes)> strings = [];
        foreach (int b in r.ExecStrings ?? [])
        {
            ulong n = (ulong)Math.Clamp(b, 1, (int)Page);
            strings.Add((new VirtualAddress(ps.PathPage + Page - n), n));
        }

        int argc = Math.Max(r.Argc, 0);
        if (r.Argc >= 0 && strings.Count <= argc && r.Envc > 0)
        {
            // copy_strings still copies every variable: its length is the one thing the line does not give
            for (int i = 0; i < r.Envc; i++)
            {
                strings.Add((new VirtualAddress(ps.PathPage + Page - AssumedEnvStringBytes), AssumedEnvStringBytes));
            }

            _ev.EnvStringsAssumed += r.Envc;
        }

        int envc = strings.Count > argc ? strings.Count - argc : Math.Max(r.Envc, 0);
        ulong word = _k.WordBytes;
        ulong room = SimKernel.ExecStackBytes - (3 * Page) - (ulong)Math.Clamp(r.PathBytes, 1, (int)Page); // tables, arch_align_stack's offset
        ulong used = 0;
        int kept = 0;
        for (; kept < strings.Count; kept++)
        {
            ulong next = used + strings[kept].Bytes + word;
            if (next > room)
            {
                break;
            }

            used = next;
        }

        if (kept < strings.Count)
        {
            // more than the model's 128 KiB stack VMA holds (Linux grows it, up to a quarter of RLIMIT_STACK)
            foreach ((VirtualAddress _, ulong n) in strings.Skip(kept))
            {
                _ev.BytesClamped += (long)(n + word);
            }

            strings.RemoveRange(kept, strings.Count - kept);
            argc = Math.Min(argc, kept);
            envc = strings.Count - argc;
        }

        return new ExecArgs(new VirtualAddress(ps.Buffer), argc, envc, strings, ps.CloExec.Count);
    }

    // the descriptor a *_CLOEXEC flag marks: fcntl(fd, F_SETFD, FD_CLOEXEC)'s argument, pipe2's and socketpair's pair, or
    // the one the call returned (open*, socket, accept4, dup3, F_DUPFD_CLOEXEC, ...)
    private void MarkCloseOnExec(ProcState ps, ref TraceRecord r)
    {
        if (r.CloExecOnArg0)
        {
            ps.CloExec.Add((int)r.Arg0);
        }
        else if (r.Fd0 >= 0)
        {
            ps.CloExec.Add(r.Fd0);
            if (r.Fd1 >= 0)
            {
                ps.CloExec.Add(r.Fd1);
            }
        }
        else if (r.HasResult && r.Result >= 0)
        {
            ps.CloExec.Add((int)r.Result);
        }
    }

    private string Fork(ProcState ps, ref TraceRecord r, TraceCallInfo info)
    {
        bool failed = r.HasResult && r.Result < 0;
        int child = r.HasResult ? (int)r.Result : -1;
        if (r.SharesMm)
        {
            // a thread (or a CLONE_VM child): no mm of its own, its lines run in this process
            if (child > 0 && !_byPid.ContainsKey(child))
            {
                ps.Tasks++;
                _ev.Threads++;
                Name(child, ps);
            }

            return Generic(ps, ref r, info);
        }

        if (failed)
        {
            return Generic(ps, ref r, info);
        }

        if (child > 0 && _byPid.ContainsKey(child))
        {
            return "fork"; // the child showed up before the call returned: its fork ran then
        }

        CallTally t = Tally(r.Call);
        double cycles = t.Cycles;
        ProcState c = ForkFrom(ps, t);
        t.Cycles = cycles; // counted by the caller
        c.Parent = r.Pid;
        if (_o.Format == TraceFormat.Strace && child > 0)
        {
            Name(child, c);
            return "fork";
        }

        // lackey follows one process: the child's lines are not in this trace, so it exits at once
        _k.ContextSwitch(ps.P, c.P, null, null);
        _k.ExitAndSwitch(c.P, ps.P);
        _ev.ChildrenExitedAtOnce++;
        return "fork";
    }

    private string Generic(ProcState ps, ref TraceRecord r, TraceCallInfo info)
    {
        ulong result = r.HasResult && r.Result > 0 ? (ulong)r.Result : 0;
        bool ok = (!r.HasResult || r.Result >= 0) && r.Restart == SyscallRestart.None; // an interrupted call writes no result
        if (info.PathIn && r.PathBytes > 0)
        {
            ulong bytes = (ulong)Math.Min(r.PathBytes, (int)Page);
            Sys(ps, SyscallKind.GenericIn, ps.PathPage + Page - bytes, bytes);
            return "generic-in";
        }

        ulong arg = info.BufferArg switch
        {
            0 => r.Arg0,
            1 => r.Arg1,
            2 => r.Arg2,
            3 => r.Arg3,
            _ => 0,
        };
        if (info.ResultOut && result > 0)
        {
            Sys(ps, SyscallKind.GenericOut, BufferAt(ps, arg, ref result), result);
            return "generic-out";
        }

        if (info.ResultIn && result > 0)
        {
            Sys(ps, SyscallKind.GenericIn, BufferAt(ps, arg, ref result), result);
            return "generic-in";
        }

        ulong outBytes = info.OutBytes(_k.Layout.Arch);
        if (outBytes > 0 && ok)
        {
            Sys(ps, SyscallKind.GenericOut, BufferAt(ps, arg, ref outBytes), outBytes);
            if (r.Fd0 >= 0)
            {
                ps.Fds[r.Fd0] = (FdKind.Pipe, 0);
            }

            if (r.Fd1 >= 0)
            {
                ps.Fds[r.Fd1] = (FdKind.Pipe, 0);
            }

            return "generic-out";
        }

        string name = _reader.Names[r.Call];
        if (ok && r.HasResult && r.Result >= 0 && name is "socket" or "accept" or "accept4")
        {
            ps.Fds[(int)r.Result] = (FdKind.Socket, 0);
        }
        else if (ok && r.HasResult && r.Result >= 0 && name is "dup" or "dup2" or "dup3" && ps.Fds.TryGetValue((int)r.Arg0, out (FdKind Kind, ulong Position) from))
        {
            ps.Fds[(int)r.Result] = from;
        }

        Sys(ps, SyscallKind.GenericIn, 0, 0);
        return "generic";
    }

    // current->restart_block as the replay keeps it (include/linux/restart_block.h, 5.4): the restart's fn and what it
    // needs, nanosleep's rmtp (Remain) and the bytes its type writes there (RmtpBytes: TT_COMPAT's old_timespec32, 8,
    // TT_NATIVE's __kernel_timespec, 16, TT_NONE's nothing when no rmtp was given) or poll's ufds (User) and nfds (Count)
    private readonly record struct RestartBlock(RestartFn Fn, ulong User, ulong Remain, ulong Count, ulong RmtpBytes);

    private static ulong ArgAt(ref TraceRecord r, int index) => index switch
    {
        0 => r.Arg0,
        1 => r.Arg1,
        2 => r.Arg2,
        3 => r.Arg3,
        _ => 0,
    };

    // nanosleep, clock_nanosleep, poll and restart_syscall on the kernel's nanosleep and poll paths (SimKernel.Sleep.cs: their
    // text, instructions and uaccess in Linux 5.4, the sleep on the idle task and the timer's wake-up). A call that a
    // signal interrupts with ERESTART_RESTARTBLOCK leaves its restart in current->restart_block; restart_syscall(2), its
    // own entry, runs that restart (kernel/signal.c sys_restart_syscall): hrtimer_nanosleep_restart sleeps to the expiry the
    // call kept, reading nothing, and writes the time left only if interrupted again, as the type the call recorded
    // (nanosleep_copyout: TT_COMPAT's put_old_timespec32 after a time32 call, TT_NATIVE's put_timespec64 after the
    // others; kernel/time/hrtimer.c); do_restart_poll
    // runs do_sys_poll again, the array read and each revents written (fs/select.c). A restart_syscall whose call the model
    // has no restart for (a futex wait's futex_wait_restart, or a call before the trace began) runs as generic.
    private string Restartable(ProcState ps, ref TraceRecord r, TraceCallInfo info)
    {
        const ulong Pollfd = 8; // struct pollfd: int fd, short events, short revents (include/uapi/asm-generic/poll.h)
        bool again = r.Restart == SyscallRestart.RestartBlock;
        RestartFn fn = info.Restart;
        ulong user = ArgAt(ref r, info.BufferArg);
        ulong remain = ArgAt(ref r, info.RemainArg);
        ulong count = r.Arg1;
        // the time32 calls read and write struct old_timespec32 (get/put_old_timespec32), the others __kernel_timespec
        // (get/put_timespec64): sys_nanosleep_time32 and sys_clock_nanosleep_time32 record TT_COMPAT (kernel/time/hrtimer.c,
        // kernel/time/posix-timers.c 5.4)
        ulong timespec = TimeTypes.Bytes(info.Time, _k.Layout.Arch);
        bool given = info.RemainArg >= 0 && (((r.StructArgs >> info.RemainArg) & 1) != 0 || remain != 0);
        ulong rmtpBytes = given ? timespec : 0;
        bool restart = fn == RestartFn.RestartSyscall;
        if (restart)
        {
            if (ps.Restart.Fn == RestartFn.None)
            {
                _ev.RestartSyscallGeneric++;
                Sys(ps, SyscallKind.GenericIn, 0, 0);
                return "generic";
            }

            (fn, user, remain, count, rmtpBytes) = ps.Restart;
            _ev.RestartSyscallAsCall++;
        }

        string path;
        if (fn == RestartFn.Nanosleep)
        {
            // the call reads its request (get_old_timespec32 or get_timespec64); the restart reads nothing. Every sleep that
            // returns 0 ended at its timer; one a signal interrupted ended at the signal
            ulong bytes = restart ? 0 : timespec;
            SleepEnd end = again ? SleepEnd.Signal : SleepEnd.Timer;
            _k.Syscall(ps.P, new SyscallRequest(SyscallKind.Nanosleep, new VirtualAddress(bytes == 0 ? 0 : BufferAt(ps, user, ref bytes)), bytes, Sleep: end), returnToUser: false);
            if (again && rmtpBytes > 0)
            {
                // do_nanosleep → nanosleep_copyout: the time left to rmtp as the recorded type (kernel/time/hrtimer.c 5.4)
                ulong left = rmtpBytes;
                _k.UserCopy(new VirtualAddress(BufferAt(ps, remain, ref left)), left, toUser: true);
            }

            path = restart ? "nanosleep(hrtimer_nanosleep_restart)" : "nanosleep";
        }
        else
        {
            // do_sys_poll: copy_from_user of the pollfd array, then __put_user of each revents, interrupted or not. It slept
            // until its timeout when it returned 0 with a timeout that is not 0 (a restart's timeout was not 0, or no signal
            // could have interrupted it), until a signal when one interrupted it; one that returned descriptors is not known
            // to have waited for them and runs without a sleep
            ulong fds = Math.Min(count, BufferBytes / Pollfd);
            if (count > fds)
            {
                _ev.BytesClamped += (long)Math.Min(count - fds, (ulong)long.MaxValue / Pollfd) * (long)Pollfd;
            }

            ulong bytes = fds * Pollfd;
            ulong at = BufferAt(ps, user, ref bytes);
            bool timedOut = r.HasResult && r.Result == 0 && (restart || r.Arg2 != 0);
            SleepEnd end = again ? SleepEnd.Signal : timedOut ? SleepEnd.Timer : SleepEnd.None;
            _k.Syscall(ps.P, new SyscallRequest(SyscallKind.Poll, new VirtualAddress(at), bytes, Sleep: end), returnToUser: false);
            path = restart ? "poll(do_restart_poll)" : "poll";
        }

        if (!_interrupting)
        {
            _k.ReturnToUser(ps.P);
        }

        if (again && !restart)
        {
            ps.Restart = new RestartBlock(fn, user, remain, count, rmtpBytes);
        }

        return path;
    }

    // ChampSim: the call --syscall-every injects, as the built-in workload of that name makes it
    private void Inject()
    {
        ProcState ps = _current!;
        CallTally t = Tally(_reader.Names.Intern(_o.InjectedCall.AsSpan()));
        double before = _k.Ledger.TotalCycles;
        switch (_o.InjectedCall)
        {
            case "read1":
                Sys(ps, SyscallKind.Read, ps.Buffer, 1, file: FileKind.DevZero);
                break;
            case "write1":
                Sys(ps, SyscallKind.Write, ps.Buffer, 1, file: FileKind.DevNull);
                break;
            case "read4k":
                Sys(ps, SyscallKind.Read, ps.Buffer, Page, _injectOffset, FileKind.PageCache);
                _injectOffset = (_injectOffset + Page) % FileBytes;
                break;
            case "stat":
                // the built-in stat's call: the ABI's struct stat copied to the process's buffer
                Sys(ps, SyscallKind.Stat, ps.PathPage + Page - 21, 21, outAt: ps.Buffer, outBytes: UserStructs.StatBytes(_k.Layout.Arch));
                break;
            case "open-close":
                Sys(ps, SyscallKind.Open, ps.PathPage + Page - 21, 21);
                Sys(ps, SyscallKind.Close);
                break;
            default:
                Sys(ps, SyscallKind.Getppid);
                break;
        }

        t.Path = _o.InjectedCall == "null" ? "getppid" : _o.InjectedCall;
        t.Modelled = true;
        t.Count++;
        t.Cycles += _k.Ledger.TotalCycles - before;
        _ev.SyscallsInjected++;
    }

    /// <summary>The calls --syscall-every can inject into a ChampSim replay (built-in workload names).</summary>
    public static readonly string[] InjectableCalls = ["null", "read1", "write1", "read4k", "stat", "open-close"];
}
