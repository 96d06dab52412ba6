using System.Text;
using Vmsplit.Hardware.Input;
using Vmsplit.Hardware.Profiles;
using YamlDotNet.RepresentationModel;

namespace Vmsplit.Hardware.Tests.Input;

public class SafeYamlTests
{
    private sealed class Refusal(string message) : Exception(message);

    private static YamlMappingNode Load(string text) => SafeYaml.LoadMapping(text, "t.yaml", "a mapping", m => new Refusal(m));

    private static string Refused(string text) => Assert.Throws<Refusal>(() => Load(text)).Message;

    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', depth);

    [Fact]
    public void NestingUpToTheLimitLoadsAndOneMoreIsRefused()
    {
        // the root mapping is level 1 and holds 31 more
        YamlMappingNode root = Load(Nested(32));
        int depth = 1;
        for (YamlNode n = root.Children.Values.Single(); n is YamlMappingNode m; n = m.Children.Values.Single())
        {
            depth++;
        }

        Assert.Equal(SafeYaml.MaxDepth, depth);
        Assert.Equal("t.yaml:1: lists and mappings nested more than 32 deep", Refused(Nested(33)));
    }

    [Fact]
    public void AliasesToFinishedNodesLoadAndShareTheirNode()
    {
        YamlMappingNode root = Load("base: &b { value: 1, source: x }\ncopy: *b\nword: &w hi\nagain: *w\n");
        Assert.Same(root.Children[new YamlScalarNode("base")], root.Children[new YamlScalarNode("copy")]);
        Assert.Equal("hi", ((YamlScalarNode)root.Children[new YamlScalarNode("again")]).Value);

        // an anchor defined again inside the node that first carried it: the alias names the latest, a finished scalar
        YamlMappingNode inner = Load("a: &x [ &x 1, *x ]\n");
        Assert.Equal("1", ((YamlScalarNode)((YamlSequenceNode)inner.Children[new YamlScalarNode("a")]).Children[1]).Value);
    }

    [Theory]
    [InlineData("? &a [*a]\n: 1\n", "t.yaml:1: a mapping key must be a plain value, not a list")]
    [InlineData("? {a: 1}\n: 1\n", "t.yaml:1: a mapping key must be a plain value, not a mapping")]
    [InlineData("k: &a v\n*a : 1\n", "t.yaml:2: a mapping key must be a plain value, not an alias")]
    [InlineData("a: &a {b: *a}\n", "t.yaml:1: alias *a lies inside the node it names (a cycle)")]
    [InlineData("a: &a [1, [2, *a]]\n", "t.yaml:1: alias *a lies inside the node it names (a cycle)")]
    [InlineData("a: 1\nb: 2\na: 3\n", "t.yaml:3: duplicate key 'a'")]
    [InlineData("a: {x: 1, x: 2}\n", "t.yaml:1: duplicate key 'x'")]
    [InlineData("a: 1\n...\n---\nb: 2\n", "t.yaml:3: a second YAML document ('---'); a file holds one")]
    [InlineData("a: {\nb: {}\n", "t.yaml:2: malformed YAML (the YAML reader failed here: Operation is not valid due to the current state of the object.)")]
    [InlineData("a: [1,\n", "t.yaml:2: malformed YAML: While parsing a node, did not find expected node content.")]
    [InlineData("a:\n  - : 2, x: 1 }\n", "t.yaml:3: malformed YAML: a mapping key without a value")] // YamlDotNet's model threw ArgumentException (found by the fuzz harness)
    [InlineData("[1, 2]\n", "t.yaml:1: expected a mapping")]
    [InlineData("# only a comment\n", "t.yaml:1: empty; expected a mapping")]
    public void HostileStructuresAreRefusedInOneLocatedLine(string text, string expected) => Assert.Equal(expected, Refused(text));

    [Fact]
    public void ABillionLaughsIsRefusedWithoutExpandingIt()
    {
        StringBuilder yaml = new("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (int i = 1; i < 9; i++)
        {
            yaml.Append($"a{i}: &a{i} [").AppendJoin(", ", Enumerable.Repeat($"*a{i - 1}", 9)).Append("]\n");
        }

        // a_k stands for (9^(k+2) - 1) / 8 nodes: a6 is the first past 10^6 with the nodes before it
        Assert.Equal($"t.yaml:7: more than {SafeYaml.MaxNodes} YAML nodes, counting each alias as the nodes it repeats (an alias bomb?)", Refused(yaml.ToString()));
    }

    [Fact]
    public void TheNodeBudgetCountsPlainNodesToo()
    {
        Assert.StartsWith("t.yaml:1: more than 1000000 YAML nodes", Refused("a: [" + string.Join(",", Enumerable.Repeat("1", 1_000_001)) + "]"));
    }

    [Fact]
    public void StrictDecoding()
    {
        static Exception Fail(string m) => new Refusal(m);
        Assert.Equal("a: é", SafeYaml.Decode([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("a: é")], "t.yaml", Fail));
        Assert.Equal("a: é", SafeYaml.Decode([0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes("a: é")], "t.yaml", Fail));
        Assert.Equal("t.yaml:2: invalid UTF-8 (byte 0xff); is this a YAML text file?", Assert.Throws<Refusal>(() => SafeYaml.Decode([.. "a: 1\nb: "u8, 0xFF], "t.yaml", Fail)).Message);
        Assert.Equal("t.yaml:1: invalid UTF-8 (byte 0xed); is this a YAML text file?", Assert.Throws<Refusal>(() => SafeYaml.Decode([0xED, 0xA0, 0x80], "t.yaml", Fail)).Message); // an encoded surrogate
        Assert.Equal("t.yaml: invalid UTF-16 (the byte order mark says so); save the file as UTF-8", Assert.Throws<Refusal>(() => SafeYaml.Decode([0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00], "t.yaml", Fail)).Message);
    }

    [Fact]
    public void EchoedTextStaysOnOneShortLine()
    {
        Assert.Equal("'a\\nb\\r\\tc\\x00\\u0085'", InputText.Quote("a\nb\r\tc\0\u0085"));
        Assert.Equal("'\\ud800x'", InputText.Quote("\ud800x"));
        Assert.Equal("'\U0001F600'", InputText.Quote("\U0001F600"));
        Assert.Equal(InputText.MaxEcho + 3, InputText.Quote(new string('x', 10_000)).Length); // quotes and the ellipsis
        Assert.DoesNotContain('\n', InputText.OneLine("one\ntwo\u2028three"));
    }
}

public class HostileProfileTests
{
    private static readonly string s_a15 = CpuProfiles.ShippedText("cortex-a15")!;

    private static string Refused(string yaml)
    {
        string message = Assert.Throws<ProfileFormatException>(() => CpuProfileLoader.Parse(yaml, "p.yaml")).Message;
        Assert.DoesNotContain('\n', message);
        return message;
    }

    [Fact]
    public void StackOverflowInputsAreRefused()
    {
        // each overflowed the stack inside YamlDotNet on the main branch before this fix (killing the test host)
        Assert.Equal("p.yaml:1: a mapping key must be a plain value, not a list", Refused("? &a [*a]\n: 1\n"));
        Assert.Equal("p.yaml:2: lists and mappings nested more than 32 deep", Refused("id: x\nname: " + string.Concat(Enumerable.Repeat("{a: ", 20_000))));
    }

    [Fact]
    public void MmuFormatsAreNamesNotNumbersOrFlagLists()
    {
        // Enum.TryParse took "1" and "ArmShort, ArmLpae" (a bitwise OR) as ArmLpae
        Assert.StartsWith("p.yaml:6: mmuFormats[1]: '1' is not an arm MMU format", Refused(s_a15.Replace("mmuFormats: [ArmShort, ArmLpae]", "mmuFormats: [ArmShort, \"1\"]", StringComparison.Ordinal)));
        Assert.StartsWith("p.yaml:6: mmuFormats[0]: 'ArmShort, ArmLpae' is not an arm MMU format", Refused(s_a15.Replace("mmuFormats: [ArmShort, ArmLpae]", "mmuFormats: [\"ArmShort, ArmLpae\"]", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("clockMhz: { value: 1700,", "clockMhz: { value: 1e400,", "p.yaml:13: clockMhz: '1e400' is not a number")]
    [InlineData("clockMhz: { value: 1700,", "clockMhz: { value: .NaN,", "p.yaml:13: clockMhz: '.NaN' is not a number")]
    [InlineData("clockMhz: { value: 1700,", "clockMhz: { value: NaN,", "p.yaml:13: clockMhz: 'NaN' is not a number")]
    [InlineData("clockMhz: { value: 1700,", "clockMhz: { value: -Infinity,", "p.yaml:13: clockMhz: '-Infinity' is not a number")]
    [InlineData("clockMhz: { value: 1700,", "clockMhz: { value: [1700],", "p.yaml:13: clockMhz.value: expected a single value")]
    [InlineData("  asidBits: { value: 8,", "  asidBits: { value: 99999999999,", "p.yaml:15: tlb.asidBits: '99999999999' is not an integer")]
    [InlineData("name: ARM Cortex-A15 MPCore (Exynos 5250)", "name: \"two\\nlines\"", "p.yaml:4: name: 'two\\nlines' must be one line of text without control characters")]
    [InlineData("id: cortex-a15", "id: cortex-a15\nid: again", "p.yaml:4: duplicate key 'id'")]
    public void HostileValuesAreOneLocatedLine(string line, string with, string expected)
    {
        Assert.Contains(line, s_a15);
        Assert.Equal(expected, Refused(s_a15.Replace(line, with, StringComparison.Ordinal)));
    }
}
