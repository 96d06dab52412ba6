using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Kernel.Tests.Designs;

public class DesignRegistryTests
{
    /// <summary>A scheme that splits the address space its own way says so in its row (the Lab reads it there).</summary>
    [Theory]
    [InlineData("classic", null)]
    [InlineData("kpti", null)]
    [InlineData("4g4g", LayoutDesign.FourGFourG)]
    [InlineData("x86-4g4g", LayoutDesign.X86FourGFourG)]
    public void EachSchemeRowNamesTheLayoutItNeeds(string baseName, LayoutDesign? layout) =>
        Assert.Equal(layout, DesignRegistry.SchemeNamed(baseName)!.Layout);

    [Fact]
    public void EverySchemeHasOneRow() =>
        Assert.Equal(Enum.GetValues<IsolationScheme>(), DesignRegistry.Schemes.Select(s => s.Scheme).Order());
}
