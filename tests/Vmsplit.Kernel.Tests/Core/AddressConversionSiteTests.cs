using Vmsplit.Hardware;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Kernel.Uaccess;

namespace Vmsplit.Kernel.Tests.Core;

/// <summary>
/// __pa/__va run where Linux runs them (Linux 6.6): the root register load of switch_mm, kmap of a lowmem page,
/// arm64's enter_lazy_tlb under software PAN; the system-call entry converts nothing. Each site is counted by hand.
/// </summary>
public sealed class AddressConversionSiteTests
{
    private static readonly SyscallRequest Getppid = new(SyscallKind.Getppid);

    [Theory]
    [InlineData(KernelArch.ArmLpae, "classic", "cortex-a15")]
    [InlineData(KernelArch.ArmLpae, "classic+kimage-permuted", "cortex-a15")]
    [InlineData(KernelArch.ArmLpae, "4g4g+pin-kmap", "cortex-a15")]
    [InlineData(KernelArch.X86_64, "kpti", "skylake")]
    [InlineData(KernelArch.Aarch64, "classic+sw-pan+kimage-permuted", "cortex-a72")]
    [InlineData(KernelArch.RiscvSv39, "classic", "sifive-u74")]
    public void AGetppidConvertsNothing(KernelArch arch, string design, string cpu)
    {
        (SimKernel k, Process p) = KernelBoot.BootRunning(arch, design, cpu);
        k.Syscall(p, Getppid);
        long before = k.AddressConversions;
        double cycles = k.Ledger.Cycles(KernelCostCause.AddressConversion);
        k.Syscall(p, Getppid);
        Assert.Equal(0, k.AddressConversions - before);
        Assert.Equal(0.0, k.Ledger.Cycles(KernelCostCause.AddressConversion) - cycles);
    }

    [Theory]
    [InlineData(KernelArch.ArmLpae, "classic", "cortex-a15", 1.0)] // cpu_switch_mm: virt_to_phys(pgd), one subtraction
    [InlineData(KernelArch.ArmLpae, "classic+kimage-vmalloc", "cortex-a15", 3.0)] // the pgd is a linear-map address: compare and branch
    [InlineData(KernelArch.ArmLpae, "classic+kimage-permuted", "cortex-a15", 3.0)] // the same: no table load for a linear-map address
    [InlineData(KernelArch.X86_64, "classic", "skylake", 1.0)] // build_cr3: __sme_pa(pgd)
    [InlineData(KernelArch.X86_64, "kpti", "skylake", 1.0)] // the user PGD is the kernel one with a bit set: no second conversion
    [InlineData(KernelArch.RiscvSv39, "classic", "sifive-u74", 1.0)] // set_mm: virt_to_pfn(mm->pgd)
    public void AContextSwitchConvertsThePgdOnce(KernelArch arch, string design, string cpu, double cycles)
    {
        SimKernel k = KernelBoot.Boot(arch, design, cpu);
        Process a = k.CreateProcess();
        Process b = k.CreateProcess();
        k.Start(a);
        long before = k.AddressConversions;
        double charged = k.Ledger.Cycles(KernelCostCause.AddressConversion);
        k.ContextSwitch(a, b, Getppid, Getppid);
        Assert.Equal(1, k.AddressConversions - before);
        Assert.Equal(cycles, k.Ledger.Cycles(KernelCostCause.AddressConversion) - charged);
        k.ContextSwitch(b, a, Getppid, Getppid);
        Assert.Equal(2, k.AddressConversions - before);
    }

    [Fact]
    public void ForkKmapsEachCopiedLowmemPageTwiceAndConvertsTheUpperTablesItLinks()
    {
        // x86-64 has no highmem: copy_user_highpage's two kmap_local_page calls are page_address, a __va each; the
        // child's five pages sit under one PUD, PMD and PTE table, linked by p4d_populate (__pa(pud)), pud_populate
        // (__pa(pmd)) and pmd_populate (page_to_pfn, no conversion): two more
        (SimKernel k, Process p, VirtualAddress _) = KernelBoot.BootWithBuffer(KernelArch.X86_64, "classic", "skylake", 5 * 4096, touch: true);
        Assert.Equal(5, p.AnonPages.Count);
        long before = k.AddressConversions;
        k.Syscall(p, new SyscallRequest(SyscallKind.Fork));
        Assert.Equal((2 * 5) + 2, k.AddressConversions - before);
    }

    [Fact]
    public void ForkOfHighmemPagesConvertsOnlyThePmdTablesPud()
    {
        // 32-bit ARM with 2 GiB: user pages come from highmem first, and a highmem page is kmapped through a fixmap PTE,
        // no conversion; the child's pgd_alloc allocates the PMD of the modules and pkmap (which holds the user pages
        // below them too) and links it with pud_populate, __pa(pmd); pmd_populate links the PTE table with page_to_phys
        (SimKernel k, Process p, VirtualAddress _) = KernelBoot.BootWithBuffer(KernelArch.ArmLpae, "classic", "cortex-a15", 5 * 4096, touch: true);
        Assert.All(p.AnonPages.Values, f => Assert.True(k.IsHighmem(f)));
        long before = k.AddressConversions;
        k.Syscall(p, new SyscallRequest(SyscallKind.Fork));
        Assert.Equal(1, k.AddressConversions - before);
    }

    [Theory]
    // first fault of an empty process: the tables above the PTE, each linked with a __pa, and clear_user_highpage's
    // kmap of the new (lowmem) page, a __va; the next page of the same PTE table: only the kmap
    [InlineData(KernelArch.X86_64, "classic", "skylake", 2 + 1, 1.0 * 3)] // p4d_populate, pud_populate; pmd_populate converts nothing
    [InlineData(KernelArch.Aarch64, "classic", "cortex-a72", 2 + 1, 1.0 * 3)] // pgd_populate (48-bit: four levels), pud_populate
    [InlineData(KernelArch.Aarch64, "classic+kimage-vmalloc", "cortex-a72", 2 + 1, (3.0 * 2) + 1)] // each __pa a compare and branch, the __va still one addition
    [InlineData(KernelArch.RiscvSv39, "classic", "sifive-u74", 1 + 2 + 1, 1.0 * 4)] // pud_populate virt_to_pfn(pmd); pmd_populate virt_to_pfn(page_address(pte))
    public void AFaultConvertsTheTablesItLinks(KernelArch arch, string design, string cpu, int first, double firstCycles)
    {
        (SimKernel k, Process p) = KernelBoot.BootRunning(arch, design, cpu);
        VirtualAddress buf = k.MapRegion(p, 2 * 4096, VmFlags.Read | VmFlags.Write);
        long before = k.AddressConversions;
        double charged = k.Ledger.Cycles(KernelCostCause.AddressConversion);
        Assert.True(k.HandleMmFault(p, buf, write: true));
        Assert.Equal(first, k.AddressConversions - before);
        Assert.Equal(firstCycles, k.Ledger.Cycles(KernelCostCause.AddressConversion) - charged);
        Assert.True(k.HandleMmFault(p, buf + 4096, write: true));
        Assert.Equal(first + 1, k.AddressConversions - before);
    }

    [Fact]
    public void OnlyArm64SoftwarePanConvertsAnImageAddressWhenTheCpuGoesIdle()
    {
        double Idle(string design, out long conversions)
        {
            (SimKernel k, Process p) = KernelBoot.BootRunning(KernelArch.Aarch64, design, "cortex-a72");
            long before = k.AddressConversions;
            double cycles = k.Ledger.Cycles(KernelCostCause.AddressConversion);
            k.Idle();
            conversions = k.AddressConversions - before;
            double idle = k.Ledger.Cycles(KernelCostCause.AddressConversion) - cycles;
            k.Wake(p);
            return idle;
        }

        var costs = new KernelSoftwareCosts();
        Assert.Equal(0.0, Idle("classic+kimage-permuted", out long plain));
        Assert.Equal(0, plain);

        // update_saved_ttbr0(tsk, &init_mm): __pa_symbol(reserved_pg_dir), a compare and branch in either placement
        Assert.Equal(costs.PaCompareBranch, Idle("classic+sw-pan+kimage-vmalloc", out long vmalloc));
        Assert.Equal(1, vmalloc);

        // over permuted pages the image address also needs its table entry: the index arithmetic and one load
        double permuted = Idle("classic+sw-pan+kimage-permuted", out long permutedCount);
        Assert.Equal(1, permutedCount);
        Assert.True(permuted > costs.PaCompareBranch + costs.PaTableIndex, $"{permuted} cycles");
    }

    [Fact]
    public void ReservedPgDirLiesInTheImageAfterItsText()
    {
        (SimKernel k, Process _) = KernelBoot.BootRunning(KernelArch.Aarch64, "classic+sw-pan+kimage-permuted", "cortex-a72");
        Arm64SwTtbr0Pan pan = Assert.IsType<Arm64SwTtbr0Pan>(k.Pan);
        Assert.True(pan.ReservedPgDir.Value - k.ImageVa.Value >= k.Layout.ImageTextBytes);
        Assert.True(pan.ReservedPgDir.Value - k.ImageVa.Value < k.ImageBytes);
    }
}
