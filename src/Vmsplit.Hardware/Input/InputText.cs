using System.Globalization;
using System.Text;

namespace Vmsplit.Hardware.Input;

/// <summary>
/// How error messages echo what a user typed or a file held: on one line, with control characters
/// escaped as C escapes (\n, \t, \x1b, \u0085, and lone surrogates as \ud800) and long values shortened,
/// so that a hostile value cannot split or flood a message.
/// </summary>
public static class InputText
{
    /// <summary>The longest echoed value; the rest is elided.</summary>
    public const int MaxEcho = 60;

    /// <summary>The longest file name echoed in full.</summary>
    public const int MaxPath = 500;

    /// <summary>The longest message <see cref="OneLine"/> lets through.</summary>
    public const int MaxMessage = 1000;

    /// <summary><paramref name="value"/> between single quotes, escaped and at most <see cref="MaxEcho"/> characters long.</summary>
    public static string Quote(string? value) => "'" + Escape(value ?? "", MaxEcho) + "'";

    /// <summary><paramref name="value"/> escaped (no line breaks or control characters) and at most <see cref="MaxEcho"/> characters long.</summary>
    public static string Show(string? value) => Escape(value ?? "", MaxEcho);

    /// <summary>A file name escaped like <see cref="Show"/> but kept whole up to <see cref="MaxPath"/> characters.</summary>
    public static string ShowPath(string? path) => Escape(path ?? "", MaxPath);

    /// <summary>A message made safe to print as one line: control characters escaped, at most <see cref="MaxMessage"/> characters.</summary>
    public static string OneLine(string message) => Escape(message, MaxMessage);

    private static string Escape(string s, int max)
    {
        StringBuilder b = new(Math.Min(s.Length, max) + 8);
        for (int i = 0; i < s.Length; i++)
        {
            if (b.Length >= max)
            {
                b.Append('…');
                break;
            }

            char c = s[i];
            switch (c)
            {
                case '\n':
                    b.Append("\\n");
                    break;
                case '\r':
                    b.Append("\\r");
                    break;
                case '\t':
                    b.Append("\\t");
                    break;
                default:
                    if (char.IsControl(c) && c < 0x80)
                    {
                        b.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else if (char.IsControl(c) || c is '\u2028' or '\u2029' || (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))))
                    {
                        b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else if (char.IsHighSurrogate(c))
                    {
                        b.Append(c).Append(s[++i]);
                    }
                    else
                    {
                        b.Append(c);
                    }

                    break;
            }
        }

        return b.ToString();
    }
}
