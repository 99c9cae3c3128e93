using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Unpacker.Storage.Snapshots;

/// <summary>One snapshotter of each <see cref="SnapshotterDescriptors.All"/>, by containerd name, all sharing one storage root and one metadata store.</summary>
public sealed class Snapshotters
{
    private readonly IReadOnlyDictionary<string, SnapshotterBase> _byName;

    public Snapshotters(string root, IDocumentStore store, TimeProvider? time = null)
    {
        _byName = SnapshotterDescriptors.All.ToDictionary(d => d.Name, d => d.Create(root, store, time), StringComparer.Ordinal);
    }

    public static IReadOnlyList<string> Names => SnapshotterDescriptors.Names;

    public IEnumerable<SnapshotterBase> All => _byName.Values;

    /// <summary>The snapshotter named <paramref name="name"/>; an unknown name is an <see cref="InvalidArgumentException"/> listing the known ones.</summary>
    public SnapshotterBase Get(string name) =>
        _byName.TryGetValue(name, out var snapshotter)
            ? snapshotter
            : throw new InvalidArgumentException($"unknown snapshotter {name}; known: {string.Join(", ", Names)}");

    /// <summary>One snapshotter without the registry (CLI commands, tests).</summary>
    public static SnapshotterBase Create(string name, string root, IDocumentStore store, TimeProvider? time = null) =>
        SnapshotterDescriptors.Get(name).Create(root, store, time);
}

public static class SnapshottersServiceCollectionExtensions
{
    /// <summary>Registers <see cref="Snapshotters"/> over <paramref name="root"/>; Marten must be registered with <c>SnapshotMetadata.Register</c>.</summary>
    public static IServiceCollection AddSnapshotters(this IServiceCollection services, string root) =>
        services.AddSingleton(provider => new Snapshotters(root, provider.GetRequiredService<IDocumentStore>(), provider.GetService<TimeProvider>()));
}
