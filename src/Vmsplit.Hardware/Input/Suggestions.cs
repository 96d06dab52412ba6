namespace Vmsplit.Hardware.Input;

/// <summary>"Did you mean" for a mistyped name: the closest known names by Damerau-Levenshtein distance.</summary>
public static class Suggestions
{
    /// <summary>
    /// The known names within a small edit distance of <paramref name="typed"/> (case-insensitive; at most a
    /// third of its length, at least 1, at most 3), closest first and then in the given order; at most three.
    /// </summary>
    public static IReadOnlyList<string> Closest(string typed, IEnumerable<string> known)
    {
        string t = typed.Trim().ToLowerInvariant();
        if (t.Length == 0)
        {
            return [];
        }

        int limit = Math.Clamp(t.Length / 3, 1, 3);
        List<(string Name, int Distance, int Order)> near = [];
        int order = 0;
        foreach (string k in known.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            string lower = k.ToLowerInvariant();
            int d = Distance(t, lower);

            // a prefix of a long name counts as near (vmsplit profile sho -> show)
            if (d > limit && t.Length >= 3 && lower.StartsWith(t, StringComparison.Ordinal))
            {
                d = limit;
            }

            if (d <= limit && lower != t)
            {
                near.Add((k, d, order));
            }

            order++;
        }

        return [.. near.OrderBy(n => n.Distance).ThenBy(n => n.Order).Take(3).Select(n => n.Name)];
    }

    /// <summary>" (did you mean 'x'?)" or " (did you mean 'x' or 'y'?)", or "" when nothing is near.</summary>
    public static string DidYouMean(string typed, IEnumerable<string> known)
    {
        IReadOnlyList<string> near = Closest(typed, known);
        return near.Count switch
        {
            0 => "",
            1 => $"; did you mean '{near[0]}'?",
            _ => $"; did you mean {string.Join(", ", near.Take(near.Count - 1).Select(n => $"'{n}'"))} or '{near[^1]}'?",
        };
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int Distance(string a, string b)
    {
        int[,] d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
