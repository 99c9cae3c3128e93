using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Storage.Content;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>
/// An Applier process alone, with the fault settings plus <paramref name="settings"/>: tests send it apply runs
/// themselves, put the blobs in its content store, and hear how each run begins and how each layer ends.
/// </summary>
public abstract class ApplierOnlyStack(string prefix, IReadOnlyDictionary<string, string> settings) : IAsyncLifetime
{
    public ServiceStack Stack { get; private set; } = null!;

    public StackListener Listener { get; private set; } = null!;

    public ContentStore Content { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Stack = await ServiceStack.StartAsync(prefix, new ServiceStackOptions { Fetchers = 0, Sagas = 0, Environment = FaultSettings.With(settings) });
        Content = new ContentStore(new ContentStoreOptions { Root = Stack.Root }, Stack.Store);
        Listener = await StackListener.StartAsync(Stack, (e, heard) =>
        {
            e.Handler<ApplyRunBegan>(c =>
            {
                heard(c.Message);
                return Task.CompletedTask;
            });
            e.Handler<LayerApplied>(c =>
            {
                heard(c.Message);
                return Task.CompletedTask;
            });
            e.Handler<LayerApplyDeferred>(c =>
            {
                heard(c.Message);
                return Task.CompletedTask;
            });
        });
    }

    /// <summary>Commits <paramref name="layer"/>'s blob in the Applier's content store, as a Fetcher would.</summary>
    public async Task WriteAsync(TestLayer layer)
    {
        await using var writer = await Content.OpenWriterAsync($"test-{layer.Descriptor.Digest.Encoded}", layer.Descriptor, CancellationToken.None);
        await writer.WriteAsync(layer.Blob, CancellationToken.None);
        await writer.CommitAsync(null, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await Listener.DisposeAsync();
        await Stack.DisposeAsync();
    }
}
