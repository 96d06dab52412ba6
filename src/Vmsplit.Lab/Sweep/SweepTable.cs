using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;
using Vmsplit.Hardware.Costs;
using Vmsplit.Kernel.Core;

namespace Vmsplit.Lab.Sweep;

/// <summary>The type of a result column.</summary>
public enum SweepColumnType
{
    Text,
    Integer,
    Real,
}

/// <summary>One column of runs.csv and runs.parquet.</summary>
public sealed record SweepColumn(string Name, SweepColumnType Type);

/// <summary>
/// The columns of a sweep's results and their two encodings: CSV (RFC 4180; integers in decimal, reals with
/// three decimals, an empty field for a value a refused run does not have) and Parquet, which is made from the
/// CSV so that both say the same and one CSV always gives the same Parquet bytes.
/// </summary>
public static class SweepTable
{
    /// <summary>Rows per Parquet row group: fixed, so the file does not depend on how the runs were split.</summary>
    public const int RowGroupRows = 4096;

    public static readonly string[] TlbNames = ["translations", "micro_hits", "main_hits", "misses", "walks", "walk_reads", "walk_step_cache_misses", "flushes", "entries_invalidated"];

    public static IReadOnlyList<SweepColumn> Columns(SweepRecord record)
    {
        List<SweepColumn> c =
        [
            new("run", SweepColumnType.Integer),
            new("machine", SweepColumnType.Text),
            new("arch", SweepColumnType.Text),
            new("ram_bytes", SweepColumnType.Integer),
            new("workload", SweepColumnType.Text),
            new("param_bytes", SweepColumnType.Integer),
            new("param_pages", SweepColumnType.Integer),
            new("cpus", SweepColumnType.Integer),
            new("seed", SweepColumnType.Integer),
            new("ops", SweepColumnType.Integer),
            new("design", SweepColumnType.Text),
            new("status", SweepColumnType.Text),
            new("reason", SweepColumnType.Text),
        ];
        if (record.HasFlag(SweepRecord.Time))
        {
            c.Add(new("ns_per_op", SweepColumnType.Real));
            c.Add(new("overhead_pct", SweepColumnType.Real));
            c.Add(new("cycles_per_op", SweepColumnType.Real));
            c.Add(new("context_switches_per_op", SweepColumnType.Real));
        }

        if (record.HasFlag(SweepRecord.Causes))
        {
            c.AddRange(KernelCostCause.All.Select(x => new SweepColumn("ns:" + x.Name, SweepColumnType.Real)));
        }

        if (record.HasFlag(SweepRecord.Tlb))
        {
            c.AddRange(TlbNames.Select(n => new SweepColumn("tlb:" + n, SweepColumnType.Integer)));
        }

        return c;
    }

    public static string Header(IReadOnlyList<SweepColumn> columns) => string.Join(',', columns.Select(c => c.Name)) + "\n";

    public static string Integer(long v) => v.ToString(CultureInfo.InvariantCulture);

    public static string Real(double v)
    {
        string s = v.ToString("F3", CultureInfo.InvariantCulture);
        return s == "-0.000" ? "0.000" : s;
    }

    /// <summary>A CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break.</summary>
    public static string Field(string v) =>
        v.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + v.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : v;

    /// <summary>Splits one CSV record (without its line end).</summary>
    public static List<string> Split(string line)
    {
        List<string> fields = [];
        StringBuilder f = new();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    f.Append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = false;
                }
                else
                {
                    f.Append(ch);
                }
            }
            else if (ch == '"')
            {
                quoted = true;
            }
            else if (ch == ',')
            {
                fields.Add(f.ToString());
                f.Clear();
            }
            else
            {
                f.Append(ch);
            }
        }

        fields.Add(f.ToString());
        return fields;
    }

    /// <summary>Writes the rows of a results CSV (header first) as Parquet, <see cref="RowGroupRows"/> rows at a time.</summary>
    public static void WriteParquet(TextReader csv, Stream output)
    {
        string header = csv.ReadLine() ?? throw new InvalidDataException("empty results file");
        List<SweepColumn> columns = header.Split(',').Select(TypeOf).ToList();
        DataField[] fields = columns.Select(c => c.Type switch
        {
            SweepColumnType.Integer => (DataField)new DataField<long?>(c.Name),
            SweepColumnType.Real => new DataField<double?>(c.Name),
            _ => new DataField<string>(c.Name, true),
        }).ToArray();
        ParquetSchema schema = new(fields);
        ParquetWriter writer = ParquetWriter.CreateAsync(schema, output, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy }, false, CancellationToken.None).GetAwaiter().GetResult();
        try
        {
            List<List<string>> batch = new(RowGroupRows);
            string? line;
            while ((line = csv.ReadLine()) is not null)
            {
                batch.Add(Split(line));
                if (batch.Count == RowGroupRows)
                {
                    WriteGroup(writer, fields, columns, batch);
                    batch.Clear();
                }
            }

            if (batch.Count > 0)
            {
                WriteGroup(writer, fields, columns, batch);
            }
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static void WriteGroup(ParquetWriter writer, DataField[] fields, List<SweepColumn> columns, List<List<string>> rows)
    {
        using ParquetRowGroupWriter group = writer.CreateRowGroup();
        for (int c = 0; c < columns.Count; c++)
        {
            int col = c;
            switch (columns[c].Type)
            {
                case SweepColumnType.Integer:
                    group.WriteAsync<long>(fields[c], rows.Select(r => r[col].Length == 0 ? (long?)null : long.Parse(r[col], CultureInfo.InvariantCulture)).ToArray().AsMemory(), null, null, CancellationToken.None).GetAwaiter().GetResult();
                    break;
                case SweepColumnType.Real:
                    group.WriteAsync<double>(fields[c], rows.Select(r => r[col].Length == 0 ? (double?)null : double.Parse(r[col], CultureInfo.InvariantCulture)).ToArray().AsMemory(), null, null, CancellationToken.None).GetAwaiter().GetResult();
                    break;
                default:
                    group.WriteAsync(fields[c], rows.Select(r => r[col].Length == 0 ? null! : r[col]).ToArray(), null).GetAwaiter().GetResult();
                    break;
            }
        }
    }

    private static SweepColumn TypeOf(string name) =>
        Columns(SweepRecord.All).FirstOrDefault(c => c.Name == name) ?? new SweepColumn(name, SweepColumnType.Text);
}
