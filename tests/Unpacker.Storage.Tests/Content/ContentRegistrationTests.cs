using Marten;
using Microsoft.Extensions.DependencyInjection;
using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Storage.Gc;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Content;

/// <summary>The registration a service uses: Marten with the content contribution, the store and the collector from DI.</summary>
public sealed class ContentRegistrationTests
{
    [Fact]
    public async Task A_service_resolves_the_content_store_and_the_collector_from_its_container()
    {
        await TestServers.RequirePostgresAsync();
        var root = Path.Combine(Path.GetTempPath(), $"unpacker-di-{Guid.NewGuid():N}");
        await using var schema = TestServers.TemporarySchema("contentdi");
        var services = new ServiceCollection();
        services.AddUnpackerMarten(schema.Postgres, ContentMetadata.Register);
        services.AddContentStore(new ContentStoreOptions { Root = root });
        services.AddGarbageCollector();
        await using var provider = services.BuildServiceProvider();
        try
        {
            await provider.GetRequiredService<IDocumentStore>().Storage.ApplyAllConfiguredChangesToDatabaseAsync(JasperFx.AutoCreate.CreateOrUpdate);
            var store = provider.GetRequiredService<IContentStore>();
            var (bytes, descriptor) = ContentStoreFixture.NewBlob();

            var info = await ContentStoreFixture.WriteBlobAsync(store, bytes, descriptor);
            var result = await provider.GetRequiredService<GarbageCollector>().CollectAsync(new GcOptions { DryRun = true }, CancellationToken.None);

            Assert.Equal(descriptor.Digest, info.Digest);
            Assert.Equal(1, result.ContentKept);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
