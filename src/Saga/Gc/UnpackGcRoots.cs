using System.Runtime.CompilerServices;
using Marten;
using Unpacker.Saga.Unpacking;
using Unpacker.Storage.Gc;

namespace Unpacker.Saga.Gc;

/// <summary>
/// What the unpacks recorded keeps from garbage collection, as containerd's image records do: a completed
/// unpack roots its config (whose <c>gc.ref.snapshot.&lt;sn&gt;</c> label reaches the chain), its top snapshot and,
/// unless layers are discarded once unpacked (containerd's <c>discard_unpacked_layers</c>), its layer blobs; an
/// unpack in flight roots its config, its layer blobs and its chain IDs. Failed unpacks root nothing. Snapshots are
/// rooted only on the unpack's node (<paramref name="node"/> is the node collected); content on every node.
/// </summary>
public sealed class UnpackGcRoots(IDocumentStore store, string node, bool discardUnpackedLayers = false) : IGcRootSource
{
    public async IAsyncEnumerable<GcResource> GetRootsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var session = store.QuerySession();
        var unpacks = await session.Query<UnpackState>()
            .Where(s => s.CurrentState != UnpackStates.Failed)
            .ToListAsync(cancellationToken);
        foreach (var unpack in unpacks)
        {
            if (unpack.Config is { } config)
            {
                yield return GcResource.Content(config.Digest);
            }

            var onThisNode = unpack.Node.Length == 0 || unpack.Node == node;
            if (unpack.CurrentState == UnpackStates.Completed)
            {
                if (onThisNode && unpack.TopChainId is { } top)
                {
                    yield return GcResource.Snapshot(unpack.Snapshotter, top.ToString());
                }

                if (discardUnpackedLayers)
                {
                    continue;
                }
            }

            var inFlight = unpack.CurrentState != UnpackStates.Completed;
            foreach (var layer in unpack.Layers)
            {
                yield return GcResource.Content(layer.Blob.Digest);
                if (inFlight && onThisNode)
                {
                    yield return GcResource.Snapshot(unpack.Snapshotter, layer.ChainId.ToString());
                }
            }
        }
    }
}
