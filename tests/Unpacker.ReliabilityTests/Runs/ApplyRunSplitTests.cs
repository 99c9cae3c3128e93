using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Storage.Content;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Runs;

/// <summary>An Applier process alone whose apply runs may last no time at all, so that every run is split after its first layer.</summary>
public sealed class ShortRunApplierFixture() : ApplierOnlyStack("rel-split", new Dictionary<string, string> { ["Applier__MaxRunDuration"] = "00:00:00" });

/// <summary>
/// An apply run is acknowledged to the broker when it ends, and RabbitMQ takes back a delivery held longer than its
/// <c>consumer_timeout</c>: a run that has lasted <c>Applier:MaxRunDuration</c> stops at the next layer boundary and says
/// so, and the saga sends the rest as a new run. Whoever takes a run says so first (<see cref="ApplyRunBegan"/>).
/// </summary>
public sealed class ApplyRunSplitTests(ShortRunApplierFixture fixture) : IClassFixture<ShortRunApplierFixture>
{
    private static readonly TimeSpan _patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_run_that_lasted_its_longest_stops_before_its_next_layer_saying_why_and_prepares_nothing_for_it()
    {
        var image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { [$"base/{Guid.NewGuid():N}"] = "base\n" })
            .WithLayer(new Dictionary<string, string> { [$"top/{Guid.NewGuid():N}"] = "top\n" })
            .Build();
        foreach (var layer in image.Layers)
        {
            await fixture.WriteAsync(layer);
        }

        var chain = ChainId.Compute(image.DiffIds);
        var run = new ApplyLayer(NewId.NextGuid(), 0, 4, "native", image.Layers[0].Descriptor, image.DiffIds[0], chain[0], null, null, Rebase: false)
        {
            Following = [new ChainedLayer(1, 5, image.Layers[1].Descriptor, image.DiffIds[1], chain[1])],
        };

        await fixture.Listener.SendAsync(ApplyLayer.QueueName(fixture.Stack.Node, "native"), run);

        var deferred = await fixture.Listener.WaitForAsync<LayerApplyDeferred>(d => d.UnpackId == run.UnpackId, _patience);
        Assert.Equal((1, 5, TimeSpan.Zero), (deferred.LayerIndex, deferred.Attempt, deferred.Waited));
        Assert.Contains("Applier:MaxRunDuration", deferred.Why, StringComparison.Ordinal);
        var began = Assert.Single(fixture.Listener.Heard.OfType<ApplyRunBegan>(), b => b.UnpackId == run.UnpackId);
        Assert.Equal([new LayerAttempt(0, 4), new LayerAttempt(1, 5)], began.Layers);
        Assert.Single(fixture.Listener.Heard.OfType<LayerApplied>(), a => a.UnpackId == run.UnpackId && a.LayerIndex == 0);
        var committed = await fixture.Stack.CommittedAsync("native");
        Assert.Contains(chain[0].ToString(), committed);
        Assert.DoesNotContain(chain[1].ToString(), committed);
        Assert.DoesNotContain(await fixture.Stack.ActiveAsync("native"), key => key.EndsWith(chain[1].ToString(), StringComparison.Ordinal));
    }
}
