using Vmsplit.Hardware.Costs;

namespace Vmsplit.Hardware.Tests.Costs;

public class CostCauseNamesTests
{
    /// <summary>Report names are JSON and CSV keys: every cause has one, and no two share it.</summary>
    [Fact]
    public void EveryCauseHasItsOwnKebabCaseName()
    {
        CostCause[] causes = Enum.GetValues<CostCause>();
        string[] names = causes.Select(c => c.Name()).ToArray();
        Assert.Equal(causes.Length, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+(-[a-z]+)*$", n));
        Assert.Equal("pa-va", CostCause.AddressConversion.Name());
        Assert.Equal("user-work", CostCause.UserWork.Name());
        Assert.Throws<ArgumentOutOfRangeException>(() => ((CostCause)200).Name());
    }
}
