using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary>JSON keeps design names as they are typed, so grep and jq find them.</summary>
public class JsonEscapingTests
{
    [Fact]
    public void ComparePrintsAPlusSignUnescaped()
    {
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic,4g4g+pin-kmap", "--workloads", "null", "--ops", "5", "--json", "-");
        Assert.True(code == 0, err);
        Assert.Contains("\"design\": \"4g4g+pin-kmap\"", output);
        Assert.DoesNotContain("\\u002B", output);
        using JsonDocument doc = JsonDocument.Parse(output);
        Assert.Equal("4g4g+pin-kmap", doc.RootElement.GetProperty("budget")[1].GetProperty("design").GetString());
    }

    [Fact]
    public void AuditPrintsAPlusSignUnescaped()
    {
        (int code, string output, string err) = CliHarness.Run("audit", "--arch", "arm-lpae", "--design", "classic+pan", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("\"design\": \"classic+pan\"", output);
    }

    [Fact]
    public void QuotesBackslashesAndControlCharactersStayEscaped()
    {
        string json = Vmsplit.Cli.Reports.JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("s", "a\"b\\c\nd\u0001e+<>&é");
            w.WriteEndObject();
        });
        Assert.Equal("{\n  \"s\": \"a\\\"b\\\\c\\nd\\u0001e+<>&é\"\n}\n", json);
        using JsonDocument doc = JsonDocument.Parse(json);
        Assert.Equal("a\"b\\c\nd\u0001e+<>&é", doc.RootElement.GetProperty("s").GetString());
    }
}
