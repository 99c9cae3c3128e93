using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Contracts.Validation;

namespace Unpacker.Contracts.Tests;

public sealed class FetchGroupTests
{
    private static readonly ImageSource _source = new(ImageSourceKind.Registry, "127.0.0.1:55000/app:1");
    private static readonly WorkerStamp _fetcher = new("fetcher", "fetcher-1@test", "test-host");

    private static Descriptor Blob(int i) => new(MediaTypes.OciLayerGzip, Digest.Compute([(byte)i]), 100 + i);

    private static FetchBlob Group(params int[] layers) =>
        new(Guid.NewGuid(), layers[0], 1, _source, Blob(layers[0]))
        {
            More = [.. layers.Skip(1).Select(i => new BlobRequest(i, 10 + i, Blob(i)))],
        };

    [Fact]
    public void A_group_is_worked_as_one_command_per_blob_of_the_same_unpack_and_source()
    {
        var group = Group(3, 4, 6);

        var blobs = group.Blobs().ToList();

        Assert.Equal([3, 4, 6], blobs.Select(b => b.LayerIndex));
        Assert.Equal([1, 14, 16], blobs.Select(b => b.Attempt));
        Assert.Equal([Blob(3), Blob(4), Blob(6)], blobs.Select(b => b.Blob));
        Assert.All(blobs, b => Assert.Equal((group.UnpackId, _source, (IReadOnlyList<BlobRequest>?)null), (b.UnpackId, b.Source, b.More)));
        Assert.Empty(MessageValidator.Validate(group));
    }

    [Fact]
    public void One_reply_for_a_group_reads_as_one_reply_per_blob()
    {
        var reply = new BlobFetched(Guid.NewGuid(), 3, 1, Blob(3), false, 103, TimeSpan.FromMilliseconds(4), _fetcher)
        {
            More = [new FetchedBlob(4, 14, Blob(4), true, 0, TimeSpan.FromMilliseconds(1))],
        };

        var blobs = reply.Blobs().ToList();

        Assert.Equal([(3, 1, false, 103L), (4, 14, true, 0L)], blobs.Select(b => (b.LayerIndex, b.Attempt, b.AlreadyPresent, b.BytesTransferred)));
        Assert.Equal([Blob(3), Blob(4)], blobs.Select(b => b.Blob));
        Assert.All(blobs, b => Assert.Equal((reply.UnpackId, _fetcher), (b.UnpackId, b.Worker)));
    }

    [Fact]
    public void A_group_naming_a_layer_twice_is_rejected_naming_the_entry()
    {
        var error = Assert.Single(MessageValidator.Validate(Group(3, 4, 3)));

        Assert.Contains("More[1].LayerIndex", error, StringComparison.Ordinal);
        Assert.Contains("layer 3 is already in the group", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_group_entry_that_is_not_a_layer_blob_is_rejected_naming_the_entry()
    {
        var group = Group(0, 1);
        group = group with { More = [group.More![0] with { Blob = new Descriptor(MediaTypes.OciConfig, Digest.Compute([9]), 5) }] };

        var error = Assert.Single(MessageValidator.Validate(group));

        Assert.Contains("More[0].Blob", error, StringComparison.Ordinal);
    }
}
