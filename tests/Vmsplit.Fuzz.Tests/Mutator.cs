using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Vmsplit.Fuzz.Tests;

/// <summary>One fuzz input: text, or raw bytes when a mutation broke the encoding on purpose.</summary>
internal readonly record struct FuzzInput(string? Text, byte[]? Bytes, string How)
{
    public byte[] ToBytes() => Bytes ?? Encoding.UTF8.GetBytes(Text!);

    public int Length => Bytes?.Length ?? Text!.Length;
}

/// <summary>
/// The seeded mutator: stacks one to six edits on a seed document (values, numbers, keys, lines,
/// indentation, YAML syntax, spans, truncation), sometimes breaks the bytes, and sometimes replaces the
/// whole document with a generated hostile one (deep nesting, alias bombs and cycles, long lines, many
/// keys, binary, empty, over-size). Everything is driven by a <see cref="FuzzRandom"/>.
/// </summary>
internal static partial class Mutator
{
    /// <summary>Values a field can be given: wrong types, boundaries, NaN and infinities, YAML syntax, control characters.</summary>
    public static readonly string[] HostileValues =
    [
        "", "\"\"", "''", "~", "null", "true", "false", "yes", "no", "[]", "{}", "[1, 2]", "{ a: 1 }", "[[[[1]]]]",
        "0", "-0", "1", "-1", "+5", "00", "007", "1_000", "0.0", "1.5", "-1.5", "1e3", "1e308", "1e400", "-1e400", "1e-400",
        "NaN", "nan", ".nan", ".NaN", "inf", ".inf", "-.inf", "Infinity", "-Infinity",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "99999999999999999999999999",
        "0x", "0x0", "0xfff", "0xffffffff", "0xffffffffffffffff", "0x10000000000000000", "0X1G", "0xg", "-0x10",
        "4K", "4k", "4KiB", "4 K", "4KB", "4Q", "1.5M", "-4K", "64K", "1M", "4G", "16G", "1T", "1P", "16E", "17E", "4097", "0K",
        "*a", "&a 1", "!!int 5", "!!str 5", "!!binary aGk=", "!custom x", "? x", "- x", "a: b", "a:b", "'single'", "\"double\"",
        "\"\\u0000\"", "\"\\n\"", "\"a\\nb\"", "\"\\t\"", "\"\\u2028\"", "\"\\uD800\"", "|\n  block text", ">\n  folded", "#", "% x",
        "é", "\U0001F600", "ｆｕｌｌ", "a\u0301", "\u202Eevil",
        "getppid", "read", "write", "stat", "open", "close", "mmap", "munmap", "fork", "exit", "wait4", "frobnicate",
        "pipe", "pagecache", "zero", "file", "anonymous", "buffer", "heap",
        "classic", "kpti", "4g4g", "4g4g+hybrid", "kpti+nopcid", "x86-64", "x86-pae", "arm", "arm-lpae", "aarch64", "riscv64",
        "skylake", "cortex-a15", "haswell", "nowhere", "time-per-op", "time-difference", "flush-cycles",
        "page-table-bytes-difference", "flush_tlb_mm_range", "flush_tlb_local", "all", "operation", "context-switch",
        "1 us", "0.1 ns", "5 bytes", "3 cycles", "1e400 us", "NaN us", "-1 us", "0 us", "1 parsec",
        "lru", "plru", "random", "native", "splintered", "ArmShort", "ArmLpae", "X86_64", "RiscvSv39", "1", "ArmShort, ArmLpae",
    ];

    /// <summary>Text that breaks YAML structure when inserted anywhere.</summary>
    private static readonly string[] s_syntax =
    [
        "{", "}", "[", "]", ",", ":", ": ", "- ", "? ", "&a ", "*a", "*b ", "&a [*a] ", "!!str ", "!!map ", "\"", "'", "#", "|", ">",
        "\n", "\t", "\r", "\r\n", "---\n", "...\n", "%YAML 1.2\n", "%TAG ! tag:x:\n", "\\", "\uFEFF", "\u0000", "\u0085",
        "\u2028", "\u00A0", "\u0007", "\u001B[31m", "<<: *a\n", "? [a]\n: 1\n", "a: {\n", "{a: ", "  ", "    ",
    ];

    private static readonly string[] s_keys =
    [
        "id", "name", "value", "source", "assumption", "operation", "regions", "datapoints", "model", "published", "ops",
        "repeat", "every", "process", "processes", "switch", "syscall", "touch", "bytes", "size", "offset", "region",
        "file", "tlb", "costs", "cache", "main", "entries", "ways", "pageSizes", "x", "", "<<", "colour", "VALUE",
    ];

    public static FuzzInput Mutate(FuzzRandom r, string seed, IReadOnlyList<string> corpus)
    {
        if (r.Chance(4))
        {
            return Hostile(r, seed);
        }

        string text = seed;
        int edits = r.Chance(70) ? r.Between(1, 2) : r.Between(3, 6);
        StringBuilder how = new();
        for (int i = 0; i < edits; i++)
        {
            (text, string what) = Edit(r, text, corpus);
            how.Append(i == 0 ? "" : "+").Append(what);
        }

        if (r.Chance(6))
        {
            return new FuzzInput(null, BreakBytes(r, Encoding.UTF8.GetBytes(text)), how + "+bytes");
        }

        return new FuzzInput(text, null, how.ToString());
    }

    private static (string Text, string What) Edit(FuzzRandom r, string text, IReadOnlyList<string> corpus)
    {
        switch (r.Below(13))
        {
            case 0:
            case 1:
            case 2:
                return (ReplaceValue(r, text), "value");
            case 3:
            case 4:
                return (ReplaceNumber(r, text), "number");
            case 5:
                return (LineEdit(r, text, corpus), "line");
            case 6:
                return (Indent(r, text), "indent");
            case 7:
            case 8:
                return (Insert(r, text, r.Pick(s_syntax)), "syntax");
            case 9:
                return (RenameKey(r, text), "key");
            case 10:
                return (Span(r, text), "span");
            case 11:
                return (text.Length == 0 ? text : text[..r.Below(text.Length)], "truncate");
            default:
                return (Insert(r, text, ((char)r.Between(0, 0x2FF)).ToString()), "char");
        }
    }

    private static string ReplaceValue(FuzzRandom r, string text)
    {
        MatchCollection values = ValuePattern().Matches(text);
        if (values.Count == 0)
        {
            return Insert(r, text, r.Pick(HostileValues));
        }

        Match m = values[r.Below(values.Count)];
        Group g = m.Groups["v"];
        string with = r.Chance(3) ? new string(r.Chance(50) ? 'x' : '9', r.Between(1_000, 100_000)) : r.Pick(HostileValues);
        return text[..g.Index] + with + text[(g.Index + g.Length)..];
    }

    private static string ReplaceNumber(FuzzRandom r, string text)
    {
        MatchCollection numbers = NumberPattern().Matches(text);
        if (numbers.Count == 0)
        {
            return ReplaceValue(r, text);
        }

        Match m = numbers[r.Below(numbers.Count)];
        string with = r.Below(4) switch
        {
            0 => r.Pick(HostileValues),
            1 => (long.TryParse(m.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v + r.Between(-2, 2) : 0).ToString(CultureInfo.InvariantCulture),
            2 => m.Value + m.Value,
            _ => "-" + m.Value,
        };
        return text[..m.Index] + with + text[(m.Index + m.Length)..];
    }

    private static string LineEdit(FuzzRandom r, string text, IReadOnlyList<string> corpus)
    {
        List<string> lines = [.. text.Split('\n')];
        int i = r.Below(lines.Count);
        switch (r.Below(5))
        {
            case 0:
                lines.RemoveAt(i);
                break;
            case 1:
                lines.Insert(i, lines[r.Below(lines.Count)]);
                break;
            case 2:
                int j = r.Below(lines.Count);
                (lines[i], lines[j]) = (lines[j], lines[i]);
                break;
            case 3:
                string[] other = r.Pick(corpus).Split('\n');
                lines.Insert(i, other[r.Below(other.Length)]);
                break;
            default:
                for (int k = r.Between(1, 64); k > 0; k--)
                {
                    lines.Insert(i, lines[i]);
                }

                break;
        }

        return string.Join('\n', lines);
    }

    private static string Indent(FuzzRandom r, string text)
    {
        List<string> lines = [.. text.Split('\n')];
        int i = r.Below(lines.Count);
        lines[i] = r.Chance(50) ? new string(r.Chance(80) ? ' ' : '\t', r.Between(1, 4)) + lines[i] : lines[i].TrimStart();
        return string.Join('\n', lines);
    }

    private static string RenameKey(FuzzRandom r, string text)
    {
        MatchCollection keys = KeyPattern().Matches(text);
        if (keys.Count == 0)
        {
            return text;
        }

        Group g = keys[r.Below(keys.Count)].Groups["k"];
        return text[..g.Index] + r.Pick(s_keys) + text[(g.Index + g.Length)..];
    }

    private static string Span(FuzzRandom r, string text)
    {
        if (text.Length < 2)
        {
            return text + text;
        }

        int start = r.Below(text.Length);
        int length = Math.Min(r.Between(1, 40), text.Length - start);
        return r.Chance(50)
            ? text.Remove(start, length)
            : text.Insert(r.Below(text.Length), text.Substring(start, length));
    }

    private static string Insert(FuzzRandom r, string text, string what)
    {
        int at = r.Below(text.Length + 1);
        return text[..at] + what + text[at..];
    }

    private static byte[] BreakBytes(FuzzRandom r, byte[] bytes)
    {
        List<byte> b = [.. bytes];
        switch (r.Below(6))
        {
            case 0:
                b.InsertRange(0, r.Pick(new byte[][] { [0xEF, 0xBB, 0xBF], [0xFF, 0xFE], [0xFE, 0xFF], [0xFF, 0xFE, 0, 0], [0, 0, 0xFE, 0xFF] }));
                break;
            case 1:
                b.Insert(r.Below(b.Count + 1), r.Pick(new byte[] { 0xFF, 0xC3, 0x80, 0xED, 0xF8, 0xC0 }));
                break;
            case 2:
                for (int k = r.Between(1, 8); k > 0 && b.Count > 0; k--)
                {
                    b[r.Below(b.Count)] ^= (byte)(1 << r.Below(8));
                }

                break;
            case 3:
                b.InsertRange(r.Below(b.Count + 1), new byte[] { 0xED, 0xA0, 0x80 }); // an encoded surrogate
                break;
            case 4:
                b.InsertRange(r.Below(b.Count + 1), new byte[] { 0xC0, 0xAF }); // an overlong '/'
                break;
            default:
                b.Add(0xE2); // a truncated sequence at the end
                break;
        }

        return [.. b];
    }

    /// <summary>A generated document that attacks the reader rather than the schema.</summary>
    public static FuzzInput Hostile(FuzzRandom r, string seed)
    {
        switch (r.Below(14))
        {
            case 0:
                {
                    int depth = r.Chance(50) ? r.Between(20, 40) : r.Between(1_000, 30_000);
                    return new(seed + "\nx: " + string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', r.Chance(50) ? depth : 0), null, $"flow-depth-{depth}");
                }

            case 1:
                {
                    int depth = r.Between(20, 300);
                    StringBuilder b = new(seed + "\n");
                    for (int i = 0; i < depth; i++)
                    {
                        b.Append(' ', i).Append(r.Chance(50) ? "a:\n" : "- ");
                        if (b[^1] == ' ')
                        {
                            b.Append('\n');
                        }
                    }

                    return new(b.ToString(), null, $"block-depth-{depth}");
                }

            case 2:
                return new(seed + "\nx: " + new string('[', r.Between(30, 50_000)), null, "open-lists");
            case 3:
                {
                    int levels = r.Between(3, 10);
                    int width = r.Between(2, 10);
                    StringBuilder b = new(seed + "\nb0: &b0 [lol]\n");
                    for (int i = 1; i < levels; i++)
                    {
                        b.Append($"b{i}: &b{i} [").AppendJoin(", ", Enumerable.Repeat($"*b{i - 1}", width)).Append("]\n");
                    }

                    return new(b.ToString(), null, $"laughs-{levels}x{width}");
                }

            case 4:
                return new(r.Pick(new[] { "? &a [*a]\n: 1\n", "a: &a [*a]\n", "a: &a {b: *a}\n", "&a [*a]: 1\n", "*a : 1\n", "? &a {*a: 1}\n: 2\n" }) + seed, null, "cycle");
            case 5:
                return new(seed + "\nx: " + new string('y', r.Between(10_000, 500_000)) + "\n", null, "long-line");
            case 6:
                {
                    StringBuilder b = new(seed + "\n");
                    for (int i = r.Between(1_000, 20_000); i > 0; i--)
                    {
                        b.Append("k").Append(i).Append(": ").Append(i).Append('\n');
                    }

                    return new(b.ToString(), null, "many-keys");
                }

            case 7:
                return new(r.Pick(new[] { "", " ", "\n\n", "\uFEFF", "#", "---", "...", "~", "- 1", "a", "[]", "{}", "\"x\"", "!!binary aGk=" }), null, "tiny");
            case 8:
                {
                    byte[] b = new byte[r.Between(1, 4096)];
                    for (int i = 0; i < b.Length; i++)
                    {
                        b[i] = (byte)r.Next();
                    }

                    return new(null, b, "binary");
                }

            case 9:
                {
                    StringBuilder b = new();
                    for (int i = r.Between(1, 2000); i > 0; i--)
                    {
                        b.Append((char)r.Between(9, 126));
                    }

                    return new(b.ToString(), null, "ascii-noise");
                }

            case 10:
                return r.Chance(10)
                    ? new(null, Encoding.UTF8.GetBytes(seed + "\n#" + new string('z', (4 << 20) + 1)), "over-size")
                    : new(seed + "\n" + seed, null, "twice");
            case 11:
                return new(seed.Replace("\n", "\r\n", StringComparison.Ordinal), null, "crlf");
            case 12:
                return new(seed.Replace("\n", "\r", StringComparison.Ordinal), null, "cr");
            default:
                return new(null, [.. Encoding.UTF8.GetBytes(seed), .. Enumerable.Repeat((byte)0, r.Between(1, 100))], "nul-tail");
        }
    }

    /// <summary>An option value: a valid example edited character by character, or a hostile value.</summary>
    public static string OptionValue(FuzzRandom r, IReadOnlyList<string> examples)
    {
        if (r.Chance(15))
        {
            return r.Pick(HostileValues);
        }

        string text = r.Pick(examples);
        const string alphabet = "0123456789abcdefxKMGTPEiB:=,-_. \n\tgwrxusdevncoblaxz+/\\*&'\"é\u0000";
        for (int edits = r.Between(1, 3); edits > 0; edits--)
        {
            int at = r.Below(text.Length + 1);
            text = r.Below(4) switch
            {
                0 when text.Length > 0 && at < text.Length => text.Remove(at, 1),
                1 => text[..at] + alphabet[r.Below(alphabet.Length)] + text[at..],
                2 when text.Length > 0 && at < text.Length => text[..at] + alphabet[r.Below(alphabet.Length)] + text[(at + 1)..],
                _ => ReplaceNumber(r, text),
            };
        }

        return text;
    }

    // a mapping value: after "key: " up to the end of the line, a comma or a closing brace
    [GeneratedRegex(@"(?<=[A-Za-z0-9_\]""]:[ ]+)(?<v>[^\n,{}\[\]]*)")]
    private static partial Regex ValuePattern();

    [GeneratedRegex(@"\d+(\.\d+)?")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"(?<k>[A-Za-z_][A-Za-z0-9_]*)(?=:\s)")]
    private static partial Regex KeyPattern();
}
