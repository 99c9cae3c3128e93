using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>Queue depths of the stack's virtual host, from the RabbitMQ management API.</summary>
public static class RabbitQueues
{
    public static async Task<long> MessagesAsync(ServiceStack stack, string queue, int? managementPort = null)
    {
        var rabbit = stack.VirtualHost.Options;
        using var http = new HttpClient { BaseAddress = new Uri($"http://{rabbit.Host}:{managementPort ?? TestServers.RabbitMqManagementPort}/api/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{rabbit.Username}:{rabbit.Password}")));
        using var response = await http.GetAsync($"queues/{Uri.EscapeDataString(rabbit.VirtualHost)}/{Uri.EscapeDataString(queue)}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return 0;
        }

        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.TryGetProperty("messages", out var messages) ? messages.GetInt64() : 0;
    }

    /// <summary>Waits until the queue holds at least <paramref name="count"/> messages (the management API samples every few seconds).</summary>
    public static async Task<long> WaitForMessagesAsync(ServiceStack stack, string queue, long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        long seen;
        while ((seen = await MessagesAsync(stack, queue)) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        return seen;
    }
}
