using Marten;

namespace Unpacker.Storage.Content;

/// <summary>The content store's part of the shared Marten configuration (an <c>UnpackerMarten.Contribution</c>).</summary>
public static class ContentMetadata
{
    public static void Register(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Schema.For<ContentRecord>()
            .Identity(record => record.Id)
            .UseOptimisticConcurrency(true);
        options.Schema.For<ContentReplica>().Identity(replica => replica.Id).Duplicate(replica => replica.Digest);
        options.Schema.For<ContentServer>().Identity(server => server.Id);
        options.Storage.ExtendedSchemaObjects.Add(ContentLeaseTable.Define(options.DatabaseSchemaName));
    }
}
