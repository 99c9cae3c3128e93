using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Edge;

/// <summary>One stack for the edge tests, with a client that hears the faults of rejected messages.</summary>
public sealed class EdgeStackFixture : IAsyncLifetime
{
    public ServiceStack Stack { get; private set; } = null!;

    public StackListener Listener { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Stack = await ServiceStack.StartAsync("rel-edge", new ServiceStackOptions { Environment = FaultSettings.Environment });
        Listener = await StackListener.StartAsync(Stack, (e, heard) =>
        {
            e.Handler<Fault<UnpackRequested>>(c =>
            {
                heard(c.Message);
                return Task.CompletedTask;
            });
            e.Handler<Fault<CommitSnapshot>>(c =>
            {
                heard(c.Message);
                return Task.CompletedTask;
            });
        });
    }

    public async Task DisposeAsync()
    {
        await Listener.DisposeAsync();
        await Stack.DisposeAsync();
    }
}
