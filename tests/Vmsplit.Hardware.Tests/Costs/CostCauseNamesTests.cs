using Vmsplit.Hardware.Costs;

namespace Vmsplit.Hardware.Tests.Costs;

public class CostCauseNamesTests
{
    /// <summary>Report names are JSON and CSV keys: every hardware cause has one, its own slot, and no two share either.</summary>
    [Fact]
    public void EveryHardwareCauseHasItsOwnKebabCaseNameAndSlot()
    {
        IReadOnlyList<CostCause> causes = CostCause.Hardware;
        Assert.Equal(causes.Count, causes.Select(c => c.Name).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, CostCause.FirstSoftwareSlot), causes.Select(c => c.Slot));
        Assert.All(causes, c => Assert.Matches("^[a-z]+(-[a-z]+)*$", c.Name));
        Assert.Equal("uaccess-control", CostCause.UserAccessControl.Name);
        Assert.Equal("user-work", CostCause.UserWork.Name);
    }

    [Fact]
    public void ASlotOutsideTheLedgerIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CostCause(CostCause.Slots, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CostCause(-1, "x"));
    }

    [Fact]
    public void TheLedgerKeepsEachSlotApart()
    {
        CostLedger l = new();
        CostCause software = new(CostCause.FirstSoftwareSlot, "software");
        l.Charge(CostCause.Barrier, 3);
        l.Charge(software, 5, 2);
        Assert.Equal(3, l.Cycles(CostCause.Barrier));
        Assert.Equal(5, l.Cycles(software));
        Assert.Equal(2, l.Events(software));
        Assert.Equal(8, l.TotalCycles);
    }
}
