using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Containerd.Snapshots;

/// <summary>
/// The node's snapshotters as containerd sees them. containerd's proxy snapshotter puts its own plugin name (the key
/// under <c>proxy_plugins</c>) in the <c>snapshotter</c> field of every request, so one socket serves them all: the
/// plugin <c>unpacker-native</c> is our <c>native</c>, <c>unpacker-overlayfs</c> our <c>overlayfs</c>.
/// </summary>
public sealed class ProxySnapshotters
{
    /// <summary>What every plugin name starts with, so containerd's own <c>native</c> and <c>overlayfs</c> keep their names.</summary>
    public const string PluginPrefix = "unpacker-";

    private readonly IReadOnlyDictionary<string, SnapshotterBase> _byPlugin;

    public ProxySnapshotters(IEnumerable<SnapshotterBase> served)
    {
        ArgumentNullException.ThrowIfNull(served);
        _byPlugin = served.ToDictionary(s => PluginName(s.Name), StringComparer.Ordinal);
    }

    /// <summary>The proxy plugin names served, in the order they were given.</summary>
    public IReadOnlyCollection<string> PluginNames => [.. _byPlugin.Keys];

    /// <summary>The proxy plugin name containerd is configured with for our snapshotter <paramref name="snapshotter"/>.</summary>
    public static string PluginName(string snapshotter) => PluginPrefix + snapshotter;

    /// <summary>
    /// The snapshotter a request names. An unknown name is NotFound, as containerd's own snapshots service answers for a
    /// snapshotter it does not have.
    /// </summary>
    public SnapshotterBase Get(string plugin) =>
        _byPlugin.TryGetValue(plugin, out var snapshotter)
            ? snapshotter
            : throw new NotFoundException($"snapshotter {plugin} is not served here; served: {string.Join(", ", _byPlugin.Keys)}");
}
