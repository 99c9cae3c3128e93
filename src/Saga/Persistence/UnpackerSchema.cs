using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Saga.Persistence;

/// <summary>
/// Every document and event type of the system, from every service: the schema <c>unpacker db migrate</c> applies
/// (each service's own store is a part of it) and the store the CLI reads the whole system through.
/// </summary>
public static class UnpackerSchema
{
    public static readonly UnpackerMarten.Contribution[] Everything =
    [
        ContentMetadata.Register,
        SnapshotMetadata.Register,
        UnpackSagaRegistration.MartenContribution, // the node registry's documents included
    ];
}
