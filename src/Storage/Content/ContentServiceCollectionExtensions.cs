using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Unpacker.Storage.Content;

/// <summary>DI registration of the content store for a service; Marten must be added with <see cref="ContentMetadata.Register"/>.</summary>
public static class ContentServiceCollectionExtensions
{
    public static IServiceCollection AddContentStore(this IServiceCollection services, ContentStoreOptions options) =>
        services
            .AddSingleton(options)
            .AddSingleton(provider => new ContentReplicas(provider.GetRequiredService<IDocumentStore>(), provider.GetService<TimeProvider>()))
            .AddSingleton<IContentStore>(provider =>
                new ContentStore(options, provider.GetRequiredService<IDocumentStore>(), provider.GetService<TimeProvider>()));
}
