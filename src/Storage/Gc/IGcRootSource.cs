namespace Unpacker.Storage.Gc;

/// <summary>
/// Roots GC must keep besides those labelled <c>containerd.io/gc.root</c>: for example the images recorded by
/// completed unpacks, or the blobs and snapshots of unpacks in flight.
/// </summary>
public interface IGcRootSource
{
    IAsyncEnumerable<GcResource> GetRootsAsync(CancellationToken cancellationToken);
}
