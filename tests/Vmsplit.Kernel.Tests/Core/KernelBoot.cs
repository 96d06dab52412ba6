using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>
/// The kernel test room's one way to boot a kernel: an architecture, a design, a shipped CPU profile and the RAM,
/// through the layout engine and <see cref="SimKernel"/> directly (no Lab), with the coherence checker on.
/// </summary>
public static class KernelBoot
{
    public static SimKernel Boot(KernelArch arch, string design, string cpu, ulong ramBytes = 2 * ByteSize.GiB, int cpus = 1, ulong seed = 1, int randomizeVaSpace = 2)
    {
        CpuProfile profile = CpuProfiles.Find(cpu) ?? throw new ArgumentException($"no shipped profile {cpu}", nameof(cpu));
        KernelConfig config = new();
        MmuFormat format = arch.MmuFormatOf(config.VaBits);
        if (!DesignSpec.TryParse(design, format, profile, out DesignSpec? d, out string error))
        {
            throw new ArgumentException(error, nameof(design));
        }

        config = config with { Design = DesignRegistry.SchemeOf(d!.Scheme).Layout ?? LayoutDesign.Classic, ViptAliasing = profile.Cache.ViptAliasing };
        KernelLayout layout = LayoutEngine.Compute(Machine.WithRam(arch, ramBytes), config);
        return new SimKernel(new KernelSetup(layout, d, profile) { CoherenceCheck = true, Cpus = cpus, Seed = seed, RandomizeVaSpace = randomizeVaSpace });
    }

    /// <summary>A booted kernel with one running process that has a read-write region of <paramref name="bytes"/> mapped (and, with <paramref name="touch"/>, written).</summary>
    public static (SimKernel K, Process P, VirtualAddress Buf) BootWithBuffer(KernelArch arch, string design, string cpu, ulong bytes = 64 * 1024, ulong ramBytes = 2 * ByteSize.GiB, bool touch = false)
    {
        SimKernel k = Boot(arch, design, cpu, ramBytes);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, bytes, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        if (touch)
        {
            k.UserTouch(p, buf, bytes, write: true);
        }

        return (k, p, buf);
    }

    /// <summary>A booted kernel with one running process.</summary>
    public static (SimKernel Kernel, Process Process) BootRunning(KernelArch arch, string design, string cpu)
    {
        SimKernel k = Boot(arch, design, cpu);
        Process p = k.CreateProcess();
        k.Start(p);
        return (k, p);
    }
}
