using System.Text;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Cpus;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Workloads;

namespace Vmsplit.Lab;

/// <summary>TLB counters of a measured phase.</summary>
public sealed record TlbCounters(long Translations, long MicroHits, long MainHits, long Misses, long Walks, long WalkReads, long WalkStepCacheMisses, long Flushes, long EntriesInvalidated);

/// <summary>
/// The kernel mechanisms a measured phase executed, totals: descriptors the kernel stored itself (kmap PTEs, the
/// trampoline's and pmd-copy's entries), descriptors its software walks loaded (get_user_pages, the trampoline,
/// pmd-copy), pages pinned; the TLB's walks and invalidations are in <see cref="TlbCounters"/>.
/// </summary>
public sealed record MechanismCounters(long DescriptorWrites, long SoftwareWalkLoads, long PinnedPages);

/// <summary>
/// What the CPUs did for each other over a measured phase: shootdown handlers run on other CPUs (IPIs or firmware
/// remote fences received), flushes skipped because the target was in lazy TLB mode, and lazy CPUs that flushed
/// when they switched back because they had skipped some.
/// </summary>
public sealed record SmpCounters(long RemoteHandlers, long LazySkips, long LazyCatchUps);

/// <summary>One design × workload measurement.</summary>
public sealed record RunResult(
    string Design,
    string Workload,
    long Ops,
    double ClockMhz,
    double CyclesPerOp,
    IReadOnlyDictionary<CostCause, double> CyclesPerOpByCause,
    TlbCounters Tlb)
{
    public double NsPerOp => CyclesPerOp * 1000.0 / ClockMhz;

    public double OpsPerSecond => NsPerOp > 0 ? 1e9 / NsPerOp : 0;

    /// <summary>Context switches per operation (a pipe round trip has two).</summary>
    public double ContextSwitchesPerOp { get; init; }

    /// <summary>What the kernel's uaccess and kmap paths executed over the measured operations.</summary>
    public MechanismCounters Mechanisms { get; init; } = new(0, 0, 0);

    /// <summary>The simulated CPUs the run had.</summary>
    public int Cpus { get; init; } = 1;

    public SmpCounters Smp { get; init; } = new(0, 0, 0);

    /// <summary>With the coherence checker on (--check): stale translations found on any CPU (each distinct one once); null when off.</summary>
    public int? StaleTranslations { get; init; }

    public double NsPerOpOf(CostCause cause) => CyclesPerOpByCause.TryGetValue(cause, out double c) ? c * 1000.0 / ClockMhz : 0;
}

/// <summary>
/// Runs a workload on a booted kernel: builds its processes and regions (unmeasured), runs warm-up
/// operations, resets the ledger and counters, then runs the measured operations and divides.
/// </summary>
public sealed class Runner
{
    private readonly SimKernel _k;
    private readonly Workload _w;
    private readonly Process?[] _slots;

    // where each process placed the workload's regions (index = region number): the program's knowledge, not the kernel's
    private readonly VirtualAddress[]?[] _bases;
    private readonly List<WorkloadEvent> _events = new();
    private long _switches;

    // the allocators' free bytes (lowmem, highmem) when the runner took the booted kernel
    private readonly (ulong Low, ulong High) _freeAfterBoot;

    public Runner(SimKernel kernel, Workload workload)
    {
        _k = kernel;
        _w = kernel.Cpus.Count == 1 && workload.OnOneCpu is not null ? workload.OnOneCpu : workload;
        _slots = new Process?[Math.Max(_w.Processes, 2) + 1];
        _bases = new VirtualAddress[]?[_slots.Length];
        _freeAfterBoot = (kernel.Lowmem.FreeBytes, kernel.Highmem?.FreeBytes ?? 0);
        try
        {
            Setup();
        }
        catch (KernelOutOfMemoryException e)
        {
            throw DoesNotFit(e, "while setting it up");
        }
    }

    /// <summary>
    /// The one-line refusal of a workload that ran the machine out of frames: its name, the design and machine,
    /// what the workload maps (its regions in every process, its executable text and page-cache file once) and
    /// what the allocators held free after boot.
    /// </summary>
    private LabException DoesNotFit(KernelOutOfMemoryException e, string when)
    {
        ulong maps = _w.FileBytes;
        foreach (UserRegion r in _w.Regions)
        {
            maps += r.Executable ? r.Size : r.Size * (ulong)Math.Max(1, _w.Processes);
        }

        (ulong low, ulong high) = _freeAfterBoot;
        return new LabException(
            $"workload {_w.Name} does not fit {_k.Design.Name} on {_k.Layout.Arch.Name()} with {ByteSize.Human(_k.Layout.Machine.TotalRam)} of RAM: {e.Message} {when}; "
            + $"it maps {ByteSize.Human(maps)} and {ByteSize.Human(low + high)} of page frames were free after boot (lowmem {ByteSize.Human(low)}, highmem {ByteSize.Human(high)})");
    }

    public SimKernel Kernel => _k;

    /// <summary>
    /// The most simulated steps (an event, or a page an event touches or copies; <see cref="Workload.StepsOf"/>)
    /// one comparison or one run may take: a bound on the time a single command line can ask for, some 300
    /// times the default comparison. A core simulates 0.5 to 5 million steps a second (Release build, measured
    /// in docs/workloads.md), so the cap is 3 to 30 minutes of simulation on one core.
    /// </summary>
    public const long MaxSteps = 1_000_000_000;

    /// <summary>Warm-up operations before <paramref name="ops"/> measured ones (unless a run asks for its own).</summary>
    public static int WarmupOps(int ops) => Math.Min(Math.Max(ops / 10, 8), 200);

    /// <summary>The steps a run of <paramref name="ops"/> measured operations takes: setup, warm-up and measured operations (as a double: it may exceed a long).</summary>
    public static double Steps(Workload w, int ops) => w.SetupSteps + ((double)ops + WarmupOps(ops)) * w.StepsPerOperation;

    /// <summary>Refuses more than <see cref="MaxSteps"/> in one line that says what to lower.</summary>
    public static void CheckSteps(double steps, string what)
    {
        if (steps > MaxSteps)
        {
            throw new LabException($"{what} would simulate about {steps:0.#e+0} steps (events and the pages they touch, over setup, warm-up and every operation); the cap is {MaxSteps:N0}, 3 to 30 minutes of simulation on one core: lower --ops, the workload's repeat or sizes, or the number of designs");
        }
    }

    public static RunResult Run(MachineSpec machine, string design, Workload workload, int? ops = null, ulong seed = 1, int warmup = -1)
    {
        DesignSpec d = Scenario.ParseDesign(machine, design);
        SimKernel k = Scenario.Boot(machine, d, seed);
        Runner r = new(k, workload);
        return r.Measure(ops ?? workload.DefaultOps, warmup);
    }

    public RunResult Measure(int ops, int warmup = -1)
    {
        if (ops <= 0)
        {
            throw new LabException($"workload {_w.Name}: the operation count must be positive, not {ops}");
        }

        int warm = warmup >= 0 ? warmup : WarmupOps(ops);
        CheckSteps(_w.SetupSteps + ((double)ops + warm) * _w.StepsPerOperation, $"workload {_w.Name} with {ops} operations");
        long op = 0;
        long stepMisses0 = 0;
        long switches0 = 0;
        (long Writes, long Loads, long Pins) mech0 = default;
        SmpCounters smp0 = new(0, 0, 0);
        try
        {
            for (; op < warm; op++)
            {
                RunOperation(op);
            }

            _k.Ledger.Reset();
            foreach (Cpu cpu in _k.Cpus)
            {
                cpu.Mmu.Counters.Reset();
            }

            stepMisses0 = WalkStepMisses();
            smp0 = SmpNow();
            switches0 = _switches;
            mech0 = (_k.DescriptorWrites, _k.SoftwareWalkLoads, _k.Gup.Pins);
            for (long i = 0; i < ops; i++, op++)
            {
                RunOperation(op);
            }
        }
        catch (KernelOutOfMemoryException e)
        {
            throw DoesNotFit(e, $"in operation {op}");
        }

        Dictionary<CostCause, double> byCause = new();
        foreach (CostCause cause in KernelCostCause.All)
        {
            double cycles = _k.Ledger.Cycles(cause);
            if (cycles != 0)
            {
                byCause[cause] = cycles / ops;
            }
        }

        long translations = 0, micro = 0, main = 0, misses = 0, walks = 0, walkReads = 0, flushes = 0, invalidated = 0;
        foreach (Cpu cpu in _k.Cpus)
        {
            MmuCounters c = cpu.Mmu.Counters;
            translations += c.Translations;
            micro += c.MicroIHits + c.MicroDHits;
            main += c.MainHits;
            misses += c.Misses;
            walks += c.Walks;
            walkReads += c.WalkReads;
            flushes += c.TotalFlushes;
            invalidated += c.EntriesInvalidated;
        }

        TlbCounters tlb = new(translations, micro, main, misses, walks, walkReads, WalkStepMisses() - stepMisses0, flushes, invalidated);
        SmpCounters smp = SmpNow();
        return new RunResult(_k.Design.Name, _w.Name, ops, _k.Cpu.Profile.ClockMhz, _k.Ledger.TotalCycles / ops, byCause, tlb)
        {
            ContextSwitchesPerOp = (double)(_switches - switches0) / ops,
            Mechanisms = new(_k.DescriptorWrites - mech0.Writes, _k.SoftwareWalkLoads - mech0.Loads, _k.Gup.Pins - mech0.Pins),
            Cpus = _k.Cpus.Count,
            Smp = new(smp.RemoteHandlers - smp0.RemoteHandlers, smp.LazySkips - smp0.LazySkips, smp.LazyCatchUps - smp0.LazyCatchUps),
            StaleTranslations = _k.Checker is null ? null : _k.Checker.Reports.Count,
        };
    }

    private long WalkStepMisses()
    {
        long n = 0;
        foreach (Cpu cpu in _k.Cpus)
        {
            n += cpu.WalkStepMisses;
        }

        return n;
    }

    private SmpCounters SmpNow() => new(_k.Arch.RemoteCalls, _k.Arch.LazySkips, _k.Arch.LazyCatchUps);

    private void Setup()
    {
        if (_w.FileBytes > 0)
        {
            _k.EnsureFile(_w.FileBytes);
        }

        ulong room = _k.MmapBase - SimKernel.UserFloor;
        ulong need = 0;
        foreach (UserRegion r in _w.Regions)
        {
            need += r.Stack ? 0 : r.Size; // the stack lies above the mmap base
        }

        if (need > room)
        {
            throw new LabException($"workload {_w.Name}: its regions need {ByteSize.Human(need)} of user address space; {_k.Design.Name} on {_k.Layout.Arch.Name()} leaves {ByteSize.Human(room)} below the mmap base");
        }

        // the program's text is one page-cache file shared by every process, as an executable's is
        // (fork copies none of it; a child faults its pages in from the cache)
        PageCacheFile?[] text = new PageCacheFile?[_w.Regions.Count]; // one file per executable region
        for (int i = 0; i < _w.Processes; i++)
        {
            Process p = _k.CreateProcess();
            _slots[i] = p;
            _bases[i] = new VirtualAddress[_w.Regions.Count];
            for (int ri = 0; ri < _w.Regions.Count; ri++)
            {
                UserRegion r = _w.Regions[ri];
                // the program's stack: the top of the stack VMA exec leaves below the process's stack top (the boot's draw of
                // the layout, randomize_stack_top's with the run's seed, as the replay's first process has it)
                VirtualAddress at = r.Stack
                    ? _k.MapStack(p) + (SimKernel.ExecStackBytes - r.Size)
                    : r.Executable
                    ? _k.MapRegion(p, r.Size, VmFlags.Read | VmFlags.Exec, text[ri] ??= _k.CreateFile($"{r.Name}-text", r.Size))
                    : _k.MapRegion(p, r.Size, VmFlags.Read | VmFlags.Write);
                _bases[i]![ri] = at;
            }
        }

        _k.Start(_slots[0]!);
        for (int i = 0; i < _w.Processes; i++)
        {
            Process p = _slots[i]!;
            if (i > 0)
            {
                _k.EnterKernel();
                _k.SwitchMm(p);
                _k.ExitKernel();
            }

            for (int r = 0; r < _w.Regions.Count; r++)
            {
                UserRegion region = _w.Regions[r];
                if (region.Executable)
                {
                    _k.UserFetch(p, _bases[i]![r], region.Size); // text is present before the program runs
                }
                else if (region.Prefault || region.Contents is not null)
                {
                    _k.UserTouch(p, _bases[i]![r], region.Prefault ? region.Size : ByteSize.KiB * 4, write: true);
                }

                if (region.Contents is not null)
                {
                    byte[] bytes = Encoding.ASCII.GetBytes(region.Contents + "\0");
                    _k.EnterKernel();
                    _k.Uaccess.CopyToUser(_bases[i]![r], bytes); // the program's own string, placed before measuring
                    _k.ExitKernel();
                }
            }
        }

        if (_w.Processes > 1)
        {
            _k.EnterKernel();
            _k.SwitchMm(_slots[0]!);
            _k.ExitKernel();
        }

        if (_w.ThreadPerCpu)
        {
            for (int cpu = 1; cpu < _k.Cpus.Count; cpu++)
            {
                _k.CloneThread(_slots[0]!, cpu);
            }
        }

        if (_w.ProcessPerCpu)
        {
            for (int i = 1; i < Math.Min(_w.Processes, _k.Cpus.Count); i++)
            {
                _k.RunOn(i);
                _k.Start(_slots[i]!);
                _k.RunOn(0);
            }
        }

        _k.Ledger.Reset();
    }

    private void RunOperation(long op)
    {
        _events.Clear();
        _w.EmitOperation(op, _events);
        if (_w.EveryThreadInTurn)
        {
            // each thread of process 0 runs the whole operation on its own CPU, in CPU order
            for (int cpu = 0; cpu < _k.Cpus.Count; cpu++)
            {
                if (ReferenceEquals(_k.CurrentOn(cpu), _slots[0]))
                {
                    foreach (WorkloadEvent e in _events)
                    {
                        RunOn(op, e, cpu);
                    }
                }
            }

            _events.Clear();
        }

        foreach (WorkloadEvent e in _events)
        {
            if (e.Cpu >= 0)
            {
                RunOn(op, e, e.Cpu);
                continue;
            }

            // the interleaving: an event for the other threads runs once on each of their CPUs, in CPU order
            for (int cpu = 1; cpu < _k.Cpus.Count; cpu++)
            {
                if ((e.Cpu != WorkloadEvent.EvenOtherThreads || cpu % 2 == 0) && ReferenceEquals(_k.CurrentOn(cpu), _slots[e.Process]))
                {
                    RunOn(op, e, cpu);
                }
            }
        }

        if (_k.Cpus.Count > 1 && _k.Checker is not null)
        {
            _k.SweepStaleTranslations(); // after the operation: no CPU may still hold what it changed
        }
    }

    private void RunOn(long op, in WorkloadEvent e, int cpu)
    {
        if (cpu >= _k.Cpus.Count)
        {
            throw new LabException($"workload {_w.Name}: operation {op}: an event ({e.Kind}) on CPU {cpu}, but the machine runs {_k.Cpus.Count} CPU(s) (--cpus)");
        }

        _k.RunOn(cpu);
        try
        {
            if (!ReferenceEquals(_k.Current, _slots[e.Process]))
            {
                // a user workload's schedule is checked when it is read, for the operations it can foresee
                throw new LabException($"workload {_w.Name}: operation {op}: process {e.Process} has an event ({e.Kind}) while process {Array.IndexOf(_slots, _k.Current)} is running");
            }

            Dispatch(e);
        }
        finally
        {
            _k.RunOn(0);
        }
    }

    private Process Slot(int i) => _slots[i] ?? throw new LabException($"workload {_w.Name}: process {i} does not exist");

    private VirtualAddress[] Bases(int i) => _bases[i] ?? throw new LabException($"workload {_w.Name}: process {i} does not exist");

    private void Dispatch(in WorkloadEvent e)
    {
        Process p = Slot(e.Process);
        switch (e.Kind)
        {
            case EventKind.UserTouch:
                _k.UserTouch(p, Bases(e.Process)[e.Region] + e.Offset, e.Bytes, e.Write);
                break;
            case EventKind.UserFetch:
                _k.UserFetch(p, Bases(e.Process)[e.Region] + e.Offset, e.Bytes);
                break;
            case EventKind.Block:
                _k.Idle(e.File == FileKind.Pipe ? new SyscallRequest(SyscallKind.Read, Bases(e.Process)[0], 0, File: FileKind.Pipe) : null);
                break;
            case EventKind.Wake:
                _k.Wake(p, e.File == FileKind.Pipe ? new SyscallRequest(SyscallKind.Read, Bases(e.Process)[0], e.Bytes, File: FileKind.Pipe) : null);
                break;
            case EventKind.ContextSwitch:
                {
                    Process to = Slot(e.Target);
                    SyscallRequest? pending = null;
                    SyscallRequest? blocking = null;
                    if (e.Call == SyscallKind.Read && e.File == FileKind.Pipe)
                    {
                        blocking = new SyscallRequest(SyscallKind.Read, Bases(e.Process)[0], 0, File: FileKind.Pipe);
                        pending = new SyscallRequest(SyscallKind.Read, Bases(e.Target)[0], e.Bytes, File: FileKind.Pipe);
                    }
                    else if (e.Call == SyscallKind.Wait4)
                    {
                        blocking = new SyscallRequest(SyscallKind.Wait4); // the child returns from fork (ret_from_fork): nothing pending
                    }

                    _k.ContextSwitch(p, to, blocking, pending);
                    _switches++;
                    break;
                }

            default:
                Syscall(p, e);
                break;
        }
    }

    private void Syscall(Process p, in WorkloadEvent e)
    {
        switch (e.Call)
        {
            case SyscallKind.Getppid:
            case SyscallKind.Close:
                _k.Syscall(p, new SyscallRequest(e.Call));
                break;
            case SyscallKind.Read:
            case SyscallKind.Write:
            case SyscallKind.Open:
                _k.Syscall(p, new SyscallRequest(e.Call, Bases(e.Process)[e.Region] + e.Offset, e.Bytes, e.FileOffset, e.File));
                break;
            case SyscallKind.Stat:
                // stat(2) copies the ABI's struct stat (stat64 on 32-bit) to the program's buffer
                _k.Syscall(p, new SyscallRequest(e.Call, Bases(e.Process)[e.Region] + e.Offset, e.Bytes,
                    Out: e.OutRegion < 0 ? default : Bases(e.Process)[e.OutRegion] + e.OutOffset,
                    OutBytes: e.OutRegion < 0 ? 0 : UserStructs.StatBytes(_k.Layout.Arch)));
                break;
            case SyscallKind.Mmap:
                {
                    SyscallResult mapped = _k.Syscall(p, new SyscallRequest(SyscallKind.Mmap, default, e.Bytes));
                    Bases(e.Process)[e.Region] = new VirtualAddress((ulong)mapped.Value);
                    break;
                }

            case SyscallKind.Munmap:
                _k.Syscall(p, new SyscallRequest(SyscallKind.Munmap, Bases(e.Process)[e.Region], _w.Regions[e.Region].Size));
                break;
            case SyscallKind.Fork:
                {
                    SyscallResult forked = _k.Syscall(p, new SyscallRequest(SyscallKind.Fork));
                    _slots[e.Target] = forked.Child;
                    _bases[e.Target] = (VirtualAddress[])Bases(e.Process).Clone(); // fork copies the address space
                    break;
                }

            case SyscallKind.Exit:
                _k.ExitAndSwitch(p, Slot(e.Target));
                _switches++;
                _slots[e.Process] = null;
                _bases[e.Process] = null;
                break;
            case SyscallKind.Wait4:
                _k.Syscall(p, new SyscallRequest(SyscallKind.Wait4));
                break;
            case SyscallKind.Mprotect:
                _k.Syscall(p, new SyscallRequest(SyscallKind.Mprotect, Bases(e.Process)[e.Region] + e.Offset, e.Bytes, Prot: e.Write ? VmFlags.Read | VmFlags.Write : VmFlags.Read));
                break;
            case SyscallKind.MadviseDontneed:
                _k.Syscall(p, new SyscallRequest(SyscallKind.MadviseDontneed, Bases(e.Process)[e.Region] + e.Offset, e.Bytes));
                break;
        }
    }
}
