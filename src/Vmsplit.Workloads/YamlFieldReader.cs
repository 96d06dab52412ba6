using System.Globalization;
using Vmsplit.Hardware;
using YamlDotNet.RepresentationModel;

namespace Vmsplit.Workloads;

/// <summary>
/// Typed access to the fields of a YAML mapping with errors that name the file, the line and the field
/// (shared by workload files and the validation datapoints); <paramref name="makeError"/> gives each
/// caller its own exception type.
/// </summary>
public sealed class YamlFieldReader(string source, Func<string, Exception> makeError)
{
    public Exception Error(YamlNode node, string field, string message) =>
        makeError($"{source}:{node.Start.Line}: {field}: {message}");

    public YamlNode? Child(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? n) ? n : null;

    public YamlMappingNode Mapping(YamlNode n, string field) =>
        n as YamlMappingNode ?? throw Error(n, field, "expected a mapping");

    public void CheckKeys(YamlMappingNode m, string prefix, params string[] allowed)
    {
        foreach (YamlNode k in m.Children.Keys)
        {
            string key = (k as YamlScalarNode)?.Value ?? "";
            if (!allowed.Contains(key))
            {
                throw Error(k, prefix + key, $"unknown field (allowed: {string.Join(", ", allowed)})");
            }
        }
    }

    public string? String(YamlMappingNode m, string key, bool required = false)
    {
        YamlNode? n = Child(m, key);
        if (n is null)
        {
            return required ? throw makeError($"{source}:{m.Start.Line}: {key}: missing") : null;
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

        if (!long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
        {
            throw Error(Child(m, key)!, key, $"'{s}' is not an integer");
        }

        return v < min || v > max ? throw Error(Child(m, key)!, key, $"{v} is out of range [{min}, {max}]") : v;
    }

    public ulong Size(YamlMappingNode m, string key, ulong min, ulong max, ulong fallback, bool required = false)
    {
        string? s = String(m, key, required);
        if (s is null)
        {
            return fallback;
        }

        return ByteSize.TryParse(s, key, min, max, out ulong v, out string error) ? v : throw Error(Child(m, key)!, key, error[(key.Length + 2)..]);
    }

    public bool Bool(YamlMappingNode m, string key, bool fallback)
    {
        string? s = String(m, key);
        return s switch
        {
            null => fallback,
            "true" or "yes" => true,
            "false" or "no" => false,
            _ => throw Error(Child(m, key)!, key, $"'{s}' is not true or false"),
        };
    }

    public double Double(YamlMappingNode m, string key, double min, double max, bool required = false)
    {
        string? s = String(m, key, required);
        if (s is null)
        {
            return double.NaN;
        }

        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
        {
            throw Error(Child(m, key)!, key, $"'{s}' is not a number");
        }

        return v < min || v > max ? throw Error(Child(m, key)!, key, $"{v} is out of range [{min}, {max}]") : v;
    }
}
