using System.Text;
using Unpacker.Containerd.Snapshots;

namespace Unpacker.Containerd;

/// <summary>The <c>proxy_plugins</c> section of containerd's <c>config.toml</c> that points containerd at a node's socket.</summary>
public static class ProxyPluginsConfig
{
    /// <summary>One <c>type = "snapshot"</c> proxy plugin per snapshotter, all on <paramref name="socket"/>.</summary>
    public static string Toml(string socket, IEnumerable<string> snapshotters)
    {
        ArgumentException.ThrowIfNullOrEmpty(socket);
        var toml = new StringBuilder("[proxy_plugins]\n");
        foreach (var snapshotter in snapshotters)
        {
            toml.Append($"  [proxy_plugins.{ProxySnapshotters.PluginName(snapshotter)}]\n")
                .Append("    type = \"snapshot\"\n")
                .Append($"    address = {Quoted(socket)}\n");
        }

        return toml.ToString();
    }

    /// <summary>A TOML basic string: backslashes and quotes escaped, control characters refused.</summary>
    private static string Quoted(string value) =>
        value.Any(char.IsControl)
            ? throw new ArgumentException($"a socket path with control characters cannot go into containerd's config: {value}", nameof(value))
            : $"\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
}
