using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Vmsplit.Hardware.Paging;
using Vmsplit.Hardware.Tlb;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Lab;

/// <summary>The machine a speed check ran on.</summary>
public sealed record SpeedHost(int ProcessorCount, string OsDescription, string DotnetVersion, string Architecture, string? CpuModel, bool OptimizedBuild)
{
    public static SpeedHost Current() => new(
        Environment.ProcessorCount,
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        RuntimeInformation.ProcessArchitecture.ToString(),
        ReadCpuModel("/proc/cpuinfo"),
        IsOptimized(typeof(TlbLevel).Assembly) && IsOptimized(typeof(SimKernel).Assembly) && IsOptimized(typeof(SpeedCheck).Assembly));

    /// <summary>False for a Debug build, whose JIT-disabled optimisations make every figure several times lower.</summary>
    public static bool IsOptimized(Assembly assembly) =>
        assembly.GetCustomAttribute<DebuggableAttribute>() is not { IsJITOptimizerDisabled: true };

    /// <summary>The processor's name from a Linux <c>/proc/cpuinfo</c> file, or null when there is none or it cannot be read.</summary>
    public static string? ReadCpuModel(string path)
    {
        try
        {
            return File.Exists(path) ? CpuModelFrom(File.ReadAllText(path)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The first processor's name in <c>/proc/cpuinfo</c> text: x86 prints "model name", 32-bit ARM kernels
    /// before 3.8 "Processor", RISC-V "uarch", MIPS "cpu model" (each architecture's arch/*/kernel/*cpuinfo*.c).
    /// </summary>
    public static string? CpuModelFrom(string cpuinfo)
    {
        string[] keys = ["model name", "Processor", "uarch", "cpu model"];
        foreach (string key in keys)
        {
            foreach (string line in cpuinfo.Split('\n'))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(key, StringComparison.Ordinal))
                {
                    string value = line[(colon + 1)..].Trim();
                    if (value.Length > 0)
                    {
                        return value;
                    }
                }
            }
        }

        return null;
    }
}

/// <summary>One measurement: <see cref="Operations"/> timed over <see cref="ElapsedSeconds"/> of wall clock after <see cref="WarmupOperations"/> untimed ones.</summary>
public sealed record SpeedRow(string Name, string Unit, string Description, long Operations, double ElapsedSeconds, long WarmupOperations)
{
    public double OpsPerSecond => ElapsedSeconds > 0 ? Operations / ElapsedSeconds : 0;

    public double NsPerOp => Operations > 0 ? ElapsedSeconds * 1e9 / Operations : 0;
}

/// <summary>What <c>vmsplit bench</c> measured: the host, the budget and one row per measurement.</summary>
public sealed record SpeedCheckResult(SpeedHost Host, double Seconds, IReadOnlyList<SpeedRow> Rows);

/// <summary>
/// The built-in speed check: how fast the model runs on this host, single thread, wall clock. The loops are
/// built first (booting the kernels), then warmed up together, round-robin, for <see cref="WarmupFraction"/>
/// of the budget so tiered compilation reaches its optimised code for every hot method at once (one loop
/// after another would need some 0.3 s each); the rest of the budget is split evenly over the measurements,
/// and each runs a few untimed batches (its caches) and then whole batches timed with <see cref="Stopwatch"/>
/// until its share is spent. Not BenchmarkDotNet (no process isolation, no statistics): a quick figure for users.
/// </summary>
public static class SpeedCheck
{
    public const double DefaultSeconds = 5;
    public const double MinSeconds = 0.05;
    public const double MaxSeconds = 600;

    /// <summary>Share of the budget (from the start, building included) spent building and warming up the loops.</summary>
    public const double WarmupFraction = 0.3;

    /// <summary>Share of each measurement's time spent re-warming its own loop, untimed.</summary>
    public const double RewarmFraction = 0.1;

    // Round-robin warm-up slice per loop; the timed loop reads the clock about once a millisecond (< 0.1 % of the time).
    private const double WarmupSliceSeconds = 0.01;
    private const double CheckIntervalSeconds = 0.001;

    private static ulong s_sink;

    /// <summary>The measurements, in the order they run: TLB, walks, then simulated system calls.</summary>
    public static IReadOnlyList<Func<SpeedLoop>> Standard { get; } =
    [
        () => new TlbLookupLoop(),
        () => new MmuHitLoop(),
        () => new WalkLoop(MmuFormat.X86_64),
        () => new WalkLoop(MmuFormat.ArmLpae),
        () => new MmuMissLoop(),
        () => new MmuMissLoop(traced: true),
        () => new SyscallLoop(MachineSpec.SkylakeX86(), "classic"),
        () => new SyscallLoop(MachineSpec.SkylakeX86(), "kpti"),
        () => new SyscallLoop(MachineSpec.DefaultArm(), "classic"),
        () => new SyscallLoop(MachineSpec.DefaultArm(), "4g4g+pin-kmap"),
    ];

    /// <summary>
    /// The standard hardware loops, then simulated null system calls on <paramref name="machine"/> under each of
    /// <paramref name="designs"/> instead of the standard Skylake and Cortex-A15 ones (<c>vmsplit bench --machine</c>).
    /// </summary>
    public static IReadOnlyList<Func<SpeedLoop>> ForMachine(MachineSpec machine, IReadOnlyList<string> designs) =>
    [
        .. Standard.Take(6),
        .. designs.Select(d => (Func<SpeedLoop>)(() => new SyscallLoop(machine, d))),
    ];

    /// <summary>Runs <see cref="Standard"/> within <paramref name="seconds"/>; <paramref name="measured"/> is told after each row.</summary>
    public static SpeedCheckResult Run(double seconds, Action<SpeedRow>? measured = null) => Run(seconds, Standard, measured);

    /// <summary>Builds the loops, warms them up together, then measures each in turn; the whole takes about <paramref name="seconds"/>.</summary>
    public static SpeedCheckResult Run(double seconds, IReadOnlyList<Func<SpeedLoop>> create, Action<SpeedRow>? measured = null)
    {
        if (!double.IsFinite(seconds) || seconds < MinSeconds || seconds > MaxSeconds)
        {
            throw new LabException($"speed check: the budget must be {MinSeconds} to {MaxSeconds} seconds, not {seconds}");
        }

        long frequency = Stopwatch.Frequency;
        long start = Stopwatch.GetTimestamp();
        long warmEnd = start + (long)(seconds * WarmupFraction * frequency);
        long end = start + (long)(seconds * frequency);
        List<SpeedLoop> loops = new(create.Count);
        foreach (Func<SpeedLoop> c in create)
        {
            loops.Add(c());
        }

        long[] warmOps = new long[loops.Count];
        ulong sink = 0;
        do
        {
            for (int i = 0; i < loops.Count; i++)
            {
                sink += RunFor(loops[i], WarmupSliceSeconds, out long batches);
                warmOps[i] += batches * loops[i].OperationsPerBatch;
            }
        }
        while (Stopwatch.GetTimestamp() < warmEnd);

        s_sink += sink;
        List<SpeedRow> rows = new(loops.Count);
        for (int i = 0; i < loops.Count; i++)
        {
            double left = (double)(end - Stopwatch.GetTimestamp()) / frequency;
            SpeedRow row = Measure(loops[i], Math.Max(left / (loops.Count - i), 0));
            row = row with { WarmupOperations = row.WarmupOperations + warmOps[i] };
            rows.Add(row);
            measured?.Invoke(row);
        }

        return new SpeedCheckResult(SpeedHost.Current(), seconds, rows);
    }

    // Whole batches until the time has passed (at least one).
    private static ulong RunFor(SpeedLoop loop, double seconds, out long batches)
    {
        long end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        ulong sink = 0;
        batches = 0;
        do
        {
            sink += loop.RunBatch();
            batches++;
        }
        while (Stopwatch.GetTimestamp() < end);

        return sink;
    }

    /// <summary>
    /// Re-warms <paramref name="loop"/> for <see cref="RewarmFraction"/> of <paramref name="seconds"/>, then times
    /// whole batches until <paramref name="seconds"/> have passed. At least one batch of each runs, whatever the time.
    /// </summary>
    public static SpeedRow Measure(SpeedLoop loop, double seconds)
    {
        long frequency = Stopwatch.Frequency;
        long start = Stopwatch.GetTimestamp();
        long warmEnd = start + (long)(seconds * RewarmFraction * frequency);
        long end = start + (long)(seconds * frequency);
        ulong sink = 0;
        long warmBatches = 0;
        long now;
        do
        {
            sink += loop.RunBatch();
            warmBatches++;
            now = Stopwatch.GetTimestamp();
        }
        while (now < warmEnd);

        double ticksPerBatch = (double)(now - start) / warmBatches;
        long group = Math.Clamp((long)(CheckIntervalSeconds * frequency / Math.Max(ticksPerBatch, 1)), 1, 1 << 20);
        long batches = 0;
        long t0 = Stopwatch.GetTimestamp();
        long t1;
        do
        {
            for (long g = 0; g < group; g++)
            {
                sink += loop.RunBatch();
            }

            batches += group;
            t1 = Stopwatch.GetTimestamp();
        }
        while (t1 < end);

        s_sink += sink;
        int perBatch = loop.OperationsPerBatch;
        return new SpeedRow(loop.Name, loop.Unit, loop.Description, batches * perBatch, (double)(t1 - t0) / frequency, warmBatches * perBatch);
    }

    /// <summary>The work's checksum, kept so no loop can be optimised away.</summary>
    internal static ulong Sink => s_sink;
}
