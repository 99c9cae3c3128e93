using System.Diagnostics;
using System.IO.Compression;
using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Fetcher.Resolving;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Sources;

/// <summary>OCI layout directories, oci-archive tars and docker-archive tars, written by the tests and by skopeo.</summary>
public sealed class LocalSourceTests(FetcherFixture fixture) : IClassFixture<FetcherFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("unpacker-local-sources-").FullName;

    private readonly TestImage _image = new TestImageBuilder()
        .WithLayer(new Dictionary<string, string> { ["etc/os-release"] = "ID=test" })
        .WithLayer(TestLayer.Random(50_000))
        .Build();

    [Fact]
    public async Task An_OCI_layout_directory_with_one_image_resolves_and_its_layers_are_fetched()
    {
        var layout = Path.Combine(_directory, "layout");
        TestImageFiles.WriteOciLayout(layout, _image);
        await using var stack = fixture.NewStack();

        var resolved = await ResolveAndFetchAsync(stack, new ImageSource(ImageSourceKind.OciLayout, layout));

        Assert.Equal(_image.Manifest, resolved.Manifest);
        Assert.Equal(_image.DiffIds, resolved.DiffIds);
        foreach (var layer in _image.Layers)
        {
            Assert.Equal(layer.Blob, await stack.ReadBlobAsync(layer.Descriptor.Digest));
        }
    }

    [Fact]
    public async Task A_tag_picks_the_manifest_named_by_its_ref_name_annotation()
    {
        var layout = Path.Combine(_directory, "tagged");
        TestImageFiles.WriteOciLayout(layout, _image, tag: "1.0");
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(new ImageSource(ImageSourceKind.OciLayout, $"{layout}:1.0"), CancellationToken.None);
        var missing = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(new ImageSource(ImageSourceKind.OciLayout, $"{layout}:2.0"), CancellationToken.None));

        Assert.Equal(_image.Manifest.Digest, resolved.Manifest!.Digest);
        Assert.Equal(FailureKind.NotFound, missing.Kind);
        Assert.Contains("'2.0'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("1.0", missing.Message.Split("tags there:")[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_OCI_layout_listing_several_platforms_yields_the_requested_one()
    {
        var index = TestImageIndex.Of(
            new TestImageBuilder().ForPlatform("linux/amd64").WithLayer(new Dictionary<string, string> { ["a"] = "amd64" }).Build(),
            new TestImageBuilder().ForPlatform("linux/arm64").WithLayer(new Dictionary<string, string> { ["a"] = "arm64" }).Build());
        var layout = Path.Combine(_directory, "multi");
        TestImageFiles.WriteOciLayout(layout, index);
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(new ImageSource(ImageSourceKind.OciLayout, layout) { Platform = Platform.Parse("linux/arm64") }, CancellationToken.None);

        Assert.Equal(index.For("linux/arm64").Manifest.Digest, resolved.Manifest!.Digest);
        Assert.Equal(index.For("linux/arm64").DiffIds, resolved.DiffIds);
    }

    [Fact]
    public async Task A_tagged_multi_platform_index_in_an_OCI_layout_is_followed_to_the_platform()
    {
        var index = TestImageIndex.Of(
            new TestImageBuilder().ForPlatform("linux/amd64").WithLayer(new Dictionary<string, string> { ["a"] = "amd64" }).Build(),
            new TestImageBuilder().ForPlatform("linux/arm/v7").WithLayer(new Dictionary<string, string> { ["a"] = "armv7" }).Build());
        var layout = Path.Combine(_directory, "tagged-index");
        TestImageFiles.WriteOciLayout(layout, index, "latest");
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(new ImageSource(ImageSourceKind.OciLayout, $"{layout}:latest") { Platform = Platform.Parse("linux/arm") }, CancellationToken.None);

        Assert.Equal(index.For("linux/arm/v7").Manifest.Digest, resolved.Manifest!.Digest);
    }

    [Fact]
    public async Task An_oci_archive_resolves_and_its_layers_are_read_in_place()
    {
        var archive = Path.Combine(_directory, "image.oci.tar");
        TestImageFiles.WriteOciArchive(archive, _image, tag: "v1");
        await using var stack = fixture.NewStack();

        var resolved = await ResolveAndFetchAsync(stack, new ImageSource(ImageSourceKind.OciArchive, archive));

        Assert.Equal(_image.Manifest.Digest, resolved.Manifest!.Digest);
        Assert.Equal(_image.DiffIds, resolved.DiffIds);
        Assert.Equal(_image.Layers[1].Blob, await stack.ReadBlobAsync(_image.Layers[1].Descriptor.Digest));
    }

    [Fact]
    public async Task A_docker_archive_resolves_to_a_manifest_of_its_uncompressed_layers()
    {
        var archive = Path.Combine(_directory, "image.docker.tar");
        TestImageFiles.WriteDockerArchive(archive, "example/app:1.0", _image);
        await using var stack = fixture.NewStack();

        var resolved = await ResolveAndFetchAsync(stack, new ImageSource(ImageSourceKind.DockerArchive, archive));

        Assert.Equal(MediaTypes.DockerManifest, resolved.Manifest!.MediaType);
        Assert.Equal(_image.Config.Digest, resolved.Config.Digest);
        Assert.Equal(_image.DiffIds, resolved.DiffIds);
        Assert.Equal(_image.DiffIds, resolved.Layers.Select(l => l.Digest));
        Assert.All(resolved.Layers, l => Assert.Equal(MediaTypes.DockerLayer, l.MediaType));
        Assert.Equal(_image.Layers[0].Tar, await stack.ReadBlobAsync(resolved.Layers[0].Digest));
    }

    [Fact]
    public async Task A_docker_archive_with_several_images_needs_a_tag_to_choose()
    {
        var other = new TestImageBuilder().WithLayer(new Dictionary<string, string> { ["other"] = "image" }).Build();
        var archive = Path.Combine(_directory, "two.docker.tar");
        TestImageFiles.WriteDockerArchive(archive, [("example/app:1.0", _image), ("example/other:2.0", other)]);
        await using var stack = fixture.NewStack();

        var ambiguous = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(new ImageSource(ImageSourceKind.DockerArchive, archive), CancellationToken.None));
        var chosen = await stack.Resolver.ResolveAsync(new ImageSource(ImageSourceKind.DockerArchive, $"{archive}:example/other:2.0"), CancellationToken.None);

        Assert.Equal(FailureKind.InvalidRequest, ambiguous.Kind);
        Assert.Contains("example/other:2.0", ambiguous.Message, StringComparison.Ordinal);
        Assert.Equal(other.Config.Digest, chosen.Config.Digest);
    }

    [Theory]
    [InlineData(ImageSourceKind.OciLayout)]
    [InlineData(ImageSourceKind.OciArchive)]
    [InlineData(ImageSourceKind.DockerArchive)]
    public async Task A_missing_local_image_is_not_found_and_named(ImageSourceKind kind)
    {
        var path = Path.Combine(_directory, "does-not-exist");
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(new ImageSource(kind, path), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzipped_archive_is_refused_with_what_to_do()
    {
        var archive = Path.Combine(_directory, "image.tar");
        TestImageFiles.WriteOciArchive(archive, _image);
        var gzipped = archive + ".gz";
        await using (var input = File.OpenRead(archive))
        await using (var output = new GZipStream(File.Create(gzipped), CompressionLevel.Fastest))
        {
            await input.CopyToAsync(output);
        }

        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<FetchException>(() => stack.Resolver.ResolveAsync(new ImageSource(ImageSourceKind.OciArchive, gzipped), CancellationToken.None));

        Assert.Equal(FailureKind.InvalidRequest, error.Kind);
        Assert.Contains("gunzip", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_layout_written_by_skopeo_from_the_registry_resolves_to_the_same_image()
    {
        var repository = await PushAsync();
        var layout = Path.Combine(_directory, "skopeo-layout");
        await SkopeoAsync("copy", "--src-tls-verify=false", $"docker://{TestServers.Registry}/{repository}:v1", $"oci:{layout}:v1");
        await using var stack = fixture.NewStack();

        var resolved = await ResolveAndFetchAsync(stack, new ImageSource(ImageSourceKind.OciLayout, $"{layout}:v1"));

        Assert.Equal(_image.DiffIds, resolved.DiffIds);
        Assert.Equal(_image.Layers.Select(l => l.Descriptor.Digest), resolved.Layers.Select(l => l.Digest));
    }

    [Fact]
    public async Task A_docker_archive_written_by_skopeo_resolves_to_the_same_diff_ids()
    {
        var repository = await PushAsync();
        var archive = Path.Combine(_directory, "skopeo.docker.tar");
        await SkopeoAsync("copy", "--src-tls-verify=false", $"docker://{TestServers.Registry}/{repository}:v1", $"docker-archive:{archive}:example/app:v1");
        await using var stack = fixture.NewStack();

        var resolved = await ResolveAndFetchAsync(stack, new ImageSource(ImageSourceKind.DockerArchive, archive));

        Assert.Equal(_image.DiffIds, resolved.DiffIds);
        Assert.Equal(_image.Layers[0].Tar, await stack.ReadBlobAsync(resolved.Layers[0].Digest));
    }

    [Fact]
    public async Task An_oci_archive_written_by_skopeo_resolves_to_the_same_image()
    {
        var repository = await PushAsync();
        var archive = Path.Combine(_directory, "skopeo.oci.tar");
        await SkopeoAsync("copy", "--src-tls-verify=false", $"docker://{TestServers.Registry}/{repository}:v1", $"oci-archive:{archive}:v1");
        await using var stack = fixture.NewStack();

        var resolved = await ResolveAndFetchAsync(stack, new ImageSource(ImageSourceKind.OciArchive, $"{archive}:v1"));

        Assert.Equal(_image.DiffIds, resolved.DiffIds);
        Assert.Equal(_image.Layers[1].Blob, await stack.ReadBlobAsync(_image.Layers[1].Descriptor.Digest));
    }

    [Fact]
    public async Task An_oci_archive_made_by_GNU_tar_with_dot_slash_names_is_read()
    {
        var layout = Path.Combine(_directory, "for-tar");
        TestImageFiles.WriteOciLayout(layout, _image);
        var archive = Path.Combine(_directory, "gnu.oci.tar");
        using (var tar = Process.Start(new ProcessStartInfo("tar", ["-C", layout, "-cf", archive, "."]) { UseShellExecute = false })!)
        {
            await tar.WaitForExitAsync();
            Assert.Equal(0, tar.ExitCode);
        }

        await using var stack = fixture.NewStack();

        var resolved = await ResolveAndFetchAsync(stack, new ImageSource(ImageSourceKind.OciArchive, archive));

        Assert.Equal(_image.Manifest.Digest, resolved.Manifest!.Digest);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<ResolvedImage> ResolveAndFetchAsync(FetcherStack stack, ImageSource request)
    {
        var resolved = await stack.Resolver.ResolveAsync(request, CancellationToken.None);
        var source = await stack.Sources.OpenAsync(request, CancellationToken.None);
        foreach (var layer in resolved.Layers)
        {
            var result = await stack.Fetcher.FetchAsync(source, layer, null, CancellationToken.None);
            Assert.Equal(layer.Size, result.BytesTransferred);
        }

        return resolved;
    }

    private async Task<string> PushAsync()
    {
        var repository = TestRegistryPusher.UniqueRepository("skopeo");
        using var pusher = TestRegistryPusher.ForTestRegistry();
        await pusher.PushAsync(repository, "v1", _image);
        return repository;
    }

    private static async Task SkopeoAsync(params string[] arguments)
    {
        var skopeo = File.Exists("/usr/bin/skopeo") ? "/usr/bin/skopeo" : throw new InvalidOperationException("skopeo is missing; install it with 'apt-get install skopeo'");
        using var process = Process.Start(new ProcessStartInfo(skopeo, ["--insecure-policy", .. arguments]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"skopeo {string.Join(' ', arguments)} failed: {await errors}");
    }
}
