using System.Globalization;
using System.Security.Cryptography;
using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Content;

/// <summary>A Marten schema of the test class's own on the real PostgreSQL, and a fresh temporary root per store.</summary>
public sealed class ContentStoreFixture : IAsyncLifetime
{
    private readonly List<string> _roots = [];

    public PostgresOptions Postgres { get; } = TestServers.PostgresWithSchema("content");

    public DocumentStore Documents { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await TestServers.RequirePostgresAsync();
        Documents = await UnpackerMarten.OpenMigratedStoreAsync(Postgres, UnpackerSchema.Everything); // the whole schema: CLI commands run on it
    }

    public string NewRoot()
    {
        var root = Path.Combine(Path.GetTempPath(), $"unpacker-content-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        _roots.Add(root);
        return root;
    }

    public ContentStore NewStore(string? root = null, TimeSpan? lockWaitTimeout = null) =>
        new(new ContentStoreOptions { Root = root ?? NewRoot(), LockWaitTimeout = lockWaitTimeout ?? TimeSpan.FromSeconds(30) }, Documents);

    /// <summary>The <c>UNPACKER_*</c> variables that point a CLI process at this schema and <paramref name="root"/>.</summary>
    public IReadOnlyDictionary<string, string> CliEnvironment(string root) => new Dictionary<string, string>
    {
        ["UNPACKER_ROOT"] = root,
        ["UNPACKER_POSTGRES_HOST"] = Postgres.Host,
        ["UNPACKER_POSTGRES_PORT"] = Postgres.Port.ToString(CultureInfo.InvariantCulture),
        ["UNPACKER_POSTGRES_DB"] = Postgres.Database,
        ["UNPACKER_POSTGRES_USER"] = Postgres.Username,
        ["UNPACKER_POSTGRES_PASSWORD"] = Postgres.Password,
        ["UNPACKER_POSTGRES_SCHEMA"] = Postgres.Schema,
    };

    public async Task DisposeAsync()
    {
        Documents.Dispose();
        foreach (var root in _roots.Where(Directory.Exists))
        {
            Directory.Delete(root, recursive: true);
        }

        await TestServers.DropSchemaAsync(Postgres);
    }

    /// <summary>Random bytes (so every test has blobs of its own) and the descriptor they match.</summary>
    public static (byte[] Bytes, Descriptor Descriptor) NewBlob(int size = 4096, string mediaType = MediaTypes.OciLayerGzip)
    {
        var bytes = RandomNumberGenerator.GetBytes(size);
        return (bytes, new Descriptor(mediaType, Digest.Compute(bytes), bytes.Length));
    }

    public static async Task<ContentInfo> WriteBlobAsync(IContentStore store, byte[] bytes, Descriptor descriptor, IReadOnlyDictionary<string, string>? labels = null)
    {
        await using var writer = await store.OpenWriterAsync($"test-{descriptor.Digest}", descriptor, CancellationToken.None);
        await writer.WriteAsync(bytes, CancellationToken.None);
        return await writer.CommitAsync(labels, CancellationToken.None);
    }
}
