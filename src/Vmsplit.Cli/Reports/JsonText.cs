using System.Text;
using System.Text.Json;

namespace Vmsplit.Cli.Reports;

/// <summary>The JSON every command writes: indented UTF-8 text with a final newline.</summary>
public static class JsonText
{
    public static string Write(Action<Utf8JsonWriter> body)
    {
        using MemoryStream ms = new();
        using (Utf8JsonWriter w = new(ms, new JsonWriterOptions { Indented = true }))
        {
            body(w);
        }

        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }
}
