using Vmsplit.Hardware;
using Vmsplit.Hardware.Costs;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Abi;
using Vmsplit.Kernel.Core;
using Vmsplit.Kernel.Mm;

namespace Vmsplit.Lab.Tests;

/// <summary>
/// KAISER v1 (Dave Hansen's first LKML posting, 2017-10-31) is its own mechanism, not kpti+nopcid under
/// another name: no global page anywhere, a shadow kernel half of 4 KiB mappings in tables of its own
/// (per-CPU user-mapped section, entry text, IDT, GDT alias, every task's stack), the entry code's spill
/// and pt_regs on the user PGD, and a global flush when a task's stack leaves the shadow.
/// </summary>
public class KaiserV1Tests
{
    private static SimKernel Boot(string design) =>
        Scenario.Boot(MachineSpec.SkylakeX86(), Scenario.ParseDesign(MachineSpec.SkylakeX86(), design), coherenceCheck: true);

    [Fact]
    public void TheShadowMapsWhatV1MappedInFourKibPagesNoneGlobal()
    {
        SimKernel k = Boot("kpti+kaiser-v1");
        Process p = k.CreateProcess();
        Process q = k.CreateProcess();
        List<PageTableLookup> kernel = p.UserShadow!.Leaves().Where(l => !l.Attributes.User).ToList();

        // 9 per-CPU pages + __entry_text + IDT + GDT alias + the two tasks' stacks, each a 4 KiB PTE
        Assert.Equal(Kernel.Isolation.KaiserV1.PerCpuUserMappedPages + 3 + 2, kernel.Count);
        Assert.All(kernel, l => Assert.Equal(4096UL, l.PageSize));
        Assert.All(kernel, l => Assert.False(l.Attributes.Global));
        ulong Low(VirtualAddress va) => va.Value & ((1UL << 48) - 1); // the tree's leaves are not sign-extended
        Assert.Contains(kernel, l => Low(l.PageBase) == Low(k.EntryVa) && l.Attributes.Permissions.HasFlag(PagePermissions.Execute));
        Assert.Contains(kernel, l => Low(l.PageBase) == Low(k.LinearAddress(q.KernelStack))); // every task's stack, in every shadow
        Assert.DoesNotContain(kernel, l => Low(l.PageBase) >= 0xfe0000000000UL); // no cpu_entry_area in 2017

        // kpti instead clones the entry text's 2 MiB PMD and the cpu_entry_area
        SimKernel pti = Boot("kpti");
        Process r = pti.CreateProcess();
        List<PageTableLookup> ptiKernel = r.UserShadow!.Leaves().Where(l => !l.Attributes.User).ToList();
        Assert.Equal([2UL << 20, 4096UL], ptiKernel.Select(l => l.PageSize).ToArray());
    }

    [Fact]
    public void TheAuditSeesThirteenPagesWhereKptiExposesTwoMibAndAPage()
    {
        AuditResult kaiser = IsolationAudit.Run(Boot("kpti+kaiser-v1"));
        AuditResult pti = IsolationAudit.Run(Boot("kpti"));
        Assert.Equal(13UL * 4096, kaiser.ExposedKernelBytes); // per-CPU 9, entry text, IDT, GDT, the audit process's stack
        Assert.Equal((2UL << 20) + 4096, pti.ExposedKernelBytes);
        Assert.DoesNotContain(kaiser.ExposedKernelRanges, e => e.Perms.Contains("global", StringComparison.Ordinal));
    }

    [Fact]
    public void KaiserUsesPcidsLikePtiAndDiffersFromKptiNopcid()
    {
        MachineSpec m = MachineSpec.SkylakeX86();
        RunResult kaiser = Runner.Run(m, "kpti+kaiser-v1", Workloads.BuiltinWorkloads.Get("null"), 200);
        RunResult kaiserNopcid = Runner.Run(m, "kpti+kaiser-v1+nopcid", Workloads.BuiltinWorkloads.Get("null"), 200);
        RunResult nopcid = Runner.Run(m, "kpti+nopcid", Workloads.BuiltinWorkloads.Get("null"), 200);
        Assert.True(kaiser.NsPerOp < kaiserNopcid.NsPerOp, $"{kaiser.NsPerOp} vs {kaiserNopcid.NsPerOp}");
        Assert.NotEqual(nopcid.NsPerOp, kaiserNopcid.NsPerOp);
        Assert.NotEqual(nopcid.CyclesPerOpByCause.GetValueOrDefault(CostCause.TlbRefillCacheHit), kaiserNopcid.CyclesPerOpByCause.GetValueOrDefault(CostCause.TlbRefillCacheHit));
    }

    [Theory]
    [InlineData("kpti+nopcid", 6, 16)]
    [InlineData("kpti+kaiser-v1+nopcid", 6, 12)]
    public void WithoutPcidTheEntryWalksWhatItsUserPgdMapsEveryCall(string design, long walks, long reads)
    {
        // A warm getppid without PCID, where every CR3 write drops every non-global translation and the
        // paging-structure caches with them. kpti: after SWITCH_TO_KERNEL_CR3 the entry text's 2 MiB block
        // (3 reads) and the cpu_entry_area (4, its own PGD slot), the stack and task (1) and the syscall table
        // (1); after SWITCH_TO_USER_CR3 the trampoline stack in the cpu_entry_area (4) and the entry text
        // through the user PGD's 2 MiB clone (3). KAISER v1: before the switch the rsp_scratch spill into the
        // user-mapped per-CPU page (1: the exit left the upper levels cached), after it the text (3), the
        // per-CPU page, stack and task in one linear-map block (1) and the syscall table (1); after the exit's
        // switch the pt_regs on the task's stack through its 4 KiB shadow PTE (4) and the entry text's 4 KiB
        // PTE under the same cached PDPTE (2).
        SimKernel k = Boot(design);
        Process p = k.CreateProcess();
        k.Start(p);
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        long w = k.Cpu.Mmu.Counters.Walks;
        long r = k.Cpu.Mmu.Counters.WalkReads;
        k.Syscall(p, new SyscallRequest(SyscallKind.Getppid));
        Assert.Equal(walks, k.Cpu.Mmu.Counters.Walks - w);
        Assert.Equal(reads, k.Cpu.Mmu.Counters.WalkReads - r);
    }

    [Fact]
    public void ATaskLeavingTheShadowCostsAGlobalFlush()
    {
        SimKernel k = Boot("kpti+kaiser-v1");
        Process p = k.CreateProcess();
        Process q = k.CreateProcess();
        k.Start(p);
        VirtualAddress stack = k.LinearAddress(q.KernelStack);
        k.Ledger.Reset();
        k.DestroyProcess(q);
        Assert.False(p.UserShadow!.Lookup(stack).Found);
        Assert.Equal(1, k.Ledger.Events(CostCause.TlbMaintenance)); // kaiser_remove_mapping: __native_flush_tlb_global (INVPCID type 2)
        Assert.Equal(k.Cpu.Profile.Cycles(Hardware.Profiles.PrimitiveCost.InvpcidAllIncludingGlobal), k.Ledger.Cycles(CostCause.TlbMaintenance));

        SimKernel pti = Boot("kpti");
        Process a = pti.CreateProcess();
        Process b = pti.CreateProcess();
        pti.Start(a);
        pti.Ledger.Reset();
        pti.DestroyProcess(b);
        Assert.Equal(0, pti.Ledger.Events(CostCause.TlbMaintenance));
        _ = VmFlags.Read;
    }
}
