using System.Globalization;

namespace Unpacker.Saga.History;

/// <summary>A duration as people read it (<c>2.3s</c>, <c>4m05s</c>, <c>1h02m</c>), for the CLI and the progress notes the fold writes.</summary>
public static class HumanDuration
{
    public static string Of(TimeSpan duration) =>
        duration.TotalSeconds < 60
            ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, duration.TotalSeconds):0.0}s")
            : duration.TotalHours < 1
                ? $"{(int)duration.TotalMinutes}m{duration.Seconds:00}s"
                : $"{(int)duration.TotalHours}h{duration.Minutes:00}m";
}
