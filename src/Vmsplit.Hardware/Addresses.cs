using System.Globalization;
using System.Runtime.CompilerServices;
using Vmsplit.Hardware.Input;

namespace Vmsplit.Hardware;

/// <summary>A virtual address as the CPU issues it (up to 64 bits; the format decides which bits are meaningful).</summary>
public readonly record struct VirtualAddress(ulong Value) : IComparable<VirtualAddress>
{
    public static VirtualAddress Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public VirtualAddress AlignDown(ulong alignment) => new(Value & ~(alignment - 1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsAligned(ulong alignment) => (Value & (alignment - 1)) == 0;

    public int CompareTo(VirtualAddress other) => Value.CompareTo(other.Value);

    public static VirtualAddress operator +(VirtualAddress a, ulong b) => new(a.Value + b);

    public static VirtualAddress operator -(VirtualAddress a, ulong b) => new(a.Value - b);

    public static ulong operator -(VirtualAddress a, VirtualAddress b) => a.Value - b.Value;

    public static bool operator <(VirtualAddress a, VirtualAddress b) => a.Value < b.Value;

    public static bool operator >(VirtualAddress a, VirtualAddress b) => a.Value > b.Value;

    public static bool operator <=(VirtualAddress a, VirtualAddress b) => a.Value <= b.Value;

    public static bool operator >=(VirtualAddress a, VirtualAddress b) => a.Value >= b.Value;

    public override string ToString() => ByteSize.Hex(Value);
}

/// <summary>A physical address on the system bus (Vmsplit models up to 2^52 bytes).</summary>
public readonly record struct PhysicalAddress(ulong Value) : IComparable<PhysicalAddress>
{
    /// <summary>The widest physical address any modelled architecture produces (x86-64 and arm64 stop at 52 bits).</summary>
    public const int MaxBits = 52;

    public const ulong Limit = 1UL << MaxBits;

    public static PhysicalAddress Zero => default;

    public ulong FrameNumber => Value >> 12;

    public static PhysicalAddress FromFrame(ulong pfn) => new(pfn << 12);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsAligned(ulong alignment) => (Value & (alignment - 1)) == 0;

    public int CompareTo(PhysicalAddress other) => Value.CompareTo(other.Value);

    public static PhysicalAddress operator +(PhysicalAddress a, ulong b) => new(a.Value + b);

    public static ulong operator -(PhysicalAddress a, PhysicalAddress b) => a.Value - b.Value;

    public static bool operator <(PhysicalAddress a, PhysicalAddress b) => a.Value < b.Value;

    public static bool operator >(PhysicalAddress a, PhysicalAddress b) => a.Value > b.Value;

    public static bool operator <=(PhysicalAddress a, PhysicalAddress b) => a.Value <= b.Value;

    public static bool operator >=(PhysicalAddress a, PhysicalAddress b) => a.Value >= b.Value;

    public override string ToString() => ByteSize.Hex(Value);
}

/// <summary>Parsing and printing of sizes and addresses as kernel developers write them: "240M", "2G", "4K", "0xC0000000".</summary>
public static class ByteSize
{
    public const ulong KiB = 1UL << 10;
    public const ulong MiB = 1UL << 20;
    public const ulong GiB = 1UL << 30;
    public const ulong TiB = 1UL << 40;
    public const ulong PiB = 1UL << 50;
    public const ulong EiB = 1UL << 60;

    /// <summary>Parses a size or address; suffixes K/M/G/T/P/E (optionally followed by "iB" or "B") are binary multiples.</summary>
    public static bool TryParse(string? text, out ulong value, out string error)
    {
        value = 0;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty size";
            return false;
        }

        string s = text.Trim().Replace("_", "", StringComparison.Ordinal);
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            string hex = s[2..];
            if (hex.Length == 0 || hex.Length > 16 || !ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value))
            {
                error = hex.Length > 16 ? $"{InputText.Quote(text)} does not fit in 64 bits" : $"{InputText.Quote(text)} is not a hexadecimal number";
                value = 0;
                return false;
            }

            return true;
        }

        int end = 0;
        while (end < s.Length && char.IsAsciiDigit(s[end]))
        {
            end++;
        }

        if (end == 0)
        {
            error = $"{InputText.Quote(text)} is not a size (expected a number such as 4K, 240M, 2G or 0xC0000000)";
            return false;
        }

        if (!ulong.TryParse(s.AsSpan(0, end), NumberStyles.None, CultureInfo.InvariantCulture, out ulong number))
        {
            error = $"{InputText.Quote(text)} does not fit in 64 bits";
            return false;
        }

        string suffix = s[end..].Trim(' ');
        ulong multiplier;
        switch (suffix.ToUpperInvariant())
        {
            case "":
            case "B":
                multiplier = 1;
                break;
            case "K" or "KB" or "KIB":
                multiplier = KiB;
                break;
            case "M" or "MB" or "MIB":
                multiplier = MiB;
                break;
            case "G" or "GB" or "GIB":
                multiplier = GiB;
                break;
            case "T" or "TB" or "TIB":
                multiplier = TiB;
                break;
            case "P" or "PB" or "PIB":
                multiplier = PiB;
                break;
            case "E" or "EB" or "EIB":
                multiplier = EiB;
                break;
            default:
                error = $"{InputText.Quote(text)} has an unknown unit {InputText.Quote(suffix)} (use K, M, G, T, P or E)";
                return false;
        }

        if (number != 0 && multiplier > ulong.MaxValue / number)
        {
            error = $"{InputText.Quote(text)} does not fit in 64 bits";
            return false;
        }

        value = number * multiplier;
        return true;
    }

    /// <summary>Parses a size or address, throwing <see cref="FormatException"/> with a one-line message.</summary>
    public static ulong Parse(string text)
    {
        if (!TryParse(text, out ulong value, out string error))
        {
            throw new FormatException(error);
        }

        return value;
    }

    /// <summary>Parses and checks that the value lies in [min, max]; the message names what was being parsed.</summary>
    public static bool TryParse(string? text, string what, ulong min, ulong max, out ulong value, out string error)
    {
        if (!TryParse(text, out value, out error))
        {
            error = $"{what}: {error}";
            return false;
        }

        if (value < min || value > max)
        {
            error = $"{what}: {InputText.Show(text)} is out of range [{Format(min)}, {Format(max)}]";
            return false;
        }

        return true;
    }

    /// <summary>Prints a size in the largest binary unit that divides it exactly ("4K", "240M", "2G"); otherwise in bytes.</summary>
    public static string Format(ulong bytes)
    {
        if (bytes == 0)
        {
            return "0";
        }

        ReadOnlySpan<char> units = ['E', 'P', 'T', 'G', 'M', 'K'];
        for (int i = 0; i < units.Length; i++)
        {
            int shift = 10 * (units.Length - i);
            ulong unit = 1UL << shift;
            if (bytes >= unit && (bytes & (unit - 1)) == 0)
            {
                return (bytes >> shift).ToString(CultureInfo.InvariantCulture) + units[i];
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Prints a size in binary units with up to two decimals ("1.5 GiB", "896 MiB", "12 KiB", "100 B").</summary>
    public static string Human(ulong bytes)
    {
        string[] names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        int u = 0;
        double v = bytes;
        while (v >= 1024 && u < names.Length - 1)
        {
            v /= 1024;
            u++;
        }

        return u == 0
            ? bytes.ToString(CultureInfo.InvariantCulture) + " B"
            : v.ToString("0.##", CultureInfo.InvariantCulture) + " " + names[u];
    }

    /// <summary>Lower-case hex with a 0x prefix, as Vmsplit prints every address.</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Lower-case hex padded to <paramref name="digits"/> digits.</summary>
    public static string Hex(ulong value, int digits) => "0x" + value.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
