using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;

namespace Vmsplit.Hardware.Tests.Mmu;

/// <summary>
/// Random map/unmap/remap/switch/access programs on two ARM LPAE CPUs that follow the architecture's
/// rules (break-before-make with TLBIMVAIS for user pages, TLBIMVAAIS for global kernel pages, a
/// distinct ASID per process) never make the checker speak; the same programs with the invalidation
/// after an unmap dropped do, whenever a CPU still held the page.
/// </summary>
public sealed class CoherenceCheckerPropertyTests
{
    private const int Processes = 3;
    private const int Pages = 6;
    private const ulong KernelBase = 0x3000_0000;

    /// <summary>One step: kind, CPU, process, page, frame, flag.</summary>
    public readonly record struct Step(int Kind, int Cpu, int Process, int Page, int Frame, bool Flag);

    private static readonly Gen<Step> s_step =
        from kind in Gen.Choose(0, 9)
        from cpu in Gen.Choose(0, 1)
        from process in Gen.Choose(0, Processes - 1)
        from page in Gen.Choose(0, Pages - 1)
        from frame in Gen.Choose(0, 15)
        from flag in Gen.Elements(false, true)
        select new Step(kind, cpu, process, page, frame, flag);

    private sealed class World
    {
        private readonly bool _followRules;
        private readonly ulong[] _roots = new ulong[Processes];
        private readonly bool[,] _mapped = new bool[Processes, Pages];
        private readonly bool[] _kernelMapped = new bool[Pages];
        private readonly int[] _running = new int[2];

        public World(bool followRules)
        {
            _followRules = followRules;
            PhysicalMemory memory = new();
            Checker = new CoherenceChecker();
            Tables = new ToyTables(memory, Checker);
            TlbHierarchyConfig config = new()
            {
                MicroD = [TlbLevelConfig.FullyAssociative("uD", 4, [4096])],
                Main = [new TlbLevelConfig { Name = "main", Entries = 16, Ways = 2, PageSizes = [4096] }],
                AsidBits = 8,
            };
            ShareabilityDomain domain = new();
            Cpus = new MemoryManagementUnit[2];
            for (int c = 0; c < Cpus.Length; c++)
            {
                Cpus[c] = new MemoryManagementUnit(new ToyFormat(MmuFormat.ArmLpae), memory, config, c);
                domain.Add(Cpus[c]);
                Checker.Attach(Cpus[c]);
            }

            ulong kernelTable = Tables.NewTable();
            for (int p = 0; p < Processes; p++)
            {
                _roots[p] = Tables.NewTable();
                memory.WriteUInt64(new PhysicalAddress(_roots[p] + ((KernelBase >> 21) * 8)), kernelTable | ToyFormat.Present | ToyFormat.Writable);
            }

            for (int c = 0; c < Cpus.Length; c++)
            {
                Switch(c, c);
            }
        }

        public CoherenceChecker Checker { get; }

        public ToyTables Tables { get; }

        public MemoryManagementUnit[] Cpus { get; }

        /// <summary>Accesses after an unmap whose invalidation was skipped, made while the CPU still held the page.</summary>
        public int ExpectedStale { get; private set; }

        private static ulong UserVa(int page) => 0x1_0000 + ((ulong)page << 12);

        private static ulong KernelVa(int page) => KernelBase + ((ulong)page << 12);

        private static ulong Frame(int process, int page, int frame) => 0x80_0000 + ((ulong)((((process * Pages) + page) * 16) + frame) << 12);

        private void Switch(int cpu, int process)
        {
            _running[cpu] = process;
            Cpus[cpu].WriteTtbr0(_roots[process] | ((ulong)(process + 1) << 48));
        }

        public void Run(Step s)
        {
            int p = s.Process;
            ushort asid = (ushort)(p + 1);
            switch (s.Kind)
            {
                case 0 or 1 when !_mapped[p, s.Page]:
                    Tables.Map(_roots[p], UserVa(s.Page), Frame(p, s.Page, s.Frame), ToyFormat.UserBit | ToyFormat.Writable);
                    _mapped[p, s.Page] = true;
                    break;
                case 0 or 1:
                    // Unmap (and, for kind 1, map again elsewhere: break-before-make).
                    bool held = HeldAnywhere(UserVa(s.Page), asid);
                    Tables.Unmap(_roots[p], UserVa(s.Page));
                    _mapped[p, s.Page] = false;
                    if (_followRules)
                    {
                        Cpus[s.Cpu].TlbiMva(new VirtualAddress(UserVa(s.Page)), asid, innerShareable: true);
                    }
                    else if (held)
                    {
                        ProbeStale(UserVa(s.Page), p);
                    }

                    if (s.Kind == 1)
                    {
                        Tables.Map(_roots[p], UserVa(s.Page), Frame(p, s.Page, s.Frame), ToyFormat.UserBit | ToyFormat.Writable);
                        _mapped[p, s.Page] = true;
                    }

                    break;
                case 2:
                    bool kernelHeld = HeldAnywhere(KernelVa(s.Page), 0);
                    if (_kernelMapped[s.Page])
                    {
                        Tables.Unmap(_roots[0], KernelVa(s.Page));
                        if (_followRules)
                        {
                            Cpus[s.Cpu].TlbiMvaa(new VirtualAddress(KernelVa(s.Page)), innerShareable: true);
                        }
                        else if (kernelHeld)
                        {
                            ProbeStale(KernelVa(s.Page), -1);
                        }
                    }

                    Tables.Map(_roots[0], KernelVa(s.Page), Frame(Processes - 1, s.Page, s.Frame), ToyFormat.GlobalBit | ToyFormat.Writable);
                    _kernelMapped[s.Page] = true;
                    break;
                case 3:
                    Switch(s.Cpu, p);
                    break;
                case 4 when s.Flag:
                    Cpus[s.Cpu].TlbiAsid(asid, innerShareable: false);
                    break;
                default:
                    ulong va = s.Flag ? KernelVa(s.Page) : UserVa(s.Page);
                    Cpus[s.Cpu].Translate(new VirtualAddress(va), s.Kind % 2 == 0 ? AccessType.Write : AccessType.Read, Privilege.Kernel);
                    break;
            }
        }

        private bool HeldAnywhere(ulong va, ushort asid)
        {
            foreach (MemoryManagementUnit cpu in Cpus)
            {
                foreach (TlbLevel l in cpu.Tlb.AllLevels)
                {
                    if (l.Probe(va, asid) >= 0)
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        // A CPU that holds the stale entry touches the page right away: a rule-breaking program must be caught.
        private void ProbeStale(ulong va, int process)
        {
            for (int c = 0; c < Cpus.Length; c++)
            {
                int saved = _running[c];
                if (process >= 0)
                {
                    Switch(c, process);
                }

                bool holds = false;
                foreach (TlbLevel l in Cpus[c].Tlb.AllLevels)
                {
                    holds |= l.Probe(va, Cpus[c].CurrentAsid) >= 0;
                }

                if (holds)
                {
                    Cpus[c].Translate(new VirtualAddress(va), AccessType.Read, Privilege.Kernel);
                    ExpectedStale++;
                }

                Switch(c, saved);
            }
        }
    }

    [Fact]
    public void RuleFollowingProgramsAreSilent()
    {
        PropertyCheck.ForAll(Gen.ListOf(s_step), steps =>
        {
            World w = new(followRules: true);
            foreach (Step s in steps)
            {
                w.Run(s);
            }

            return w.Checker.Reports.Count == 0 && w.Checker.StaleHits == 0;
        }, maxTest: 200);
    }

    [Fact]
    public void ProgramsThatSkipTheInvalidationAreCaught()
    {
        int caught = 0;
        PropertyCheck.ForAll(Gen.ListOf(s_step), steps =>
        {
            World w = new(followRules: false);
            foreach (Step s in steps)
            {
                w.Run(s);
            }

            caught += w.ExpectedStale > 0 ? 1 : 0;
            return w.ExpectedStale == 0 ? w.Checker.StaleHits == 0 || w.Checker.Reports.Count > 0 : w.Checker.StaleHits >= w.ExpectedStale;
        }, maxTest: 200);

        // The generator does produce rule-breaking programs that touch a stale page.
        Assert.True(caught > 20, $"only {caught} programs exercised a stale entry");
    }
}
