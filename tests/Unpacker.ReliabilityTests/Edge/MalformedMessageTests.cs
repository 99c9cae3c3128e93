using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Edge;

/// <summary>
/// Messages that break the contract are rejected where they enter (the saga's queue for client requests, the
/// Applier's queues for commands): a fault that names the field, the message in the error queue, no saga
/// started, and the services go on serving well-formed requests.
/// </summary>
public sealed class MalformedMessageTests(EdgeStackFixture fixture) : IClassFixture<EdgeStackFixture>
{
    private static readonly WireRequester _requester = new("test", "host", "reliability-tests");
    private static readonly string _validDigest = Digest.Compute("x"u8).ToString();

    public static TheoryData<string, string> Requests => new()
    {
        { "no source and no snapshotter", "Source: missing" },
        { "a snapshotter that is a path", "Snapshotter: '../../etc' is not a snapshotter name" },
        { "a label key that is a path", "Labels[../escape]" },
        { "a content-store layer of an unknown media type", "Source.Layers[0].MediaType: 'application/x-unknown' is not a layer media type" },
        { "a content-store source without layers", "Source.Layers: missing" },
        { "no requester", "RequestedBy: missing" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task A_malformed_unpack_request_faults_at_the_edge_naming_the_field_and_starts_no_unpack(string malformation, string expected)
    {
        var unpackId = NewId.NextGuid();
        await fixture.Listener.SendAsync(UnpackSagaRegistration.QueueName, Malformed(unpackId, malformation));

        var fault = await fixture.Listener.WaitForAsync<Fault<UnpackRequested>>(f => f.Message.UnpackId == unpackId, TimeSpan.FromSeconds(30));
        Assert.Contains(expected, fault.Exceptions[0].Message, StringComparison.Ordinal);
        Assert.Equal(typeof(Contracts.Validation.MessageValidationException).FullName, fault.Exceptions[0].ExceptionType);
        Assert.Empty(await fixture.Stack.HistoryAsync(unpackId));
        Assert.True(await RabbitQueues.WaitForMessagesAsync(fixture.Stack, $"{UnpackSagaRegistration.QueueName}_error", 1, TimeSpan.FromSeconds(30)) >= 1);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task An_unpack_request_with_a_malformed_digest_ends_in_the_error_queue_and_starts_no_unpack()
    {
        var unpackId = NewId.NextGuid();
        var before = await RabbitQueues.MessagesAsync(fixture.Stack, $"{UnpackSagaRegistration.QueueName}_error");
        var source = new WireSource(ImageSourceKind.ContentStore, null, new WireDescriptor(MediaTypes.OciConfig, _validDigest, 10), [new WireDescriptor(MediaTypes.OciLayerGzip, "sha256:not-hex", 10)]);
        await fixture.Listener.SendAsync(UnpackSagaRegistration.QueueName, new WireUnpackRequested(unpackId, source, "native", null, _requester, DateTimeOffset.UtcNow));

        // The digest cannot even be read into the contract: MassTransit moves the message aside undelivered.
        Assert.True(await RabbitQueues.WaitForMessagesAsync(fixture.Stack, $"{UnpackSagaRegistration.QueueName}_error", before + 1, TimeSpan.FromSeconds(30)) > before);
        Assert.Empty(await fixture.Stack.HistoryAsync(unpackId));
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task A_commit_command_whose_snapshot_key_is_a_path_is_rejected_by_the_applier_before_the_snapshotter_sees_it()
    {
        var unpackId = NewId.NextGuid();
        var command = new WireCommitSnapshot(unpackId, 0, 1, "native", "../../../../etc", _validDigest, null, _validDigest);
        await fixture.Listener.SendAsync(ApplyLayer.QueueName(fixture.Stack.Node, "native"), command);

        var fault = await fixture.Listener.WaitForAsync<Fault<CommitSnapshot>>(f => f.Message.UnpackId == unpackId, TimeSpan.FromSeconds(30));
        Assert.Contains("Key: '../../../../etc' is a path", fault.Exceptions[0].Message, StringComparison.Ordinal);
        Assert.Single(fault.Exceptions);
        Assert.True(await RabbitQueues.WaitForMessagesAsync(fixture.Stack, $"{ApplyLayer.QueueName(fixture.Stack.Node, "native")}_error", 1, TimeSpan.FromSeconds(30)) >= 1);
        Assert.DoesNotContain(_validDigest, await fixture.Stack.CommittedAsync("native"));
    }

    private static WireUnpackRequested Malformed(Guid unpackId, string malformation)
    {
        var registry = new WireSource(ImageSourceKind.Registry, $"{TestServers.Registry}/test/none:v1");
        return malformation switch
        {
            "no source and no snapshotter" => new(unpackId, null, null, null, _requester, DateTimeOffset.UtcNow),
            "a snapshotter that is a path" => new(unpackId, registry, "../../etc", null, _requester, DateTimeOffset.UtcNow),
            "a label key that is a path" => new(unpackId, registry, "native", new Dictionary<string, string> { ["../escape"] = "x" }, _requester, DateTimeOffset.UtcNow),
            "a content-store layer of an unknown media type" => new(unpackId,
                new WireSource(ImageSourceKind.ContentStore, null, new WireDescriptor(MediaTypes.OciConfig, _validDigest, 10), [new WireDescriptor("application/x-unknown", _validDigest, 10)]),
                "native", null, _requester, DateTimeOffset.UtcNow),
            "a content-store source without layers" => new(unpackId, new WireSource(ImageSourceKind.ContentStore, null, new WireDescriptor(MediaTypes.OciConfig, _validDigest, 10)), "native", null, _requester, DateTimeOffset.UtcNow),
            "no requester" => new(unpackId, registry, "native", null, null, DateTimeOffset.UtcNow),
            _ => throw new ArgumentOutOfRangeException(nameof(malformation), malformation, "no such malformation"),
        };
    }

    private async Task AssertStillServingAsync()
    {
        var image = new TestImageBuilder().WithLayer(new Dictionary<string, string> { [$"ok/{Guid.NewGuid():N}"] = "served\n" }).Build();
        var source = await FaultImages.PushAsync(image, "rel-edge");
        Assert.IsType<UnpackCompleted>(await fixture.Stack.UnpackAsync(source, "native"));
    }
}
