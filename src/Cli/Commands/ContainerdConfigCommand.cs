using System.CommandLine;
using Unpacker.Applier;
using Unpacker.Cli.Progress;
using Unpacker.Containerd;
using Unpacker.Hosting.Configuration;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker containerd config [--socket PATH] [--snapshotter NAME]...</c>: the <c>proxy_plugins</c> section for
/// containerd's <c>config.toml</c>, one plugin per snapshotter (<c>unpacker-native</c>, <c>unpacker-overlayfs</c>) on the
/// socket this node's Applier serves (<c>UNPACKER_CONTAINERD_SOCKET</c>).
/// </summary>
public static class ContainerdConfigCommand
{
    public static Command Create()
    {
        var socket = new Option<string?>("--socket") { Description = "The Applier's containerd socket (default: UNPACKER_CONTAINERD_SOCKET, as the Applier reads it)" };
        var snapshotters = new Option<string[]>("--snapshotter")
        {
            Description = $"A snapshotter to declare, repeatable ({string.Join(", ", SnapshotterDescriptors.Names)}; default: all)",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("config", "Print the proxy_plugins section of containerd's config.toml for this node's Applier socket") { socket, snapshotters };
        command.SetAction((parse, _) => CliFailures.RunAsync(() => Task.FromResult(Print(parse.GetValue(socket), parse.GetValue(snapshotters)))));
        return command;
    }

    private static int Print(string? socket, string[]? snapshotters)
    {
        var path = socket ?? UnpackerEnvironment.FromProcessEnvironment().Bind<ApplierOptions>(ApplierOptions.Section).ContainerdSocket;
        if (string.IsNullOrEmpty(path))
        {
            throw new UsageException("no containerd socket: pass --socket, or set UNPACKER_CONTAINERD_SOCKET as for the node's Applier (which serves it only when set)");
        }

        if (!Path.IsPathFullyQualified(path))
        {
            throw new UsageException($"--socket {path}: containerd needs an absolute path");
        }

        var names = snapshotters is { Length: > 0 } ? snapshotters : [.. SnapshotterDescriptors.Names];
        if (names.FirstOrDefault(n => !SnapshotterDescriptors.Names.Contains(n)) is { } unknown)
        {
            throw new UsageException($"unknown snapshotter {unknown}; known: {string.Join(", ", SnapshotterDescriptors.Names)}");
        }

        Console.Write(ProxyPluginsConfig.Toml(path, names));
        return ExitCodes.Success;
    }
}
