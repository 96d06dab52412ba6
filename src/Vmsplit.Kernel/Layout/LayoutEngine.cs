namespace Vmsplit.Kernel.Layout;

/// <summary>Computes the layout of a machine under a kernel configuration, the way that Linux release would.</summary>
public static class LayoutEngine
{
    public static KernelLayout Compute(Machine machine, KernelConfig config)
    {
        KernelLayout l = new(machine, config);
        KernelArch arch = machine.Arch;
        if (config.Design == LayoutDesign.X86FourGFourG && !arch.IsX86_32())
        {
            throw new LayoutException(LayoutErrorKind.Conflict, $"design x86-4g4g is Ingo Molnar's x86-32 split; it does not apply to {arch.Name()}");
        }

        if (config.Design == LayoutDesign.FourGFourG && !arch.IsArm32())
        {
            throw new LayoutException(LayoutErrorKind.Conflict, $"design 4g4g is the 32-bit ARM LPAE split (Arnd Bergmann, May 2020); for x86-32 use x86-4g4g, {arch.Name()} does not need it");
        }

        if (config.Design == LayoutDesign.KimageVmalloc && arch.IsX86_32())
        {
            throw new LayoutException(LayoutErrorKind.Conflict, "design kimage-vmalloc is modelled for ARM, RISC-V and arm64 (the seeds' architectures), not x86-32");
        }

        if ((config.VmallocEnd is not null || config.ConsistentDmaSize is not null) && !arch.IsArm32())
        {
            throw new LayoutException(LayoutErrorKind.Conflict, $"--vmalloc-end and --consistent-dma-size are per-machine constants of 32-bit ARM before 3.4/3.6; they do not apply to {arch.Name()}");
        }

        if ((config.FixaddrStart is not null || config.X86Fixmap != new X86FixmapOptions()) && !arch.IsX86_32())
        {
            throw new LayoutException(LayoutErrorKind.Conflict, $"--fixaddr-start and --kconfig size x86-32's fixmap; they do not apply to {arch.Name()}");
        }

        if (arch.IsArm32())
        {
            ArmLayout.Build(l);
        }
        else if (arch.IsX86_32())
        {
            X86Layout.Build(l);
        }
        else
        {
            if (config.Split != VmSplit.Split3G)
            {
                throw new LayoutException(LayoutErrorKind.Conflict, $"--split applies to 32-bit layouts; {arch.Name()} has a fixed user/kernel division");
            }

            DocumentedLayouts.Build(l);
        }

        l.SortRegions();
        l.Validate();
        return l;
    }
}
