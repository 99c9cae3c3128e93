using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Storage.Content;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Runs;

/// <summary>An Applier process alone: one that waits for a run's in-flight blobs, up to its (short) RunBlobWait.</summary>
public sealed class ApplierOnlyFixture() : ApplierOnlyStack("rel-run", new Dictionary<string, string> { ["Applier__RunBlobWait"] = RunBlobWait.ToString() })
{
    public static readonly TimeSpan RunBlobWait = TimeSpan.FromSeconds(1);
}

/// <summary>
/// An apply run may reach a layer whose blob its Fetcher is still writing: the Applier waits for the blob in the
/// content store, and when it does not come in time stops the run there with <see cref="LayerApplyDeferred"/>.
/// </summary>
public sealed class ApplyRunBlobWaitTests(ApplierOnlyFixture fixture) : IClassFixture<ApplierOnlyFixture>
{
    private static readonly TimeSpan _patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_run_waits_at_a_layer_whose_blob_is_still_being_fetched_and_applies_it_once_committed()
    {
        var (image, run) = NewRun();
        await fixture.WriteAsync(image.Layers[0]);

        await fixture.Listener.SendAsync(ApplyLayer.QueueName(fixture.Stack.Node, "native"), run);
        await fixture.Listener.WaitForAsync<LayerApplied>(a => a.UnpackId == run.UnpackId && a.LayerIndex == 0, _patience);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        await fixture.WriteAsync(image.Layers[1]);

        var second = await fixture.Listener.WaitForAsync<LayerApplied>(a => a.UnpackId == run.UnpackId && a.LayerIndex == 1, _patience);
        Assert.Equal((run.Following![0].ChainId, false), (second.ChainId, second.AlreadyPresent));
        Assert.DoesNotContain(fixture.Listener.Heard.OfType<LayerApplyDeferred>(), d => d.UnpackId == run.UnpackId);
        Assert.Contains(second.ChainId.ToString(), await fixture.Stack.CommittedAsync("native"));
    }

    [Fact]
    public async Task A_run_stops_before_a_layer_whose_blob_does_not_come_in_time_and_prepares_nothing_for_it()
    {
        var (image, run) = NewRun();
        await fixture.WriteAsync(image.Layers[0]);

        await fixture.Listener.SendAsync(ApplyLayer.QueueName(fixture.Stack.Node, "native"), run);

        var deferred = await fixture.Listener.WaitForAsync<LayerApplyDeferred>(d => d.UnpackId == run.UnpackId, _patience);
        Assert.Equal((1, run.Following![0].Attempt, image.Layers[1].Descriptor.Digest, ApplierOnlyFixture.RunBlobWait),
            (deferred.LayerIndex, deferred.Attempt, deferred.Blob, deferred.Waited));
        Assert.Single(fixture.Listener.Heard.OfType<LayerApplied>(), a => a.UnpackId == run.UnpackId && a.LayerIndex == 0);
        var committed = await fixture.Stack.CommittedAsync("native");
        Assert.Contains(run.ChainId.ToString(), committed);
        Assert.DoesNotContain(deferred.ChainId.ToString(), committed);
        Assert.DoesNotContain(await fixture.Stack.ActiveAsync("native"), key => key.EndsWith(deferred.ChainId.ToString(), StringComparison.Ordinal));
    }

    /// <summary>A two-layer image of its own and the run for it, whose second layer's blob is marked in flight.</summary>
    private static (TestImage Image, ApplyLayer Run) NewRun()
    {
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { [$"base/{Guid.NewGuid():N}"] = "base\n" })
            .WithLayer(new Dictionary<string, string> { [$"top/{Guid.NewGuid():N}"] = "top\n" })
            .Build();
        var chain = ChainId.Compute(image.DiffIds);
        var run = new ApplyLayer(NewId.NextGuid(), 0, 1, "native", image.Layers[0].Descriptor, image.DiffIds[0], chain[0], null, null, Rebase: false)
        {
            Following = [new ChainedLayer(1, 1, image.Layers[1].Descriptor, image.DiffIds[1], chain[1]) { BlobInFlight = true }],
        };
        return (image, run);
    }
}
