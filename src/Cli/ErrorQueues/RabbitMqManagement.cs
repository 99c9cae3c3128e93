using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Unpacker.Hosting.Configuration;

namespace Unpacker.Cli.ErrorQueues;

/// <summary>
/// What <c>unpacker errors</c> reads through RabbitMQ's management HTTP API (the broker's AMQP protocol cannot list
/// queues, nor read a message without taking it): the virtual host's error queues and, without consuming them, the
/// faulted messages they hold.
/// </summary>
public sealed class RabbitMqManagement(RabbitMqOptions rabbit) : IDisposable
{
    private readonly HttpClient _http = Client(rabbit);

    private string VirtualHost => Uri.EscapeDataString(rabbit.VirtualHost);

    /// <summary>Every error and dead-letter queue of the virtual host with the messages it holds, by name.</summary>
    public async Task<IReadOnlyList<ErrorQueueDepth>> ErrorQueuesAsync(CancellationToken cancellationToken)
    {
        var queues = await _http.GetFromJsonAsync<List<QueueRow>>($"queues/{VirtualHost}?columns=name,messages", cancellationToken) ?? [];
        return [.. queues
            .Select(q => (Queue: ErrorQueueName.TryParse(q.Name), q.Messages))
            .Where(q => q.Queue is not null)
            .Select(q => new ErrorQueueDepth(q.Queue!, q.Messages))
            .OrderBy(q => q.Queue.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Up to <paramref name="count"/> messages from the head of <paramref name="queue"/>, put back where they were
    /// (the management API's <c>ack_requeue_true</c>): reading takes nothing away.
    /// </summary>
    public async Task<IReadOnlyList<FaultedMessage>> PeekAsync(ErrorQueueName queue, int count, CancellationToken cancellationToken)
    {
        var request = new { count, ackmode = "ack_requeue_true", encoding = "auto", truncate = 1_000_000 };
        using var response = await _http.PostAsJsonAsync($"queues/{VirtualHost}/{Uri.EscapeDataString(queue.Name)}/get", request, cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new ErrorQueueException($"there is no queue {queue.Name} in virtual host {rabbit.VirtualHost}; 'unpacker errors ls' lists the error queues");
        }

        response.EnsureSuccessStatusCode();
        var messages = await response.Content.ReadFromJsonAsync<List<JsonElement>>(cancellationToken) ?? [];
        return [.. messages.Select(FaultedMessage.From)];
    }

    public void Dispose() => _http.Dispose();

    private static HttpClient Client(RabbitMqOptions rabbit)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{rabbit.Host}:{rabbit.ManagementPort}/api/"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{rabbit.Username}:{rabbit.Password}")));
        return http;
    }

    private sealed class QueueRow
    {
        [JsonPropertyName("name")]
        public string Name { get; set; } = string.Empty;

        [JsonPropertyName("messages")]
        public long Messages { get; set; }
    }
}

/// <summary>An error queue and how many messages it holds.</summary>
public sealed record ErrorQueueDepth(ErrorQueueName Queue, long Messages);

/// <summary>One message of an error queue: what it was, and why MassTransit put it there (its <c>MT-Fault-*</c> headers).</summary>
public sealed record FaultedMessage(
    string? MessageId,
    string? MessageType,
    DateTimeOffset? FaultedAt,
    string? ExceptionType,
    string? ExceptionMessage,
    string? Host,
    string? Reason,
    JsonElement? Message)
{
    public static FaultedMessage From(JsonElement got)
    {
        var properties = got.GetProperty("properties");
        var headers = properties.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Object ? h : default;
        string? Header(string name) => headers.ValueKind == JsonValueKind.Object && headers.TryGetProperty(name, out var v) ? v.ToString() : null;

        // MassTransit's envelope: the message types as URNs, the message itself under "message".
        JsonElement? envelope = null;
        if (got.GetProperty("payload_encoding").GetString() == "string")
        {
            try
            {
                using var document = JsonDocument.Parse(got.GetProperty("payload").GetString() ?? "null");
                envelope = document.RootElement.Clone();
            }
            catch (JsonException)
            {
                envelope = null; // not a MassTransit JSON envelope: shown without its body
            }
        }

        var type = envelope is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty("messageType", out var types) && types.ValueKind == JsonValueKind.Array && types.GetArrayLength() > 0
            ? types[0].GetString()?.Replace("urn:message:", "", StringComparison.Ordinal).Replace(':', '.')
            : Header("MT-Fault-MessageType");
        var messageId = properties.TryGetProperty("message_id", out var id) ? id.GetString() : null;
        var faultedAt = DateTimeOffset.TryParse(Header("MT-Fault-Timestamp"), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : (DateTimeOffset?)null;
        var body = envelope is { ValueKind: JsonValueKind.Object } m && m.TryGetProperty("message", out var message) ? message : (JsonElement?)null;
        return new FaultedMessage(messageId, type, faultedAt, Header("MT-Fault-ExceptionType"), Header("MT-Fault-Message"), Header("MT-Host-MachineName"), Header("MT-Reason"), body);
    }
}

/// <summary>An error queue command that cannot be carried out (a queue that does not exist, a source queue gone).</summary>
public sealed class ErrorQueueException(string message) : Exception(message);
