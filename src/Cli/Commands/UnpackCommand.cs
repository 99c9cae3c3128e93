using System.CommandLine;
using Marten;
using Unpacker.Cli.Progress;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker unpack &lt;config&gt; &lt;layer&gt;...</c>: unpacks an image whose config and layer blobs are already in the
/// content store, as containerd's unpacker receives them (nothing is fetched). Sizes come from the content store,
/// each layer's media type from its first bytes (gzip, zstd or a plain tar).
/// </summary>
public static class UnpackCommand
{
    public static Command Create()
    {
        var config = new Argument<string>("config") { Description = "The image config's digest (sha256:...), committed in the content store" };
        var layers = new Argument<string[]>("layers") { Description = "The layers' digests, base first, committed in the content store", Arity = ArgumentArity.OneOrMore };
        var launcher = new UnpackLauncher();
        var command = new Command("unpack", "Unpack a config and layers already in the content store into a snapshotter and show its progress") { config, layers };
        launcher.AddTo(command);
        command.SetAction((parse, cancellationToken) => launcher.RunAsync(
            parse,
            (store, ct) => DescribeAsync(store, parse.GetValue(config)!, parse.GetValue(layers)!, ct),
            "unpacker unpack",
            cancellationToken));
        return command;
    }

    private static async Task<ImageSource> DescribeAsync(DocumentStore documents, string config, IReadOnlyList<string> layers, CancellationToken cancellationToken)
    {
        var content = new ContentStore(new ContentStoreOptions { Root = CliSettings.Storage.Root }, documents);
        var configInfo = await InfoAsync(content, config, "config", cancellationToken);
        var descriptors = new List<Descriptor>();
        for (var i = 0; i < layers.Count; i++)
        {
            var info = await InfoAsync(content, layers[i], $"layer {i}", cancellationToken);
            descriptors.Add(new Descriptor(await MediaTypeOfAsync(content, info.Digest, cancellationToken), info.Digest, info.Size));
        }

        return new ImageSource(ImageSourceKind.ContentStore, null)
        {
            Config = new Descriptor(MediaTypes.OciConfig, configInfo.Digest, configInfo.Size),
            Layers = descriptors,
        };
    }

    private static async Task<ContentInfo> InfoAsync(ContentStore content, string text, string what, CancellationToken cancellationToken)
    {
        if (!Digest.TryParse(text, out var digest, out var error))
        {
            throw new UsageException($"invalid digest '{text}' for the {what}: {error}");
        }

        try
        {
            return await content.InfoAsync(digest, cancellationToken);
        }
        catch (NotFoundException)
        {
            throw new UsageException($"the {what} {digest} is not in the content store at {CliSettings.Storage.Root}; add it with 'unpacker content ingest' or use 'unpacker pull'");
        }
    }

    /// <summary>The layer media type its magic bytes say: gzip (1f 8b), zstd (28 b5 2f fd), else an uncompressed tar.</summary>
    private static async Task<string> MediaTypeOfAsync(ContentStore content, Digest digest, CancellationToken cancellationToken)
    {
        await using var blob = await content.OpenReadAsync(digest, cancellationToken);
        var magic = new byte[4];
        var read = await blob.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken);
        return (read, magic) switch
        {
            ( >= 2, [0x1f, 0x8b, ..]) => MediaTypes.OciLayerGzip,
            ( >= 4, [0x28, 0xb5, 0x2f, 0xfd]) => MediaTypes.OciLayerZstd,
            _ => MediaTypes.OciLayer,
        };
    }
}
