using System.Globalization;

namespace Unpacker.Testing;

/// <summary>Reads a counter from a service's Prometheus endpoint (<c>/metrics</c> beside its health URL).</summary>
public static class PrometheusScrape
{
    private static readonly HttpClient Http = new();

    /// <summary>
    /// The value of the series of <paramref name="metric"/> (as Prometheus names it, e.g. <c>…_total</c>) whose labels
    /// include every one of <paramref name="labels"/> (<c>name="value"</c>); 0 when no such series is exposed yet.
    /// </summary>
    public static async Task<long> CounterAsync(ServiceProcess service, string metric, params string[] labels)
    {
        ArgumentNullException.ThrowIfNull(service);
        var address = service.BaseAddress ?? throw new InvalidOperationException($"{service.Name} has no health URL to scrape");
        var text = await Http.GetStringAsync(new Uri(address, "/metrics"));
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && labels.All(label => l.Contains(label, StringComparison.Ordinal)));
        return line is null ? 0 : long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Scrapes until the counter reaches <paramref name="expected"/> (the exporter caches a scrape briefly), for at most 20 s; returns the last value.</summary>
    public static async Task<long> WaitForCounterAsync(ServiceProcess service, long expected, string metric, params string[] labels)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        long counted;
        while ((counted = await CounterAsync(service, metric, labels)) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        return counted;
    }

    /// <summary>Scrapes until two reads 400 ms apart agree (longer than the exporter's cache), for at most 20 reads.</summary>
    public static async Task<long> SettledCounterAsync(ServiceProcess service, string metric, params string[] labels)
    {
        var previous = await CounterAsync(service, metric, labels);
        for (var read = 1; read < 20; read++)
        {
            await Task.Delay(400);
            var counted = await CounterAsync(service, metric, labels);
            if (counted == previous)
            {
                return counted;
            }

            previous = counted;
        }

        return previous;
    }
}
