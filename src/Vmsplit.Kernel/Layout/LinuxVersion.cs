using System.Globalization;

namespace Vmsplit.Kernel.Layout;

/// <summary>A Linux release (major.minor); the layout rules of that release apply.</summary>
public readonly record struct LinuxVersion(int Major, int Minor) : IComparable<LinuxVersion>
{
    /// <summary>What "mainline" means to Vmsplit: the newest rules it knows.</summary>
    public static readonly LinuxVersion Mainline = new(6, 18);

    public int CompareTo(LinuxVersion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public static bool operator <(LinuxVersion a, LinuxVersion b) => a.CompareTo(b) < 0;

    public static bool operator >(LinuxVersion a, LinuxVersion b) => a.CompareTo(b) > 0;

    public static bool operator <=(LinuxVersion a, LinuxVersion b) => a.CompareTo(b) <= 0;

    public static bool operator >=(LinuxVersion a, LinuxVersion b) => a.CompareTo(b) >= 0;

    /// <summary>Parses "4.19", "4.19.25", "v5.10", "2.6.32" (2.6.x counts as 2.6) or "mainline".</summary>
    public static bool TryParse(string? text, out LinuxVersion version, out string error)
    {
        version = Mainline;
        error = "";
        string s = (text ?? "").Trim();
        if (s.Length == 0 || s.Equals("mainline", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (s.StartsWith('v') || s.StartsWith('V'))
        {
            s = s[1..];
        }

        string[] parts = s.Split('.');
        if (parts.Length < 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int minor)
            || major < 2 || major > 9)
        {
            error = $"--linux: '{text}' is not a Linux version (expected e.g. 4.19, 3.8.13 or mainline)";
            return false;
        }

        version = new LinuxVersion(major, minor);
        return true;
    }

    public static LinuxVersion Parse(string text)
        => TryParse(text, out LinuxVersion v, out string error) ? v : throw new LayoutException(LayoutErrorKind.BadOption, error);

    public override string ToString() => Major.ToString(CultureInfo.InvariantCulture) + "." + Minor.ToString(CultureInfo.InvariantCulture);
}
