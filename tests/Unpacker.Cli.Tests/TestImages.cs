using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Cli.Tests;

/// <summary>Images the CLI tests unpack, pushed to the real test registry under a repository of their own.</summary>
public static class TestImages
{
    /// <summary>Three small layers; the last overwrites a file of the first. A unique base, so no other test's unpack makes them skipped.</summary>
    public static TestImage ThreeLayers() => new TestImageBuilder()
        .WithLayer(new Dictionary<string, string> { ["etc/motd"] = "welcome\n", ["data/keep"] = "kept\n", ["etc/image-id"] = $"{Guid.NewGuid()}\n" })
        .WithLayer(new Dictionary<string, string> { ["app/new.txt"] = "layer two\n" })
        .WithLayer(new Dictionary<string, string> { ["data/keep"] = "changed in layer three\n" })
        .Build();

    /// <summary>A small layer and one of random bytes big enough that its fetch and apply report bytes on the way.</summary>
    public static TestImage WithBigLayer() => new TestImageBuilder()
        .WithLayer(new Dictionary<string, string> { ["etc/hostname"] = "big\n" })
        .WithLayer(TestLayer.Random(48 * 1024 * 1024))
        .Build();

    /// <summary>Pushes <paramref name="image"/> and returns its reference.</summary>
    public static async Task<string> PushAsync(TestImage image, string prefix)
    {
        var repository = TestRegistryPusher.UniqueRepository(prefix);
        using var pusher = TestRegistryPusher.ForTestRegistry();
        await pusher.PushAsync(repository, "v1", image);
        return $"{TestServers.Registry}/{repository}:v1";
    }
}
