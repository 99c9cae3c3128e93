using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Unpacker.Storage;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Cli.Commands;

/// <summary>What every <c>unpacker snapshots</c> command shares: arguments, opening the snapshotter, output and errors.</summary>
internal static class SnapshotsCli
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static Argument<string> SnapshotterArgument() => new("snapshotter") { Description = $"The snapshotter ({string.Join(", ", SnapshotterDescriptors.Names)})" };

    public static Argument<string> KeyArgument() => new("key") { Description = "The key of an active snapshot or view, or the name of a committed one" };

    public static Option<bool> JsonOption() => new("--json") { Description = "Write JSON to standard output" };

    /// <summary>
    /// Opens the metadata store and the snapshotter (root from <c>Storage:Root</c>, i.e. <c>UNPACKER_ROOT</c>) and runs
    /// <paramref name="work"/>; a storage error is reported with its kind and exits with <see cref="ExitCodes.Failed"/>.
    /// </summary>
    public static async Task<int> RunAsync(string snapshotterName, bool json, Func<SnapshotterBase, Task<int>> work)
    {
        try
        {
            using var store = await CliSettings.OpenStoreAsync();
            return await work(Snapshotters.Create(snapshotterName, CliSettings.Storage.Root, store));
        }
        catch (StorageException exception)
        {
            if (json)
            {
                WriteJson(new { error = new { kind = exception.Kind.ToString(), message = exception.Message } });
            }
            else
            {
                Console.Error.WriteLine($"unpacker: {exception.Kind}: {exception.Message}");
            }

            return ExitCodes.Failed;
        }
    }

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    public static void WriteInfo(SnapshotInfo info)
    {
        Console.Out.WriteLine($"name:     {info.Name}");
        Console.Out.WriteLine($"kind:     {info.Kind.ToString().ToLowerInvariant()}");
        Console.Out.WriteLine($"parent:   {info.Parent ?? "-"}");
        Console.Out.WriteLine($"id:       {info.Id}");
        Console.Out.WriteLine($"created:  {info.CreatedAt:O}");
        Console.Out.WriteLine($"updated:  {info.UpdatedAt:O}");
        if (info.Lease is { } lease)
        {
            Console.Out.WriteLine($"lease:    {lease.Owner} until {lease.ExpiresAt:O}");
        }

        foreach (var (key, value) in info.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            Console.Out.WriteLine($"label:    {key}={value}");
        }
    }

    public static void WriteMounts(IReadOnlyList<Mount> mounts, bool json)
    {
        if (json)
        {
            WriteJson(mounts);
            return;
        }

        foreach (var mount in mounts)
        {
            Console.Out.WriteLine($"{mount.Type} {mount.Source} {string.Join(',', mount.Options)}");
        }
    }
}
