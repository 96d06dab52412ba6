using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmsplit.Lab;
using Vmsplit.Lab.Replay;
using Vmsplit.Workloads.Traces;

namespace Vmsplit.Cli.Reports;

/// <summary>Text, JSON and CSV of a <see cref="ReplayReport"/>: compare's report of the trace, then the replay's own sections.</summary>
public static class ReplayRenderer
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static string Text(ReplayReport r) => Text(r, TrustSummary.Of(r.Compare), TextTable.DefaultWidth);

    public static string Text(ReplayReport r, TrustSummary trust, int width)
    {
        StringBuilder sb = new();
        sb.Append(CompareRenderer.Text(r.Compare, trust, width));
        ReplayEvents e = r.Events;
        sb.AppendLine();
        sb.AppendLine($"Trace {r.Options.Name}: every line's event");
        sb.Append(TextTable.Wrap(EventsLine(r), width));
        sb.AppendLine();

        sb.AppendLine("TLB over the whole trace");
        List<string[]> rows = [["counter", .. r.Compare.Designs]];
        rows.Add(Row("translations", r, x => x.Tlb.Translations));
        rows.Add(Row("misses", r, x => x.Tlb.Misses));
        rows.Add(Row("walks", r, x => x.Tlb.Walks));
        rows.Add(Row("walk reads", r, x => x.Tlb.WalkReads));
        rows.Add(Row("flushes", r, x => x.Tlb.Flushes));
        rows.Add(Row("entries invalidated", r, x => x.Tlb.EntriesInvalidated));
        sb.Append(TextTable.RenderFitted(rows, width, "Same for every design"));
        sb.AppendLine();

        sb.AppendLine("Top system calls by added cost (µs over the trace; for the baseline, by cost)");
        foreach (string d in r.Compare.Designs)
        {
            double mhz = r.Compare.Machine.Profile.ClockMhz;
            var top = r.TopCalls(d, 5);
            string calls = top.Count == 0
                ? "no system calls"
                : string.Join(", ", top.Select(t => $"{t.Name} ×{t.Count} ({t.Path}) {(d == r.Compare.Baseline ? "" : "+")}{(t.Added / mhz).ToString("F1", s_inv)}"));
            sb.Append(TextTable.Wrap($"{d}: {calls}", width));
        }

        return sb.ToString();
    }

    private static string[] Row(string label, ReplayReport r, Func<RunResult, long> value) =>
        [label, .. r.Compare.Designs.Select(d => value(r.Run(d).Result).ToString(s_inv))];

    /// <summary>The events in one sentence: what every line became.</summary>
    public static string EventsLine(ReplayReport r)
    {
        ReplayEvents e = r.Events;
        string unit = r.Options.Format == TraceFormat.ChampSim ? "records" : "lines";
        StringBuilder sb = new();
        sb.Append(s_inv, $"{e.Lines} {unit}: {e.Fetches} instruction fetches, {e.Loads} loads, {e.Stores} stores, {e.Modifies} modifies; ");
        sb.Append(s_inv, $"{e.Syscalls} system calls ({e.SyscallsModelled} on the model's paths, {e.SyscallsGeneric} generic)");
        if (e.SyscallsInjected > 0)
        {
            sb.Append(s_inv, $", {e.SyscallsInjected} injected");
        }

        if (e.SignalsDelivered > 0)
        {
            sb.Append(s_inv, $"; {e.SignalsDelivered} signals delivered to a handler ({e.SignalsOnOneReturn} on a return that delivered another)");
        }

        if (e.Interrupted > 0)
        {
            IReadOnlyList<long> by = e.InterruptedByCode;
            sb.Append(s_inv, $"; {e.Interrupted} calls interrupted by a signal (ERESTARTSYS {by[(int)SyscallRestart.Sys]}, ERESTARTNOINTR {by[(int)SyscallRestart.NoIntr]}, ERESTARTNOHAND {by[(int)SyscallRestart.NoHand]}, ERESTART_RESTARTBLOCK {by[(int)SyscallRestart.RestartBlock]}), each one entry and exit that copies no result (but nanosleep's time left): ");
            sb.Append(s_inv, $"{e.InterruptedRestarted} restarted by the kernel ({e.InterruptedRestartSyscall} through restart_syscall; the restart is the process's next call), {e.InterruptedEintr} returned EINTR, {e.InterruptedEnded} ended with their process or the trace; {e.SignalsOnCallReturn} signals delivered on the interrupted call's own return; {e.RestartSyscallAsCall} restart_syscall calls ran their call's restart, {e.RestartSyscallGeneric} as generic");
        }

        sb.Append(s_inv, $"; {e.ExitLines} exit lines; skipped: ");
        List<string> skipped = [];
        foreach (SkipReason why in Enum.GetValues<SkipReason>())
        {
            if (why != SkipReason.None && e.Skipped(why) > 0)
            {
                skipped.Add(s_inv, $"{e.Skipped(why)} {SkipName(why)}");
            }
        }

        sb.Append(skipped.Count == 0 ? "none" : string.Join(", ", skipped));
        if (e.AfterExit > 0)
        {
            sb.Append(s_inv, $"; {e.AfterExit} after their process exited");
        }

        sb.Append(s_inv, $". Processes: {e.Forks} forks, {e.Threads} threads, {e.Exits} exits, {e.Execs} execs, {e.Killed} killed by a signal ({e.KilledInKernel} in the kernel), {e.Signals} signals ({e.SignalsDelivered} to a handler: its frame written on the stack, read back by rt_sigreturn), {e.Switches} switches implied by the order of lines");
        if (e.ChildrenExitedAtOnce > 0)
        {
            sb.Append(s_inv, $", {e.ChildrenExitedAtOnce} children not in the trace run to exit at once");
        }

        if (e.EnvStringsAssumed > 0)
        {
            sb.Append(s_inv, $"; {e.EnvStringsAssumed} environment strings of execve that strace printed as a count (no -v) copied as {Replayer.AssumedEnvStringBytes} bytes each (an assumption)");
        }

        if (e.ExecsArgvAssumed > 0)
        {
            sb.Append(s_inv, $"; {e.ExecsArgvAssumed} execve calls whose arguments lackey does not show built the new stack with argv holding the path alone and an empty envp (an assumption, a lower bound)");
        }

        if (e.BytesClamped > 0)
        {
            sb.Append(s_inv, $"; {e.BytesClamped} bytes beyond the model's buffers not copied");
        }

        if (e.UnfinishedAtEnd > 0)
        {
            sb.Append(s_inv, $"; {e.UnfinishedAtEnd} calls unfinished at the end");
        }

        sb.Append(s_inv, $"; the program's addresses fill {e.ArenaAreas} 2 MiB areas.");
        return sb.ToString();
    }

    private static void Add(this List<string> list, IFormatProvider p, FormattableString s) => list.Add(s.ToString(p));

    public static string SkipName(SkipReason why) => why switch
    {
        SkipReason.Blank => "blank",
        SkipReason.ToolMessage => "tool messages",
        SkipReason.CallStarted => "call starts (counted when they finish)",
        SkipReason.Signal => "signals without a handler",
        SkipReason.NoResult => "without result",
        SkipReason.Orphan => "results without their start",
        _ => why.ToString(),
    };

    private static string SkipKey(SkipReason why) => why switch
    {
        SkipReason.Blank => "blank",
        SkipReason.ToolMessage => "toolMessage",
        SkipReason.CallStarted => "callStarted",
        SkipReason.Signal => "signal",
        SkipReason.NoResult => "noResult",
        SkipReason.Orphan => "orphanResult",
        _ => why.ToString(),
    };

    public static string Json(ReplayReport r, TrustSummary trust) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        CompareRenderer.WriteBody(w, r.Compare, trust);
        w.WriteStartObject("replay");
        w.WriteString("trace", r.Options.Name);
        w.WriteString("format", r.Options.Format.ToString().ToLowerInvariant());
        w.WriteString("formatChosen", r.Options.FormatHow);
        if (r.Options.Format == TraceFormat.Strace)
        {
            w.WriteNumber("userWssBytes", r.Options.UserWss);
        }

        if (r.Options.Format == TraceFormat.ChampSim)
        {
            w.WriteNumber("syscallEvery", r.Options.SyscallEvery);
            w.WriteString("syscall", r.Options.InjectedCall);
        }

        w.WriteStartArray("topSyscalls");
        foreach (string d in r.Compare.Designs)
        {
            w.WriteStartObject();
            w.WriteString("design", d);
            w.WriteStartArray("calls");
            foreach (var t in r.TopCalls(d))
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteString("path", t.Path);
                w.WriteNumber("count", t.Count);
                w.WriteNumber("cycles", Math.Round(t.Cycles, 3));
                w.WriteNumber(d == r.Compare.Baseline ? "cost" : "addedCycles", Math.Round(t.Added, 3));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        WriteEvents(w, r);
        w.WriteEndObject();
    });

    private static void WriteEvents(Utf8JsonWriter w, ReplayReport r)
    {
        ReplayEvents e = r.Events;
        w.WriteStartObject("events");
        w.WriteNumber(r.Options.Format == TraceFormat.ChampSim ? "records" : "lines", e.Lines);
        w.WriteNumber("fetches", e.Fetches);
        w.WriteNumber("loads", e.Loads);
        w.WriteNumber("stores", e.Stores);
        w.WriteNumber("modifies", e.Modifies);
        w.WriteNumber("syscalls", e.Syscalls);
        w.WriteNumber("callsModelled", e.SyscallsModelled);
        w.WriteNumber("callsGeneric", e.SyscallsGeneric);
        w.WriteNumber("callsInjected", e.SyscallsInjected);
        w.WriteNumber("signalsDelivered", e.SignalsDelivered);
        w.WriteNumber("signalsOnOneReturn", e.SignalsOnOneReturn);
        w.WriteStartObject("interrupted");
        w.WriteNumber("calls", e.Interrupted);
        w.WriteNumber("erestartsys", e.InterruptedByCode[(int)SyscallRestart.Sys]);
        w.WriteNumber("erestartnointr", e.InterruptedByCode[(int)SyscallRestart.NoIntr]);
        w.WriteNumber("erestartnohand", e.InterruptedByCode[(int)SyscallRestart.NoHand]);
        w.WriteNumber("erestartRestartblock", e.InterruptedByCode[(int)SyscallRestart.RestartBlock]);
        w.WriteNumber("restarted", e.InterruptedRestarted);
        w.WriteNumber("restartSyscall", e.InterruptedRestartSyscall);
        w.WriteNumber("restartSyscallAsCall", e.RestartSyscallAsCall);
        w.WriteNumber("restartSyscallGeneric", e.RestartSyscallGeneric);
        w.WriteNumber("eintr", e.InterruptedEintr);
        w.WriteNumber("ended", e.InterruptedEnded);
        w.WriteNumber("signalsOnCallReturn", e.SignalsOnCallReturn);
        w.WriteEndObject();
        w.WriteNumber("exitLines", e.ExitLines);
        w.WriteNumber("afterExit", e.AfterExit);
        w.WriteStartObject("skipped");
        foreach (SkipReason why in Enum.GetValues<SkipReason>())
        {
            if (why != SkipReason.None)
            {
                w.WriteNumber(SkipKey(why), e.Skipped(why));
            }
        }

        w.WriteEndObject();
        w.WriteStartObject("processes");
        w.WriteNumber("forks", e.Forks);
        w.WriteNumber("threads", e.Threads);
        w.WriteNumber("exits", e.Exits);
        w.WriteNumber("execs", e.Execs);
        w.WriteNumber("killed", e.Killed);
        w.WriteNumber("killedInKernel", e.KilledInKernel);
        w.WriteNumber("signals", e.Signals);
        w.WriteNumber("switches", e.Switches);
        w.WriteNumber("childrenExitedAtOnce", e.ChildrenExitedAtOnce);
        w.WriteNumber("closedOnExec", e.ClosedOnExec);
        w.WriteNumber("envStringsAssumed", e.EnvStringsAssumed);
        w.WriteNumber("envStringBytesAssumed", Replayer.AssumedEnvStringBytes);
        w.WriteNumber("execsArgvAssumed", e.ExecsArgvAssumed);
        w.WriteEndObject();
        w.WriteNumber("bytesClamped", e.BytesClamped);
        w.WriteNumber("unfinishedAtEnd", e.UnfinishedAtEnd);
        w.WriteNumber("arenaAreas2M", e.ArenaAreas);
        w.WriteStartObject("fallbacksByDesign");
        foreach (string d in r.Compare.Designs)
        {
            w.WriteNumber(d, r.Run(d).Events.Fallbacks);
        }

        w.WriteEndObject();
        w.WriteStartArray("byCall");
        foreach (CallTally t in e.Calls.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("path", t.Path);
            w.WriteBoolean("modelled", t.Modelled);
            w.WriteNumber("count", t.Count);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>compare's CSV (one row per design: the trace is the workload).</summary>
    public static string Csv(ReplayReport r) => CompareRenderer.Csv(r.Compare);
}
