using System.Runtime.CompilerServices;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Caches;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Cpus;

/// <summary>
/// One simulated CPU: its MMU (TLBs and walker), a data-cache model that decides whether each walk
/// step hits, the cost ledger, and the profile's primitive costs. Every access and every hardware
/// operation the kernel performs goes through here and is charged to a named cause.
/// </summary>
public sealed class Cpu
{
    /// <summary>Capacity of the cache that page-walk reads compete for (an assumption: a 512 KiB, 16-way last-level share).</summary>
    public const ulong DefaultCacheBytes = 512 * 1024;

    private readonly WalkTrace _trace = new();
    private readonly int _entryBytes;
    private readonly double _mainLookupCycles; // the first main TLB array's lookup latency (the profile is immutable)
    private readonly MemoryManagementUnit _mmu;
    private readonly CostLedger _ledger;
    private CostCause? _chargeAllTo;
    private readonly LineCache _cache;
    private readonly CacheHierarchy? _caches;

    public Cpu(int id, MemoryManagementUnit mmu, CpuProfile profile, CostLedger ledger, ulong cacheBytes = DefaultCacheBytes)
    {
        Id = id;
        Mmu = mmu;
        Profile = profile;
        Ledger = ledger;
        _mmu = mmu;
        _ledger = ledger;
        Cache = _cache = new LineCache(cacheBytes, 16, profile.Cache.LineBytes);
        Caches = _caches = profile.Caches is CacheHierarchyConfig c ? new CacheHierarchy(c) : null;
        _entryBytes = mmu.Format.Geometry[0].EntrySize; // one descriptor size per format (4 or 8 bytes)
        mmu.WalkTrace = _trace; // the MMU records each miss's descriptor reads for the cache model
        IReadOnlyList<TlbLevelConfig> main = profile.Tlb.Main;
        _mainLookupCycles = main.Count > 0 ? main[0].LookupLatencyCycles : 0;
    }

    public int Id { get; }

    public MemoryManagementUnit Mmu { get; }

    public CpuProfile Profile { get; }

    public CostLedger Ledger { get; }

    public LineCache Cache { get; }

    /// <summary>
    /// The profile's L1 instruction, L1 data and L2 caches (null when it states none): kernel text fetched by the
    /// paths and the lines copies and page clears reach. The walker's descriptor reads and the priced kernel loads stay
    /// on <see cref="Cache"/>, the line cache whose hit and miss prices are the profile's walk-step costs.
    /// </summary>
    public CacheHierarchy? Caches { get; }

    /// <summary>Walk reads that hit and missed the cache model.</summary>
    public long WalkStepHits { get; private set; }

    public long WalkStepMisses { get; private set; }

    /// <summary>While set, every charge on this CPU goes to this cause instead (a target CPU running a shootdown's handler).</summary>
    public CostCause? ChargeAllTo
    {
        get => _chargeAllTo;
        set => _chargeAllTo = value;
    }

    private void Book(CostCause cause, double cycles, long events = 1) => _ledger.Charge(_chargeAllTo ?? cause, cycles, events);

    public double Cycles(PrimitiveCost cost) => Profile.Has(cost) ? Profile.Cycles(cost) : 0;

    public void Charge(CostCause cause, double cycles, long events = 1) => Book(cause, cycles, events);

    public void Charge(CostCause cause, PrimitiveCost cost) => Book(cause, Cycles(cost));

    /// <summary>
    /// One access through the MMU: TLB lookup, walk on a miss (each descriptor read charged as a cache
    /// hit or miss), then the data line itself through the cache model (uncharged: the path's base covers
    /// its own loads and stores; the line only competes for capacity).
    /// </summary>
    public Translation Access(VirtualAddress va, AccessType access, Privilege privilege)
    {
        Translation t = _mmu.Translate(va, access, privilege);
        if (t.Source == TlbHitLevel.Main)
        {
            ChargeMainLookup();
        }
        else if (t.WasWalked)
        {
            ChargeMainLookup();
            ChargeWalk(t.WalkReads);
        }

        if (!t.IsFault)
        {
            _cache.Access(t.Address.Value);
        }

        return t;
    }

    /// <summary>
    /// <see cref="Access"/> for a caller that needs only the physical address (default on a fault) and the fault: the same
    /// lookup, walk, charges and cache line, in the same order, without a <see cref="Translation"/>.
    /// </summary>
    public PhysicalAddress AccessAddress(VirtualAddress va, AccessType access, Privilege privilege, out FaultKind fault)
    {
        PhysicalAddress pa = _mmu.TranslateAddress(va, access, privilege, out fault, out TlbHitLevel source, out int walkReads);
        if (source == TlbHitLevel.Main)
        {
            ChargeMainLookup();
        }
        else if (source == TlbHitLevel.Walk)
        {
            ChargeMainLookup();
            ChargeWalk(walkReads);
        }

        if (fault == FaultKind.None)
        {
            _cache.Access(pa.Value);
        }

        return pa;
    }

    /// <summary>
    /// A kernel load the model prices itself (a descriptor read by a software page-table walk, a
    /// <c>struct page</c> counter): the TLB lookup with a walk on a miss, as <see cref="Access"/>, then its
    /// line in the cache model charged to <paramref name="cause"/> at the profile's walk-step prices (the line
    /// cache is the one data-cache level the model has, and a walk step is a load that hits or misses it).
    /// </summary>
    public Translation Load(VirtualAddress va, CostCause cause) => DataAccess(va, AccessType.Read, cause);

    /// <summary>A kernel store priced as <see cref="Load"/> (a write-allocate cache: a store that misses fetches the line).</summary>
    public Translation Store(VirtualAddress va, CostCause cause) => DataAccess(va, AccessType.Write, cause);

    private Translation DataAccess(VirtualAddress va, AccessType access, CostCause cause)
    {
        Translation t = _mmu.Translate(va, access, Privilege.Kernel);
        if (t.Source == TlbHitLevel.Main)
        {
            ChargeMainLookup();
        }
        else if (t.WasWalked)
        {
            ChargeMainLookup();
            ChargeWalk(t.WalkReads);
        }

        if (t.IsFault)
        {
            return t;
        }

        DataLoads++;
        if (Cache.Access(t.Address.Value))
        {
            Book(cause, Cycles(PrimitiveCost.WalkStepCacheHit));
        }
        else
        {
            DataLoadMisses++;
            Book(cause, Cycles(PrimitiveCost.WalkStepCacheMiss));
        }

        return t;
    }

    /// <summary>Loads and stores made by <see cref="Load"/> and <see cref="Store"/>, and those that missed the cache model.</summary>
    public long DataLoads { get; private set; }

    public long DataLoadMisses { get; private set; }

    private void ChargeMainLookup()
    {
        if (_mainLookupCycles > 0)
        {
            Book(CostCause.TlbLookup, _mainLookupCycles);
        }
    }

    // The walk's descriptor reads come from the MMU's trace of this miss; the last `reads` steps are the
    // ones the walk caches did not save, and each is looked up in the cache model.
    private void ChargeWalk(int reads)
    {
        IReadOnlyList<WalkStep> steps = _trace.Steps;
        int first = Math.Max(0, steps.Count - reads);
        double hit = Cycles(PrimitiveCost.WalkStepCacheHit);
        double miss = Cycles(PrimitiveCost.WalkStepCacheMiss);
        for (int i = first; i < steps.Count; i++)
        {
            WalkStep s = steps[i];
            if (_cache.Access(s.TableAddress.Value + ((ulong)s.Index * (ulong)_entryBytes)))
            {
                WalkStepHits++;
                Book(CostCause.TlbRefillCacheHit, hit);
            }
            else
            {
                WalkStepMisses++;
                Book(CostCause.TlbRefillCacheMiss, miss);
            }
        }
    }

    /// <summary>A TLB maintenance operation's cost, charged to <paramref name="cause"/>.</summary>
    public void ChargeMaintenance(TlbMaintenanceOp op, CostCause? cause = null) =>
        Book(cause ?? CostCause.TlbMaintenance, Profile.Cycles(op));

    /// <summary>
    /// Kernel instructions fetched from [<paramref name="pa"/>, +<paramref name="bytes"/>): each line looked up in the L1
    /// instruction cache; a miss is charged the L2's latency (or memory's) as <see cref="CostCause.InstructionCacheMiss"/>.
    /// A hit costs nothing beyond the instructions' own cycles at the profile's kernel IPC.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FetchInstructions(PhysicalAddress pa, ulong bytes)
    {
        if (Caches is CacheHierarchy c)
        {
            double cycles = c.Fetch(pa.Value, bytes);
            if (cycles > 0)
            {
                Book(CostCause.InstructionCacheMiss, cycles);
            }
        }
    }

    /// <summary>
    /// <see cref="FetchInstructions"/> of each (start, length) run of <paramref name="runs"/> on the page at
    /// <paramref name="page"/>, in order (each run charged on its own, as that many calls would).
    /// </summary>
    public void FetchInstructionRuns(PhysicalAddress page, (uint Start, uint Length)[] runs)
    {
        if (_caches is not CacheHierarchy c)
        {
            return;
        }

        // FetchInstructions of each run, in order, each charged on its own
        ulong pa = page.Value;
        for (int i = 0; i < runs.Length; i++)
        {
            double cycles = c.Fetch(pa + runs[i].Start, runs[i].Length);
            if (cycles > 0)
            {
                Book(CostCause.InstructionCacheMiss, cycles);
            }
        }
    }

    /// <summary>
    /// The data lines of [<paramref name="pa"/>, +<paramref name="bytes"/>) a copy or a clear reads or writes, each looked up
    /// in the L1 data cache; misses are charged as <see cref="CostCause.DataCacheMiss"/>, runs of consecutive misses streamed
    /// (<see cref="CacheHierarchy.Data"/>), whole lines a <paramref name="store"/> writes without a fill where the core streams
    /// writes; on top of the copy's own rate (<see cref="ChargeMemcpy"/>, the rate of lines that hit).
    /// </summary>
    public void TouchDataLines(PhysicalAddress pa, ulong bytes, bool store = false)
    {
        if (_caches is CacheHierarchy c)
        {
            double cycles = c.Data(pa.Value, bytes, store);
            if (cycles > 0)
            {
                Book(CostCause.DataCacheMiss, cycles);
            }
        }
    }

    /// <summary>
    /// Data-cache maintenance by address to the point of coherency over [<paramref name="pa"/>, +<paramref name="bytes"/>):
    /// the lines leave the profile's L1D and L2 (<see cref="CacheHierarchy.CleanInvalidateData"/>), so the next copy of them
    /// misses to memory. The maintenance instructions are charged by the caller.
    /// </summary>
    public void CleanInvalidateDataLines(PhysicalAddress pa, ulong bytes) => Caches?.CleanInvalidateData(pa.Value, bytes);

    /// <summary>Bytes moved by memcpy at the profile's rate.</summary>
    public void ChargeMemcpy(ulong bytes) => Book(CostCause.Memcpy, Profile.MemcpyCycles(bytes));
}
