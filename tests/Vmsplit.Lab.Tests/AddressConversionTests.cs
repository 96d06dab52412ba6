using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// __pa carries the address it converts: with the image over permuted pages only image addresses need the page
/// lookup; a null system call converts nothing, so it costs what it costs with the image in vmalloc.
/// </summary>
public class AddressConversionTests
{
    private static MachineSpec Machine(string arch) => arch switch
    {
        "arm-lpae" => MachineSpec.DefaultArm(),
        "aarch64" => new MachineSpec(MachineSpec.Require("cortex-a72"), KernelArch.Aarch64, 2 * ByteSize.GiB),
        _ => new MachineSpec(MachineSpec.Require("sifive-u74"), KernelArch.RiscvSv39, 2 * ByteSize.GiB),
    };

    [Theory]
    [InlineData("arm-lpae", "classic")]
    [InlineData("arm-lpae", "4g4g")]
    [InlineData("aarch64", "classic")]
    [InlineData("riscv-sv39", "classic")]
    public void APermutedImageCostsANullSyscallNothingMoreThanAnImageInVmalloc(string arch, string baseDesign)
    {
        MachineSpec m = Machine(arch);
        string vmalloc = baseDesign == "4g4g" ? "4g4g" : baseDesign + "+kimage-vmalloc"; // 4g4g's image is outside the linear map already
        RunResult inVmalloc = Runner.Run(m, vmalloc, BuiltinWorkloads.Get("null"), 200);
        RunResult permuted = Runner.Run(m, baseDesign + "+kimage-permuted", BuiltinWorkloads.Get("null"), 200);

        // the system-call path converts no address (entry_SYSCALL_64, el0_svc, handle_exception: Linux 6.6)
        Assert.Equal(0.0, inVmalloc.CyclesPerOpByCause.GetValueOrDefault(KernelCostCause.AddressConversion));
        Assert.Equal(0.0, permuted.CyclesPerOpByCause.GetValueOrDefault(KernelCostCause.AddressConversion));
        Assert.True(permuted.CyclesPerOp <= inVmalloc.CyclesPerOp * 1.02, $"permuted {permuted.CyclesPerOp} cycles, vmalloc {inVmalloc.CyclesPerOp}");
    }

    [Theory]
    [InlineData("classic", 1.0, 1.0, 0)]
    [InlineData("classic+kimage-vmalloc", 3.0, 3.0, 0)]
    [InlineData("classic+kimage-permuted", 3.0, 3.0 + 4.0 + 208.0, 1)] // compare, index arithmetic, the table load missing the cache (Cortex-A15: 208)
    public void VirtToPhysFindsTheFrameAndChargesTheLookupOnlyForImageAddresses(string design, double linearCycles, double imageCycles, int imageLoads)
    {
        MachineSpec m = MachineSpec.DefaultArm();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, design));
        VirtualAddress linear = k.KernelObjects["file"];
        VirtualAddress image = k.ImageVa + (5 * 4096) + 0x123;

        double before = k.Ledger.Cycles(KernelCostCause.AddressConversion);
        long loads = k.Cpu.DataLoads;
        Assert.Equal(k.KernelTree.Lookup(linear).Translate(linear), k.VirtToPhys(linear));
        Assert.Equal(linearCycles, k.Ledger.Cycles(KernelCostCause.AddressConversion) - before);
        Assert.Equal(0, k.Cpu.DataLoads - loads);

        before = k.Ledger.Cycles(KernelCostCause.AddressConversion);
        Assert.Equal(k.KernelTree.Lookup(image).Translate(image), k.VirtToPhys(image));
        Assert.Equal(imageCycles, k.Ledger.Cycles(KernelCostCause.AddressConversion) - before);
        Assert.Equal(imageLoads, k.Cpu.DataLoads - loads);
    }

    [Fact]
    public void ThePermutationTableLivesInSimulatedLowmemAndASecondLookupInItsLineHits()
    {
        MachineSpec m = MachineSpec.DefaultArm();
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "classic+kimage-permuted"));
        PermutedVmallocImage image = Assert.IsType<PermutedVmallocImage>(k.Image);
        Assert.Equal(k.LinearAddress(image.TablePa), image.TableVa);

        // entry i holds the frame number behind image page i
        for (ulong i = 0; i < k.ImageBytes / 4096; i += 97)
        {
            VirtualAddress va = k.ImageVa + (i * 4096);
            Assert.Equal(k.KernelTree.Lookup(va).Translate(va).Value / 4096, k.Memory.ReadUInt32(image.TablePa + (i * 4)));
        }

        k.VirtToPhys(k.ImageVa + (3 * 4096)); // entry 3: its line comes in
        double before = k.Ledger.Cycles(KernelCostCause.AddressConversion);
        long misses = k.Cpu.DataLoadMisses;
        k.VirtToPhys(k.ImageVa + (7 * 4096)); // entry 7: the same 64-byte line
        Assert.Equal(3.0 + 4.0 + k.Profile.Cycles(Hardware.Profiles.PrimitiveCost.WalkStepCacheHit), k.Ledger.Cycles(KernelCostCause.AddressConversion) - before);
        Assert.Equal(0, k.Cpu.DataLoadMisses - misses);
    }
}
