using FsCheck;
using FsCheck.Fluent;
using Vmsplit.Kernel.Asid;

namespace Vmsplit.Kernel.Tests.Asid;

/// <summary>
/// Random switch programs against a model of each CPU's TLB tags: since the last flush that covered
/// it, an ASID on a CPU may only ever have carried one mm. A reuse without a flush is a stale
/// translation waiting to happen.
/// </summary>
public class AsidPropertyTests
{
    private const int Cpus = 4;
    private const int Mms = 40;
    private const int WideMms = 300;

    private static readonly Gen<(int Cpu, int Mm)> s_step =
        from cpu in Gen.Choose(0, Cpus - 1)
        from mm in Gen.Choose(0, Mms - 1)
        select (cpu, mm);

    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(200).WithReplay(4242UL, 1717UL);

    private static readonly Gen<(int Cpu, int Mm)> s_wideStep =
        from cpu in Gen.Choose(0, Cpus - 1)
        from mm in Gen.Choose(0, WideMms - 1)
        select (cpu, mm);

    private static MmContext[] Contexts(int count = Mms)
    {
        MmContext[] mms = new MmContext[count];
        for (int i = 0; i < count; i++)
        {
            mms[i] = new MmContext((ulong)i + 2);
        }

        return mms;
    }

    /// <summary>Applies a flush to a CPU's tag model, then claims the ASID for <paramref name="owner"/>; false on a reuse.</summary>
    private static bool Claim(Dictionary<ushort, ulong> tags, SwitchFlush flush, ushort asid, ulong owner)
    {
        if (flush == SwitchFlush.All)
        {
            tags.Clear();
        }
        else if (flush == SwitchFlush.Asid)
        {
            tags.Remove(asid);
        }

        if (tags.TryGetValue(asid, out ulong held) && held != owner)
        {
            return false;
        }

        tags[asid] = owner;
        return true;
    }

    private static bool RunGenerational(IAsidAllocator allocator, Func<MmContext, (ulong Generation, ushort Asid)> identity, Func<ulong> generation, List<(int Cpu, int Mm)> steps, bool pairs, int mmCount = Mms)
    {
        MmContext[] mms = Contexts(mmCount);
        Dictionary<ushort, ulong>[] tags = new Dictionary<ushort, ulong>[Cpus];
        for (int c = 0; c < Cpus; c++)
        {
            tags[c] = new Dictionary<ushort, ulong>();
        }

        foreach ((int cpu, int m) in steps)
        {
            AsidSwitch s = allocator.SwitchMm(cpu, mms[m]);
            if (!s.WritesRoot)
            {
                continue;
            }

            if (!Claim(tags[cpu], s.Flush, s.Asid, mms[m].CtxId))
            {
                return false;
            }

            if (pairs && !Claim(tags[cpu], SwitchFlush.None, s.UserAsid, mms[m].CtxId))
            {
                return false;
            }

            // Within the current generation no two mms hold the same ASID.
            HashSet<ushort> seen = [];
            foreach (MmContext mm in mms)
            {
                (ulong g, ushort asid) = identity(mm);
                if (g == generation() && !seen.Add(asid))
                {
                    return false;
                }
            }
        }

        return true;
    }

    [Fact]
    public void ArmEightBitAsidsNeverReuseWithoutFlush()
    {
        // 4 CPUs, 8-bit ASIDs with KPTI pairs: 127 contexts; 600 switches among 300 mms roll over.
        Prop.ForAll(Arb.From(Gen.ListOf(s_wideStep, 600)), steps =>
        {
            ArmAsidAllocator a = new(ArmAsidFlavor.Arm64, Cpus, asidBits: 8, kpti: true);
            bool ok = RunGenerational(a, mm => (a.GenerationOf(mm), a.AsidOf(mm)), () => a.Generation, [.. steps], pairs: true, WideMms);
            return ok && a.Rollovers > 0;
        }).Check(s_config.WithMaxTest(50));
    }

    [Fact]
    public void RiscvSmallAsidSpaceNeverReusesWithoutFlush()
    {
        // 4-bit ASIDs on 4 harts: 15 usable for 40 mms, so rollovers happen constantly.
        Prop.ForAll(Arb.From(Gen.ListOf(s_step)), steps =>
        {
            RiscvAsidAllocator r = new(Cpus, asidBits: 4);
            Assert.True(r.UsesAllocator);
            return RunGenerational(r, mm => (mm.ContextId >> 4, r.AsidOf(mm)), () => r.Generation, [.. steps], pairs: false);
        }).Check(s_config);
    }

    [Fact]
    public void X86SlotsNeverReusePcidsWithoutFlush()
    {
        // Each switch is followed by a return to user space, whose CR3 write carries the deferred user flush.
        Prop.ForAll(Arb.From(Gen.ListOf(s_step)), steps =>
        {
            X86PcidAllocator x = new(Cpus, pcid: true, pti: true);
            MmContext[] mms = Contexts();
            Dictionary<ushort, ulong>[] tags = new Dictionary<ushort, ulong>[Cpus];
            for (int c = 0; c < Cpus; c++)
            {
                tags[c] = new Dictionary<ushort, ulong>();
            }

            foreach ((int cpu, int m) in steps)
            {
                AsidSwitch s = x.SwitchMm(cpu, mms[m]);
                if (s.WritesRoot && !Claim(tags[cpu], s.Flush, s.Asid, mms[m].CtxId))
                {
                    return false;
                }

                Cr3Write exit = x.ExitToUser(cpu)!.Value;
                if (exit.Pcid != s.UserAsid || !Claim(tags[cpu], exit.Flush, exit.Pcid, mms[m].CtxId))
                {
                    return false;
                }
            }

            return true;
        }).Check(s_config);
    }
}
