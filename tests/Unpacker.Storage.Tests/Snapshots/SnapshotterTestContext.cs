using Marten;
using Npgsql;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.FileSystem;
using Unpacker.Storage.Snapshots.Metadata;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>
/// What each snapshotter test gets: a PostgreSQL schema of its own, a storage root and a play area under a
/// temporary directory, all removed afterwards (containerd's makeTest).
/// </summary>
public sealed class SnapshotterTestContext : IAsyncDisposable
{
    private SnapshotterTestContext(PostgresOptions postgres, DocumentStore store, string scratch)
    {
        Postgres = postgres;
        Store = store;
        Scratch = scratch;
        Root = Path.Combine(scratch, "root");
        Work = Path.Combine(scratch, "work");
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Work);
    }

    public PostgresOptions Postgres { get; }

    public DocumentStore Store { get; }

    /// <summary>The temporary directory holding <see cref="Root"/> and <see cref="Work"/>.</summary>
    public string Scratch { get; }

    public string Root { get; }

    public string Work { get; }

    public static async Task<SnapshotterTestContext> CreateAsync()
    {
        await TestServers.RequirePostgresAsync();
        var postgres = TestServers.PostgresWithSchema("snap");
        var store = await UnpackerMarten.OpenMigratedStoreAsync(postgres, UnpackerSchema.Everything); // the whole schema: CLI commands run on it
        var scratch = Directory.CreateTempSubdirectory("unpacker-snapshots-").FullName;
        return new SnapshotterTestContext(postgres, store, scratch);
    }

    /// <summary>The node the play area's snapshotters belong to.</summary>
    public const string Node = "test-node";

    public SnapshotterBase Create(string snapshotter, TimeProvider? time = null) => Snapshotters.Create(snapshotter, Root, Store, Node, time);

    /// <summary>A fresh empty directory in the play area.</summary>
    public string NewDirectory(string prefix)
    {
        var path = Path.Combine(Work, $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)]);
        Directory.CreateDirectory(path);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        Store.Dispose();
        await TestServers.DropSchemaAsync(Postgres);

        FileTree.RemoveAll(Scratch);
    }
}
