using System.Net;

namespace Unpacker.Containerd.Tests;

/// <summary>The socket is served beside the Applier's own URLs, and by one process at a time.</summary>
public sealed class SocketHostingTests(SocketNode node) : IClassFixture<SocketNode>
{
    [Fact]
    public async Task The_applier_serving_the_socket_keeps_its_health_url_on_tcp()
    {
        var health = node.Applier.BaseAddress ?? throw new InvalidOperationException("the Applier logged no URL");
        Assert.Equal("127.0.0.1", health.Host);

        using var http = new HttpClient { BaseAddress = health };
        using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains(node.Applier.Output, line => line.Contains($"http://unix:{node.Socket}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_second_applier_on_a_socket_already_served_fails_to_start_naming_it()
    {
        var second = node.Stack.StartNodeAsync(SocketNode.NodeName, isolated: false, new Dictionary<string, string> { ["UNPACKER_CONTAINERD_SOCKET"] = node.Socket });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second);

        Assert.Contains($"{node.Socket} is already served by another process", error.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(node.Socket));
    }
}
