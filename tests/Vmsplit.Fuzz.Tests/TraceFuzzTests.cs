using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vmsplit.Cli.Tests;
using Vmsplit.Hardware.Input;
using Vmsplit.Workloads;
using Vmsplit.Workloads.Traces;
using Xunit.Abstractions;

namespace Vmsplit.Fuzz.Tests;

/// <summary>
/// The trace readers (strace, valgrind lackey, ChampSim; plain and compressed) and <c>vmsplit replay</c> under mutated
/// traces: every input is read to its end or stops at one located line (a <see cref="WorkloadException"/> starting with
/// <c>FILE:LINE: </c>, ChampSim <c>FILE: record N</c>); the replay exits 0 with JSON, or 2 with one line naming the
/// file. See docs/fuzzing.md.
/// </summary>
public sealed partial class TraceFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vmsplit-trace-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Strace() => Campaign.Run(output, "trace-strace", Campaign.Parser(1_500), r => TraceMutator.Strace(r, r.Pick(TraceSeeds.Strace)), input => Read(input, "fuzz.strace", TraceFormat.Strace), Describe);

    [Fact]
    public void Lackey() => Campaign.Run(output, "trace-lackey", Campaign.Parser(1_000), r => TraceMutator.Lackey(r, TraceSeeds.LackeyWindow(r)), input => Read(input, "fuzz.lackey", TraceFormat.Lackey), Describe);

    [Fact]
    public void ChampSim() => Campaign.Run(output, "trace-champsim", Campaign.Parser(800), r => TraceMutator.ChampSim(r, TraceSeeds.ChampSimWindow(r)), input => Read(input, "fuzz.champsimtrace", TraceFormat.ChampSim), Describe);

    /// <summary>Each format's seeds compressed (gzip, zstd; xz: the repository's .xz traces), then cut and/or with bytes flipped, read through both xz decoders.</summary>
    [Fact]
    public void Compressed() => Campaign.Run(output, "trace-compressed", Campaign.Parser(240), r =>
    {
        (string name, TraceFormat format, byte[] packed) = r.Pick(TraceSeeds.Compressed);
        byte[] b = (byte[])packed.Clone();
        StringBuilder how = new(name);
        if (r.Chance(70))
        {
            int cut = r.Chance(50) ? r.Below(Math.Min(b.Length, 64)) : r.Below(b.Length);
            b = b[..cut];
            how.Append($" cut at {cut}");
        }

        if (r.Chance(60) && b.Length > 0)
        {
            for (int k = r.Between(1, 4); k > 0; k--)
            {
                int at = r.Below(b.Length);
                b[at] ^= (byte)(1 << r.Below(8));
                how.Append($" flip@{at}");
            }
        }

        TraceFile.XzDecoder xz = r.Chance(50) ? TraceFile.XzDecoder.System : TraceFile.XzDecoder.Managed;
        return (Input: new FuzzInput(null, b, how + " " + xz), Format: format, Xz: xz, Name: name);
    }, c => Read(c.Input, c.Name, c.Format, c.Xz), c => Describe(c.Input));

    /// <summary>vmsplit replay in-process over mutated traces of the three formats, under a few option sets.</summary>
    [Fact]
    public void Replay() => Campaign.Run(output, "cli-replay", Campaign.CommandLine(90), r =>
    {
        (FuzzInput input, string name) = r.Below(3) switch
        {
            0 => (TraceMutator.Strace(r, r.Pick(TraceSeeds.Strace)), "fuzz.strace"),
            1 => (TraceMutator.Lackey(r, TraceSeeds.LackeyWindow(r, 300)), "fuzz.lackey"),
            _ => (TraceMutator.ChampSim(r, TraceSeeds.ChampSimWindow(r, 300)), "fuzz.champsimtrace"),
        };
        string[] options = r.Pick(s_replayOptions);
        return (Input: input, Name: name, Options: options);
    }, c =>
    {
        string path = Path.Combine(_dir, c.Name);
        File.WriteAllBytes(path, c.Input.ToBytes());
        (int code, string stdout, string err) = CliHarness.Run(["replay", path, "--format", "json", "--serial", .. c.Options]);
        string outcome = Campaign.Exit((code, stdout, err));
        // the file's errors name the file; the replay's own limits (RAM, 2 MiB areas) name the trace and the design
        if (code == 2 && !err.StartsWith("vmsplit: " + InputText.ShowPath(path) + ":", StringComparison.Ordinal)
            && !err.StartsWith("vmsplit: trace " + TraceFile.NameOf(path) + " does not fit ", StringComparison.Ordinal)
            && !err.StartsWith("vmsplit: trace " + TraceFile.NameOf(path) + ": touches more than ", StringComparison.Ordinal))
        {
            throw new FuzzFinding($"exit 2 without the file's name first: {Campaign.Show(err)}");
        }

        if (code == 0)
        {
            using JsonDocument json = JsonDocument.Parse(stdout);
        }

        return outcome;
    }, c => string.Join(' ', c.Options) + " " + Describe(c.Input));

    [Fact]
    public void TheSeedsRead()
    {
        foreach (string s in TraceSeeds.Strace)
        {
            Assert.Equal("read", Read(new FuzzInput(null, Encoding.Latin1.GetBytes(s), "seed"), "seed.strace", TraceFormat.Strace));
        }

        Assert.Equal("read", Read(new FuzzInput(null, TraceSeeds.ChampSimWindow(new FuzzRandom(1), 50), "seed"), "seed.champsimtrace", TraceFormat.ChampSim));
        foreach ((string name, TraceFormat format, byte[] packed) in TraceSeeds.Compressed)
        {
            Assert.Equal("read", Read(new FuzzInput(null, packed, "seed"), name, format));
        }
    }

    private static readonly string[][] s_replayOptions = [[], ["--preset", "kpti"], ["--machine", "cortex-a8"]];

    private string Read(FuzzInput input, string name, TraceFormat format, TraceFile.XzDecoder xz = TraceFile.XzDecoder.System)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, input.ToBytes());
        string shown = InputText.ShowPath(path);
        try
        {
            ITraceReader reader = TraceFile.OpenReader(path, format, xz);
            using ITraceReader all = input.Length % 3 == 0 ? new ReadAheadTraceReader(reader, 64, 2) : reader;
            TraceRecord record = default;
            while (all.Next(ref record))
            {
            }

            return "read";
        }
        catch (WorkloadException e)
        {
            string m = e.Message;
            if (m.Contains('\n') || m.Contains('\r') || m.Contains('\u2028') || m.Contains('\u0085') || m.Length > 1200)
            {
                throw new FuzzFinding($"the error is not one short line: {Campaign.Show(m)}");
            }

            if (!m.StartsWith(shown + ":", StringComparison.Ordinal) || !Place().IsMatch(m[(shown.Length + 1)..]))
            {
                throw new FuzzFinding($"the error does not start with '{shown}:LINE: ' (or ': record N'): {Campaign.Show(m)}");
            }

            return "refused";
        }
    }

    private static string Describe(FuzzInput input) => input.How + ": " + Encoding.Latin1.GetString(input.ToBytes()[..Math.Min(input.Length, 4000)]);

    [GeneratedRegex(@"^(\d+: | record \d+)")]
    private static partial Regex Place();
}

/// <summary>The traces the trace campaigns start from: the repository's, decompressed (lackey and ChampSim cut into windows).</summary>
internal static class TraceSeeds
{
    public static readonly IReadOnlyList<string> Strace = [.. Directory.GetFiles(RepoPath("tests/traces/strace")).Concat([RepoPath("tests/traces/hand/small.strace")]).Order(StringComparer.Ordinal).Select(p => Encoding.Latin1.GetString(Decompressed(p)))];

    private static readonly Lazy<string[][]> s_lackey = new(() =>
        [.. Directory.GetFiles(RepoPath("tests/traces/lackey")).Order(StringComparer.Ordinal).Select(p => Encoding.Latin1.GetString(Decompressed(p)).Split('\n')),
            File.ReadAllText(RepoPath("tests/traces/hand/small.lackey"), Encoding.Latin1).Split('\n')]);

    private static readonly Lazy<byte[][]> s_champsim = new(() => [.. Directory.GetFiles(RepoPath("tests/traces/champsim")).Order(StringComparer.Ordinal).Select(Decompressed)]);

    /// <summary>(file name, format, compressed bytes): every seed as .gz and .zst, and the repository's .xz traces.</summary>
    public static readonly IReadOnlyList<(string Name, TraceFormat Format, byte[] Packed)> Compressed = Pack();

    /// <summary>Lines of one lackey trace: its head (valgrind's banner and the first accesses) or a window anywhere, with its system-call lines.</summary>
    public static string LackeyWindow(FuzzRandom r, int maxLines = 2_000)
    {
        string[] lines = r.Pick(s_lackey.Value);
        int count = Math.Min(lines.Length, r.Between(1, maxLines));
        int start = r.Chance(40) ? 0 : r.Below(lines.Length - count + 1);
        return string.Join('\n', lines.AsSpan(start, count).ToArray()) + (start + count < lines.Length ? "\n" : "");
    }

    /// <summary>Whole records of one ChampSim trace from anywhere in it.</summary>
    public static byte[] ChampSimWindow(FuzzRandom r, int maxRecords = 2_000)
    {
        byte[] all = r.Pick(s_champsim.Value);
        int records = all.Length / ChampSimReader.RecordBytes;
        int count = Math.Min(records, r.Between(1, maxRecords));
        int start = r.Chance(30) ? 0 : r.Below(records - count + 1);
        return all.AsSpan(start * ChampSimReader.RecordBytes, count * ChampSimReader.RecordBytes).ToArray();
    }

    private static List<(string, TraceFormat, byte[])> Pack()
    {
        List<(string, TraceFormat, byte[])> packed = [];
        FuzzRandom r = new(0x7A11);
        for (int i = 0; i < Strace.Count; i++)
        {
            byte[] text = Encoding.Latin1.GetBytes(Strace[i]);
            packed.Add(($"s{i}.strace.gz", TraceFormat.Strace, Gzip(text)));
            packed.Add(($"s{i}.strace.zst", TraceFormat.Strace, Zstd(text)));
        }

        for (int i = 0; i < 3; i++)
        {
            byte[] lackey = Encoding.Latin1.GetBytes(LackeyWindow(r, 3_000));
            packed.Add(($"l{i}.lackey.gz", TraceFormat.Lackey, Gzip(lackey)));
            packed.Add(($"l{i}.lackey.zst", TraceFormat.Lackey, Zstd(lackey)));
            byte[] champsim = ChampSimWindow(r, 3_000);
            packed.Add(($"c{i}.champsimtrace.gz", TraceFormat.ChampSim, Gzip(champsim)));
            packed.Add(($"c{i}.champsimtrace.zst", TraceFormat.ChampSim, Zstd(champsim)));
        }

        foreach (string xz in new[] { "tests/traces/strace/find.strace.xz", "tests/traces/lackey/cat.lackey.xz", "tests/traces/champsim/cat.champsimtrace.xz" })
        {
            string name = Path.GetFileName(xz);
            packed.Add((name, name.Contains("lackey", StringComparison.Ordinal) ? TraceFormat.Lackey : name.Contains("champsim", StringComparison.Ordinal) ? TraceFormat.ChampSim : TraceFormat.Strace, File.ReadAllBytes(RepoPath(xz))));
        }

        return packed;
    }

    private static byte[] Gzip(byte[] data)
    {
        using MemoryStream ms = new();
        using (GZipStream z = new(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(data);
        }

        return ms.ToArray();
    }

    private static byte[] Zstd(byte[] data)
    {
        using ZstdSharp.Compressor z = new(3);
        return z.Wrap(data).ToArray();
    }

    private static byte[] Decompressed(string path)
    {
        (Stream data, _, _) = TraceFile.Open(path, readAhead: false);
        using MemoryStream ms = new();
        using (data)
        {
            data.CopyTo(ms);
        }

        return ms.ToArray();
    }

    private static string RepoPath(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Vmsplit.slnx")))
            {
                return Path.Combine(d.FullName, relative);
            }
        }

        throw new InvalidOperationException("Vmsplit.slnx not found");
    }
}

/// <summary>
/// Mutations of traces. Text traces are handled as Latin-1 strings (one char per byte, so invalid UTF-8 and NUL bytes
/// survive): line edits (drop, duplicate, swap, cut), unbalanced syntax, split calls mismatched or orphaned across
/// pids, absurd numbers, malformed timestamps and durations, unknown names, garbled signal and exit lines, NUL bytes,
/// invalid UTF-8, CR/LF mixes, a 1 MB line; and sometimes the harness's generic <see cref="Mutator"/>.
/// </summary>
internal static partial class TraceMutator
{
    private static readonly string[] s_numbers =
    [
        "0", "-1", "-2", "1", "4096", "2147483647", "2147483648", "-2147483648", "4294967295", "4294967296", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "18446744073709551615", "18446744073709551616", "1099511627776",
        "1234567890123456789012345678901234567890", "-1234567890123456789012345678901234567890", "0x", "0xffffffffffffffff",
        "0x10000000000000000", "0x7fffffffffff", "0x800000000000", "0xffff800000000000", "99999999999", "1e9", "-0", "00000000000000000000001",
    ];

    private static readonly string[] s_syntax = ["(", ")", "[", "]", "{", "}", "\"", "\\", "\"\\", ",", "<", ">", " = ", "= ?", "...", "/*", "*/", "\t", "\0", "\r", "\r\n", "\n", "\u00ff", "\u00c3", "\u00ed\u00a0\u0080", "\u00c0\u00af"];

    private static readonly string[] s_names = ["frobnicate", "", "read", "write", "clone", "clone3", "vfork", "fork", "execve", "exit", "exit_group", "mmap", "munmap", "brk", "mremap", "pipe", "poll", "wait4", "kill", "rt_sigreturn", "futex", "x", new string('n', 300), "read\0", "syscall_0x1ff", "SYS_1234", "42"];

    private static readonly string[] s_durations = ["<0.000000>", "<>", "<0.>", "<-1.000000>", "<1e400>", "<0.0000001234567890123456789>", "<18446744073709551615.0>", "<0.000005", "0.000005>", "<<0.1>>", "<NaN>", "<0,5>"];

    private static readonly string[] s_times = ["12:00:00.000001", "25:61:61.9", "1700000000.000001", "99999999999999999999.1", "-1.5", "12:00", "::", "1e9", ".", "12:00:00.", "00:00:00.0000000000000000001"];

    private static readonly string[] s_strange =
    [
        "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0} ---", "--- SIG", "--- SIGCHLD {si_signo=SIGCHLD, si_pid=-1} ---", "--- stopped by SIGSTOP ---",
        "--- SIGKILL", "+++ exited with 0 +++", "+++ exited with 256 +++", "+++ exited with -1 +++", "+++ killed by SIGKILL (core dumped) +++", "+++ killed by", "+++", "+++ exited with 18446744073709551615 +++",
        "strace: Process 1 attached", "strace: Process 4294967296 detached", "<... read resumed>) = 3", "<... resumed>", "<... clone resumed>) = 999999999999", "<unfinished ...>",
        " <unfinished ...>)", "read(3, <unfinished ...>", "???( = ?", "= 0", "exit_group(0) = ?", "[pid 2] write(1, \"x\", 1) = 1", "[pid -5] read(0, \"\", 0) = 0",
    ];

    private static readonly string[] s_lackeyAddresses = ["0", "00000000", "ffffffffffffffff", "10000000000000000", "7fffffffffff", "800000000000", "ffff800000000000", "fffffffffffff000", "1", "x", "", "-1", "0x1000", "123456789abcdef0123"];

    private static readonly string[] s_lackeySizes = ["0", "1", "8", "16", "64", "4096", "65536", "4294967296", "18446744073709551615", "-1", "", "x", "99999999999999999999"];

    public static FuzzInput Strace(FuzzRandom r, string seed)
    {
        if (r.Chance(8))
        {
            FuzzInput g = Mutator.Mutate(r, seed, TraceSeeds.Strace);
            return g with { How = "generic:" + g.How };
        }

        if (r.Chance(1))
        {
            // more distinct call names than a trace may bring (SyscallNames.MaxTraceNames)
            StringBuilder many = new(seed);
            for (int k = SyscallNames.MaxTraceNames + r.Between(-2, 2); k > 0; k--)
            {
                many.Append("100 call").Append(k).Append("(1) = 0\n");
            }

            return new FuzzInput(null, Encoding.Latin1.GetBytes(many.ToString()), "many-names");
        }

        (List<string> lines, StringBuilder how) = EditLines(r, seed, (lines, i) => StraceEdit(r, lines, i));

        string text = string.Join('\n', lines);
        if (r.Chance(10) && text.EndsWith('\n'))
        {
            text = text[..^1];
            how.Append("+no-final-newline");
        }

        return new FuzzInput(null, Encoding.Latin1.GetBytes(text), how.ToString());
    }

    public static FuzzInput Lackey(FuzzRandom r, string seed)
    {
        if (r.Chance(8))
        {
            FuzzInput g = Mutator.Mutate(r, seed, [seed]);
            return g with { How = "generic:" + g.How };
        }

        (List<string> lines, StringBuilder how) = EditLines(r, seed, (lines, i) => LackeyEdit(r, lines, i));

        return new FuzzInput(null, Encoding.Latin1.GetBytes(string.Join('\n', lines)), how.ToString());
    }

    public static FuzzInput ChampSim(FuzzRandom r, byte[] seed)
    {
        List<byte> b = [.. seed];
        StringBuilder how = new();
        for (int edits = r.Between(1, 4); edits > 0; edits--)
        {
            int records = b.Count / ChampSimReader.RecordBytes;
            int rec = r.Below(Math.Max(records, 1)) * ChampSimReader.RecordBytes;
            switch (r.Below(7))
            {
                case 0:
                    int cut = r.Below(b.Count + 1);
                    b.RemoveRange(cut, b.Count - cut);
                    how.Append("+cut");
                    break;
                case 1:
                    byte[] noise = new byte[r.Chance(50) ? r.Between(1, 63) : r.Between(1, 4) * ChampSimReader.RecordBytes];
                    for (int k = 0; k < noise.Length; k++)
                    {
                        noise[k] = (byte)r.Next();
                    }

                    b.InsertRange(r.Below(b.Count + 1), noise);
                    how.Append("+random");
                    break;
                case 2:
                case 3:
                    // an extreme address in the ip, a destination or a source
                    if (b.Count >= rec + ChampSimReader.RecordBytes)
                    {
                        int field = r.Pick(new[] { 0, 16, 24, 32, 40, 48, 56 });
                        ulong value = r.Pick(new[] { 0UL, ~0UL, 1UL, 0x0000_8000_0000_0000UL, 0x0000_7fff_ffff_ffffUL, 0xffff_7fff_ffff_ffffUL, 0xffff_8000_0000_0000UL, 0x8000_0000_0000_0000UL, 0xdead_beef_dead_beefUL, 0xffff_ffff_ffff_f000UL, 0xfffUL, 0x1_0000_0000UL });
                        byte[] v = new byte[8];
                        BinaryPrimitives.WriteUInt64LittleEndian(v, value);
                        for (int k = 0; k < 8; k++)
                        {
                            b[rec + field + k] = v[k];
                        }

                        how.Append($"+addr@{field}={value:x}");
                    }

                    break;
                case 4:
                    if (b.Count > 0)
                    {
                        b[r.Below(b.Count)] ^= (byte)(1 << r.Below(8));
                        how.Append("+flip");
                    }

                    break;
                case 5:
                    if (b.Count >= rec + ChampSimReader.RecordBytes)
                    {
                        b[rec + 8] = (byte)r.Between(0, 2);
                        b[rec + 9] = (byte)r.Between(0, 2);
                        how.Append("+branch");
                    }

                    break;
                default:
                    if (b.Count >= rec + ChampSimReader.RecordBytes)
                    {
                        b.InsertRange(r.Below(b.Count / ChampSimReader.RecordBytes + 1) * ChampSimReader.RecordBytes, b.GetRange(rec, ChampSimReader.RecordBytes * Math.Min(r.Between(1, 50), (b.Count - rec) / ChampSimReader.RecordBytes)));
                        how.Append("+repeat");
                    }

                    break;
            }
        }

        return new FuzzInput(null, [.. b], how.ToString());
    }

    // The seed's lines with one edit (six cases in ten) or two to six, each at a line drawn at random and made by `edit`,
    // which returns its name; the names joined by '+'
    private static (List<string> Lines, StringBuilder How) EditLines(FuzzRandom r, string seed, Func<List<string>, int, string> edit)
    {
        List<string> lines = [.. seed.Split('\n')];
        StringBuilder how = new();
        for (int edits = r.Chance(60) ? 1 : r.Between(2, 6); edits > 0; edits--)
        {
            int i = r.Below(lines.Count);
            how.Append(how.Length == 0 ? "" : "+").Append(edit(lines, i));
        }

        return (lines, how);
    }

    // one edit of an strace trace's line i (or a line inserted before it); its name
    private static string StraceEdit(FuzzRandom r, List<string> lines, int i)
    {
        string line = lines[i];
        switch (r.Below(14))
        {
            case 0:
                return LineEdit(r, lines, i);
            case 1:
                int cut = r.Below(line.Length + 1);
                lines[i] = line[..cut];
                if (r.Chance(40) && i + 1 < lines.Count)
                {
                    lines[i] += lines[i + 1];
                    lines.RemoveAt(i + 1);
                }

                return "cut";
            case 2:
                lines[i] = Insert(r, line, r.Pick(s_syntax));
                return "syntax";
            case 3:
                // a call split: the first half kept as unfinished, the resumption under another pid, orphaned or never
                int paren = line.IndexOf('(', StringComparison.Ordinal);
                string name = paren > 0 ? NameBefore(line, paren) : r.Pick(s_names);
                string pid = r.Chance(50) ? PidOf(line) : r.Pick(new[] { "1", "100", "101", "4242", "99999", "-1", "0" });
                lines[i] = r.Chance(70) && line.Length > 0 ? line[..r.Below(line.Length)] + " <unfinished ...>" : line;
                lines.Insert(r.Below(lines.Count + 1), $"{pid} <... {(r.Chance(70) ? name : r.Pick(s_names))} resumed>{(r.Chance(50) ? ", 0" : "")}) = {r.Pick(s_numbers)}");
                return "split";
            case 4:
            case 5:
                lines[i] = ReplaceNumber(r, line, r.Pick(s_numbers));
                return "number";
            case 6:
                lines[i] = DurationPattern().Replace(line, r.Pick(s_durations), 1);
                if (r.Chance(50))
                {
                    lines[i] = TimePattern().Replace(lines[i], r.Pick(s_times), 1);
                }

                return "time";
            case 7:
                lines[i] = CallPattern().Replace(line, m => m.Groups[1].Value + r.Pick(s_names) + "(", 1);
                return "name";
            case 8:
                lines.Insert(i, (r.Chance(50) ? PidOf(line) + " " : "") + Garble(r, r.Pick(s_strange)));
                return "signal/exit";
            case 9:
                lines[i] = ResultPattern().Replace(line, "= " + r.Pick(s_numbers) + (r.Chance(30) ? " E" + r.Pick(new[] { "NOENT", "RESTARTSYS", "", "XYZ" }) + " (x)" : ""), 1);
                return "result";
            case 10:
                lines[i] = Insert(r, line, r.Pick(new[] { "\0", "\0\0\0\0", "\u00ff\u00fe", "\u00c3", "\u00e2\u0082", "\u00f8\u0088\u0080\u0080\u0080" }));
                return "bytes";
            case 11:
                lines[i] = line + (r.Chance(50) ? "\r" : "\r\r");
                if (r.Chance(30))
                {
                    lines[i] = lines[i].Replace(" ", "\r", StringComparison.Ordinal);
                }

                return "cr";
            case 12:
                lines.Insert(i, (line.Length > 0 ? line[..Math.Min(line.Length, 20)] : "") + new string(r.Pick(new[] { 'a', '"', '(', '0', ' ' }), r.Chance(50) ? (1 << 20) + 1 : r.Between(1_000, 100_000)));
                return "long-line";
            default:
                lines[i] = Regex.Replace(line, "\"[^\"]*\"", r.Pick(new[] { "\"", "\"\\\"", "\"abc", "'x'", "\"\\777\\x\"", "\"\"...", "\"\u00ff\"" }));
                return "quotes";
        }
    }

    // one edit of an lackey trace's line i (or a line inserted before it); its name
    private static string LackeyEdit(FuzzRandom r, List<string> lines, int i)
    {
        string line = lines[i];
        switch (r.Below(9))
        {
            case 0:
                return LineEdit(r, lines, i);
            case 1:
                lines[i] = line[..r.Below(line.Length + 1)];
                return "cut";
            case 2:
            case 3:
                // an access line: its address, its size, or its comma
                string kind = r.Pick(new[] { "I  ", " L ", " S ", " M ", " X ", "I ", "  L ", "" });
                string address = r.Pick(s_lackeyAddresses);
                string size = r.Pick(s_lackeySizes);
                lines.Insert(i, r.Below(4) switch
                {
                    0 => $"{kind}{address}{size}",
                    1 => $"{kind}{address},,{size}",
                    _ => $"{kind}{address},{size}",
                });
                return "access";
            case 4:
                lines[i] = ReplaceNumber(r, line, r.Pick(s_numbers));
                return "number";
            case 5:
                lines[i] = line.Replace(",", r.Pick(new[] { "", ",,", " ", ";" }), StringComparison.Ordinal);
                return "commas";
            case 6:
                // a system-call line: numbers, arguments, the async halves orphaned or mismatched
                string call = r.Pick(new[]
                {
                    "SYSCALL[{0},1]({1}) sys_{2} ( {3}, {4}, {5} ) --> [async] ... ",
                    "SYSCALL[{0},1]({1}) ... [async] --> Success(0x{3}) ",
                    "SYSCALL[{0},1]({1}) ... [async] --> Failure(0x{3}) ",
                    "SYSCALL[{0},1]({1}) sys_{2} ( {3}, {4}, {5} )[sync] --> Success(0x{4}) ",
                    "SYSCALL[{0},1]({1}) sys_{2} ( {3}, {4} ) --> [pre-success] Success(0x{5}) ",
                    "SYSCALL[{0},{1}]({2}) sys_{2} ( {3} --> Success(",
                    "SYSCALL[{0},1]({1}) unimplemented (by the kernel) syscall: {1}! (ni_syscall)",
                    " --> [pre-fail] Failure(0x{3}) ",
                    "SYSCALL[",
                    "SYSCALL[{0}",
                });
                lines.Insert(i, string.Format(System.Globalization.CultureInfo.InvariantCulture, call, r.Pick(new[] { "100", "0", "-1", "4294967296", "x" }), r.Pick(new[] { "0", "1", "9", "11", "56", "231", "334", "-1", "99999", "18446744073709551615" }), r.Pick(s_names), r.Pick(s_lackeyAddresses), r.Pick(s_lackeySizes), r.Pick(s_lackeyAddresses)));
                return "syscall";
            case 7:
                lines[i] = Insert(r, line, r.Pick(s_syntax));
                return "syntax";
            default:
                lines.Insert(i, r.Pick(new[] { "==100== ", "==1==", "==", "==100== Warning: set address range perms: large range [0x1000, 0xffffffffffff) (noaccess)", "==-1== x", "==100== " + new string('x', 100_000) }));
                return "valgrind";
        }
    }

    private static string LineEdit(FuzzRandom r, List<string> lines, int i)
    {
        switch (r.Below(3))
        {
            case 0:
                lines.RemoveAt(i);
                return "drop";
            case 1:
                lines.Insert(i, lines[r.Below(lines.Count)]);
                return "duplicate";
            default:
                int j = r.Below(lines.Count);
                (lines[i], lines[j]) = (lines[j], lines[i]);
                return "swap";
        }
    }

    private static string Garble(FuzzRandom r, string s)
    {
        if (r.Chance(50) || s.Length == 0)
        {
            return s;
        }

        int at = r.Below(s.Length);
        return r.Chance(50) ? s[..at] : s.Remove(at, 1).Insert(r.Below(s.Length - 1), r.Pick(s_syntax));
    }

    private static string NameBefore(string line, int paren)
    {
        int start = paren;
        while (start > 0 && (char.IsAsciiLetterOrDigit(line[start - 1]) || line[start - 1] == '_'))
        {
            start--;
        }

        return line[start..paren];
    }

    private static string PidOf(string line)
    {
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && line[..space].All(char.IsAsciiDigit) ? line[..space] : "100";
    }

    private static string Insert(FuzzRandom r, string text, string what)
    {
        int at = r.Below(text.Length + 1);
        return text[..at] + what + text[at..];
    }

    private static string ReplaceNumber(FuzzRandom r, string line, string with)
    {
        MatchCollection numbers = NumberPattern().Matches(line);
        if (numbers.Count == 0)
        {
            return Insert(r, line, with);
        }

        Match m = numbers[r.Below(numbers.Count)];
        return line[..m.Index] + with + line[(m.Index + m.Length)..];
    }

    [GeneratedRegex(@"-?(0x)?[0-9a-fA-F]*[0-9]+")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"<\d+\.\d+>")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"\d+:\d+:\d+\.\d+|\d{9,}\.\d+")]
    private static partial Regex TimePattern();

    [GeneratedRegex(@"(^|\s)[a-z_0-9]+\(")]
    private static partial Regex CallPattern();

    [GeneratedRegex(@"= -?(0x)?[0-9a-f]+")]
    private static partial Regex ResultPattern();
}
