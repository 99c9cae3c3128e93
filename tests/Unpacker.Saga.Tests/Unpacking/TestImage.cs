using System.Text;
using Unpacker.Contracts;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;

namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>An image as the Fetcher would describe it; layers and diffIDs are random unless a base is shared.</summary>
public sealed record TestImage(string Reference, Descriptor Config, IReadOnlyList<Descriptor> Layers, IReadOnlyList<Digest> DiffIds)
{
    public static readonly WorkerStamp Fetcher = new("fetcher", "fetcher@test:1", "test-host");

    public static readonly WorkerStamp Applier = new("applier", "applier@test:2", "test-host");

    public IReadOnlyList<Digest> ChainIds => ChainId.Compute(DiffIds);

    public static TestImage Create(int layers, TestImage? sharingBaseWith = null)
    {
        var descriptors = Enumerable.Range(0, layers)
            .Select(i => i == 0 && sharingBaseWith is not null ? sharingBaseWith.Layers[0] : new Descriptor(MediaTypes.OciLayerGzip, Random(), 1000 + i))
            .ToList();
        var diffIds = Enumerable.Range(0, layers)
            .Select(i => i == 0 && sharingBaseWith is not null ? sharingBaseWith.DiffIds[0] : Random())
            .ToList();
        return new TestImage($"127.0.0.1:55000/test/{Guid.NewGuid():N}:1", new Descriptor(MediaTypes.OciConfig, Random(), 321), descriptors, diffIds);
    }

    public ImageResolved Resolved(Guid unpackId, int attempt) =>
        new(unpackId, attempt, Reference, new Descriptor(MediaTypes.OciManifest, Random(), 500), Config, Layers, DiffIds,
            new Platform("linux", "amd64"), TimeSpan.FromMilliseconds(12), Fetcher);

    private static Digest Random() => Digest.Compute(Encoding.UTF8.GetBytes(Guid.NewGuid().ToString()));
}
