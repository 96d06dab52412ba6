using System.Globalization;
using Parquet;
using Vmsplit.Lab.Sweep;

namespace Vmsplit.Lab.Tests.Sweep;

/// <summary>Sweep files, run numbering, shards, merge, resume and the two result encodings.</summary>
public sealed class SweepTests : IDisposable
{
    private const string Small = """
        name: t
        machines: [cortex-a15]
        designs: [classic, 4g4g+hybrid, kpti]
        ram: [1G, 2G]
        workloads: [null, { builtin: wss, size: [64K], pages: [4, 16] }]
        ops: [20]
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vmsplit-sweep-" + Guid.NewGuid().ToString("N"));

    public SweepTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SweepSpec Spec(string text = Small) => SweepFile.Parse(text, "t.yaml");

    private string Out(string name) => Path.Combine(_dir, name);

    private static byte[][] Files(string dir) =>
        [File.ReadAllBytes(Path.Combine(dir, SweepOutput.CsvName)), File.ReadAllBytes(Path.Combine(dir, SweepOutput.ParquetName)), File.ReadAllBytes(Path.Combine(dir, SweepOutput.ManifestName))];

    [Fact]
    public void TheRunSetIsTheProductOfTheAxesWithTheBaselineFirstAndDesignInnermost()
    {
        SweepSpec s = Spec(Small + "\nbaseline: 4g4g+hybrid\n");
        Assert.Equal(["4g4g+hybrid", "classic", "kpti"], s.Designs);
        Assert.Equal(2 * 3, s.Cells); // RAM x workloads (null, wss:64K:4, wss:64K:16)
        Assert.Equal(18, s.Runs);
        SweepRunSpec r = SweepRuns.Decode(s, 13); // cell 4 = RAM 2G (4 / 3 = 1), workload 4 % 3 = 1; design 13 % 3 = 1
        Assert.Equal((2UL << 30, "wss:64K:4", "classic", 4L), (r.Ram, r.Workload.Name, r.Design, r.Cell));
        Assert.Equal((65536UL, 4UL), (r.Workload.Bytes!.Value, r.Workload.Pages!.Value));
    }

    [Theory]
    [InlineData("designs: [clasic]", "t.yaml:3: designs: unknown design 'clasic'")]
    [InlineData("cpus: [1, 2]", "t.yaml:7: cpus: 2 CPUs: the model runs one CPU today")]
    [InlineData("ram: [1G, 3]", "t.yaml:4: ram:")]
    [InlineData("colour: blue", "t.yaml:7: colour: unknown field")]
    [InlineData("workloads: [nul]", "t.yaml:5: workloads: workload 'nul': unknown")]
    [InlineData("machines: [cortex-a99]", "t.yaml:2: machines: unknown CPU profile 'cortex-a99'")]
    [InlineData("ram: [1G, 1G]", "t.yaml:4: ram: '1073741824' is listed twice")]
    public void ABadSweepFileIsRefusedNamingTheFileAndLine(string change, string expected)
    {
        string key = change.Split(':')[0];
        string[] lines = Small.Split('\n');
        int at = Array.FindIndex(lines, l => l.StartsWith(key + ":", StringComparison.Ordinal));
        string text = at >= 0 ? string.Join('\n', lines.Select((l, i) => i == at ? change : l)) : Small + "\n" + change;
        SweepFileException e = Assert.Throws<SweepFileException>(() => SweepFile.Parse(text, "t.yaml"));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusedCombinationsAreListedWithTheirReasonAndOverheadIsAgainstTheCellsBaseline()
    {
        SweepOutput.Run(Spec(), Out("a"), 0, 1, resume: false, jobs: 2);
        string[] rows = File.ReadAllLines(Path.Combine(Out("a"), SweepOutput.CsvName));
        List<string> header = SweepTable.Split(rows[0]);
        Assert.Equal(19, rows.Length); // header + 18 runs
        int status = header.IndexOf("status");
        int reason = header.IndexOf("reason");
        int ns = header.IndexOf("ns_per_op");
        int overhead = header.IndexOf("overhead_pct");
        List<List<string>> data = rows.Skip(1).Select(SweepTable.Split).ToList();
        Assert.All(data.Where(r => r[header.IndexOf("design")] == "kpti"), r =>
        {
            Assert.Equal("refused", r[status]);
            Assert.Contains("kpti exists for x86-64", r[reason], StringComparison.Ordinal);
            Assert.Equal("", r[ns]);
        });
        Assert.Equal(6, data.Count(r => r[status] == "refused"));
        for (int i = 0; i < data.Count; i += 3)
        {
            double b = double.Parse(data[i][ns], CultureInfo.InvariantCulture);
            double h = double.Parse(data[i + 1][ns], CultureInfo.InvariantCulture);
            Assert.Equal("0.000", data[i][overhead]);
            Assert.Equal(100 * (h - b) / b, double.Parse(data[i + 1][overhead], CultureInfo.InvariantCulture), 0.01);
            Assert.True(h > b, "4g4g+hybrid switches TTBR0 twice per entry: it is slower than classic on every workload here");
        }

        Assert.Equal(6L, SweepManifest.Read(Out("a"))!.Refused);
    }

    [Fact]
    public void OutputIsByteIdenticalWhateverTheNumberOfCores()
    {
        SweepOutput.Run(Spec(), Out("one"), 0, 1, resume: false, jobs: 1);
        SweepOutput.Run(Spec(), Out("three"), 0, 1, resume: false, jobs: 3);
        Assert.Equal(Files(Out("one")), Files(Out("three")));
    }

    [Fact]
    public void ShardsMergeIntoExactlyWhatOneProcessWrites()
    {
        SweepSpec s = Spec();
        SweepOutput.Run(s, Out("all"), 0, 1, resume: false, jobs: 2);
        long covered = 0;
        for (int k = 0; k < 4; k++)
        {
            (long first, long end) = SweepOutput.Slice(s, k, 4);
            Assert.Equal(0, first % s.DesignCount); // whole cells
            Assert.Equal(covered, first);
            covered = end;
            SweepOutput.Run(s, Out($"s{k}"), k, 4, resume: false, jobs: 1);
        }

        Assert.Equal(s.Runs, covered);
        SweepOutput.Merge([Out("s2"), Out("s0"), Out("s3"), Out("s1")], Out("merged"));
        Assert.Equal(Files(Out("all")), Files(Out("merged")));

        Assert.Contains("shard 1/4 is missing", Assert.Throws<LabException>(() => SweepOutput.Merge([Out("s0"), Out("s2"), Out("s3")], Out("m2"))).Message, StringComparison.Ordinal);
        Assert.Contains("given twice", Assert.Throws<LabException>(() => SweepOutput.Merge([Out("s0"), Out("s1"), Out("s1"), Out("s2"), Out("s3")], Out("m3"))).Message, StringComparison.Ordinal);
        SweepOutput.Run(Spec(Small.Replace("ops: [20]", "ops: [21]", StringComparison.Ordinal)), Out("other1"), 1, 4, resume: false, jobs: 1);
        Assert.Contains("different sweep", Assert.Throws<LabException>(() => SweepOutput.Merge([Out("s0"), Out("other1"), Out("s2"), Out("s3")], Out("m4"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MoreShardsThanCellsLeaveEmptyShardsThatMergeAsWell()
    {
        SweepSpec s = Spec();
        SweepOutput.Run(s, Out("all"), 0, 1, resume: false, jobs: 2);
        List<string> dirs = [];
        for (int k = 0; k < 10; k++)
        {
            SweepOutput.Run(s, Out($"s{k}"), k, 10, resume: false, jobs: 1);
            dirs.Add(Out($"s{k}"));
        }

        Assert.Single(File.ReadAllLines(Path.Combine(Out("s0"), SweepOutput.CsvName))); // cells 0..0 of 6: the header alone
        SweepOutput.Merge(dirs, Out("merged"));
        Assert.Equal(Files(Out("all")), Files(Out("merged")));
    }

    [Fact]
    public void AKilledSweepResumesAfterItsLastWholeRecordWithoutATornOutput()
    {
        SweepSpec s = Spec();
        SweepOutput.Run(s, Out("all"), 0, 1, resume: false, jobs: 2);
        string[] rows = File.ReadAllLines(Path.Combine(Out("all"), SweepOutput.CsvName));

        // The state a kill leaves: the journal's stamp, header and 7 whole records, then half of the 8th.
        Directory.CreateDirectory(Out("killed"));
        string stamp = $"#{SweepManifest.Format} sha256={s.Hash} shard=0/1 runs=0-{s.Runs}";
        File.WriteAllText(Path.Combine(Out("killed"), SweepOutput.JournalName), stamp + "\n" + string.Join("", rows.Take(8).Select(r => r + "\n")) + rows[8][..10]);
        Assert.Contains("--resume continues it", Assert.Throws<LabException>(() => SweepOutput.Run(s, Out("killed"), 0, 1, resume: false, jobs: 1)).Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Out("killed"), SweepOutput.CsvName)));

        SweepSummary resumed = SweepOutput.Run(s, Out("killed"), 0, 1, resume: true, jobs: 2);
        Assert.Equal(7, resumed.Resumed);
        Assert.Equal(Files(Out("all")), Files(Out("killed")));
        Assert.False(File.Exists(Path.Combine(Out("killed"), SweepOutput.JournalName)));
        Assert.True(SweepOutput.Run(s, Out("killed"), 0, 1, resume: true, jobs: 2).AlreadyComplete);
    }

    [Fact]
    public void ACancelledSweepLeavesAJournalOfWholeRecordsThatResumes()
    {
        SweepSpec s = Spec();
        SweepOutput.Run(s, Out("all"), 0, 1, resume: false, jobs: 1);
        using CancellationTokenSource cancel = new();
        Assert.ThrowsAny<OperationCanceledException>(() => SweepOutput.Run(s, Out("c"), 0, 1, resume: false, jobs: 2, new StopAfter(5, cancel), cancel.Token));
        Assert.False(File.Exists(Path.Combine(Out("c"), SweepOutput.ManifestName)));
        string[] journal = File.ReadAllLines(Path.Combine(Out("c"), SweepOutput.JournalName));
        Assert.InRange(journal.Length - 2, 5, 17);
        SweepSummary resumed = SweepOutput.Run(s, Out("c"), 0, 1, resume: true, jobs: 2);
        Assert.Equal(journal.Length - 2, resumed.Resumed);
        Assert.Equal(Files(Out("all")), Files(Out("c")));
    }

    [Fact]
    public void AJournalOfAnotherSweepIsNotResumed()
    {
        SweepSpec s = Spec();
        Directory.CreateDirectory(Out("x"));
        File.WriteAllText(Path.Combine(Out("x"), SweepOutput.JournalName), "#vmsplit-sweep/1 sha256=00 shard=0/1 runs=0-18\n");
        Assert.Contains("belongs to another sweep", Assert.Throws<LabException>(() => SweepOutput.Run(s, Out("x"), 0, 1, resume: true, jobs: 1)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheParquetFileHoldsWhatTheCsvSays()
    {
        SweepOutput.Run(Spec(), Out("p"), 0, 1, resume: false, jobs: 2);
        string[] rows = File.ReadAllLines(Path.Combine(Out("p"), SweepOutput.CsvName));
        List<string> header = SweepTable.Split(rows[0]);
        await using FileStream f = File.OpenRead(Path.Combine(Out("p"), SweepOutput.ParquetName));
        await using ParquetReader reader = await ParquetReader.CreateAsync(f, null, false, CancellationToken.None);
        Assert.Equal(header, reader.Schema.DataFields.Select(d => d.Name));
        Assert.Equal(1, reader.RowGroupCount);
        using ParquetRowGroupReader g = reader.OpenRowGroupReader(0);
        Assert.Equal(18, g.RowCount);
        double?[] ns = new double?[18];
        string?[] reason = new string?[18];
        await g.ReadAsync<double>(reader.Schema.DataFields[header.IndexOf("ns_per_op")], ns.AsMemory(), null, CancellationToken.None);
        await g.ReadAsync(reader.Schema.DataFields[header.IndexOf("reason")], reason.AsMemory(), null, CancellationToken.None);
        for (int i = 1; i < rows.Length; i++)
        {
            List<string> csv = SweepTable.Split(rows[i]);
            double? expected = csv[header.IndexOf("ns_per_op")].Length == 0 ? null : double.Parse(csv[header.IndexOf("ns_per_op")], CultureInfo.InvariantCulture);
            Assert.Equal(expected, ns[i - 1]);
            Assert.Equal(csv[header.IndexOf("reason")] is "" ? null : csv[header.IndexOf("reason")], reason[i - 1]);
        }
    }

    private sealed class StopAfter(long runs, CancellationTokenSource cancel) : IProgress<(long Done, long Total)>
    {
        public void Report((long Done, long Total) value)
        {
            if (value.Done >= runs)
            {
                cancel.Cancel();
            }
        }
    }
}
