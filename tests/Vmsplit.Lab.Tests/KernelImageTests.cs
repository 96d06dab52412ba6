using Vmsplit.Hardware;
using Vmsplit.Hardware.Memory;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Lab.Tests;

/// <summary>One kernel image size, the layout's: the kernel maps exactly it, and vmalloc never lands on it.</summary>
public class KernelImageTests
{
    [Fact]
    public void TheKernelMapsTheLayoutsImageAndVmallocWorksOnEveryDesignAndArchitecture()
    {
        List<string> failures = [];
        int checkedDesigns = 0;
        foreach ((MachineSpec m, DesignSpec d) in AcceptedCombinations.OnePerArchitecture())
        {
            string where = $"{d.Name} on {m.Arch.Name()}";
            try
            {
                Check(m, d, where, failures);
                checkedDesigns++;
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                failures.Add($"{where}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.True(checkedDesigns >= 60, $"only {checkedDesigns} designs checked");
    }

    private static void Check(MachineSpec m, DesignSpec d, string where, List<string> failures)
    {
        SimKernel k = Scenario.Boot(m, d);
        KernelLayout l = k.Layout;
        Assert.Equal(4UL << 20, l.ImageBytes); // Arnd Bergmann's (July 2020) 4 MiB vmlinux, the only default
        Assert.Equal(l.ImageBytes, k.ImageBytes);
        ulong imageEnd = k.ImageVa.Value + k.ImageBytes;
        LayoutRegion? region = l.Regions.FirstOrDefault(r => r.Kind == RegionKind.KernelImage && r.Start <= k.ImageVa.Value && k.ImageVa.Value < r.End);
        if (region is not null && imageEnd > region.End)
        {
            failures.Add($"{where}: image [{k.ImageVa}, {ByteSize.Hex(imageEnd)}) overflows the layout's {region.Name} region ending at {ByteSize.Hex((ulong)(region.End - 1))}");
        }

        Process p = k.CreateProcess();
        k.Start(p);
        k.EnterKernel();
        MemoryManagementUnit mmu = k.Cpu.Mmu;
        foreach (ulong va in new[] { k.ImageVa.Value, imageEnd - 4096 })
        {
            if (mmu.WalkUncounted(new VirtualAddress(va), AccessType.Execute, Privilege.Kernel).IsFault)
            {
                failures.Add($"{where}: image page {ByteSize.Hex(va)} is not mapped executable");
            }
        }

        // the first vmalloc: four pages and a guard page from VMALLOC_START on
        PhysicalAddress[] frames = [k.AllocLowmem(), k.AllocLowmem(), k.AllocLowmem(), k.AllocLowmem()];
        VmapArea? area = k.Vmalloc.Map(frames);
        if (area is null)
        {
            failures.Add($"{where}: vmalloc of 4 pages failed");
            return;
        }

        if (area.Start.Value < imageEnd && k.ImageVa.Value < area.End.Value)
        {
            failures.Add($"{where}: vmalloc area {area.Start} overlaps the image [{k.ImageVa}, {ByteSize.Hex(imageEnd)})");
        }

        for (int i = 0; i < frames.Length; i++)
        {
            WalkResult w = mmu.WalkUncounted(area.Start + (ulong)(i * 4096), AccessType.Write, Privilege.Kernel);
            if (w.IsFault || w.Translate(area.Start + (ulong)(i * 4096)) != frames[i])
            {
                failures.Add($"{where}: vmalloc page {i} at {area.Start + (ulong)(i * 4096)} does not reach its frame ({w.Fault})");
            }
        }

        k.Vmalloc.Unmap(area);
        k.Vmalloc.Purge();
        k.ExitKernel();
    }
}
