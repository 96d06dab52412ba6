using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Arch;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Isolation;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Designs;

/// <summary>The policies one design runs with, built once at boot.</summary>
/// <param name="Arch">The architecture's mm (roots, switch_mm, the flush family, the ASID allocator).</param>
/// <param name="Isolation">The isolation scheme (trees, global bit, entry and exit, live roots).</param>
/// <param name="UserPages">The user-access strategy (how uaccess reaches a user page).</param>
/// <param name="Pan">The PAN mechanism (user access closed in the kernel outside uaccess).</param>
/// <param name="Image">Where the kernel image is mapped, and what __pa costs for it.</param>
public sealed record CompiledDesign(ArchMm Arch, IsolationPolicy Isolation, IUserPageAccess UserPages, PanPolicy Pan, KernelImageMapping Image);

/// <summary>
/// Turns a parsed <see cref="DesignSpec"/> into the objects the kernel runs with, from the rows of
/// <see cref="DesignRegistry"/>: the only place that looks at the design (compare Ryujinx's
/// MemoryManagerType, switched on once where the memory manager is built). Everything after boot calls
/// the objects it got.
/// </summary>
public static class DesignCompiler
{
    public static CompiledDesign Compile(SimKernel kernel)
    {
        DesignSpec d = kernel.Design;
        MmuFormat format = kernel.Format.Id;
        SchemeRegistration scheme = DesignRegistry.SchemeOf(d.Scheme);
        ArchRegistration archRow = Array.Find(DesignRegistry.Architectures, a => a.Family == format.Family())
            ?? throw Unsupported(kernel);
        ArchMm arch = archRow.Create(kernel, new ArchOptions(d.Pcid, scheme.UnmapsKernelInUserMode, d.SpeculationMitigations));

        IsolationPolicy? isolation = null;
        foreach (SchemeImplementation implementation in scheme.Implementations)
        {
            if (implementation.Supports(format) && implementation.Create(kernel, arch, d) is IsolationPolicy built)
            {
                isolation = built;
                break;
            }
        }

        if (isolation is null)
        {
            throw Unsupported(kernel);
        }

        UaccessRegistration uaccess = Array.Find(DesignRegistry.UaccessStrategies, u => u.Strategy == d.Uaccess) ?? throw Unsupported(kernel);
        IUserPageAccess pages = uaccess.Create(kernel, isolation, d) ?? throw Unsupported(kernel);

        PanPolicy pan = d.Pan == PanKind.None
            ? new NoPan(kernel)
            : DesignRegistry.PanOf(d.Pan) is { } p && p.Formats.Contains(format) && p.Create(kernel, arch) is PanPolicy built2 ? built2 : throw Unsupported(kernel);

        // An image the scheme cannot keep in the linear map goes to the vmalloc area (4G/4G's switched half).
        KernelImagePlacement placement = d.ImagePlacement == KernelImagePlacement.LinearMap && !isolation.ImageMayBeInLinearMap
            ? KernelImagePlacement.Vmalloc
            : d.ImagePlacement;
        KernelImageMapping image = Array.Find(DesignRegistry.ImagePlacements, i => i.Placement == placement)!.Create(kernel);
        return new CompiledDesign(arch, isolation, pages, pan, image);
    }

    private static KernelSetupException Unsupported(SimKernel k) =>
        new($"design {k.Design.Name} has no implementation on {k.Format.Name}");
}
