using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;
using Vmsplit.Lab;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>Cost accounting: identities, the orderings the mechanisms imply, determinism.</summary>
public class AccountingTests
{
    private static RunResult Run(MachineSpec m, string design, string workload, int ops = 60) =>
        Runner.Run(m, design, BuiltinWorkloads.Get(workload), ops);

    [Fact]
    public void CausesSumToTheTotal()
    {
        RunResult r = Run(MachineSpec.DefaultArm(), "4g4g+hybrid", "read4k");
        Assert.Equal(r.CyclesPerOp, r.CyclesPerOpByCause.Values.Sum(), 6);
        Assert.Equal(r.NsPerOp, r.CyclesPerOpByCause.Keys.Sum(r.NsPerOpOf), 6);
    }

    [Fact]
    public void PanAddsExactlyItsRegisterWritesBarriersAndToggles()
    {
        // null makes no user access, so PAN adds only the DACR writes at entry and exit and the entry's ISB
        // (vector_swi's uaccess_disable; restore_user_regs' uaccess_enable has isb=0, arch/arm/kernel/entry-header.S).
        MachineSpec m = MachineSpec.DefaultArm() with { Arch = Kernel.Layout.KernelArch.Arm };
        RunResult plain = Run(m, "classic", "null");
        RunResult pan = Run(m, "classic+pan", "null");
        double dacr = m.Profile.Cycles(Hardware.Profiles.PrimitiveCost.ContextidrWrite);
        double isb = m.Profile.Cycles(Hardware.Profiles.PrimitiveCost.Isb);
        Assert.Equal(plain.CyclesPerOpByCause.GetValueOrDefault(CostCause.RootRegisterWrite) + (2 * dacr), pan.CyclesPerOpByCause[CostCause.RootRegisterWrite], 6);
        Assert.Equal(plain.CyclesPerOpByCause.GetValueOrDefault(CostCause.Barrier) + isb, pan.CyclesPerOpByCause[CostCause.Barrier], 6);
        foreach (CostCause c in KernelCostCause.All)
        {
            if (c != CostCause.RootRegisterWrite && c != CostCause.Barrier)
            {
                Assert.Equal(plain.CyclesPerOpByCause.GetValueOrDefault(c), pan.CyclesPerOpByCause.GetValueOrDefault(c), 6);
            }
        }
    }

    [Fact]
    public void FourGFourGNullCostsTwoTtbr0WritesTwoIsbsAndTheCompareAndBranch()
    {
        MachineSpec m = MachineSpec.DefaultArm();
        RunResult classic = Run(m, "classic", "null");
        RunResult fourG = Run(m, "4g4g", "null");
        Assert.True(fourG.NsPerOp > classic.NsPerOp);
        double ttbr0 = m.Profile.Cycles(Hardware.Profiles.PrimitiveCost.Ttbr0Write);
        Assert.Equal(2 * ttbr0, fourG.CyclesPerOpByCause[CostCause.RootRegisterWrite] - classic.CyclesPerOpByCause.GetValueOrDefault(CostCause.RootRegisterWrite), 6);
    }

    [Fact]
    public void KptiWithoutPcidIsSlowerThanWithAndBothSlowerThanClassic()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        double classic = Run(m, "classic", "null").NsPerOp;
        double pcid = Run(m, "kpti", "null").NsPerOp;
        double nopcid = Run(m, "kpti+nopcid", "null").NsPerOp;
        Assert.True(classic < pcid, $"classic {classic} vs kpti {pcid}");
        Assert.True(pcid < nopcid, $"kpti {pcid} vs kpti+nopcid {nopcid}");
    }

    [Fact]
    public void WssOverheadGrowsWithTheWorkingSetUnderKptiWithoutPcid()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        double previous = 0;
        foreach (string w in new[] { "wss:64K", "wss:256K", "wss:1M", "wss:4M" })
        {
            double overhead = Run(m, "kpti+nopcid", w, 20).NsPerOp - Run(m, "classic", w, 20).NsPerOp;
            Assert.True(overhead > previous, $"{w}: overhead {overhead:F1} ns does not exceed {previous:F1} ns");
            previous = overhead;
        }
    }

    [Fact]
    public void SameSeedSameReportByteForByte()
    {
        CompareOptions o = CompareOptions.Default() with
        {
            Workloads = [BuiltinWorkloads.Get("null"), BuiltinWorkloads.Get("read4k")],
            Designs = ["classic", "4g4g+hybrid"],
            Ops = 30,
        };
        CompareReport a = Comparison.Run(o);
        CompareReport b = Comparison.Run(o with { Parallel = false });
        Assert.Equal(
            a.Results.Select(r => (r.Design, r.Workload, r.CyclesPerOp)),
            b.Results.Select(r => (r.Design, r.Workload, r.CyclesPerOp)));
    }

    [Fact]
    public void UnknownDesignsAndBaselinesAreLabErrors()
    {
        CompareOptions o = CompareOptions.Default();
        Assert.Contains("kpti exists for", Assert.Throws<LabException>(() => Comparison.Run(o with { Designs = ["classic", "kpti"] })).Message);
        Assert.Contains("baseline", Assert.Throws<LabException>(() => Comparison.Run(o with { Baseline = "4g4g+trampoline", Designs = ["classic"] })).Message);
    }
}

public class X86FourGFourGTests
{
    [Fact]
    public void X86FourGFourGPaysTwoCr3WritesPerSyscallOnAPentium4()
    {
        MachineSpec m = new(MachineSpec.Require("pentium4-xeon"), Kernel.Layout.KernelArch.X86Pae, 2 * Hardware.ByteSize.GiB);
        RunResult classic = Runner.Run(m, "classic", BuiltinWorkloads.Get("null"), 40);
        RunResult fourG = Runner.Run(m, "x86-4g4g", BuiltinWorkloads.Get("null"), 40);
        double cr3 = m.Profile.Cycles(Hardware.Profiles.PrimitiveCost.Cr3Write);
        Assert.Equal(2 * cr3, fourG.CyclesPerOpByCause[CostCause.RootRegisterWrite] - classic.CyclesPerOpByCause.GetValueOrDefault(CostCause.RootRegisterWrite), 6);
        Assert.True(fourG.NsPerOp > classic.NsPerOp);
    }
}
