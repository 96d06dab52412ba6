namespace Vmsplit.Kernel.Layout;

/// <summary>One design's address budget for a machine.</summary>
public sealed record BudgetColumn(string Title, KernelLayout Layout, PageTableCost.Result PageTables)
{
    public ulong UserBytes => Layout.UserBytes;

    public ulong VmallocBytes => Layout.VmallocEnd - Layout.VmallocStart;

    /// <summary>Kernel virtual space outside the linear map (Arnd Bergmann's (July 2020) "256MB vmalloc"): above high_memory, or the TTBR1 region for 4g4g.</summary>
    public ulong NonLinearKernelBytes
    {
        get
        {
            KernelLayout l = Layout;
            if (!l.Arch.Is32Bit())
            {
                return VmallocBytes;
            }

            ulong from = l.Config.Design == LayoutDesign.FourGFourG ? l.ModulesVaddr : l.HighMemory; // 4g4g: the top region from the modules up (LPAE's TTBR1 region)
            return (ulong)(l.AddressSpaceSize - from);
        }
    }

    /// <summary>Mapped-twice space as a share of the whole address space (percent).</summary>
    public double MappedTwiceShareOfSpace => 100.0 * Layout.MappedTwiceBytes / (double)Layout.AddressSpaceSize;

    /// <summary>Mapped-twice space as a share of the non-linear kernel space (percent).</summary>
    public double MappedTwiceShareOfVmalloc => NonLinearKernelBytes == 0 ? 0 : 100.0 * Layout.MappedTwiceBytes / NonLinearKernelBytes;
}

/// <summary>Designs side by side for one machine: each seed design next to the classic split it competes with.</summary>
public static class AddressBudget
{
    public static IReadOnlyList<BudgetColumn> Compare(Machine machine, KernelConfig config)
    {
        List<(string, KernelConfig)> designs = [];
        KernelConfig classic = config with { Design = LayoutDesign.Classic };
        KernelArch arch = machine.Arch;
        designs.Add(($"classic {(arch.Is32Bit() ? "VMSPLIT_" + KernelConfig.SplitName(config.Split) : arch.Name())}", classic));
        if (arch.IsArm32())
        {
            designs.Add(("kimage-vmalloc", classic with { Design = LayoutDesign.KimageVmalloc }));
            designs.Add((arch == KernelArch.ArmLpae ? "4g4g (LPAE)" : "4g4g (short descriptors)", classic with { Design = LayoutDesign.FourGFourG, Split = VmSplit.Split3G }));
        }
        else if (arch.IsX86_32())
        {
            designs.Add(("x86-4g4g (2003)", classic with { Design = LayoutDesign.X86FourGFourG, Split = VmSplit.Split3G }));
        }

        List<BudgetColumn> columns = [];
        foreach ((string title, KernelConfig c) in designs)
        {
            KernelLayout l = LayoutEngine.Compute(machine, c);
            columns.Add(new BudgetColumn(title, l, PageTableCost.ForMinimalProcess(l, PageTableCost.StackTop(l)))); // no kernel booted: norandmaps' stack top
        }

        return columns;
    }
}
