using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.IntegrationTests;

/// <summary>
/// <c>RabbitMq:QueueType=quorum</c>, the production setting for a RabbitMQ cluster: every queue of work is declared a
/// quorum queue (on this single-node broker too) and an unpack runs over them; the other queues stay as they were.
/// </summary>
public sealed class QuorumQueueTests
{
    [Fact]
    public async Task With_quorum_queues_every_queue_of_work_is_a_quorum_queue_and_an_image_unpacks_over_them()
    {
        await using var stack = await ServiceStack.StartAsync("quorum", environment: new Dictionary<string, string> { ["RabbitMq__QueueType"] = "quorum" });
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["etc/motd"] = "welcome\n" })
            .WithLayer(new Dictionary<string, string> { ["app/new.txt"] = "layer two\n" })
            .Build();
        var repository = TestRegistryPusher.UniqueRepository("quorum");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        var outcome = await stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1"), "native");
        var types = await stack.VirtualHost.QueueTypesAsync();

        var completed = Assert.IsType<UnpackCompleted>(outcome);
        Assert.Equal(2, completed.LayersApplied);
        string[] work = [ResolveImage.QueueName, FetchBlob.QueueName, LabelContent.QueueName, UnpackSagaRegistration.QueueName, ApplyLayer.QueueName(stack.Node, "native"), ApplyLayer.QueueName(stack.Node, "overlayfs"),
            StatSnapshot.QueueName(stack.Node, "native"), StatSnapshot.QueueName(stack.Node, "overlayfs")];
        Assert.All(work, queue => Assert.True(types.GetValueOrDefault(queue) == "quorum", $"{queue} is {types.GetValueOrDefault(queue) ?? "missing"}: {string.Join(", ", types)}"));
        Assert.Equal("classic", types["fetcher-ping"]);
    }
}
