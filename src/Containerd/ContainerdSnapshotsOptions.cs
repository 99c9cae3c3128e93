namespace Unpacker.Containerd;

/// <summary>How a node serves containerd: where its socket is and which of its snapshotters containerd sees.</summary>
public sealed class ContainerdSnapshotsOptions
{
    /// <summary>The unix socket containerd's <c>proxy_plugins</c> point at.</summary>
    public required string Socket { get; init; }

    /// <summary>Our snapshotters containerd may use, each as the proxy plugin <c>unpacker-&lt;name&gt;</c>.</summary>
    public required IReadOnlyList<string> Snapshotters { get; init; }

    /// <summary>On containerd's Cleanup: how old a directory without metadata must be before it goes (a younger one may be a Prepare in flight).</summary>
    public TimeSpan OrphanGrace { get; init; } = TimeSpan.FromMinutes(10);
}
