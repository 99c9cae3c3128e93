using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker containerd</c>: how this node's containerd uses the snapshots Unpacker keeps.</summary>
public static class ContainerdCommand
{
    public static Command Create() => new("containerd", "Point this node's containerd at Unpacker's snapshotters")
    {
        ContainerdConfigCommand.Create(),
        ContainerdPreparesCommand.Create(),
    };
}
