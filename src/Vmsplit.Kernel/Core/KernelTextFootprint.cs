using System.Globalization;
using System.Reflection;

namespace Vmsplit.Kernel.Core;

/// <summary>One function a kernel path runs: where it sits in the source kernel's text and how long it is.</summary>
public sealed record FootprintFunction(KernelPath Path, string Name, ulong Offset, ulong Size);

/// <summary>
/// One architecture's kernel text footprint table: the functions each built-in path runs, with their offsets in the
/// text of a real kernel of that architecture and their sizes, read from an embedded data file whose header states
/// where the symbol table came from (written by scripts/footprints/kallsyms-footprint.py). A function keeps its
/// real offset and size; the image's text is smaller than the source kernel's, so a source page lands on the image
/// page of the same number modulo the image's text pages: neighbouring pages stay neighbours and a path spans as
/// many pages as it really spans (a test pins the counts per architecture).
/// </summary>
public sealed class KernelTextTable
{
    private const ulong Page = 4096;

    private KernelTextTable(string resource, ulong textBytes, string? entryStub, FootprintFunction[] functions)
    {
        Resource = resource;
        SourceTextBytes = textBytes;
        EntryStub = entryStub;
        Functions = functions;
    }

    /// <summary>The embedded data file the table was read from (<c>data/kernel-text-footprint*.tsv</c>).</summary>
    public string Resource { get; }

    /// <summary>Bytes of text of the kernel the table was read from (_etext - _text).</summary>
    public ulong SourceTextBytes { get; }

    /// <summary>
    /// The function the design's entry page stands for (it runs from <see cref="SimKernel.EntryVa"/>, so its own page
    /// is not counted again); null where the entry vectors lie outside the text (32-bit ARM's vectors page).
    /// </summary>
    public string? EntryStub { get; }

    /// <summary>Every row of the table, in file order.</summary>
    public IReadOnlyList<FootprintFunction> Functions { get; }

    /// <summary>The functions <paramref name="path"/> runs, in the order it runs them.</summary>
    public IEnumerable<FootprintFunction> Of(KernelPath path) => Functions.Where(f => f.Path == path);

    /// <summary>
    /// The byte offsets (page-aligned, from the start of the image's text) of the pages <paramref name="path"/>'s
    /// functions span in an image with <paramref name="imageTextBytes"/> of text, in first-touch order, each once;
    /// <paramref name="skip"/> names a function left out (the entry stub, which runs from the design's entry page).
    /// The last text page is left out: it holds the syscall table.
    /// </summary>
    public ulong[] PageOffsets(KernelPath path, ulong imageTextBytes, string? skip = null)
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
    public (uint Start, uint Length)[][] PageRuns(KernelPath path, ulong imageTextBytes, ulong fetchBytes, string? skip = null)
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

    internal static KernelTextTable Load(string resource)
    {
        using Stream s = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{resource} is not embedded in Vmsplit.Kernel");
        using StreamReader r = new(s);
        Dictionary<string, KernelPath> paths = Enum.GetValues<KernelPath>().ToDictionary(KernelTextFootprint.Key);
        ulong text = 0;
        string? stub = null;
        List<FootprintFunction> rows = [];
        for (string? line = r.ReadLine(); line is not null; line = r.ReadLine())
        {
            string[] f = line.Split('\t');
            if (line.StartsWith("# text_bytes\t", StringComparison.Ordinal))
            {
                text = ulong.Parse(f[1], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("# entry_stub\t", StringComparison.Ordinal))
            {
                stub = f[1] == "-" ? null : f[1];
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                rows.Add(new FootprintFunction(paths[f[0]], f[1], ulong.Parse(f[2], CultureInfo.InvariantCulture), ulong.Parse(f[3], CultureInfo.InvariantCulture)));
            }
        }

        return new KernelTextTable(resource, text, stub, [.. rows]);
    }
}

/// <summary>
/// The kernel text each built-in path executes, from real kernels' symbol tables, one table per architecture (each
/// data file's header states its provenance; docs/workloads.md): x86-64 from /proc/kallsyms of Linux 6.18.44
/// (<c>Data/kernel-text-footprint.tsv</c>), 32-bit x86 from the System.map of Debian 10's Linux 4.19 686-pae kernel
/// (<c>-x86-32.tsv</c>, also used without PAE), arm64 from
/// the System.map of a Raspberry Pi 3 Linux 4.19.76 (<c>-arm64.tsv</c>), 32-bit ARM from the System.map of a
/// Raspberry Pi 2 Linux 4.4.34 (<c>-arm.tsv</c>, also used for LPAE), RISC-V from the System.map of an Allwinner D1
/// Linux 5.4.61 (<c>-riscv.tsv</c>). Each architecture room names its table (<see cref="Arch.ArchMm.TextFootprint"/>).
/// The static members without a table are the x86-64 table's.
/// </summary>
public static class KernelTextFootprint
{
    private static readonly Lazy<KernelTextTable> s_x86 = new(() => KernelTextTable.Load("data/kernel-text-footprint.tsv"));
    private static readonly Lazy<KernelTextTable> s_x86_32 = new(() => KernelTextTable.Load("data/kernel-text-footprint-x86-32.tsv"));
    private static readonly Lazy<KernelTextTable> s_arm64 = new(() => KernelTextTable.Load("data/kernel-text-footprint-arm64.tsv"));
    private static readonly Lazy<KernelTextTable> s_arm = new(() => KernelTextTable.Load("data/kernel-text-footprint-arm.tsv"));
    private static readonly Lazy<KernelTextTable> s_riscv = new(() => KernelTextTable.Load("data/kernel-text-footprint-riscv.tsv"));

    /// <summary>x86-64 Linux 6.18.44 (/proc/kallsyms).</summary>
    public static KernelTextTable X86_64 => s_x86.Value;

    /// <summary>32-bit x86 Linux 4.19 (System.map of Debian 10's 4.19.0-17-686-pae kernel); non-PAE kernels use it too.</summary>
    public static KernelTextTable X86_32 => s_x86_32.Value;

    /// <summary>arm64 Linux 4.19.76 (System.map of the Raspberry Pi 3 kernel).</summary>
    public static KernelTextTable Arm64 => s_arm64.Value;

    /// <summary>32-bit ARM Linux 4.4.34 (System.map of a Raspberry Pi 2 kernel); LPAE kernels use it too.</summary>
    public static KernelTextTable Arm => s_arm.Value;

    /// <summary>RISC-V Linux 5.4.61 (System.map of the Allwinner D1 Tina kernel).</summary>
    public static KernelTextTable Riscv => s_riscv.Value;

    /// <summary>Every table: one per architecture family, x86 one per word size.</summary>
    public static IReadOnlyList<KernelTextTable> All => [X86_64, X86_32, Arm64, Arm, Riscv];

    /// <summary>Bytes of text of the x86-64 kernel the default table was read from (_etext - _text).</summary>
    public static ulong SourceTextBytes => X86_64.SourceTextBytes;

    /// <summary>Every row of the x86-64 table, in file order.</summary>
    public static IReadOnlyList<FootprintFunction> Functions => X86_64.Functions;

    /// <summary>The functions <paramref name="path"/> runs on x86-64, in the order it runs them.</summary>
    public static IEnumerable<FootprintFunction> Of(KernelPath path) => X86_64.Of(path);

    /// <summary>The x86-64 table's <see cref="KernelTextTable.PageOffsets"/>.</summary>
    public static ulong[] PageOffsets(KernelPath path, ulong imageTextBytes, string? skip = null) => X86_64.PageOffsets(path, imageTextBytes, skip);

    /// <summary>The x86-64 table's <see cref="KernelTextTable.PageRuns"/>.</summary>
    public static (uint Start, uint Length)[][] PageRuns(KernelPath path, ulong imageTextBytes, ulong fetchBytes, string? skip = null) =>
        X86_64.PageRuns(path, imageTextBytes, fetchBytes, skip);

    /// <summary>The table's name of a path: its enum name in kebab case (<c>DevZeroNull</c> → <c>dev-zero-null</c>).</summary>
    public static string Key(KernelPath path) =>
        string.Concat(path.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
