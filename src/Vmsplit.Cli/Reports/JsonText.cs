using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Vmsplit.Cli.Reports;

/// <summary>The JSON every command writes: indented UTF-8 text with a final newline.</summary>
public static class JsonText
{
    /// <summary>
    /// The writer's options. The relaxed encoder leaves <c>+</c>, <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>, quotes
    /// in strings as <c>\"</c> and non-ASCII letters as they are (the default encoder escapes them for HTML
    /// pages, so <c>4g4g+pin-kmap</c> came out as <c>4g4g\u002Bpin-kmap</c>); control characters, the quote and
    /// the backslash are still escaped, so the output stays valid JSON (RFC 8259 section 7).
    /// </summary>
    public static JsonWriterOptions Options { get; } = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(Action<Utf8JsonWriter> body)
    {
        using MemoryStream ms = new();
        using (Utf8JsonWriter w = new(ms, Options))
        {
            body(w);
        }

        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }
}
