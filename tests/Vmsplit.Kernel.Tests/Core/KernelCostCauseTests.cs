using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Kernel.Tests.Core;

public class KernelCostCauseTests
{
    /// <summary>The report order is the JSON and CSV column order: it must not move when a cause changes layer.</summary>
    [Fact]
    public void AllListsEveryCauseOnceInTheReportOrder()
    {
        Assert.Equal(
            [
                "path-base", "icache-miss", "exception-entry-exit", "spec-mitigation", "root-register-write", "barrier", "tlb-lookup", "tlb-refill-cache-hit",
                "tlb-refill-cache-miss", "tlb-maintenance", "tlbi-broadcast", "ipi-send", "shootdown-wait", "remote-flush", "asid-rollover", "pinning", "kmap", "cache-flush", "memcpy",
                "dcache-miss", "page-zeroing", "fault-handling", "pa-va", "user-work", "uaccess-control",
            ],
            KernelCostCause.All.Select(c => c.Name));
        Assert.Equal(KernelCostCause.All.Count, KernelCostCause.All.Select(c => c.Slot).Distinct().Count());
        Assert.All(CostCause.Hardware, c => Assert.Contains(c, KernelCostCause.All));
    }

    /// <summary>The kernel's causes live in the ledger's software slots, never on a hardware cause's.</summary>
    [Fact]
    public void KernelCausesTakeSoftwareSlots()
    {
        IEnumerable<CostCause> kernel = KernelCostCause.All.Except(CostCause.Hardware);
        Assert.Equal(11, kernel.Count());
        Assert.All(kernel, c => Assert.InRange(c.Slot, CostCause.FirstSoftwareSlot, CostCause.Slots - 1));
    }
}
