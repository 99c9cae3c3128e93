using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;
using Unpacker.Storage;
using Unpacker.Storage.Content;
using Unpacker.Testing.Images;

namespace Unpacker.Cli.Tests;

/// <summary><c>unpack</c> (blobs already in the content store) and <c>import</c> (OCI layout, oci-archive, docker-archive) end to end.</summary>
public sealed class LocalSourceCommandTests(CliStack cli) : IClassFixture<CliStack>
{
    [Fact]
    public async Task A_config_and_layers_already_in_the_content_store_unpack_without_any_download()
    {
        var image = TestImages.ThreeLayers();
        var content = new ContentStore(new ContentStoreOptions { Root = cli.Stack.Root }, cli.Stack.Store);
        foreach (var (descriptor, bytes) in image.Blobs)
        {
            await IngestAsync(content, descriptor, bytes);
        }

        await using var unpack = await CliProcess.RunAsync(
            cli.Environment, ["unpack", image.Config.Digest.ToString(), .. image.Layers.Select(l => l.Descriptor.Digest.ToString())]);

        Assert.True(unpack.ExitCode == 0, unpack.Describe());
        Assert.True(unpack.Stdout.Any(l => l.StartsWith("3 layers: 3 committed, 0 skipped, 0 failed, 0 unfinished; ", StringComparison.Ordinal)), unpack.Describe());
        var outcome = Assert.Single(unpack.Stdout, line => line.Contains(" completed in ", StringComparison.Ordinal));
        Assert.EndsWith($"top chain ID {ChainId.Compute(image.DiffIds)[^1]}", outcome, StringComparison.Ordinal);
        var unpackId = Guid.Parse(unpack.Stdout[0]["unpack ".Length..unpack.Stdout[0].IndexOf(':', StringComparison.Ordinal)]);
        await using var session = cli.Stack.Store.QuerySession();
        var fetches = (await session.Events.FetchStreamAsync(unpackId)).Select(e => e.Data).OfType<BlobFetchFinished>().ToList();
        Assert.Equal(3, fetches.Count);
        Assert.All(fetches, f => Assert.True(f.AlreadyPresent, $"layer {f.LayerIndex} was downloaded"));
    }

    [Fact]
    public async Task A_layer_missing_from_the_content_store_is_a_usage_error_naming_it()
    {
        var image = TestImages.ThreeLayers();

        await using var unpack = await CliProcess.RunAsync(cli.Environment, "unpack", image.Config.Digest.ToString(), image.Layers[0].Descriptor.Digest.ToString());

        Assert.True(unpack.ExitCode == 2, unpack.Describe());
        var error = Assert.Single(unpack.Stderr);
        Assert.StartsWith($"unpacker: the config {image.Config.Digest} is not in the content store at {cli.Stack.Root}", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("oci-layout")]
    [InlineData("oci-archive")]
    [InlineData("docker-archive")]
    public async Task An_image_file_is_imported_with_its_format_found_from_its_content(string format)
    {
        var image = TestImages.ThreeLayers();
        var path = Path.Combine(cli.Stack.Root, "imports", $"{format}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        switch (format)
        {
            case "oci-layout":
                TestImageFiles.WriteOciLayout(path, image);
                break;
            case "oci-archive":
                TestImageFiles.WriteOciArchive(path, image);
                break;
            default:
                TestImageFiles.WriteDockerArchive(path, "example/imported:v1", image);
                break;
        }

        await using var import = await CliProcess.RunAsync(cli.Environment, "import", path, "--json");

        Assert.True(import.ExitCode == 0, import.Describe());
        Assert.Contains($"\"source\":\"{Kind(format)} {path}\"", import.Stdout[0], StringComparison.Ordinal);
        Assert.Contains("\"type\":\"outcome\",", import.Stdout[^1], StringComparison.Ordinal);
        Assert.Contains($"\"topChainId\":\"{ChainId.Compute(image.DiffIds)[^1]}\"", import.Stdout[^1], StringComparison.Ordinal);
    }

    private static async Task IngestAsync(ContentStore content, Descriptor descriptor, byte[] bytes)
    {
        try
        {
            await using var writer = await content.OpenWriterAsync($"cli-test-{descriptor.Digest.Encoded}", descriptor, CancellationToken.None);
            await writer.WriteAsync(bytes, CancellationToken.None);
            await writer.CommitAsync(null, CancellationToken.None);
        }
        catch (AlreadyExistsException)
        {
            // The upper layers are the same in every test image: another test of this class may have brought them in.
        }
    }

    private static string Kind(string format) => format switch
    {
        "oci-layout" => "OciLayout",
        "oci-archive" => "OciArchive",
        _ => "DockerArchive",
    };
}
