using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Lab;

/// <summary>
/// What prices each <see cref="CostCause"/>: the CPU-profile values the simulated kernel charges to it (as
/// entry paths, <c>costs.cr3Write</c>, <c>tlb.main[0].latencyCycles</c>) and whether kernel software costs
/// (<c>KernelSoftwareCosts</c>, every figure an assumption) are charged to it too. The table follows the
/// charges in <c>src/Vmsplit.Kernel/Core</c>; a test checks that every path exists in a shipped profile of
/// its architecture. It is what the trust line of <c>vmsplit compare</c> counts.
/// </summary>
public static class CauseInputs
{
    /// <summary>The profile values that can price <paramref name="cause"/> on <paramref name="arch"/>, in a fixed order.</summary>
    public static IReadOnlyList<string> ProfileValues(CostCause cause, ProfileArchitecture arch)
    {
        if (cause == CostCause.ExceptionEntryExit)
        {
            return Costs(PrimitiveCost.ExceptionEntry, PrimitiveCost.ExceptionExit);
        }

        if (cause == KernelCostCause.SpeculationMitigation)
        {
            return arch switch
            {
                ProfileArchitecture.X86 => Costs(PrimitiveCost.ReturnMispredict, PrimitiveCost.Verw),
                ProfileArchitecture.Arm => Costs(PrimitiveCost.Dsb, PrimitiveCost.Isb, PrimitiveCost.ExceptionEntry, PrimitiveCost.ExceptionExit),
                _ => [],
            };
        }

        if (cause == CostCause.RootRegisterWrite)
        {
            return arch switch
            {
                ProfileArchitecture.Arm => Costs(PrimitiveCost.Ttbr0Write, PrimitiveCost.Ttbr1Write, PrimitiveCost.TtbcrWrite, PrimitiveCost.ContextidrWrite),
                ProfileArchitecture.X86 => Costs(PrimitiveCost.Cr3Write, PrimitiveCost.Cr3WriteNoFlush),
                _ => Costs(PrimitiveCost.SatpWrite),
            };
        }

        if (cause == CostCause.Barrier)
        {
            return arch == ProfileArchitecture.Arm ? Costs(PrimitiveCost.Isb, PrimitiveCost.Dsb) : [];
        }

        if (cause == CostCause.TlbLookup)
        {
            return ["tlb.main[0].latencyCycles"];
        }

        if (cause == CostCause.TlbRefillCacheHit)
        {
            return Costs(PrimitiveCost.WalkStepCacheHit);
        }

        if (cause == CostCause.TlbRefillCacheMiss)
        {
            return Costs(PrimitiveCost.WalkStepCacheMiss);
        }

        if (cause == KernelCostCause.TlbiBroadcast)
        {
            return arch == ProfileArchitecture.Arm
                ? Costs(PrimitiveCost.TlbiAllIs, PrimitiveCost.TlbiAsidIs, PrimitiveCost.TlbiMvaIs, PrimitiveCost.TlbiMvaaIs, PrimitiveCost.Dsb, PrimitiveCost.Isb)
                : [];
        }

        if (cause == KernelCostCause.IpiSend)
        {
            return arch == ProfileArchitecture.Riscv ? Costs(PrimitiveCost.ExceptionEntry, PrimitiveCost.ExceptionExit) : [];
        }

        if (cause == KernelCostCause.ShootdownWait)
        {
            return Costs(PrimitiveCost.WalkStepCacheMiss);
        }

        if (cause == KernelCostCause.RemoteFlush)
        {
            return arch switch
            {
                ProfileArchitecture.Arm => [],
                ProfileArchitecture.X86 => Costs(
                    PrimitiveCost.ExceptionEntry, PrimitiveCost.ExceptionExit, PrimitiveCost.Cr3Write, PrimitiveCost.Invlpg, PrimitiveCost.InvpcidAddress, PrimitiveCost.Verw),
                _ => Costs(PrimitiveCost.ExceptionEntry, PrimitiveCost.ExceptionExit, PrimitiveCost.SfenceVmaAsid, PrimitiveCost.SfenceVmaVaAsid),
            };
        }

        if (cause == CostCause.TlbMaintenance || cause == KernelCostCause.AsidRollover)
        {
            return arch switch
            {
                ProfileArchitecture.Arm => Costs(
                    PrimitiveCost.TlbiAll, PrimitiveCost.TlbiAllIs, PrimitiveCost.TlbiAsid, PrimitiveCost.TlbiAsidIs,
                    PrimitiveCost.TlbiMva, PrimitiveCost.TlbiMvaIs, PrimitiveCost.TlbiMvaa, PrimitiveCost.TlbiMvaaIs),
                ProfileArchitecture.X86 => Costs(
                    PrimitiveCost.Cr3Write, PrimitiveCost.Invlpg, PrimitiveCost.InvpcidAddress, PrimitiveCost.InvpcidSingleContext,
                    PrimitiveCost.InvpcidAllIncludingGlobal, PrimitiveCost.InvpcidAllNonGlobal, PrimitiveCost.Cr4PgeToggle),
                _ => Costs(PrimitiveCost.SfenceVmaAll, PrimitiveCost.SfenceVmaVa, PrimitiveCost.SfenceVmaAsid, PrimitiveCost.SfenceVmaVaAsid),
            };
        }

        if (cause == CostCause.CacheFlush)
        {
            return ["cache.cleanInvalidateLineCycles"];
        }

        if (cause == CostCause.Memcpy)
        {
            return Costs(PrimitiveCost.MemcpyBytesPerCycle);
        }

        if (cause == CostCause.InstructionCacheMiss)
        {
            return ["cache.l1iBytes", "cache.l1iWays", "cache.l2Bytes", "cache.l2Ways", "cache.l2HitCycles", "cache.l2MissCycles"];
        }

        if (cause == CostCause.DataCacheMiss)
        {
            return ["cache.l1dBytes", "cache.l1dWays", "cache.l2Bytes", "cache.l2Ways", "cache.l2HitCycles", "cache.l2MissCycles", "cache.l2BytesPerCycle", "cache.memoryBytesPerCycle", "cache.writeStreaming"];
        }

        if (cause == CostCause.PageZeroing)
        {
            return Costs(PrimitiveCost.PageZeroCycles);
        }

        if (cause == CostCause.UserAccessControl)
        {
            return arch switch
            {
                ProfileArchitecture.Arm => Costs(PrimitiveCost.MsrPan),
                ProfileArchitecture.X86 => Costs(PrimitiveCost.Stac, PrimitiveCost.Clac),
                _ => Costs(PrimitiveCost.SstatusWrite),
            };
        }

        return [];
    }

    /// <summary>Whether the kernel's software costs (instruction counts, all assumptions) are charged to <paramref name="cause"/>.</summary>
    public static bool KernelSoftware(CostCause cause) => cause == KernelCostCause.PathBase || cause == CostCause.TlbMaintenance
        || cause == KernelCostCause.Pinning || cause == KernelCostCause.Kmap || cause == KernelCostCause.FaultHandling
        || cause == KernelCostCause.AddressConversion || cause == CostCause.UserWork
        || cause == KernelCostCause.IpiSend || cause == KernelCostCause.ShootdownWait || cause == KernelCostCause.RemoteFlush
        || cause == KernelCostCause.SpeculationMitigation;

    /// <summary>The entries of <paramref name="profile"/> that price <paramref name="cause"/> (those it has).</summary>
    public static IReadOnlyList<ProfileEntry> Entries(CostCause cause, CpuProfile profile)
    {
        List<ProfileEntry> found = [];
        foreach (string path in ProfileValues(cause, profile.Architecture))
        {
            if (profile.Entry(path) is ProfileEntry e)
            {
                found.Add(e);
            }
        }

        return found;
    }

    private static string[] Costs(params PrimitiveCost[] costs) => [.. costs.Select(c => "costs." + c.Key())];
}
