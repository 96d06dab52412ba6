using System.Globalization;
using System.Reflection;

namespace Vmsplit.Kernel.Core;

/// <summary>One function a kernel path runs: where it sits in the source kernel's text and how long it is.</summary>
public sealed record FootprintFunction(KernelPath Path, string Name, ulong Offset, ulong Size);

/// <summary>
/// The kernel text each built-in path executes, from a real kernel's symbol table: the data file
/// <c>Data/kernel-text-footprint.tsv</c> (its header states the provenance: /proc/kallsyms of a running x86-64
/// Linux 6.18.44, sizes from consecutive symbol addresses, written by scripts/footprints/kallsyms-footprint.py).
/// A function keeps its real offset and size; the image's text is smaller than a 6.18 distribution kernel's, so a
/// source page lands on the image page of the same number modulo the image's text pages. Neighbouring pages stay
/// neighbours and a path spans as many pages as it really spans (for every built-in path no two of its pages
/// collide; a test pins the counts). The same table serves
/// every architecture: no System.map of an arm, arm64 or RISC-V build was available, so their footprints are the
/// x86-64 kernel's, an assumption (docs/workloads.md).
/// </summary>
public static class KernelTextFootprint
{
    private const ulong Page = 4096;
    private static readonly Lazy<(ulong TextBytes, FootprintFunction[] Functions)> s_table = new(Load);

    /// <summary>Bytes of text of the kernel the table was read from (_etext - _text).</summary>
    public static ulong SourceTextBytes => s_table.Value.TextBytes;

    /// <summary>Every row of the table, in file order.</summary>
    public static IReadOnlyList<FootprintFunction> Functions => s_table.Value.Functions;

    /// <summary>The functions <paramref name="path"/> runs, in the order it runs them.</summary>
    public static IEnumerable<FootprintFunction> Of(KernelPath path) => Functions.Where(f => f.Path == path);

    /// <summary>
    /// The byte offsets (page-aligned, from the start of the image's text) of the pages <paramref name="path"/>'s
    /// functions span in an image with <paramref name="imageTextBytes"/> of text, in first-touch order, each once;
    /// <paramref name="skip"/> names a function left out (the entry stub, which runs from the design's entry page).
    /// The last text page is left out: it holds the syscall table.
    /// </summary>
    public static ulong[] PageOffsets(KernelPath path, ulong imageTextBytes, string? skip = null)
    {
        ulong usable = Math.Max(1, (imageTextBytes / Page) - 1);
        List<ulong> pages = [];
        foreach (FootprintFunction f in Of(path))
        {
            if (f.Name == skip)
            {
                continue;
            }

            ulong end = f.Offset + Math.Max(1, f.Size);
            for (ulong p = f.Offset / Page; p <= (end - 1) / Page; p++)
            {
                ulong offset = p % usable * Page;
                if (!pages.Contains(offset))
                {
                    pages.Add(offset);
                }
            }
        }

        return [.. pages];
    }

    /// <summary>
    /// The bytes of each page of <see cref="PageOffsets"/> (same pages, same order) that <paramref name="path"/>'s
    /// instructions are fetched from: per page, (start within the page, length) runs in the order the functions run,
    /// overlapping runs of the same page merged. A path runs <paramref name="fetchBytes"/> of instructions; when that is
    /// less than its functions' sizes, each function is fetched from its entry for the same share of its size (a
    /// function runs from its start; its untaken branches and unused cases are not fetched), at least one byte.
    /// </summary>
    public static (uint Start, uint Length)[][] PageRuns(KernelPath path, ulong imageTextBytes, ulong fetchBytes, string? skip = null)
    {
        ulong usable = Math.Max(1, (imageTextBytes / Page) - 1);
        ulong[] pages = PageOffsets(path, imageTextBytes, skip);
        List<(uint Start, uint End)>[] runs = [.. pages.Select(_ => new List<(uint, uint)>())];
        ulong total = 0;
        foreach (FootprintFunction f in Of(path))
        {
            total += f.Name == skip ? 0 : Math.Max(1, f.Size);
        }

        double share = total == 0 ? 1 : Math.Min(1.0, (double)fetchBytes / total);
        foreach (FootprintFunction f in Of(path))
        {
            if (f.Name == skip)
            {
                continue;
            }

            ulong end = f.Offset + Math.Max(1, (ulong)Math.Ceiling(Math.Max(1, f.Size) * share));
            for (ulong p = f.Offset / Page; p <= (end - 1) / Page; p++)
            {
                int i = Array.IndexOf(pages, p % usable * Page);
                uint from = (uint)(Math.Max(f.Offset, p * Page) - (p * Page));
                uint to = (uint)(Math.Min(end, (p + 1) * Page) - (p * Page));
                List<(uint Start, uint End)> list = runs[i];
                int overlap = list.FindIndex(r => r.Start < to && from < r.End);
                if (overlap >= 0)
                {
                    list[overlap] = (Math.Min(list[overlap].Start, from), Math.Max(list[overlap].End, to));
                }
                else
                {
                    list.Add((from, to));
                }
            }
        }

        return [.. runs.Select(l => l.Select(r => (r.Start, r.End - r.Start)).ToArray())];
    }

    /// <summary>The table's name of a path: its enum name in kebab case (<c>DevZeroNull</c> → <c>dev-zero-null</c>).</summary>
    public static string Key(KernelPath path) =>
        string.Concat(path.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static (ulong, FootprintFunction[]) Load()
    {
        using Stream s = Assembly.GetExecutingAssembly().GetManifestResourceStream("data/kernel-text-footprint.tsv")
            ?? throw new InvalidOperationException("kernel-text-footprint.tsv is not embedded in Vmsplit.Kernel");
        using StreamReader r = new(s);
        Dictionary<string, KernelPath> paths = Enum.GetValues<KernelPath>().ToDictionary(Key);
        ulong text = 0;
        List<FootprintFunction> rows = [];
        for (string? line = r.ReadLine(); line is not null; line = r.ReadLine())
        {
            string[] f = line.Split('\t');
            if (line.StartsWith("# text_bytes\t", StringComparison.Ordinal))
            {
                text = ulong.Parse(f[1], CultureInfo.InvariantCulture);
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                rows.Add(new FootprintFunction(paths[f[0]], f[1], ulong.Parse(f[2], CultureInfo.InvariantCulture), ulong.Parse(f[3], CultureInfo.InvariantCulture)));
            }
        }

        return (text, [.. rows]);
    }
}
