using Unpacker.Contracts.Unpacking;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Support;

/// <summary>
/// The images the fault trials unpack: a small base (shared, so later trials skip it), a big incompressible middle
/// layer that takes long enough to fetch and apply to be interrupted, and a top layer with a whiteout.
/// </summary>
public static class FaultImages
{
    public const int BigLayerIndex = 1;

    /// <summary>A base layer for all the trials of one test.</summary>
    public static TestLayer Base() => TestLayer.FromFiles(new Dictionary<string, string>
    {
        ["etc/os-release"] = "ID=reliability\n",
        ["etc/motd"] = "to be whited out\n",
        ["usr/lib/base.so"] = new string('b', 64 * 1024),
    });

    /// <summary>A fresh image (its big layer is random, so its chain is new) over the shared base.</summary>
    public static TestImage Trial(TestLayer baseLayer, int trial, int bigLayerBytes)
    {
        var big = new Dictionary<string, byte[]>
        {
            [$"opt/trial{trial}/blob.bin"] = System.Security.Cryptography.RandomNumberGenerator.GetBytes(bigLayerBytes),
        };
        for (var i = 0; i < 200; i++)
        {
            big[$"opt/trial{trial}/small/{i:D3}.txt"] = System.Text.Encoding.UTF8.GetBytes($"file {i} of trial {trial}\n");
        }

        return new TestImageBuilder()
            .WithLayer(baseLayer)
            .WithLayer(TestLayer.FromFiles(big))
            .WithLayer(new Dictionary<string, string> { ["etc/.wh.motd"] = string.Empty, [$"app/trial{trial}.txt"] = $"top of trial {trial}\n" })
            .Build();
    }

    /// <summary>Pushes the image under a unique repository and returns its source (through <paramref name="registry"/>, e.g. a proxy).</summary>
    public static async Task<ImageSource> PushAsync(TestImage image, string prefix, string? registry = null)
    {
        var repository = TestRegistryPusher.UniqueRepository(prefix);
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        return new ImageSource(ImageSourceKind.Registry, $"{registry ?? TestServers.Registry}/{repository}:v1");
    }
}
