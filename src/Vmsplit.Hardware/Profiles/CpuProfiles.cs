using System.Reflection;

namespace Vmsplit.Hardware.Profiles;

/// <summary>The profiles shipped with Vmsplit (the YAML files under <c>profiles/</c>, embedded in this assembly).</summary>
public static class CpuProfiles
{
    private const string ResourcePrefix = "profiles/";

    private static readonly Lazy<IReadOnlyList<CpuProfile>> s_shipped = new(LoadShipped);

    /// <summary>Every shipped profile, sorted by id.</summary>
    public static IReadOnlyList<CpuProfile> Shipped => s_shipped.Value;

    /// <summary>The shipped profile with this id (case-insensitive), or null.</summary>
    public static CpuProfile? Find(string id)
    {
        foreach (CpuProfile p in Shipped)
        {
            if (string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>The YAML text of a shipped profile, as its file reads.</summary>
    public static string? ShippedText(string id)
    {
        using Stream? s = typeof(CpuProfiles).Assembly.GetManifestResourceStream(ResourcePrefix + id.ToLowerInvariant() + ".yaml");
        if (s is null)
        {
            return null;
        }

        using StreamReader r = new(s);
        return r.ReadToEnd();
    }

    private static IReadOnlyList<CpuProfile> LoadShipped()
    {
        Assembly asm = typeof(CpuProfiles).Assembly;
        List<CpuProfile> list = [];
        foreach (string name in asm.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !name.EndsWith(".yaml", StringComparison.Ordinal))
            {
                continue;
            }

            using Stream s = asm.GetManifestResourceStream(name)!;
            using StreamReader r = new(s);
            CpuProfile p = CpuProfileLoader.Parse(r.ReadToEnd(), name);
            if (name != ResourcePrefix + p.Id + ".yaml")
            {
                throw new ProfileFormatException($"{name}: id: '{p.Id}' does not match the file name");
            }

            list.Add(p);
        }

        list.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return list;
    }
}
