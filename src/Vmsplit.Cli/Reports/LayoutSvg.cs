using System.Globalization;
using System.Text;
using Vmsplit.Hardware;
using Vmsplit.Hardware.Paging;
using Vmsplit.Kernel.Layout;

namespace Vmsplit.Cli.Reports;

/// <summary>
/// The address space as a picture, to scale: 32-bit layouts on one linear axis; 64-bit layouts on an axis broken
/// at the non-canonical hole (each side to its own scale). Top of the address space at the top.
/// </summary>
public static class LayoutSvg
{
    private const double Top = 70;
    private const double Height = 760;
    private const double BarWidth = 150;
    private const double LabelGap = 14;
    private const double Left = 380;

    private readonly record struct Segment(UInt128 From, UInt128 To, double Y0, double Y1);

    public static string Render(KernelLayout l)
    {
        List<Segment> segments = Segments(l);
        bool twoContexts = false;
        foreach (LayoutRegion r in l.Regions)
        {
            twoContexts |= r.View != RegionView.Shared;
        }

        double[] columns = twoContexts ? [Left, Left + BarWidth + 10] : [Left];
        double barsRight = columns[^1] + BarWidth;
        double labelX = barsRight + 90;
        double width = labelX + 430;
        double height = Top + Height + 60;
        StringBuilder sb = new();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:0}\" height=\"{height:0}\" viewBox=\"0 0 {width:0} {height:0}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"0\" width=\"{width:0}\" height=\"{height:0}\" fill=\"#ffffff\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{Esc(LayoutRenderers.Describe(l))}</text>\n");
        double subtitleY = 40;
        foreach (string line in Wrap(l.RootSplit, 150))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"20\" y=\"{subtitleY:0}\" fill=\"#444\">{Esc(line)}</text>\n");
            subtitleY += 13;
        }
        if (twoContexts)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{columns[0] + BarWidth / 2:0.#}\" y=\"{Top - 8:0.#}\" text-anchor=\"middle\" font-weight=\"bold\">user context</text>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{columns[1] + BarWidth / 2:0.#}\" y=\"{Top - 8:0.#}\" text-anchor=\"middle\" font-weight=\"bold\">kernel context</text>\n");
        }

        // Bars.
        List<(double Y, string Text, double AnchorY)> labels = [];
        foreach (LayoutRegion r in l.Regions)
        {
            if (!TryY(segments, r.Start, out double yLow) || !TryY(segments, r.End, out double yHigh))
            {
                continue;
            }

            double y = Math.Min(yLow, yHigh);
            double h = Math.Max(Math.Abs(yLow - yHigh), 1.2);
            for (int c = 0; c < columns.Length; c++)
            {
                bool show = !twoContexts || r.View == RegionView.Shared || (c == 0 ? r.View == RegionView.UserContext : r.View == RegionView.KernelContext);
                if (show)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{columns[c]:0.#}\" y=\"{y:0.##}\" width=\"{BarWidth:0}\" height=\"{h:0.##}\" fill=\"{Color(r.Kind)}\" stroke=\"#333\" stroke-width=\"0.4\"><title>{Esc(r.Name)}: {LayoutRenderers.Hex(l, r.Start)}-{LayoutRenderers.Hex(l, r.Last)} ({ByteSize.Human(r.Size)})</title></rect>\n");
                }
            }

            if (r.Kind != RegionKind.Hole)
            {
                labels.Add((y + h / 2, $"{r.Name}  {LayoutRenderers.Hex(l, r.Start)}-{LayoutRenderers.Hex(l, r.Last)}  {ByteSize.Human(r.Size)}", y + h / 2));
            }
        }

        // Labels: spread so they never overlap, joined to their region by a leader line.
        labels.Sort((a, b) => a.Y.CompareTo(b.Y));
        double[] ys = new double[labels.Count];
        for (int i = 0; i < labels.Count; i++)
        {
            ys[i] = Math.Max(labels[i].Y, i == 0 ? Top : ys[i - 1] + LabelGap);
        }

        for (int i = labels.Count - 1; i >= 0; i--)
        {
            double limit = i == labels.Count - 1 ? Top + Height + 40 : ys[i + 1] - LabelGap;
            ys[i] = Math.Min(ys[i], limit);
        }

        for (int i = 0; i < labels.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{barsRight:0.#},{labels[i].AnchorY:0.##} {barsRight + 30:0.#},{labels[i].AnchorY:0.##} {labelX - 6:0.#},{ys[i]:0.##}\" fill=\"none\" stroke=\"#888\" stroke-width=\"0.6\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelX:0.#}\" y=\"{ys[i] + 4:0.##}\">{Esc(labels[i].Text)}</text>\n");
        }

        // Axis ticks at segment ends, and the break for 64-bit layouts.
        foreach (Segment s in segments)
        {
            Tick(sb, l, s.From, s.Y0, columns[0]);
            Tick(sb, l, s.To, s.Y1, columns[0]);
        }

        for (int i = 1; i < segments.Count; i++)
        {
            double yb = (segments[i - 1].Y1 + segments[i].Y0) / 2;
            double x0 = columns[0] - 8;
            sb.Append(CultureInfo.InvariantCulture, $"<path d=\"M{x0:0.#},{yb - 6:0.#} l{barsRight - x0 + 16:0.#},0 M{x0:0.#},{yb + 6:0.#} l{barsRight - x0 + 16:0.#},0\" stroke=\"#000\" stroke-dasharray=\"4 3\"/>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{columns[0] + 4:0.#}\" y=\"{yb + 4:0.#}\" font-style=\"italic\">axis broken: non-canonical hole (not to scale)</text>\n");
        }

        // Boundaries: user/kernel (TASK_SIZE) and the TTBR0/TTBR1 (or root) boundary.
        Boundary(sb, segments, l.TaskSize, columns[0], barsRight, "#c00000", "user/kernel boundary", $"TASK_SIZE {LayoutRenderers.Hex(l, l.TaskSize)}", 12);
        if (l.KernelRootStart != 0)
        {
            string name = l.Arch.Family() is ArchFamily.Arm32 or ArchFamily.Arm64 ? "TTBR0 | TTBR1" : "user | kernel half";
            Boundary(sb, segments, l.KernelRootStart, columns[0], barsRight, "#0050c0", $"{name} boundary", LayoutRenderers.Hex(l, l.KernelRootStart), -16);
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"20\" y=\"{Top + Height + 50:0}\" fill=\"#444\">lowmem {ByteSize.Human(l.LowmemBytes)}, highmem {ByteSize.Human(l.HighmemBytes)}, RAM ignored {ByteSize.Human(l.IgnoredBytes)}; to scale{(segments.Count > 1 ? " on each side of the break" : "")}; generated by vmsplit layout</text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static List<Segment> Segments(KernelLayout l)
    {
        UInt128 space = l.AddressSpaceSize;
        if (l.Arch.Is32Bit())
        {
            return [new Segment(0, space, Top + Height, Top)];
        }

        // Lower (user) half below, kernel half above; the non-canonical hole becomes the break.
        LayoutRegion? hole = l.Find("non-canonical");
        UInt128 userTop = hole is null ? l.TaskSize : hole.Start;
        UInt128 kernelBottom = hole is null ? l.KernelRootStart : hole.End;
        double mid = Top + Height * 0.5;
        return
        [
            new Segment(0, userTop, Top + Height, mid + 18),
            new Segment(kernelBottom, space, mid - 18, Top),
        ];
    }

    private static bool TryY(List<Segment> segments, UInt128 address, out double y)
    {
        foreach (Segment s in segments)
        {
            if (address >= s.From && address <= s.To)
            {
                double f = (double)(address - s.From) / (double)(s.To - s.From);
                y = s.Y0 + (s.Y1 - s.Y0) * f;
                return true;
            }
        }

        y = 0;
        return false;
    }

    private static void Tick(StringBuilder sb, KernelLayout l, UInt128 address, double y, double x)
    {
        string text = address == l.AddressSpaceSize ? (l.Arch.Is32Bit() ? "4 GiB" : "2^64") : LayoutRenderers.Hex(l, address);
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x - 6:0.#}\" y1=\"{y:0.##}\" x2=\"{x:0.#}\" y2=\"{y:0.##}\" stroke=\"#000\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x - 8:0.#}\" y=\"{y + 4:0.##}\" text-anchor=\"end\" font-size=\"10\">{Esc(text)}</text>\n");
    }

    private static void Boundary(StringBuilder sb, List<Segment> segments, ulong address, double x0, double x1, string color, string title, string value, double dy)
    {
        if (!TryY(segments, address, out double y))
        {
            return;
        }

        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x0 - 250:0.#}\" y1=\"{y:0.##}\" x2=\"{x1 + 30:0.#}\" y2=\"{y:0.##}\" stroke=\"{color}\" stroke-width=\"1.6\" stroke-dasharray=\"6 3\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 - 125:0.#}\" y=\"{y + dy:0.##}\" text-anchor=\"end\" fill=\"{color}\" font-weight=\"bold\" font-size=\"10\">{Esc(title)}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 - 125:0.#}\" y=\"{y + dy + 11:0.##}\" text-anchor=\"end\" fill=\"{color}\" font-size=\"10\">{Esc(value)}</text>\n");
    }

    private static List<string> Wrap(string text, int width)
    {
        List<string> lines = [];
        StringBuilder line = new();
        foreach (string word in text.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }

            line.Append(line.Length > 0 ? " " : "").Append(word);
        }

        if (line.Length > 0)
        {
            lines.Add(line.ToString());
        }

        return lines;
    }

    private static string Color(RegionKind kind) => kind switch
    {
        RegionKind.User => "#9ecae1",
        RegionKind.Lowmem => "#a1d99b",
        RegionKind.Vmalloc => "#fdd0a2",
        RegionKind.Modules => "#bcbddc",
        RegionKind.Pkmap => "#fa9fb5",
        RegionKind.Fixmap => "#fc9272",
        RegionKind.Vectors => "#e6550d",
        RegionKind.KernelImage => "#756bb1",
        RegionKind.Io => "#c7e9c0",
        RegionKind.Metadata => "#d9d9d9",
        RegionKind.Trampoline => "#fdae6b",
        RegionKind.Guard => "#f0f0f0",
        _ => "#ffffff",
    };

    private static string Esc(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);
}
