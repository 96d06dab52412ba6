using System.Text;

namespace Vmsplit.Cli.Reports;

/// <summary>A plain-text table: the first row is the header, underlined; columns two spaces apart, indented by two.</summary>
public static class TextTable
{
    /// <summary>Renders <paramref name="rows"/>; <paramref name="rightAligned"/> says which columns hold numbers.</summary>
    public static string Render(IReadOnlyList<string[]> rows, Func<int, bool> rightAligned)
    {
        int cols = rows.Max(r => r.Length);
        int[] width = new int[cols];
        foreach (string[] r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                width[i] = Math.Max(width[i], r[i].Length);
            }
        }

        StringBuilder sb = new();
        for (int j = 0; j < rows.Count; j++)
        {
            string[] r = rows[j];
            StringBuilder line = new("  ");
            for (int i = 0; i < r.Length; i++)
            {
                line.Append(i == 0 ? "" : "  ").Append(rightAligned(i) ? r[i].PadLeft(width[i]) : r[i].PadRight(width[i]));
            }

            sb.AppendLine(line.ToString().TrimEnd());
            if (j == 0)
            {
                sb.Append("  ").AppendLine(new string('-', width.Sum() + (2 * (cols - 1))));
            }
        }

        return sb.ToString();
    }
}
