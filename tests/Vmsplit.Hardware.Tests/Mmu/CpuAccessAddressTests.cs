using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Cpus;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;

namespace Vmsplit.Hardware.Tests.Mmu;

/// <summary>
/// <see cref="Cpu.AccessAddress"/> (the kernel's and user code's path, no <see cref="Translation"/> built) against
/// <see cref="Cpu.Access"/>, and <see cref="Cpu.FetchInstructionRuns"/> against <see cref="Cpu.FetchInstructions"/> run by
/// run: random programs on two identical CPUs give the same addresses and faults step by step, and the same MMU counters,
/// ledger (cycles and events per cause), walk-step and cache counters at the end.
/// </summary>
public sealed class CpuAccessAddressTests
{
    /// <summary>One access: page (some unmapped, some kernel-only, some read-only), offset, kind, privilege.</summary>
    public readonly record struct Step(int Page, int Offset, int Kind, bool User);

    private static readonly Gen<Step> s_step =
        from page in Gen.Choose(0, 47)
        from offset in Gen.Choose(0, 4095)
        from kind in Gen.Choose(0, 2)
        from user in Gen.Elements(false, true)
        select new Step(page, offset, kind, user);

    // pages of (start, length) runs inside the page, as a path's text runs
    private static readonly Gen<(uint Start, uint Length)[][]> s_pages =
        (from start in Gen.Choose(0, 4095)
         from length in Gen.Choose(0, 4096)
         select ((uint)start, (uint)Math.Min(length, 4096 - start))).ArrayOf().ArrayOf();

    private static Cpu NewCpu()
    {
        PhysicalMemory memory = new();
        ToyTables tables = new(memory);
        MemoryManagementUnit mmu = new(new ToyFormat(MmuFormat.X86_64), memory, MmuTests.X86Config(pcid: false));
        ulong root = tables.NewTable();
        for (int page = 0; page < 40; page++)
        {
            // pages 0-39 mapped (every third user, every fifth read-only); 40-47 not mapped: translation faults
            ulong flags = (page % 3 == 0 ? ToyFormat.UserBit : 0) | (page % 5 == 0 ? 0 : ToyFormat.Writable);
            tables.Map(root, Va(page), 0x4000_0000UL + ((ulong)page * 0x3000), flags);
        }

        mmu.WriteCr3(root);
        return new Cpu(0, mmu, CpuProfiles.Find("skylake")!, new CostLedger());
    }

    // spread over several 2 MiB regions, so that walks differ in which tables they read
    private static ulong Va(int page) => 0x1000_0000UL + ((ulong)(page % 6) << 21) + ((ulong)page << 12);

    private static bool SameState(Cpu a, Cpu b)
    {
        MmuCounters x = a.Mmu.Counters;
        MmuCounters y = b.Mmu.Counters;
        bool counters = (x.Translations, x.MicroIHits, x.MicroDHits, x.MainHits, x.Misses, x.Walks, x.WalkReads, x.WalkReadsSaved, x.Faults, x.EntriesInvalidated)
            == (y.Translations, y.MicroIHits, y.MicroDHits, y.MainHits, y.Misses, y.Walks, y.WalkReads, y.WalkReadsSaved, y.Faults, y.EntriesInvalidated);
        bool ledger = Enumerable.Range(0, CostLedger.CauseCount).All(slot =>
        {
            CostCause c = new(slot, "slot");
            return a.Ledger.Cycles(c).Equals(b.Ledger.Cycles(c)) && a.Ledger.Events(c) == b.Ledger.Events(c);
        });
        bool caches = (a.WalkStepHits, a.WalkStepMisses, a.Cache.Hits, a.Cache.Misses, a.Caches!.L1I.Hits, a.Caches.L1I.Misses, a.Caches.L2Hits, a.Caches.L2Misses)
            == (b.WalkStepHits, b.WalkStepMisses, b.Cache.Hits, b.Cache.Misses, b.Caches!.L1I.Hits, b.Caches.L1I.Misses, b.Caches.L2Hits, b.Caches.L2Misses);
        // the walk-step cache holds the same lines: probing each page's lines hits and misses alike on both
        bool lines = Enumerable.Range(0, 40 * 64).All(i =>
        {
            ulong pa = 0x4000_0000UL + ((ulong)(i / 64) * 0x3000) + ((ulong)(i % 64) * 64);
            return a.Cache.Access(pa) == b.Cache.Access(pa);
        });
        return counters && ledger && caches && lines;
    }

    [Fact]
    public void AccessAddressIsAccessWithoutTheTranslation() =>
        PropertyCheck.ForAll(s_step.ArrayOf(), steps =>
        {
            Cpu whole = NewCpu();
            Cpu address = NewCpu();
            foreach (Step s in steps)
            {
                VirtualAddress va = new(Va(s.Page) + (ulong)s.Offset);
                AccessType access = s.Kind switch { 0 => AccessType.Read, 1 => AccessType.Write, _ => AccessType.Execute };
                Privilege privilege = s.User ? Privilege.User : Privilege.Kernel;
                Translation t = whole.Access(va, access, privilege);
                PhysicalAddress pa = address.AccessAddress(va, access, privilege, out FaultKind fault);
                if (fault != t.Fault || (fault == FaultKind.None && pa != t.Address))
                {
                    return false;
                }
            }

            return SameState(whole, address);
        });

    [Fact]
    public void FetchInstructionRunsIsEachRunFetchedInTurn() =>
        PropertyCheck.ForAll(s_pages, pages =>
        {
            Cpu single = NewCpu();
            Cpu runs = NewCpu();
            for (int i = 0; i < pages.Length; i++)
            {
                PhysicalAddress page = new(0x4000_0000UL + ((ulong)(i % 700) * 0x1000));
                foreach ((uint start, uint length) in pages[i])
                {
                    single.FetchInstructions(page + start, length);
                }

                runs.FetchInstructionRuns(page, pages[i]);
            }

            return SameState(single, runs) && single.Caches!.L1I.Hits + single.Caches.L1I.Misses == runs.Caches!.L1I.Hits + runs.Caches.L1I.Misses;
        });
}
