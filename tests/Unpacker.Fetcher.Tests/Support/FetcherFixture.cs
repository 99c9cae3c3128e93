using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Unpacker.Fetcher;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Registry;
using Unpacker.Fetcher.Resolving;
using Unpacker.Fetcher.Sources;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Support;

/// <summary>A Marten schema of the test class's own on the real PostgreSQL; each stack gets a fresh content root.</summary>
public sealed class FetcherFixture : IAsyncLifetime
{
    private readonly List<string> _roots = [];

    public PostgresOptions Postgres { get; } = TestServers.PostgresWithSchema("fetcher");

    public DocumentStore Documents { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await TestServers.RequirePostgresAsync();
        await TestServers.RequireRegistryAsync();
        Documents = await UnpackerMarten.OpenMigratedStoreAsync(Postgres, ContentMetadata.Register);
    }

    /// <summary>
    /// The Fetcher's services as the service composes them, on a content root of their own. Retries are quick in
    /// tests; <paramref name="settings"/> (configuration keys such as <c>Fetcher:Retry:MaxAttempts</c>) override anything.
    /// </summary>
    public FetcherStack NewStack(IReadOnlyDictionary<string, string?>? settings = null, string? root = null, ILoggerProvider? logs = null)
    {
        if (root is null)
        {
            root = Path.Combine(Path.GetTempPath(), $"unpacker-fetcher-{Guid.NewGuid():N}");
            Directory.CreateDirectory(root);
            _roots.Add(root);
        }

        var values = new Dictionary<string, string?>
        {
            ["Fetcher:Retry:BaseDelay"] = "00:00:00.050",
            ["Fetcher:Retry:MaxDelay"] = "00:00:00.500",
            ["Fetcher:Timeouts:ReadIdle"] = "00:00:05",
            ["Fetcher:Registries:DockerConfigPath"] = "/nonexistent/config.json",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        services.AddSingleton<IDocumentStore>(Documents);
        services.AddContentStore(new ContentStoreOptions { Root = root, LockWaitTimeout = TimeSpan.FromSeconds(60) });
        services.AddFetcher(configuration);
        return new FetcherStack(services.BuildServiceProvider(), root);
    }

    /// <summary>
    /// Pushes an image of one random layer of <paramref name="size"/> bytes to the test registry under a repository of
    /// its own, and opens it as a source on a new stack (on <paramref name="root"/> when given).
    /// </summary>
    public async Task<OneLayerScene> OneLayerSceneAsync(string prefix, int size, string? root = null)
    {
        var image = new TestImageBuilder().WithLayer(TestLayer.Random(size)).Build();
        var repository = TestRegistryPusher.UniqueRepository(prefix);
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var stack = NewStack(root: root);
        try
        {
            return new OneLayerScene(stack, await stack.Sources.OpenAsync(TestSources.Registry(repository, "v1"), CancellationToken.None), image.Layers[0]);
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        Documents.Dispose();
        await TestServers.DropSchemaAsync(Postgres);
        foreach (var root in _roots.Where(Directory.Exists))
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

/// <summary>One Fetcher's services in a test.</summary>
public sealed class FetcherStack(ServiceProvider provider, string root) : IAsyncDisposable
{
    public string Root => root;

    public IContentStore Store => provider.GetRequiredService<IContentStore>();

    public ImageResolver Resolver => provider.GetRequiredService<ImageResolver>();

    public BlobFetcher Fetcher => provider.GetRequiredService<BlobFetcher>();

    public ReplicaCheck ReplicaCheck => provider.GetRequiredService<ReplicaCheck>();

    public ImageSourceFactory Sources => provider.GetRequiredService<ImageSourceFactory>();

    public RegistryAuthenticator Authenticator => provider.GetRequiredService<RegistryAuthenticator>();

    public async Task<byte[]> ReadBlobAsync(Contracts.Oci.Digest digest)
    {
        await using var stream = await Store.OpenReadAsync(digest, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    public ValueTask DisposeAsync() => provider.DisposeAsync();
}

/// <summary>A stack with a one-layer image of the test registry opened as its source.</summary>
public sealed record OneLayerScene(FetcherStack Stack, IImageSource Source, TestLayer Layer) : IAsyncDisposable
{
    public Contracts.Oci.Descriptor Blob => Layer.Descriptor;

    public ValueTask DisposeAsync() => Stack.DisposeAsync();
}
