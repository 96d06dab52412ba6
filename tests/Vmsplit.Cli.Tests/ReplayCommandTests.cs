using System.Diagnostics;
using System.Text.Json;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Profiles;
using Vmsplit.Kernel.Designs;
using Vmsplit.Kernel.Layout;
using Vmsplit.Lab;

namespace Vmsplit.Cli.Tests;

public class ReplayCommandTests
{
    public static TheoryData<string, string> RepositoryTraces()
    {
        TheoryData<string, string> rows = new();
        foreach (string dir in new[] { "lackey", "strace", "champsim" })
        {
            foreach (string f in Directory.GetFiles(RepoFiles.PathOf("tests/traces/" + dir)).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                rows.Add(Path.GetRelativePath(RepoFiles.Root, f), "seeds");
                rows.Add(Path.GetRelativePath(RepoFiles.Root, f), "kpti");
            }
        }

        return rows;
    }

    private static JsonElement Json(string output) => JsonDocument.Parse(output).RootElement;

    /// <summary>Lines (records for ChampSim) that the events account for, summed as the report gives them.</summary>
    private static long Accounted(JsonElement events)
    {
        long n = events.GetProperty("fetches").GetInt64() + events.GetProperty("loads").GetInt64() + events.GetProperty("stores").GetInt64()
            + events.GetProperty("modifies").GetInt64() + events.GetProperty("syscalls").GetInt64() + events.GetProperty("exitLines").GetInt64()
            + events.GetProperty("signalsDelivered").GetInt64() + events.GetProperty("afterExit").GetInt64();
        foreach (JsonProperty p in events.GetProperty("skipped").EnumerateObject())
        {
            n += p.Value.GetInt64();
        }

        return n;
    }

    [Theory]
    [MemberData(nameof(RepositoryTraces))]
    public void EachRecordedTraceReplaysWithEveryLineAccountedFor(string trace, string preset)
    {
        (int code, string output, string err) = CliHarness.Run("replay", RepoFiles.PathOf(trace), "--preset", preset, "--format", "json");
        Assert.True(code == 0, err);
        JsonElement j = Json(output);
        JsonElement events = j.GetProperty("events");
        string name = Path.GetFileName(trace).Split('.')[0];
        Assert.All(j.GetProperty("results").EnumerateArray(), r => Assert.Equal(name, r.GetProperty("workload").GetString()));
        Assert.Equal(preset == "kpti" ? 4 : 6, j.GetProperty("results").GetArrayLength());
        if (events.TryGetProperty("lines", out JsonElement lines))
        {
            Assert.Equal(lines.GetInt64(), Accounted(events));
            Assert.True(events.GetProperty("syscalls").GetInt64() > 0);
        }
        else
        {
            Assert.Equal(events.GetProperty("records").GetInt64(), events.GetProperty("fetches").GetInt64());
            Assert.True(events.GetProperty("callsInjected").GetInt64() > 0);
        }
    }

    [Fact]
    public void TheTextReportEndsWithTheEventsTheTlbAndTheCostliestCalls()
    {
        (int code, string text, string err) = CliHarness.Run("replay", RepoFiles.PathOf("tests/traces/hand/small.strace"), "--preset", "kpti");
        Assert.True(code == 0, err);
        string output = System.Text.RegularExpressions.Regex.Replace(text, "\n +", " "); // paragraphs unwrapped
        Assert.Contains("Note: trace small: strace (detected: the file name contains 'strace'); one operation is the whole trace", output);
        Assert.Contains("Trace small: every line's event", output);
        Assert.Contains("38 lines: 0 instruction fetches, 0 loads, 0 stores, 0 modifies; 27 system calls (22 on the model's paths, 5 generic)", output);
        Assert.Contains("3 signals delivered to a handler (1 on a return that delivered another)", output);
        Assert.Contains("4 calls interrupted by a signal (ERESTARTSYS 2, ERESTARTNOINTR 0, ERESTARTNOHAND 0, ERESTART_RESTARTBLOCK 2)", output);
        Assert.Contains("3 restarted by the kernel (2 through restart_syscall; the restart is the process's next call), 0 returned EINTR, 1 ended with their process or the trace; 1 signals delivered on the interrupted call's own return; 2 restart_syscall calls ran their call's restart, 0 as generic", output);
        Assert.Contains("1 killed by a signal (1 in the kernel)", output);
        Assert.Contains("TLB over the whole trace", output);
        Assert.Contains("Top system calls by added cost", output);
        Assert.Contains("kpti+nopcid: ", output);
    }

    [Fact]
    public void TheOutputIsByteIdenticalTwice()
    {
        string trace = RepoFiles.PathOf("tests/traces/lackey/cat.lackey.xz");
        (int a, string first, _) = CliHarness.Run("replay", trace, "--designs", "classic,4g4g+trampoline", "--format", "json");
        (int b, string second, _) = CliHarness.Run("replay", trace, "--designs", "classic,4g4g+trampoline", "--format", "json", "--serial");
        Assert.Equal((0, 0), (a, b));
        Assert.Equal(first, second);
    }

    /// <summary>
    /// --randomize-va-space 0 (norandmaps) leaves execve's stack where the seed cannot move it: an x86-64 replay of
    /// a trace whose processes exec four times gives the same report for two seeds; with the default, 2, arch_align_stack's
    /// get_random_int() % 8192 (arch/x86/kernel/process.c) moves each new stack by a seed-drawn offset, the lines
    /// and pages create_elf_tables writes change, and so does the time of the trace.
    /// </summary>
    [Fact]
    public void RandomizeVaSpaceZeroMakesTheExecStackIndependentOfTheSeed()
    {
        string trace = RepoFiles.PathOf("tests/traces/strace/pipeline.strace.gz");
        string Run(string seed, params string[] more)
        {
            (int code, string output, string err) = CliHarness.Run(["replay", trace, "--machine", "skylake", "--arch", "x86-64", "--designs", "classic", "--seed", seed, "--format", "json", .. more]);
            Assert.True(code == 0, err);
            return output;
        }

        double NsPerOp(string json) => Json(json).GetProperty("results")[0].GetProperty("nsPerOp").GetDouble();
        Assert.Equal(4, Json(Run("1")).GetProperty("events").GetProperty("processes").GetProperty("execs").GetInt64());

        string off1 = Run("1", "--randomize-va-space", "0");
        string off2 = Run("2", "--randomize-va-space", "0");
        Assert.Equal(off1, off2);

        string on1 = Run("1");
        string on2 = Run("2");
        Assert.NotEqual(NsPerOp(on1), NsPerOp(on2));
        Assert.Equal(on1, Run("1", "--randomize-va-space", "2"));
        Assert.NotEqual(NsPerOp(off1), NsPerOp(on1));

        // 1 randomises what 2 does in the model (only the stack): the same report
        Assert.Equal(on2, Run("2", "--randomize-va-space", "1"));
    }

    [Theory]
    [InlineData("replay", "3")]
    [InlineData("replay", "-1")]
    [InlineData("compare", "two")]
    [InlineData("compare", "")]
    public void ARandomizeVaSpaceOutOfRangeIsOneLineNamingTheOption(string command, string value)
    {
        string[] args = command == "replay"
            ? ["replay", RepoFiles.PathOf("tests/traces/hand/small.strace"), "--randomize-va-space", value]
            : ["compare", "--workloads", "null", "--ops", "5", "--randomize-va-space", value];
        (int code, string output, string err) = CliHarness.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: --randomize-va-space: '{value}' is not 0, 1 or 2 (kernel.randomize_va_space: 0 none, 1 the stack, 2 also the heap)\n", err);
    }

    [Fact]
    public void FormatAlsoTakesATraceFormatName()
    {
        (int code, string output, string err) = CliHarness.Run("replay", RepoFiles.PathOf("tests/traces/hand/small.strace"), "--format", "strace", "--designs", "classic");
        Assert.True(code == 0, err);
        Assert.Contains("strace (given)", output);
    }

    [Theory]
    [InlineData("bad.lackey", "I  0401,3\n L zz,4\n", "bad.lackey:2: an access is 'ADDR,SIZE' with a hex address: 'zz,4'")]
    [InlineData("bad.strace", "read(3, \"abc\", 4096) = 3\nread(3, \"ab\n", "bad.strace:2: a string argument does not end (a truncated line?): 'read(3, \"ab'")]
    [InlineData("cut.strace", "getpid() = 1\ngetpid(", "cut.strace:2: the trace is truncated: its last line has no end of line ('getpid(')")]
    public void AMalformedTraceIsOneLineNamingTheLineAndExitCode2(string name, string text, string message)
    {
        string dir = Directory.CreateTempSubdirectory("vmsplit-replay").FullName;
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        (int code, string output, string err) = CliHarness.Run("replay", path, "--designs", "classic");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"vmsplit: {dir}/{message}\n", err);
    }

    [Fact]
    public void ATruncatedChampSimTraceNamesTheRecord()
    {
        string dir = Directory.CreateTempSubdirectory("vmsplit-replay").FullName;
        string path = Path.Combine(dir, "t.champsimtrace");
        byte[] rec = new byte[64 + 10];
        rec[0] = 0x10;
        File.WriteAllBytes(path, rec);
        (int code, _, string err) = CliHarness.Run("replay", path, "--designs", "classic");
        Assert.Equal(2, code);
        Assert.Equal($"vmsplit: {path}: record 1 is truncated: 10 of its 64 bytes (the trace ends inside it)\n", err);
    }

    [Theory]
    [InlineData("--trace-format", "ltrace", "vmsplit: --trace-format: unknown trace format 'ltrace' (use strace, lackey or champsim); did you mean 'strace'?")]
    [InlineData("--syscall-every", "10", "vmsplit: --syscall-every and --syscall inject calls into ChampSim traces; a strace trace has its own")]
    [InlineData("--user-wss", "5000", "vmsplit: --user-wss: 5000 is not a multiple of 4K")]
    public void BadOptionsAreOneLineAndExitCode2(string option, string value, string message)
    {
        (int code, string output, string err) = CliHarness.Run("replay", RepoFiles.PathOf("tests/traces/hand/small.strace"), option, value);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith(message, err.TrimEnd('\n'));
    }

    [Fact]
    public void AMissingTraceIsOneLine()
    {
        (int code, _, string err) = CliHarness.Run("replay", "/nonexistent/trace.strace");
        Assert.Equal(2, code);
        Assert.StartsWith("vmsplit: trace '/nonexistent/trace.strace': cannot be read", err);
    }

    private static bool Has(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, tool)))
            {
                return true;
            }
        }

        return false;
    }

    private static void Record(string tool, params string[] args)
    {
        ProcessStartInfo psi = new(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    /// <summary>
    /// A trace recorded now, of a small program, replays: strace -f of a two-process pipeline and valgrind lackey of
    /// /bin/true. .ci/run installs strace (valgrind is on the base image); without them the test has nothing to
    /// record and returns (xunit 2 has no run-time skip).
    /// </summary>
    [Fact]
    public void AFreshlyRecordedTraceReplays()
    {
        string dir = Directory.CreateTempSubdirectory("vmsplit-record").FullName;
        if (Has("strace"))
        {
            string trace = Path.Combine(dir, "fresh.strace");
            Record("strace", "-f", "-tt", "-T", "-y", "-o", trace, "sh", "-c", "echo hello | cat > /dev/null");
            (int code, string output, string err) = CliHarness.Run("replay", trace, "--preset", "kpti", "--format", "json");
            Assert.True(code == 0, err);
            JsonElement events = Json(output).GetProperty("events");
            Assert.Equal(events.GetProperty("lines").GetInt64(), Accounted(events));
            Assert.True(events.GetProperty("processes").GetProperty("forks").GetInt64() >= 1);
        }

        if (Has("valgrind"))
        {
            string trace = Path.Combine(dir, "fresh.lackey");
            Record("valgrind", "--tool=lackey", "--trace-mem=yes", "--trace-syscalls=yes", "--log-file=" + trace, "/bin/true");
            (int code, string output, string err) = CliHarness.Run("replay", trace, "--designs", "classic,4g4g+ttbr0-switch", "--format", "json");
            Assert.True(code == 0, err);
            JsonElement events = Json(output).GetProperty("events");
            Assert.Equal(events.GetProperty("lines").GetInt64(), Accounted(events));
            Assert.True(events.GetProperty("fetches").GetInt64() > 10_000);
        }

        Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Every design the parser accepts, on every shipped machine, replays a small trace of each format: a result or a
    /// documented refusal (a CPU feature the design needs, a layout Linux does not document), never an internal error.
    /// </summary>
    [Theory]
    [MemberData(nameof(EveryCombinationTests.MachineRows), MemberType = typeof(EveryCombinationTests))]
    public void EveryAcceptedDesignReplaysEachFormat(string profileId, string archName)
    {
        CpuProfile profile = CpuProfiles.Find(profileId)!;
        KernelArch arch = KernelArchitectures.Parse(archName);
        MachineSpec m = MachineSpec.For(profile, arch, 2 * ByteSize.GiB);
        Hardware.Paging.MmuFormat format = Scenario.FormatOf(m);
        Dictionary<DesignSpec, string> distinct = [];
        foreach (string name in EveryCombinationTests.DesignNames(format))
        {
            if (DesignSpec.TryParse(name, format, profile, out DesignSpec? d, out _))
            {
                distinct.TryAdd(d! with { Name = "", Notes = [] }, name);
            }
        }

        string designs = string.Join(',', distinct.Values);
        try
        {
            Scenario.LayoutFor(m, DesignSpec.Parse(distinct.Values.First(), format, profile));
        }
        catch (LabException e) when (e.Message.Contains(": Linux documents no ", StringComparison.Ordinal))
        {
            (int refused, _, string why) = CliHarness.Run("replay", RepoFiles.PathOf("tests/traces/hand/small.strace"), "--machine", profileId, "--arch", archName, "--designs", designs);
            Assert.Equal(2, refused);
            Assert.Equal("vmsplit: " + e.Message, why.TrimEnd('\n'));
            return;
        }

        string champsim = Path.Combine(Directory.CreateTempSubdirectory("vmsplit-replay").FullName, "small.champsimtrace");
        byte[] records = new byte[64 * 4];
        for (int i = 0; i < 4; i++)
        {
            BitConverter.TryWriteBytes(records.AsSpan(i * 64), 0x401000UL + (ulong)(4 * i));
            BitConverter.TryWriteBytes(records.AsSpan((i * 64) + 16), 0x7ffe0000UL - (ulong)(4096 * i));
        }

        File.WriteAllBytes(champsim, records);
        string strace = RepoFiles.PathOf("tests/traces/hand/small.strace");
        foreach ((string trace, string randomize) in new[] { (RepoFiles.PathOf("tests/traces/hand/small.lackey"), "2"), (strace, "2"), (strace, "0"), (champsim, "2") })
        {
            // the strace trace's execve also without stack randomisation (--randomize-va-space 0)
            List<string> args = ["replay", trace, "--machine", profileId, "--arch", archName, "--designs", designs, "--format", "json", "--randomize-va-space", randomize];
            if (trace == champsim)
            {
                args.AddRange(["--syscall-every", "2", "--syscall", "read4k"]);
            }

            (int code, _, string err) = CliHarness.Run([.. args]);
            Assert.True(code == 0, $"{profileId} {archName} {Path.GetFileName(trace)} --randomize-va-space {randomize}: {err}");
        }
    }

    [Fact]
    public void AKernelConfig_ChoosesTheMachineAndJoinsItsDesign_AsInCompare()
    {
        // multi_v7_defconfig: arm (short descriptors) without highmem, CPU_SW_DOMAIN_PAN: classic+pan joins classic
        (int code, string output, string err) = CliHarness.Run("replay", RepoFiles.PathOf("tests/traces/hand/small.strace"), "--config", RepoFiles.PathOf("tests/configs/multi_v7_defconfig.config"), "--format", "json");
        Assert.True(code == 0, err);
        using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(output);
        string[] designs = [.. doc.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("design").GetString()!).Distinct()];
        Assert.Equal(["classic", "classic+pan"], designs);
        Assert.Contains("\"arch\": \"arm\"", output, StringComparison.Ordinal);
        (code, _, err) = CliHarness.Run("replay", RepoFiles.PathOf("tests/traces/hand/small.strace"), "--config", "/nonexistent/x.config");
        Assert.Equal(2, code);
        Assert.Equal("vmsplit: --config: /nonexistent/x.config: no such file\n", err);
    }
}
