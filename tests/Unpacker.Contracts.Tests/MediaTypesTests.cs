using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Tests;

public sealed class MediaTypesTests
{
    [Theory]
    [InlineData(MediaTypes.OciLayer, MediaTypes.LayerCompression.None)]
    [InlineData(MediaTypes.OciLayerGzip, MediaTypes.LayerCompression.Gzip)]
    [InlineData(MediaTypes.OciLayerZstd, MediaTypes.LayerCompression.Zstd)]
    [InlineData(MediaTypes.OciLayerForeignGzip, MediaTypes.LayerCompression.Gzip)]
    [InlineData(MediaTypes.DockerLayerGzip, MediaTypes.LayerCompression.Gzip)]
    [InlineData(MediaTypes.DockerLayerForeignGzip, MediaTypes.LayerCompression.Gzip)]
    public void Layer_media_types_declare_their_compression(string mediaType, MediaTypes.LayerCompression expected)
    {
        Assert.True(MediaTypes.TryGetLayerCompression(mediaType, out var compression));
        Assert.Equal(expected, compression);
    }

    [Theory]
    [InlineData(MediaTypes.OciConfig)]
    [InlineData("application/vnd.oci.image.layer.v1.tar+lz4")]
    [InlineData("text/plain")]
    public void Anything_else_is_not_a_layer(string mediaType) => Assert.False(MediaTypes.IsLayer(mediaType));
}
