using Vmsplit.Hardware;
using Vmsplit.Hardware.Mmu;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Layout;
using Vmsplit.Kernel.Mm;
using Vmsplit.Workloads;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// 32-bit PTI (Linux 4.19+, x86 with PAE): an 8 KiB kernel/user PGD pair per process, the user PGD's user PDPTEs
/// pointing at the process's own user PMDs, its kernel PDPTE at a PMD holding only what pti_init cloned (the
/// entry text's PMD and the cpu_entry_area's), and a CR3 switch at every entry and exit.
/// </summary>
public class X86PaePtiTests
{
    private static MachineSpec Pae(string profile) => new(MachineSpec.Require(profile), KernelArch.X86Pae, 2 * ByteSize.GiB);

    public static TheoryData<string, string> ProfilesAndDesigns()
    {
        TheoryData<string, string> data = new();
        foreach (string profile in new[] { "pentium4-xeon", "atom-n270", "core2-e6600", "haswell", "skylake" })
        {
            foreach (string design in new[] { "kpti", "kpti+global" }) // KAISER v1 was x86-64 only and is refused here
            {
                data.Add(profile, design);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ProfilesAndDesigns))]
    public void PaeKptiRunsOnEveryX86ProfileAndCostsMoreThanClassic(string profile, string design)
    {
        MachineSpec m = Pae(profile);
        RunResult classic = Runner.Run(m, "classic", BuiltinWorkloads.Get("null"), 50);
        RunResult pti = Runner.Run(m, design, BuiltinWorkloads.Get("null"), 50);
        Assert.Equal(design, pti.Design);
        Assert.True(pti.CyclesPerOp > classic.CyclesPerOp, $"{design}: {pti.CyclesPerOp} cycles, classic {classic.CyclesPerOp}");
        Assert.True(pti.CyclesPerOpByCause[Hardware.Costs.CostCause.RootRegisterWrite] > 0); // SWITCH_TO_KERNEL_CR3 / SWITCH_TO_USER_CR3
    }

    [Fact]
    public void TheUserPgdSharesTheUserPmdsAndHoldsOnlyTheClonedKernelPmds()
    {
        MachineSpec m = Pae("pentium4-xeon");
        SimKernel k = Scenario.Boot(m, Scenario.ParseDesign(m, "kpti"), coherenceCheck: true);
        Process p = k.CreateProcess();
        VirtualAddress buf = k.MapRegion(p, 4096, VmFlags.Read | VmFlags.Write);
        k.Start(p);
        k.UserTouch(p, buf, 4096, write: true);
        PageTable user = p.UserShadow!;

        // PDPTEs 0-2 (user space below PAGE_OFFSET 0xc0000000) are the kernel PGD's own; PDPTE 3 is a PMD of the user PGD
        for (int i = 0; i < 4; i++)
        {
            ulong kernelPdpte = k.Memory.ReadUInt64(p.Tables.Root + (ulong)(8 * i));
            ulong userPdpte = k.Memory.ReadUInt64(user.Root + (ulong)(8 * i));
            Assert.Equal(1UL, userPdpte & 1);
            if (i < 3)
            {
                Assert.Equal(kernelPdpte, userPdpte);
            }
            else
            {
                Assert.NotEqual(kernelPdpte, userPdpte);
            }
        }

        // the kernel half of the user PGD: the 2 MiB PMD of the entry text at 0xc1000000 (CONFIG_PHYSICAL_START 16 MiB)
        // and the cpu_entry_area page at CPU_ENTRY_AREA_BASE 0xffa00000 (below the 6.18 fixmap's 199 permanent and 512
        // boot slots, PMD-aligned) — nothing else
        List<(ulong Va, ulong Size)> kernelLeaves = user.Leaves().Where(l => !l.Attributes.User).Select(l => (l.PageBase.Value, l.PageSize)).ToList();
        Assert.Equal([(0xc1000000UL, 2UL << 20), (0xffa00000UL, 4096UL)], kernelLeaves);

        // page tables, by hand: kernel PGD (one frame), its four PMDs, the PTE table of the buffer; user PGD (one frame) and its kernel PMD
        Assert.Equal(8 * 4096L, p.Tables.TableBytes + user.TableBytes);

        // user mode runs on the user PGD: the linear map does not translate, the entry text does
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        MemoryManagementUnit mmu = k.Cpu.Mmu;
        Assert.Equal(user.Root.Value, mmu.Registers.Cr3 & 0xFFFF_FFE0UL);
        Assert.True(mmu.WalkUncounted(k.KernelObjects["file"], AccessType.Read, Privilege.Kernel).IsFault);
        Assert.False(mmu.WalkUncounted(k.EntryVa, AccessType.Execute, Privilege.Kernel).IsFault);
        Assert.False(mmu.WalkUncounted(buf, AccessType.Read, Privilege.User).IsFault);

        // in the kernel, CR3 holds the kernel PGD and the linear map translates
        k.EnterKernel();
        Assert.Equal(p.Tables.Root.Value, mmu.Registers.Cr3 & 0xFFFF_FFE0UL);
        Assert.False(mmu.WalkUncounted(k.KernelObjects["file"], AccessType.Read, Privilege.Kernel).IsFault);
        k.ExitKernel();
        Assert.Equal(0, k.Checker!.StaleHits);
    }
}
