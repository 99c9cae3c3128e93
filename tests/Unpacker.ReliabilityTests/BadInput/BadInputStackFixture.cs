using Unpacker.ReliabilityTests.Support;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.BadInput;

/// <summary>
/// One stack for every bad input in turn: each test also proves the stack still serves a good request after the
/// bad one. Registry retries are bounded tightly so a persistent 5xx fails within seconds.
/// </summary>
public sealed class BadInputStackFixture : IAsyncLifetime
{
    public ServiceStack Stack { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Stack = await ServiceStack.StartAsync("rel-bad", new ServiceStackOptions
        {
            Environment = FaultSettings.With(new Dictionary<string, string>
            {
                ["Fetcher__Retry__MaxAttempts"] = "2",
                ["Fetcher__Retry__BaseDelay"] = "00:00:00.100",
                ["Fetcher__Retry__MaxDelay"] = "00:00:00.500",
            }),
        });

    public Task DisposeAsync() => Stack.DisposeAsync().AsTask();
}
