using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Mm;

/// <summary>
/// Where the kernel image is mapped and how <c>__pa</c>/<c>virt_to_phys</c> work for it (afzal mohammed and Arnd
/// Bergmann, "ARM: static kernel in vmalloc space", linux-kernel, May 2020): with the image in the linear map one
/// subtraction; with the image elsewhere a compare and branch between the linear and the image offset (arm64's
/// __is_lm_address, arch/arm64/include/asm/memory.h); an address inside an image over permuted pages also needs a
/// load of its permutation-table entry, linear-map addresses do not.
/// One class per placement, chosen once by <see cref="Designs.DesignCompiler"/>.
/// </summary>
public abstract class KernelImageMapping
{
    private protected const ulong Page = 4096;

    private protected KernelImageMapping(SimKernel kernel)
    {
        Kernel = kernel;
    }

    private protected SimKernel Kernel { get; }

    /// <summary>Places the image (<see cref="SimKernel.ImageVa"/>) and maps it at boot.</summary>
    public abstract void Map();

    /// <summary>__pa()/virt_to_phys() of <paramref name="va"/>, charged as it runs.</summary>
    public abstract PhysicalAddress VirtToPhys(VirtualAddress va);

    // The compare and branch of an image outside the linear map; an image address is translated by the caller.
    private protected bool IsImageAddress(VirtualAddress va)
    {
        Kernel.Cpu.Charge(KernelCostCause.AddressConversion, Kernel.Software.PaCompareBranch, 1);
        return va >= Kernel.ImageVa && va.Value - Kernel.ImageVa.Value < Kernel.ImageBytes;
    }

    private protected const PagePermissions Rwx = PagePermissions.Read | PagePermissions.Write | PagePermissions.Execute;

    // The layout's kernel-image region, or VMALLOC_START when the layout has none.
    private protected ulong ImageRegionStart()
    {
        foreach (Layout.LayoutRegion r in Kernel.Layout.Regions)
        {
            if (r.Kind == Layout.RegionKind.KernelImage)
            {
                return r.Start;
            }
        }

        return Kernel.Layout.VmallocStart;
    }
}

/// <summary>The image is part of the linear map (32-bit ARM, x86): its range becomes executable, splitting blocks where needed.</summary>
public sealed class LinearMapImage(SimKernel kernel) : KernelImageMapping(kernel)
{
    public override PhysicalAddress VirtToPhys(VirtualAddress va)
    {
        Kernel.Cpu.Charge(KernelCostCause.AddressConversion, Kernel.Software.PaSubtract, 1);
        return Kernel.LinearToPhys(va);
    }

    public override void Map()
    {
        SimKernel k = Kernel;
        k.ImageVa = k.LinearAddress(k.ImagePa);
        PageTableResult r = k.KernelTreeFor(k.ImageVa).Protect(k.ImageVa, k.ImageBytes, k.KernelAttributes(k.ImageVa, Rwx));
        if (!r.Succeeded)
        {
            throw new KernelSetupException($"cannot make the kernel image at {k.ImageVa} executable: {r.Message}");
        }
    }
}

/// <summary>The image mapped in the vmalloc area (arm64, RISC-V since 5.13, kimage-vmalloc on 32-bit ARM).</summary>
public sealed class VmallocImage(SimKernel kernel) : KernelImageMapping(kernel)
{
    public override PhysicalAddress VirtToPhys(VirtualAddress va) =>
        IsImageAddress(va) ? Kernel.ImagePa + (va.Value - Kernel.ImageVa.Value) : Kernel.LinearToPhys(va);

    public override void Map()
    {
        SimKernel k = Kernel;
        k.ImageVa = new VirtualAddress(ImageRegionStart());
        k.MapKernelRange(k.ImageVa, k.ImagePa, k.ImageBytes, Rwx);
    }
}

/// <summary>
/// The image mapped in the vmalloc area over randomly permuted physical pages (Arnd Bergmann, "Re: [PATCH v5 1/4]
/// riscv: Move kernel mapping to vmalloc zone", linux-mm, July 2020: "virt_to_phys may need to call vmalloc_to_page"):
/// a seeded Fisher–Yates permutation, deterministic per seed. The permutation is a table in simulated lowmem, one
/// 32-bit frame number per image page; virt_to_phys of an image address loads its entry through the kernel's TLB and
/// line cache (a flat table rather than vmalloc_to_page's walk: the cheapest form the idea can take).
/// </summary>
public sealed class PermutedVmallocImage(SimKernel kernel) : KernelImageMapping(kernel)
{
    private const ulong EntryBytes = 4;

    /// <summary>Where the permutation table lies (physical and linear-map address).</summary>
    public PhysicalAddress TablePa { get; private set; }

    public VirtualAddress TableVa { get; private set; }

    public override PhysicalAddress VirtToPhys(VirtualAddress va)
    {
        if (!IsImageAddress(va))
        {
            return Kernel.LinearToPhys(va);
        }

        // index = (va - KIMAGE_VADDR) >> PAGE_SHIFT; pfn = table[index]; pa = pfn << PAGE_SHIFT | offset
        Kernel.Cpu.Charge(KernelCostCause.AddressConversion, Kernel.Software.PaTableIndex, 0);
        ulong index = (va.Value - Kernel.ImageVa.Value) / Page;
        VirtualAddress entry = TableVa + (index * EntryBytes);
        Kernel.Cpu.Load(entry, KernelCostCause.AddressConversion);
        ulong pfn = Kernel.Memory.ReadUInt32(TablePa + (index * EntryBytes));
        return new PhysicalAddress((pfn * Page) + (va.Value & (Page - 1)));
    }

    public override void Map()
    {
        SimKernel k = Kernel;
        k.ImageVa = new VirtualAddress(ImageRegionStart());
        ulong pages = k.ImageBytes / Page;
        ulong[] order = new ulong[pages];
        for (ulong i = 0; i < pages; i++)
        {
            order[i] = i;
        }

        ulong state = k.Seed | 1;
        for (ulong i = pages - 1; i > 0; i--)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ulong j = state % (i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        // the table: contiguous lowmem frames (a memblock allocation at boot)
        ulong tableBytes = ((pages * EntryBytes) + Page - 1) & ~(Page - 1);
        int orderOfTable = System.Numerics.BitOperations.Log2(System.Numerics.BitOperations.RoundUpToPowerOf2(tableBytes / Page));
        Hardware.Memory.FrameAllocation a = k.Lowmem.Allocate(orderOfTable);
        if (!a.Succeeded)
        {
            throw new KernelSetupException("no lowmem for the permuted image's table");
        }

        TablePa = a.Address;
        TableVa = k.LinearAddress(TablePa);
        Dictionary<ulong, ulong> map = new();
        for (ulong i = 0; i < pages; i++)
        {
            VirtualAddress va = k.ImageVa + (i * Page);
            PhysicalAddress pa = k.ImagePa + (order[i] * Page);
            map[va.Value] = pa.Value;
            k.Memory.WriteUInt32(TablePa + (i * EntryBytes), (uint)(pa.Value / Page));
            k.MapKernelRange(va, pa, Page, Rwx);
        }

        k.ImagePermutation = map;
    }
}
