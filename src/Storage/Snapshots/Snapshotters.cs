using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Unpacker.Storage.Snapshots;

/// <summary>One node's snapshotters, one of each <see cref="SnapshotterDescriptors.All"/> by containerd name, sharing the node's storage root and the one metadata store.</summary>
public sealed class Snapshotters
{
    private readonly IReadOnlyDictionary<string, SnapshotterBase> _byName;

    public Snapshotters(string root, IDocumentStore store, string node, TimeProvider? time = null)
    {
        Node = node;
        _byName = SnapshotterDescriptors.All.ToDictionary(d => d.Name, d => d.Create(root, store, node, time), StringComparer.Ordinal);
    }

    /// <summary>The node these snapshotters belong to.</summary>
    public string Node { get; }

    public static IReadOnlyList<string> Names => SnapshotterDescriptors.Names;

    public IEnumerable<SnapshotterBase> All => _byName.Values;

    /// <summary>The snapshotter named <paramref name="name"/>; an unknown name is an <see cref="InvalidArgumentException"/> listing the known ones.</summary>
    public SnapshotterBase Get(string name) =>
        _byName.TryGetValue(name, out var snapshotter)
            ? snapshotter
            : throw new InvalidArgumentException($"unknown snapshotter {name}; known: {string.Join(", ", Names)}");

    /// <summary>One snapshotter without the registry (CLI commands, tests).</summary>
    public static SnapshotterBase Create(string name, string root, IDocumentStore store, string node, TimeProvider? time = null) =>
        SnapshotterDescriptors.Get(name).Create(root, store, node, time);
}

public static class SnapshottersServiceCollectionExtensions
{
    /// <summary>Registers <paramref name="node"/>'s <see cref="Snapshotters"/> over <paramref name="root"/>; Marten must be registered with <c>SnapshotMetadata.Register</c>.</summary>
    public static IServiceCollection AddSnapshotters(this IServiceCollection services, string root, string node) =>
        services.AddSingleton(provider => new Snapshotters(root, provider.GetRequiredService<IDocumentStore>(), node, provider.GetService<TimeProvider>()));
}
