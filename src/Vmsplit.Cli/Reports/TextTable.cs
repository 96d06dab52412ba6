using System.Text;

namespace Vmsplit.Cli.Reports;

/// <summary>A plain-text table: the first row is the header, underlined; columns two spaces apart, indented by two.</summary>
public static class TextTable
{
    /// <summary>The width reports fit when standard output is not a terminal: fixed, so the output is the same everywhere.</summary>
    public const int DefaultWidth = 100;

    /// <summary>The narrowest width a report is fitted to, whatever the terminal says.</summary>
    public const int MinWidth = 40;

    /// <summary>
    /// The width to fit: the terminal's when <paramref name="stdout"/> is the console and a terminal, else
    /// <see cref="DefaultWidth"/> (files, pipes and tests get the same bytes every time).
    /// </summary>
    public static int Width(TextWriter stdout)
    {
        if (!ReferenceEquals(stdout, Console.Out) || Console.IsOutputRedirected)
        {
            return DefaultWidth;
        }

        try
        {
            int w = Console.WindowWidth;
            return w <= 0 ? DefaultWidth : Math.Max(MinWidth, w - 1); // one column spare: a full line would wrap on some terminals
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or PlatformNotSupportedException)
        {
            return DefaultWidth;
        }
    }

    /// <summary>Renders <paramref name="rows"/>; <paramref name="rightAligned"/> says which columns hold numbers.</summary>
    public static string Render(IReadOnlyList<string[]> rows, Func<int, bool> rightAligned)
    {
        int cols = rows.Max(r => r.Length);
        int[] width = Widths(rows, cols);
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

    /// <summary>
    /// A table whose first column labels the rows and whose other columns are alike (one per design), fitted
    /// to <paramref name="width"/> characters: a row whose value is the same in every column is said once,
    /// in a line after the table ("same in every column"); columns that do not fit are wrapped into further
    /// blocks under the first, each repeating the labels. Value columns are right-aligned.
    /// </summary>
    /// <param name="sameLabel">the words for the line of repeated values, e.g. "Same for every design"</param>
    public static string RenderFitted(IReadOnlyList<string[]> rows, int width, string sameLabel)
    {
        int cols = rows[0].Length;
        List<string[]> body = [rows[0]];
        List<string> same = [];
        foreach (string[] r in rows.Skip(1))
        {
            if (cols > 2 && r.Skip(1).Distinct(StringComparer.Ordinal).Count() == 1)
            {
                same.Add($"{r[0]} {r[1]}");
            }
            else
            {
                body.Add(r);
            }
        }

        StringBuilder sb = new();
        if (body.Count > 1 || same.Count == 0)
        {
            int[] w = Widths(body, cols);
            foreach (List<int> block in Blocks(w, width))
            {
                if (sb.Length > 0)
                {
                    sb.AppendLine();
                }

                List<string[]> part = [.. body.Select(r => block.Prepend(0).Select(i => r[i]).ToArray())];
                sb.Append(Render(part, c => c > 0));
            }
        }

        if (same.Count > 0)
        {
            sb.Append(Wrap($"{sameLabel}: {string.Join("; ", same)}", width, "  ", "    "));
        }

        return sb.ToString();
    }

    /// <summary>
    /// Word-wraps <paramref name="text"/> to <paramref name="width"/> characters, the first line indented by
    /// <paramref name="first"/> and the others by <paramref name="rest"/>; a word longer than a line stands alone.
    /// </summary>
    public static string Wrap(string text, int width, string first = "  ", string rest = "    ")
    {
        StringBuilder sb = new();
        StringBuilder line = new(first);
        bool empty = true;
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!empty && line.Length + 1 + word.Length > width)
            {
                sb.AppendLine(line.ToString());
                line.Clear().Append(rest);
                empty = true;
            }

            line.Append(empty ? "" : " ").Append(word);
            empty = false;
        }

        sb.AppendLine(line.ToString().TrimEnd());
        return sb.ToString();
    }

    private static int[] Widths(IReadOnlyList<string[]> rows, int cols)
    {
        int[] width = new int[cols];
        foreach (string[] r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                width[i] = Math.Max(width[i], r[i].Length);
            }
        }

        return width;
    }

    // Value columns 1..n in blocks that fit beside the label column (at least one column per block).
    private static List<List<int>> Blocks(int[] widths, int width)
    {
        List<List<int>> blocks = [];
        List<int> current = [];
        int used = 2 + widths[0];
        for (int i = 1; i < widths.Length; i++)
        {
            if (current.Count > 0 && used + 2 + widths[i] > width)
            {
                blocks.Add(current);
                current = [];
                used = 2 + widths[0];
            }

            current.Add(i);
            used += 2 + widths[i];
        }

        blocks.Add(current);
        return blocks;
    }
}
