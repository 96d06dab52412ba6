using System.Globalization;
using System.Numerics;
using YamlDotNet.RepresentationModel;

namespace Vmsplit.Hardware.Input;

/// <summary>
/// Typed access to the fields of a YAML mapping (loaded by <see cref="SafeYaml"/>) with errors that name
/// the file, the line and the field: "SOURCE:LINE: FIELD: problem" on one line, values echoed through
/// <see cref="InputText"/>. Shared by CPU profiles, workload files, sweep files and the validation datapoints;
/// <paramref name="makeError"/> gives each caller its own exception type.
/// </summary>
public sealed class YamlFieldReader(string source, Func<string, Exception> makeError)
{
    public string Source { get; } = source;

    public Exception Error(YamlNode node, string field, string message) => At(node.Start.Line, field, message);

    /// <summary>An error at <paramref name="line"/>; <paramref name="field"/> may be empty for the whole file.</summary>
    public Exception At(long line, string field, string message) =>
        makeError(InputText.OneLine(field.Length == 0 ? $"{InputText.ShowPath(Source)}:{line}: {message}" : $"{InputText.ShowPath(Source)}:{line}: {field}: {message}"));

    /// <summary>The value of <paramref name="key"/> (compared by its text, whatever its tag), or null.</summary>
    public YamlNode? Child(YamlMappingNode m, string key)
    {
        foreach (KeyValuePair<YamlNode, YamlNode> pair in m.Children)
        {
            if (pair.Key is YamlScalarNode { Value: string k } && k == key)
            {
                return pair.Value;
            }
        }

        return null;
    }

    public YamlMappingNode Mapping(YamlNode n, string field) =>
        n as YamlMappingNode ?? throw Error(n, field, "expected a mapping");

    public YamlSequenceNode Sequence(YamlNode n, string field) =>
        n as YamlSequenceNode ?? throw Error(n, field, "expected a list");

    /// <summary>The text of a scalar node (may be empty).</summary>
    public string Scalar(YamlNode n, string field) =>
        (n as YamlScalarNode)?.Value ?? throw Error(n, field, "expected a single value");

    public void CheckKeys(YamlMappingNode m, string prefix, params string[] allowed)
    {
        foreach (YamlNode k in m.Children.Keys)
        {
            string key = Scalar(k, prefix.Length == 0 ? "key" : prefix.TrimEnd('.'));
            if (!allowed.Contains(key))
            {
                throw Error(k, prefix + InputText.Show(key), $"unknown field (allowed: {string.Join(", ", allowed)})");
            }
        }
    }

    public string? String(YamlMappingNode m, string key, bool required = false)
    {
        YamlNode? n = Child(m, key);
        if (n is null)
        {
            return required ? throw Error(m, key, "missing") : null;
        }

        return n is YamlScalarNode s && !string.IsNullOrWhiteSpace(s.Value) ? s.Value!.Trim() : throw Error(n, key, "expected a value");
    }

    public long Integer(YamlMappingNode m, string key, long min, long max, long fallback, bool required = false)
    {
        string? s = String(m, key, required);
        if (s is null)
        {
            return fallback;
        }

        return IntegerValue(Child(m, key)!, key, s, min, max);
    }

    /// <summary>
    /// <paramref name="text"/> (the value of <paramref name="node"/>) as an integer of type <typeparamref name="T"/> in
    /// [min, max]; one that does not parse as a <typeparamref name="T"/> "is not an integer".
    /// </summary>
    public T IntegerValue<T>(YamlNode node, string field, string text, T min, T max)
        where T : IBinaryInteger<T>
    {
        if (!T.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out T? v))
        {
            throw Error(node, field, $"{InputText.Quote(text)} is not an integer");
        }

        return v < min || v > max ? throw Error(node, field, $"{v} is out of range [{min}, {max}]") : v;
    }

    public ulong Size(YamlMappingNode m, string key, ulong min, ulong max, ulong fallback, bool required = false)
    {
        string? s = String(m, key, required);
        if (s is null)
        {
            return fallback;
        }

        return SizeValue(Child(m, key)!, key, s, min, max);
    }

    /// <summary><paramref name="text"/> (the value of <paramref name="node"/>) as a size in [min, max] (<see cref="ByteSize.TryParse(string?, string, ulong, ulong, out ulong, out string)"/>).</summary>
    public ulong SizeValue(YamlNode node, string field, string text, ulong min, ulong max) =>
        ByteSize.TryParse(text, field, min, max, out ulong v, out string error) ? v : throw Error(node, field, error[(field.Length + 2)..]);

    public bool Bool(YamlMappingNode m, string key, bool fallback)
    {
        string? s = String(m, key);
        return s switch
        {
            null => fallback,
            "true" or "yes" => true,
            "false" or "no" => false,
            _ => throw Error(Child(m, key)!, key, $"{InputText.Quote(s)} is not true or false"),
        };
    }

    public double Double(YamlMappingNode m, string key, double min, double max, bool required = false)
    {
        string? s = String(m, key, required);
        if (s is null)
        {
            return double.NaN;
        }

        double v = NumberValue(Child(m, key)!, key, s);
        return v < min || v > max ? throw Error(Child(m, key)!, key, $"{v.ToString(CultureInfo.InvariantCulture)} is out of range [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]") : v;
    }

    /// <summary><paramref name="text"/> (the value of <paramref name="node"/>) as a finite number.</summary>
    public double NumberValue(YamlNode node, string field, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v : throw Error(node, field, $"{InputText.Quote(text)} is not a number");
}
