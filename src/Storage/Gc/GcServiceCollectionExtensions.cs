using Marten;
using Microsoft.Extensions.DependencyInjection;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Storage.Gc;

/// <summary>DI registration of the collector: it takes every registered <see cref="ISnapshotter"/> and <see cref="IGcRootSource"/>.</summary>
public static class GcServiceCollectionExtensions
{
    public static IServiceCollection AddGarbageCollector(this IServiceCollection services) =>
        services.AddSingleton(provider => new GarbageCollector(
            provider.GetRequiredService<IContentStore>(),
            provider.GetServices<ISnapshotter>(),
            provider.GetServices<IGcRootSource>(),
            provider.GetRequiredService<IDocumentStore>(),
            provider.GetService<TimeProvider>()));
}
