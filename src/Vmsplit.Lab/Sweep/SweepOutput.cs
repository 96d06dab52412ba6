using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vmsplit.Lab.Sweep;

/// <summary>What a sweep, a shard of one, or a merge left in its directory.</summary>
/// <param name="Shard">the slice, K of N (0 of 1 for a whole sweep)</param>
/// <param name="FirstRun">the first run of the slice</param>
/// <param name="EndRun">one past its last run</param>
/// <param name="Refused">the runs refused in the slice</param>
public sealed record SweepManifest(string Name, string Hash, int Shard, int Shards, long Runs, long FirstRun, long EndRun, long Refused)
{
    public const string Format = "vmsplit-sweep/1";

    public string ToJson()
    {
        using MemoryStream ms = new();
        using (Utf8JsonWriter w = new(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("name", Name);
            w.WriteString("sha256", Hash);
            w.WriteString("shard", $"{Shard}/{Shards}");
            w.WriteNumber("runs", Runs);
            w.WriteNumber("firstRun", FirstRun);
            w.WriteNumber("endRun", EndRun);
            w.WriteNumber("refused", Refused);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>Reads DIR/sweep.json; null when it is missing, an error naming the file when it is not a manifest.</summary>
    public static SweepManifest? Read(string directory)
    {
        string path = Path.Combine(directory, SweepOutput.ManifestName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
            JsonElement r = doc.RootElement;
            if (r.GetProperty("format").GetString() != Format)
            {
                throw new LabException($"{path}: not a {Format} manifest");
            }

            string[] shard = r.GetProperty("shard").GetString()!.Split('/');
            return new SweepManifest(
                r.GetProperty("name").GetString()!,
                r.GetProperty("sha256").GetString()!,
                int.Parse(shard[0], CultureInfo.InvariantCulture),
                int.Parse(shard[1], CultureInfo.InvariantCulture),
                r.GetProperty("runs").GetInt64(),
                r.GetProperty("firstRun").GetInt64(),
                r.GetProperty("endRun").GetInt64(),
                r.GetProperty("refused").GetInt64());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or IOException)
        {
            throw new LabException($"{path}: not a sweep manifest ({Hardware.Input.InputText.OneLine(e.Message)})");
        }
    }
}

/// <summary>How a sweep went.</summary>
public sealed record SweepSummary(SweepManifest Manifest, long Resumed, bool AlreadyComplete);

/// <summary>
/// Runs a sweep (or its shard) into a directory, and merges shards. While it runs, each finished run is
/// appended to DIR/.journal.csv as one whole record in run order (results that finish early wait for the
/// runs before them), so the journal is always a prefix of the results: a killed sweep resumes after its last
/// whole record (a torn last line is cut off). At the end runs.csv, runs.parquet and sweep.json (last, it
/// marks the directory complete) replace what was there through temporary files and renames. Memory does not
/// grow with the number of runs: runs are decoded from their number, records are streamed, and Parquet is
/// written a row group at a time.
/// </summary>
public static class SweepOutput
{
    public const string ManifestName = "sweep.json";
    public const string CsvName = "runs.csv";
    public const string ParquetName = "runs.parquet";
    public const string JournalName = ".journal.csv";

    /// <summary>The runs of shard <paramref name="shard"/> of <paramref name="shards"/>: a contiguous block of whole cells, so every run's baseline is in its shard.</summary>
    public static (long First, long End) Slice(SweepSpec s, int shard, int shards)
    {
        long cells = s.Cells;
        long first = (long)((Int128)cells * shard / shards);
        long end = (long)((Int128)cells * (shard + 1) / shards);
        return (first * s.DesignCount, end * s.DesignCount);
    }

    public static SweepSummary Run(SweepSpec spec, string directory, int shard, int shards, bool resume, int jobs, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancel = default)
    {
        (long first, long end) = Slice(spec, shard, shards);
        Directory.CreateDirectory(directory);
        SweepManifest? old = SweepManifest.Read(directory);
        if (resume && old is not null && old.Hash == spec.Hash && old.Shard == shard && old.Shards == shards && File.Exists(Path.Combine(directory, CsvName)))
        {
            progress?.Report((end - first, end - first));
            return new SweepSummary(old, end - first, AlreadyComplete: true);
        }

        string journalPath = Path.Combine(directory, JournalName);
        string stamp = $"#{SweepManifest.Format} sha256={spec.Hash} shard={shard}/{shards} runs={first}-{end}";
        IReadOnlyList<SweepColumn> columns = SweepTable.Columns(spec.Record);
        long next = first;
        long refused = 0;
        double? baselineNs = null;
        if (File.Exists(journalPath))
        {
            if (!resume)
            {
                throw new LabException($"{Path.Combine(directory, JournalName)}: {directory} holds an unfinished sweep; --resume continues it, or remove the journal to start over");
            }

            (next, refused, baselineNs) = Recover(spec, journalPath, stamp, columns, first);
        }
        else
        {
            File.WriteAllText(journalPath, stamp + "\n" + SweepTable.Header(columns));
        }

        if (old is not null)
        {
            File.Delete(Path.Combine(directory, ManifestName)); // the directory is incomplete until the new manifest lands
        }

        long resumed = next - first;
        progress?.Report((resumed, end - first));
        using (FileStream journal = new(journalPath, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0))
        {
            refused += Execute(spec, next, end, jobs, journal, baselineNs, done => progress?.Report((done - first, end - first)), cancel);
        }

        cancel.ThrowIfCancellationRequested();
        SweepManifest manifest = new(spec.Name, spec.Hash, shard, shards, spec.Runs, first, end, refused);
        Finish(directory, manifest, w =>
        {
            using StreamReader r = new(journalPath, Encoding.UTF8);
            r.ReadLine(); // the stamp
            CopyLines(r, w);
        });
        File.Delete(journalPath);
        return new SweepSummary(manifest, resumed, AlreadyComplete: false);
    }

    /// <summary>
    /// Joins the directories of every shard of one sweep (in any order) into what one process running the whole
    /// sweep writes: the shards are whole cells in run order, so their records concatenate.
    /// </summary>
    public static SweepManifest Merge(IReadOnlyList<string> directories, string output)
    {
        List<(SweepManifest M, string Dir)> parts = [];
        foreach (string d in directories)
        {
            SweepManifest m = SweepManifest.Read(d) ?? throw new LabException($"{d}: no {ManifestName}: not a finished sweep or shard (an unfinished one continues with --resume)");
            parts.Add((m, d));
        }

        SweepManifest head = parts[0].M;
        foreach ((SweepManifest m, string d) in parts)
        {
            if (m.Hash != head.Hash || m.Shards != head.Shards || m.Runs != head.Runs)
            {
                throw new LabException($"{d}: shard {m.Shard}/{m.Shards} of a different sweep than {parts[0].Dir} (sha256 {m.Hash[..12]} against {head.Hash[..12]}, or another shard count)");
            }
        }

        parts.Sort((a, b) => a.M.Shard.CompareTo(b.M.Shard));
        for (int k = 0; k < head.Shards; k++)
        {
            if (k >= parts.Count || parts[k].M.Shard != k)
            {
                throw new LabException(k < parts.Count && k > 0 && parts[k].M.Shard == parts[k - 1].M.Shard
                    ? $"shard {parts[k].M.Shard}/{head.Shards} is given twice ({parts[k - 1].Dir}, {parts[k].Dir})"
                    : $"shard {k}/{head.Shards} is missing (give the directories of all {head.Shards} shards)");
            }
        }

        if (parts.Count != head.Shards)
        {
            throw new LabException($"{parts[head.Shards].Dir}: shard {parts[head.Shards].M.Shard}/{head.Shards} is given twice");
        }

        Directory.CreateDirectory(output);
        foreach ((_, string d) in parts)
        {
            if (Path.GetFullPath(d).TrimEnd('/') == Path.GetFullPath(output).TrimEnd('/'))
            {
                throw new LabException($"--out: {output} is one of the shards; merge into another directory");
            }
        }

        SweepManifest merged = new(head.Name, head.Hash, 0, 1, head.Runs, 0, head.Runs, parts.Sum(p => p.M.Refused));
        if (File.Exists(Path.Combine(output, ManifestName)))
        {
            File.Delete(Path.Combine(output, ManifestName));
        }

        Finish(output, merged, w =>
        {
            string? header = null;
            foreach ((_, string d) in parts)
            {
                using StreamReader r = new(Path.Combine(d, CsvName), Encoding.UTF8);
                string h = r.ReadLine() ?? throw new LabException($"{Path.Combine(d, CsvName)}: empty");
                if (header is null)
                {
                    header = h;
                    w.Write(h + "\n");
                }
                else if (h != header)
                {
                    throw new LabException($"{Path.Combine(d, CsvName)}: its columns differ from {Path.Combine(parts[0].Dir, CsvName)}");
                }

                CopyLines(r, w);
            }
        });
        return merged;
    }

    // Runs [next, end) on `jobs` threads; records are appended in run order. Returns the refused count.
    private static long Execute(SweepSpec spec, long next, long end, int jobs, FileStream journal, double? baselineNs, Action<long> committed, CancellationToken cancel)
    {
        object gate = new();
        Dictionary<long, SweepOutcome> waiting = new();
        long issue = next;
        long commit = next;
        long refused = 0;
        int window = Math.Max(4, jobs * 4); // runs finished ahead of the oldest unfinished one: bounded, so memory is flat
        Exception? failure = null;
        double? baseline = baselineNs;

        void Worker()
        {
            while (true)
            {
                long i;
                lock (gate)
                {
                    while (issue < end && issue >= commit + window && failure is null && !cancel.IsCancellationRequested)
                    {
                        Monitor.Wait(gate);
                    }

                    if (issue >= end || failure is not null || cancel.IsCancellationRequested)
                    {
                        return;
                    }

                    i = issue++;
                }

                SweepOutcome o;
                try
                {
                    o = SweepRuns.Execute(SweepRuns.Decode(spec, i));
                }
                catch (Exception e)
                {
                    lock (gate)
                    {
                        failure ??= new InvalidOperationException($"run {i}: {e.Message}", e);
                        Monitor.PulseAll(gate);
                    }

                    return;
                }

                lock (gate)
                {
                    waiting[i] = o;
                    while (failure is null && waiting.Remove(commit, out SweepOutcome? ready))
                    {
                        if (ready.Run.IsBaseline)
                        {
                            baseline = ready.Result?.NsPerOp;
                        }

                        byte[] bytes = Encoding.UTF8.GetBytes(SweepRuns.Row(spec, ready, baseline));
                        try
                        {
                            journal.Write(bytes); // one write per record: a kill leaves whole records and at most one torn line
                        }
                        catch (IOException e)
                        {
                            failure = e;
                            break;
                        }

                        refused += ready.Result is null ? 1 : 0;
                        commit++;
                        committed(commit);
                    }

                    Monitor.PulseAll(gate);
                }
            }
        }

        Thread[] threads = Enumerable.Range(0, Math.Max(1, jobs)).Select(_ => new Thread(Worker) { IsBackground = true, Name = "sweep" }).ToArray();
        foreach (Thread t in threads)
        {
            t.Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }

        return refused;
    }

    // Checks the journal is this sweep's and shard's, cuts a torn last line, and says where to continue; reads it a line at a time.
    private static (long Next, long Refused, double? BaselineNs) Recover(SweepSpec spec, string path, string stamp, IReadOnlyList<SweepColumn> columns, long first)
    {
        long next = first;
        long refused = 0;
        double? baseline = null;
        long keep = 0;
        int nsColumn = columns.ToList().FindIndex(c => c.Name == "ns_per_op");
        int statusColumn = columns.ToList().FindIndex(c => c.Name == "status");
        bool tornTail;
        using (FileStream f = new(path, FileMode.Open, FileAccess.Read))
        {
            if (f.Length > 0)
            {
                f.Seek(-1, SeekOrigin.End);
                tornTail = f.ReadByte() != '\n';
                f.Seek(0, SeekOrigin.Begin);
            }
            else
            {
                tornTail = false;
            }

            using StreamReader r = new(f, new UTF8Encoding(false));
            string? line = r.ReadLine();
            if (line != stamp || (r.Peek() < 0 && tornTail))
            {
                throw new LabException($"{path}: the journal belongs to another sweep file or shard ({(line is null ? "empty" : Hardware.Input.InputText.Quote(line))}); remove it to start over");
            }

            keep += Encoding.UTF8.GetByteCount(line) + 1;
            string? header = r.ReadLine();
            if (header is null || header + "\n" != SweepTable.Header(columns) || (r.Peek() < 0 && tornTail))
            {
                throw new LabException($"{path}: the journal's columns are not this sweep's; remove it to start over");
            }

            keep += Encoding.UTF8.GetByteCount(header) + 1;
            while ((line = r.ReadLine()) is not null)
            {
                if (r.Peek() < 0 && tornTail)
                {
                    break; // the last record was cut short by the kill: dropped, the run is done again
                }

                List<string> fields = SweepTable.Split(line);
                if (fields.Count != columns.Count || fields[0] != SweepTable.Integer(next) || next >= spec.Runs)
                {
                    throw new LabException($"{path}: the record for run {next} is damaged ({Hardware.Input.InputText.Quote(line)}); remove the journal to start over");
                }

                if (SweepRuns.Decode(spec, next).IsBaseline)
                {
                    baseline = nsColumn >= 0 && fields[nsColumn].Length > 0 ? double.Parse(fields[nsColumn], CultureInfo.InvariantCulture) : null;
                }

                refused += fields[statusColumn] == "refused" ? 1 : 0;
                next++;
                keep += Encoding.UTF8.GetByteCount(line) + 1;
            }
        }

        using (FileStream f = new(path, FileMode.Open, FileAccess.Write))
        {
            f.SetLength(keep);
        }

        return (next, refused, baseline);
    }

    // Writes runs.csv (from `write`), runs.parquet (from runs.csv) and sweep.json, each through a temporary file and a rename.
    private static void Finish(string directory, SweepManifest manifest, Action<TextWriter> write)
    {
        string csv = Path.Combine(directory, CsvName);
        Replace(csv, s =>
        {
            using StreamWriter w = new(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            write(w);
        });
        Replace(Path.Combine(directory, ParquetName), s =>
        {
            using StreamReader r = new(csv, Encoding.UTF8);
            SweepTable.WriteParquet(r, s);
        });
        Replace(Path.Combine(directory, ManifestName), s => s.Write(Encoding.UTF8.GetBytes(manifest.ToJson())));
    }

    private static void CopyLines(TextReader r, TextWriter w)
    {
        char[] buffer = new char[1 << 16];
        int n;
        while ((n = r.Read(buffer, 0, buffer.Length)) > 0)
        {
            w.Write(buffer, 0, n);
        }
    }

    /// <summary>Writes a file through a temporary file beside it (".NAME.PID.RANDOM.tmp", as every Vmsplit output) and a rename.</summary>
    public static void Replace(string path, Action<Stream> write)
    {
        string temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (FileStream s = new(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(s);
                s.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
