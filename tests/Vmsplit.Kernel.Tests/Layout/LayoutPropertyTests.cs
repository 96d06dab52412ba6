using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Layout;

/// <summary>For random machines and configurations: regions never overlap, lie inside the space, and RAM is accounted for.</summary>
public sealed class LayoutPropertyTests
{
    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(300).WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20260521UL, 1442695040888963407UL), FSharpOption<int>.None)));

    public sealed record Scenario(KernelArch Arch, VmSplit Split, ulong RamBase, ulong RamMiB, ulong? VmallocMiB, bool Highmem, string Linux, LayoutDesign Design)
    {
        public override string ToString() => $"{Arch.Name()} {Split} RAM {RamMiB}M@{ByteSize.Hex(RamBase)} vmalloc={VmallocMiB} highmem={Highmem} linux {Linux} {Design}";
    }

    private static Gen<Scenario> ArmScenarios()
        => from lpae in Gen.Elements(false, true)
           from split in Gen.Elements(lpae ? [VmSplit.Split3G, VmSplit.Split2G, VmSplit.Split1G] : new[] { VmSplit.Split3G, VmSplit.Split3GOpt, VmSplit.Split2G, VmSplit.Split1G })
           from baseMiB in Gen.Elements(0, 256, 2048)
           from ramMiB in Gen.Choose(16, lpae ? 16384 : 4096 - baseMiB)
           let pageOffset = KernelConfig.PageOffsetFor(split)
           from vmalloc in Gen.Choose(0, (int)((0xff800000UL - pageOffset - 40 * ByteSize.MiB) >> 20))
           from highmem in Gen.Elements(true, false)
           from linux in Gen.Elements("3.4", "3.10", "4.19", "5.15", "mainline")
           from design in Gen.Elements(lpae ? [LayoutDesign.Classic, LayoutDesign.KimageVmalloc, LayoutDesign.FourGFourG] : new[] { LayoutDesign.Classic, LayoutDesign.KimageVmalloc })
           select new Scenario(lpae ? KernelArch.ArmLpae : KernelArch.Arm, split, (ulong)baseMiB << 20, (ulong)ramMiB, vmalloc < 16 ? null : (ulong)vmalloc, highmem, linux, design);

    private static Gen<Scenario> X86Scenarios()
        => from pae in Gen.Elements(false, true)
           from split in Gen.Elements(VmSplit.Split3G, VmSplit.Split3GOpt, VmSplit.Split2G, VmSplit.Split2GOpt, VmSplit.Split1G)
           from ramMiB in Gen.Choose(16, pae ? 65536 : 4096)
           from vmalloc in Gen.Choose(0, 256)
           from highmem in Gen.Elements(true, false)
           from linux in Gen.Elements("2.6", "4.14", "4.19", "mainline")
           from design in Gen.Elements(LayoutDesign.Classic, LayoutDesign.X86FourGFourG)
           select new Scenario(pae ? KernelArch.X86Pae : KernelArch.X86, split, 0, (ulong)ramMiB, vmalloc < 16 ? null : (ulong)vmalloc, highmem, linux, design);

    private static bool Holds(Scenario s)
    {
        KernelConfig config = new()
        {
            Split = s.Split,
            Highmem = s.Highmem,
            VmallocSize = s.VmallocMiB is ulong v ? v << 20 : null,
            Linux = LinuxVersion.Parse(s.Linux),
            Design = s.Design,
        };
        KernelLayout l;
        try
        {
            l = LayoutEngine.Compute(new Machine(s.Arch, [new RamBank(new PhysicalAddress(s.RamBase), s.RamMiB << 20)]), config);
        }
        catch (LayoutException e) when (e.Kind is LayoutErrorKind.VmallocTooLarge or LayoutErrorKind.Conflict)
        {
            // Only a 4g4g vmalloc beyond 1 GiB, a vmalloc= that eats all lowmem, or RAM entirely above the limit may fail.
            return e.Kind == LayoutErrorKind.VmallocTooLarge || s.RamBase > 0;
        }

        UInt128 space = (UInt128)1 << 32;
        for (int i = 0; i < l.Regions.Count; i++)
        {
            LayoutRegion a = l.Regions[i];
            if (a.Size == 0 || a.End > space)
            {
                return false;
            }

            for (int j = i + 1; j < l.Regions.Count; j++)
            {
                LayoutRegion b = l.Regions[j];
                bool sameContext = a.View == RegionView.Shared || b.View == RegionView.Shared || a.View == b.View;
                if (sameContext && a.Start < b.End && b.Start < a.End)
                {
                    return false;
                }
            }
        }

        ulong ram = s.RamMiB << 20;
        bool sums = l.LowmemBytes + l.HighmemBytes + l.IgnoredBytes == ram;
        bool highmemRule = s.Highmem || l.HighmemBytes == 0;
        bool linear = l.HighMemory - l.PageOffset >= l.LowmemBytes; // the linear map covers every lowmem byte
        bool vmalloc = l.VmallocStart < l.VmallocEnd && l.VmallocStart >= l.HighMemory;
        ulong zonePages = 0;
        foreach (ZoneSize z in l.Zones)
        {
            zonePages += z.Pages;
        }

        bool zones = zonePages * Machine.PageSize == l.LowmemBytes + l.HighmemBytes;
        return sums && highmemRule && linear && vmalloc && zones;
    }

    [Fact]
    public void Arm_RegionsDisjoint_InsideSpace_RamAccounted()
        => Check.One(s_config, Prop.ForAll(ArmScenarios().ToArbitrary(), Holds));

    [Fact]
    public void X86_RegionsDisjoint_InsideSpace_RamAccounted()
        => Check.One(s_config, Prop.ForAll(X86Scenarios().ToArbitrary(), Holds));

    [Fact]
    public void PropertyCheck_CanFail()
    {
        // The checker itself must reject a broken layout: two regions of one context overlapping.
        KernelLayout l = LayoutEngine.Compute(Machine.WithRam(KernelArch.Arm, 512 * ByteSize.MiB), new KernelConfig());
        l._regions.Add(new LayoutRegion("bogus", 0xc0000000, ByteSize.MiB, RegionKind.Io, "test", "TTBR0"));
        Assert.Equal(LayoutErrorKind.Overlap, Assert.Throws<LayoutException>(l.Validate).Kind);
    }
}
