using System.Text;
using BenchmarkDotNet.Attributes;
using Vmsplit.Lab;
using Vmsplit.Lab.Replay;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Bench;

/// <summary>
/// <c>vmsplit replay</c>'s speed, per core (one design, one thread): lackey lines per second parsed alone and parsed
/// + simulated on a trace whose working set fits the TLB; strace calls per second; ChampSim records per second from
/// an .xz file against decompressing the same file alone. The traces are generated in the setup (fixed content),
/// under the temporary directory. docs/performance.md has the figures and commands.
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    /// <summary>Lines of the lackey trace (and records of the ChampSim one).</summary>
    public const int Lines = 1_000_000;

    /// <summary>Calls of the strace trace.</summary>
    public const int Calls = 100_000;

    /// <summary>Calls of the long strace trace (the same four lines in turn): the per-call figure with the fixed cost of a replay (boot, caches, page-cache file) spread over ten times as many calls.</summary>
    public const int LongCalls = 1_000_000;

    private string _lackey = "";
    private string _strace = "";
    private string _straceLong = "";
    private string _champsim = "";
    private MachineSpec _machine = MachineSpec.SkylakeX86();
    private string _dir = "";

    [GlobalSetup]
    public void Setup()
    {
        string dir = _dir = Directory.CreateTempSubdirectory("vmsplit-replay-bench").FullName;
        _lackey = Path.Combine(dir, "fits-tlb.lackey");
        _strace = Path.Combine(dir, "calls.strace");
        _champsim = Path.Combine(dir, "fits-tlb.champsimtrace.xz");
        File.WriteAllText(_lackey, LackeyText(Lines));
        _straceLong = Path.Combine(dir, "calls-long.strace");
        File.WriteAllText(_strace, StraceText(Calls));
        WriteStraceText(_straceLong, LongCalls);
        string raw = Path.Combine(dir, "fits-tlb.champsimtrace");
        File.WriteAllBytes(raw, ChampSimBytes(Lines));
        using (System.Diagnostics.Process xz = System.Diagnostics.Process.Start("xz", ["-6", "-T1", "-f", raw])!)
        {
            xz.WaitForExit();
        }
    }

    /// <summary>The generated traces (about 108 MB) are removed after the run.</summary>
    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// A lackey trace of <paramref name="lines"/> lines over 8 text pages and 24 data pages (fits every modelled TLB):
    /// fetches, loads and stores in lackey's proportions (75/17/8 %), a getppid every 10,000 lines.
    /// </summary>
    public static string LackeyText(int lines)
    {
        StringBuilder sb = new(lines * 16);
        sb.Append("==1== Lackey, an example Valgrind tool\n");
        uint x = 12345;
        for (int i = 1; i < lines; i++)
        {
            x = (x * 1103515245) + 12345;
            uint r = (x >> 8) % 100;
            if (i % 10_000 == 0)
            {
                sb.Append("SYSCALL[1,1](110) sys_getppid ( )[sync] --> Success(0x1) \n");
            }
            else if (r < 75)
            {
                sb.Append("I  0040").Append(((x >> 4) % 0x8000).ToString("x4")).Append(",4\n");
            }
            else
            {
                sb.Append(r < 92 ? " L 1fff0" : " S 1fff0").Append(((x >> 3) % 0x18000).ToString("x5")).Append(",8\n");
            }
        }

        return sb.ToString();
    }

    // the strace trace's four lines, taken in turn
    private static readonly string[] s_straceLines =
    [
        "100 12:00:00.000001 read(3, \"0123456789abcdef0123456789abcdef\"..., 4096) = 4096 <0.000005>\n",
        "100 12:00:00.000002 getpid()                = 100 <0.000001>\n",
        "100 12:00:00.000003 openat(AT_FDCWD, \"/usr/lib/x86_64-linux-gnu/libc.so.6\", O_RDONLY|O_CLOEXEC) = 4 <0.000004>\n",
        "100 12:00:00.000004 close(4)                = 0 <0.000001>\n",
    ];

    /// <summary>An strace -tt -T trace of <paramref name="calls"/> calls: reads of 4 KiB, getpid, openat and close in turn.</summary>
    public static string StraceText(int calls)
    {
        StringBuilder sb = new(calls * 80);
        for (int i = 0; i < calls; i++)
        {
            sb.Append(s_straceLines[i % s_straceLines.Length]);
        }

        return sb.ToString();
    }

    /// <summary><see cref="StraceText"/>'s content written to <paramref name="path"/> line by line (the long trace is 80 MB; no string of it is built).</summary>
    public static void WriteStraceText(string path, int calls)
    {
        using StreamWriter w = new(path, append: false, new UTF8Encoding(false), 1 << 16);
        for (int i = 0; i < calls; i++)
        {
            w.Write(s_straceLines[i % s_straceLines.Length]);
        }
    }

    /// <summary>ChampSim records with the lackey trace's footprint: an ip in 8 text pages, a load in 2 of 3, a store in 1 of 4.</summary>
    public static byte[] ChampSimBytes(int records)
    {
        byte[] b = new byte[records * 64];
        uint x = 777;
        for (int i = 0; i < records; i++)
        {
            x = (x * 1103515245) + 12345;
            Span<byte> rec = b.AsSpan(i * 64, 64);
            BitConverter.TryWriteBytes(rec, 0x400000UL + ((x >> 4) % 0x8000));
            if ((x >> 20) % 3 != 0)
            {
                BitConverter.TryWriteBytes(rec[32..], 0x1fff000000UL + ((x >> 3) % 0x18000));
            }

            if ((x >> 22) % 4 == 0)
            {
                BitConverter.TryWriteBytes(rec[16..], 0x1fff000000UL + ((x >> 5) % 0x18000));
            }
        }

        return b;
    }

    private ReplayOptions Options(string path, TraceFormat format) => new(_machine, ["classic"], "classic", path, format) { Parallel = false, UserWss = 0, SyscallEvery = 0 };

    /// <summary>Lackey lines parsed, nothing simulated.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public long LackeyParseOnly()
    {
        using ITraceReader reader = TraceFile.OpenReader(_lackey, TraceFormat.Lackey);
        TraceRecord r = default;
        long n = 0;
        while (reader.Next(ref r))
        {
            n += (long)r.Address;
        }

        return n;
    }

    /// <summary>Lackey lines parsed and simulated (classic on Skylake x86-64: every access through the MMU).</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public double LackeyReplay() => TraceReplay.Run(Options(_lackey, TraceFormat.Lackey)).Runs[0].Result.CyclesPerOp;

    /// <summary>strace calls parsed, nothing simulated.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public long StraceParseOnly()
    {
        using ITraceReader reader = TraceFile.OpenReader(_strace, TraceFormat.Strace);
        TraceRecord r = default;
        long n = 0;
        while (reader.Next(ref r))
        {
            n += r.Call + (long)r.Arg0;
        }

        return n;
    }

    /// <summary>strace calls parsed and simulated (no user working set: the calls alone).</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public double StraceReplay() => TraceReplay.Run(Options(_strace, TraceFormat.Strace)).Runs[0].Result.CyclesPerOp;

    /// <summary>The same calls over a trace ten times as long: the steady-state per-call throughput of long traces.</summary>
    [Benchmark(OperationsPerInvoke = LongCalls)]
    public double StraceReplayLong() => TraceReplay.Run(Options(_straceLong, TraceFormat.Strace)).Runs[0].Result.CyclesPerOp;

    /// <summary>ChampSim records decompressed from .xz, parsed and simulated.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public double ChampSimReplay() => TraceReplay.Run(Options(_champsim, TraceFormat.ChampSim)).Runs[0].Result.CyclesPerOp;

    /// <summary>The same .xz decompressed alone, in process, as the replay reads it (the system's liblzma, on its own thread).</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public long ChampSimXzOnly() => Drain(TraceFile.XzDecoder.System);

    /// <summary>The same .xz decompressed alone by the managed fallback (SharpCompress), on its own thread.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public long ChampSimXzManagedOnly() => Drain(TraceFile.XzDecoder.Managed);

    private long Drain(TraceFile.XzDecoder xz)
    {
        (Stream data, _, _) = TraceFile.Open(_champsim, xz);
        using (data)
        {
            byte[] buffer = new byte[1 << 16];
            long n = 0;
            int got;
            while ((got = data.Read(buffer)) > 0)
            {
                n += got;
            }

            return n;
        }
    }
}
