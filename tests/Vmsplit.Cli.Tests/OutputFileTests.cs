using System.Diagnostics;
using System.IO.Pipes;
using System.Runtime.Versioning;
using System.Text.Json;

namespace Vmsplit.Cli.Tests;

/// <summary>
/// Where the output options write (CommandOutputs): <c>-</c> is standard output, FIFOs, devices and
/// descriptors are written in place, symbolic links are followed, only regular files are replaced through a
/// temporary file, every location is checked before the run, and two outputs never name one file. File types
/// are read back with stat(1), not with the code under test. FIFOs, device nodes and /proc/self/fd make these
/// Linux tests.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class OutputFileTests : IDisposable
{
    private const string ValidationPoint = "lmbench-null-pti-off";

    private readonly string _dir = Directory.CreateTempSubdirectory("vmsplit-out-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Each command with its output option, at its cheapest.
    public static TheoryData<string[]> CommandsWithAnOutput() => new()
    {
        { new[] { "compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--json" } },
        { new[] { "compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--csv" } },
        { new[] { "validate", "--only", ValidationPoint, "--json" } },
        { new[] { "bench", "--seconds", "0.05", "--json" } },
        { new[] { "layout", "--ram", "1G", "--format", "json", "--output" } },
        { new[] { "layout", "--ram", "1G", "--format", "svg", "--output" } },
        { new[] { "tlb", "--format", "json", "--output" } },
    };

    [Theory]
    [MemberData(nameof(CommandsWithAnOutput))]
    public void DashIsStandardOutputAndTheOnlyThingPrinted(string[] command)
    {
        (int code, string output, string err) = CliHarness.Run([.. command, "-"]);
        Assert.True(code == 0, err);
        Assert.Equal("", err);
        Assert.False(File.Exists("-"), "a file named '-' was created");
        switch (command[^1])
        {
            case "--csv":
                Assert.StartsWith("design,workload,ops,nsPerOp", output, StringComparison.Ordinal);
                Assert.Equal(2, output.TrimEnd('\n').Split('\n').Length); // the header and classic × null, no text report
                break;
            case "--output" when command.Contains("svg"):
                Assert.StartsWith("<svg", output, StringComparison.Ordinal);
                Assert.EndsWith("</svg>\n", output, StringComparison.Ordinal);
                break;
            default:
                using (JsonDocument.Parse(output))
                {
                    // the whole of standard output is one JSON document: the text report was not printed
                }

                break;
        }
    }

    [Fact]
    public void DashIsTheSameAsNoOutputOptionForLayoutAndTlb()
    {
        Assert.Equal(CliHarness.Run("tlb", "--format", "json"), CliHarness.Run("tlb", "--format", "json", "--output", "-"));
        Assert.Equal(CliHarness.Run("layout", "--ram", "1G"), CliHarness.Run("layout", "--ram", "1G", "--output", "-"));
    }

    [Fact]
    public void TwoOutputsToStandardOutputAreRefusedBeforeTheRun()
    {
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--json", "-", "--csv", "-");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal("vmsplit: --json and --csv both write to standard output ('-'); give one of them a file\n", err);
        Assert.False(File.Exists("-"));
    }

    [Fact]
    public void AFifoIsWrittenInPlace()
    {
        string fifo = Path.Combine(_dir, "report.fifo");
        Tool("mkfifo", fifo);
        using Process reader = Reader(fifo);
        (int code, string output, string err) = CliHarness.Run("tlb", "--format", "json", "--output", fifo);
        Assert.True(code == 0, err);
        Assert.Equal("", output);
        Assert.Equal(CliHarness.Run("tlb", "--format", "json").Out, ReadToEnd(reader));
        Assert.Equal("fifo", Tool("stat", "-c", "%F", fifo));
    }

    [Fact]
    public async Task AProcessSubstitutionPipeIsWrittenInPlace()
    {
        // what bash passes for >(jq .): /dev/fd/N, the write end of a pipe
        using AnonymousPipeServerStream pipe = new(PipeDirection.In);
        string path = "/dev/fd/" + pipe.ClientSafePipeHandle.DangerousGetHandle();
        Task<string> read = Task.Run(() => new StreamReader(pipe).ReadToEnd());
        (int code, _, string err) = CliHarness.Run("compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--csv", path);
        pipe.DisposeLocalCopyOfClientHandle(); // the last write end: the reader sees the end of the data
        Assert.True(code == 0, err);
        Assert.StartsWith("design,workload,ops,nsPerOp", await read.WaitAsync(TimeSpan.FromSeconds(30)), StringComparison.Ordinal);
    }

    [Fact]
    public void ASymbolicLinkStaysAndItsTargetIsReplacedKeepingItsPermissions()
    {
        string target = Path.Combine(_dir, "target.json");
        string link = Path.Combine(_dir, "link.json");
        File.WriteAllText(target, "old");
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.CreateSymbolicLink(link, "target.json");

        (int code, _, string err) = CliHarness.Run("tlb", "--format", "json", "--output", link);
        Assert.True(code == 0, err);
        Assert.Equal("symbolic link", Tool("stat", "-c", "%F", link));
        Assert.Equal("target.json", new FileInfo(link).LinkTarget);
        Assert.Equal(CliHarness.Run("tlb", "--format", "json").Out, File.ReadAllText(target));
        Assert.Equal("600", Tool("stat", "-c", "%a", target));
        Assert.Equal(["link.json", "target.json"], Entries()); // no temporary file left
    }

    [Fact]
    public void ANewFileBehindADanglingLinkIsCreatedAtTheLinksTarget()
    {
        string link = Path.Combine(_dir, "link.txt");
        File.CreateSymbolicLink(link, "made.txt");
        (int code, _, string err) = CliHarness.Run("layout", "--ram", "1G", "--output", link);
        Assert.True(code == 0, err);
        Assert.Equal("symbolic link", Tool("stat", "-c", "%F", link));
        Assert.Equal(CliHarness.Run("layout", "--ram", "1G").Out, File.ReadAllText(Path.Combine(_dir, "made.txt")));
    }

    [Fact]
    public void ASymbolicLinkToADeviceLeavesTheLinkAndTheDevice()
    {
        // A private node of the null device (1,3) when mknod is allowed (root), else /dev/zero, which
        // takes and discards writes: the code under test writes devices in place and never replaces one.
        string device = Path.Combine(_dir, "null");
        if (!TryTool("mknod", device, "c", "1", "3"))
        {
            device = "/dev/zero";
        }

        string link = Path.Combine(_dir, "out.json");
        File.CreateSymbolicLink(link, device);
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--json", link);
        Assert.True(code == 0, err);
        Assert.Contains("Time per operation", output, StringComparison.Ordinal);
        Assert.Equal("symbolic link", Tool("stat", "-c", "%F", link));
        Assert.Equal("character special file", Tool("stat", "-c", "%F", device));
    }

    [Fact]
    public void AnOpenDescriptorOfARegularFileIsAppendedToNotReplaced()
    {
        // vmsplit ... --output /dev/stdout > out: the shell holds the file open, so it is written where it is
        string file = Path.Combine(_dir, "out.txt");
        using FileStream held = new(file, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite);
        held.Write("before\n"u8);
        held.Flush();
        string path = "/proc/self/fd/" + held.SafeFileHandle.DangerousGetHandle();
        (int code, _, string err) = CliHarness.Run("tlb", "--format", "json", "--output", path);
        Assert.True(code == 0, err);
        Assert.Equal("before\n" + CliHarness.Run("tlb", "--format", "json").Out, File.ReadAllText(file));
        Assert.Equal(["out.txt"], Entries());
    }

    [Theory]
    [MemberData(nameof(CommandsWithAnOutput))]
    public void AMissingDirectoryIsReportedBeforeTheRunAndNothingIsWritten(string[] command)
    {
        string missing = Path.Combine(_dir, "no-such-dir", "out");
        (int code, string output, string err) = CliHarness.Run([.. command, missing]);
        Assert.Equal(2, code);
        Assert.Equal("", output); // the text report, printed after a run, never came
        Assert.Equal($"vmsplit: {command[^1]}: cannot write {missing}: directory does not exist\n", err);
        Assert.Empty(Entries());
    }

    [Fact]
    public void ABadSecondOutputStopsTheRunBeforeTheFirstIsWritten()
    {
        string json = Path.Combine(_dir, "a.json");
        string csv = Path.Combine(_dir, "missing", "a.csv");
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--json", json, "--csv", csv);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: --csv: cannot write {csv}: directory does not exist\n", err);
        Assert.Empty(Entries());
    }

    [Fact]
    public void AFailedRunLeavesNoOutputAndNoTemporaryFile()
    {
        string json = Path.Combine(_dir, "a.json");
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic", "--workloads", "wss:4G", "--ops", "5", "--json", json);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("wss:4G", err, StringComparison.Ordinal);
        Assert.Empty(Entries());
    }

    [Theory]
    [InlineData("a.json", "a.json")]
    [InlineData("a.json", "./a.json")]
    [InlineData("a.json", "sub/../a.json")]
    [InlineData("link.json", "a.json")]
    [InlineData("a.json", "link.json")]
    public void TwoOutputsToOneFileAreRefusedBeforeTheRun(string json, string csv)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        File.CreateSymbolicLink(Path.Combine(_dir, "link.json"), "a.json");
        string jsonPath = Path.Combine(_dir, json);
        string csvPath = Path.Combine(_dir, csv);
        (int code, string output, string err) = CliHarness.Run("compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--json", jsonPath, "--csv", csvPath);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: --csv: {csvPath} is the same file as --json {jsonPath}; give each output its own file\n", err);
        Assert.Equal(["link.json", "sub"], Entries());
    }

    [Fact]
    public void TwoSpellingsOfAnExistingFileAreOneFile()
    {
        string a = Path.Combine(_dir, "a.json");
        File.WriteAllText(a, "keep");
        string hard = Path.Combine(_dir, "hard.json");
        Tool("ln", a, hard);
        (int code, _, string err) = CliHarness.Run("compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--json", a, "--csv", hard);
        Assert.Equal(2, code);
        Assert.Contains("is the same file as --json", err, StringComparison.Ordinal);
        Assert.Equal("keep", File.ReadAllText(a));
    }

    [Fact]
    public void AnOutputNeverReplacesAFileTheCommandReads()
    {
        string workload = Path.Combine(_dir, "w.yaml");
        string link = Path.Combine(_dir, "out.csv");
        File.WriteAllText(workload, "not looked at");
        File.CreateSymbolicLink(link, "w.yaml");
        (int code, string output, string err) = CliHarness.Run("compare", "--workloads", "null," + workload, "--csv", link);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: --csv: {link} is the --workloads input {workload}; give the output its own file\n", err);

        string data = Path.Combine(_dir, "points.yaml");
        File.WriteAllText(data, "also not looked at");
        (code, output, err) = CliHarness.Run("validate", "--data", data, "--json", Path.Combine(_dir, ".", "points.yaml"));
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith($"vmsplit: --json: {Path.Combine(_dir, ".", "points.yaml")} is the --data input {data}", err, StringComparison.Ordinal);
        Assert.Equal("not looked at", File.ReadAllText(workload));
        Assert.Equal("also not looked at", File.ReadAllText(data));
    }

    [Fact]
    public void ADirectoryOrATrailingSeparatorIsRefused()
    {
        (int code, _, string err) = CliHarness.Run("tlb", "--output", _dir);
        Assert.Equal(2, code);
        Assert.Equal($"vmsplit: --output: {_dir} is a directory\n", err);

        string slash = Path.Combine(_dir, "new") + "/";
        (code, _, err) = CliHarness.Run("tlb", "--output", slash);
        Assert.Equal(2, code);
        Assert.Equal($"vmsplit: --output: {slash} ends with a directory separator; give a file name\n", err);
        Assert.Empty(Entries());
    }

    [Fact]
    public void AStandardOutputThatFailsLeavesNoFileBehind()
    {
        // the regular file is staged first, the report then fails (a full disk): the staged file goes too
        string json = Path.Combine(_dir, "a.json");
        StringWriter err = new();
        int code = VmsplitCli.Run(["compare", "--designs", "classic", "--workloads", "null", "--ops", "5", "--json", json], new FullWriter(), err);
        Assert.Equal(2, code);
        Assert.Equal("vmsplit: cannot write standard output: No space left on device\n", err.ToString());
        Assert.Empty(Entries());
    }

    [Theory]
    [InlineData(new[] { "compare", "--machine", "cortex\nz9" }, "vmsplit: --machine: unknown CPU profile 'cortex\\nz9'")]
    [InlineData(new[] { "compare", "--preset", "\u001b[31mred" }, "vmsplit: --preset: unknown preset '\\x1b[31mred'")]
    [InlineData(new[] { "tlb", "--output", "no\ndir/x.json" }, "vmsplit: --output: cannot write no\\ndir/x.json: directory does not exist")]
    [InlineData(new[] { "layout", "--ram", "1G", "--output", "tab\there/\r.svg" }, "vmsplit: --output: cannot write tab\\there/\\r.svg: directory does not exist")]
    [InlineData(new[] { "compare", "--bogus\nline" }, "vmsplit: unknown option '--bogus\\nline' for 'vmsplit compare'")]
    public void ControlCharactersInAnEchoedValueAreEscaped(string[] args, string start)
    {
        (int code, string output, string err) = CliHarness.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith(start, err, StringComparison.Ordinal);
        Assert.Equal(err.Length - 1, err.IndexOf('\n', StringComparison.Ordinal)); // one line
    }

    [Theory]
    [InlineData("plain 'text' \\ kept", "plain 'text' \\ kept")]
    [InlineData("a\nb\r\tc", "a\\nb\\r\\tc")]
    [InlineData("\0\u0007\u001b\u007f", "\\x00\\x07\\x1b\\x7f")]
    [InlineData("next\u0085line\u2028sep\u2029para", "next\\u0085line\\u2028sep\\u2029para")]
    [InlineData("é ü 漢字", "é ü 漢字")]
    public void PrintableEscapesExactlyTheControlCharacters(string message, string expected)
    {
        Assert.Equal(expected, VmsplitCli.Printable(message));
    }

    private sealed class FullWriter : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => throw new IOException("No space left on device");

        public override void Write(string? value) => throw new IOException("No space left on device");
    }

    private string[] Entries() => Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static Process Reader(string fifo)
    {
        ProcessStartInfo start = new("cat", [fifo]) { RedirectStandardOutput = true, UseShellExecute = false };
        return Process.Start(start)!;
    }

    private static string ReadToEnd(Process reader)
    {
        Task<string> text = reader.StandardOutput.ReadToEndAsync();
        if (!reader.WaitForExit(30_000))
        {
            reader.Kill(); // nothing opened the FIFO for writing
            Assert.Fail("the FIFO was not written");
        }

        return text.Result;
    }

    private static string Tool(string name, params string[] args)
    {
        ProcessStartInfo start = new(name, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using Process p = Process.Start(start)!;
        string output = p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{name} {string.Join(' ', args)}: {err}");
        return output.TrimEnd('\n');
    }

    private static bool TryTool(string name, params string[] args)
    {
        ProcessStartInfo start = new(name, args) { RedirectStandardError = true, UseShellExecute = false };
        using Process p = Process.Start(start)!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    }
}
