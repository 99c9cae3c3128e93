using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Load;

/// <summary>
/// Samples a running stack every half second: PostgreSQL connections per service (by application name, which is the
/// worker id) and the depth of every queue of its virtual host; keeps the highest of each.
/// </summary>
public sealed class FleetSampler : IAsyncDisposable
{
    private readonly ServiceStack _stack;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private readonly Dictionary<string, int> _connections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _queues = new(StringComparer.Ordinal);

    public FleetSampler(ServiceStack stack)
    {
        _stack = stack;
        _sampling = Task.Run(() => SampleAsync(_stop.Token));
    }

    /// <summary>The most connections each service (saga, fetcher, applier) held at once, all its processes together.</summary>
    public IReadOnlyDictionary<string, int> PeakConnections => _connections;

    /// <summary>The deepest each queue was seen.</summary>
    public IReadOnlyDictionary<string, long> PeakQueueDepths => _queues;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _sampling;
        }
        catch (OperationCanceledException)
        {
            // Stopped on purpose.
        }

        _stop.Dispose();
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        var rabbit = _stack.VirtualHost.Options;
        using var http = new HttpClient { BaseAddress = new Uri($"http://{rabbit.Host}:{TestServers.RabbitMqManagementPort}/api/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{rabbit.Username}:{rabbit.Password}")));
        await using var connection = new NpgsqlConnection(_stack.Postgres.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        while (!cancellationToken.IsCancellationRequested)
        {
            await using (var command = new NpgsqlCommand(
                "select application_name, count(*)::int from pg_stat_activity where datname = current_database() group by application_name", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                var now = new Dictionary<string, int>(StringComparer.Ordinal);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var service = ServiceOf(reader.IsDBNull(0) ? "" : reader.GetString(0));
                    if (service is not null)
                    {
                        now[service] = now.GetValueOrDefault(service) + reader.GetInt32(1);
                    }
                }

                foreach (var (service, count) in now)
                {
                    _connections[service] = Math.Max(_connections.GetValueOrDefault(service), count);
                }
            }

            using (var json = JsonDocument.Parse(await http.GetStringAsync($"queues/{Uri.EscapeDataString(rabbit.VirtualHost)}?columns=name,messages", cancellationToken)))
            {
                foreach (var queue in json.RootElement.EnumerateArray())
                {
                    var name = queue.GetProperty("name").GetString()!;
                    var messages = queue.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt64() : 0;
                    _queues[name] = Math.Max(_queues.GetValueOrDefault(name), messages);
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static string? ServiceOf(string applicationName) =>
        new[] { "saga", "fetcher", "applier" }.FirstOrDefault(s => applicationName.StartsWith(s, StringComparison.Ordinal));
}
