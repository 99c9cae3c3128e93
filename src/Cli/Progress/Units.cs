using System.Globalization;

namespace Unpacker.Cli.Progress;

/// <summary>Sizes, rates and durations as people read them (binary units, like <c>ctr</c>).</summary>
public static class Units
{
    private static readonly string[] _suffixes = ["B", "KiB", "MiB", "GiB", "TiB"];

    public static string Bytes(long bytes)
    {
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < _suffixes.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {_suffixes[unit]}");
    }

    public static string Rate(double bytesPerSecond) => $"{Bytes((long)bytesPerSecond)}/s";

    public static string Duration(TimeSpan duration) => Saga.History.HumanDuration.Of(duration);
}
