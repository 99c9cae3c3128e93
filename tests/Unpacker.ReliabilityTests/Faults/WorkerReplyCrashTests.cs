using System.Diagnostics;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Diagnostics;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Faults;

/// <summary>
/// kill -9 of a worker between its write to PostgreSQL and its reply: an Applier that committed a snapshot, a
/// Fetcher that committed a blob. The workers keep no outbox of their own (see the README's architecture): their
/// command is acknowledged only after the reply is confirmed, so the broker hands it to the other worker, which finds
/// the work in the store and replies from it. The reply is not lost (the unpack completes well within a step deadline,
/// with no re-drive), the work is not done twice, and the history names the worker that replied from the redelivery.
/// </summary>
public sealed class WorkerReplyCrashTests
{
    private const string Snapshotter = "native";

    // Every step deadline of the stack: a lost reply would only be noticed there.
    private static readonly TimeSpan _stepDeadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(CrashPoints.AppliedNotReplied, "Applier")]
    [InlineData(CrashPoints.FetchedNotReplied, "Fetcher")]
    public async Task A_worker_killed_after_its_write_and_before_its_reply_loses_no_reply_and_does_no_work_twice(string point, string service)
    {
        var marker = Path.Combine(Path.GetTempPath(), $"worker-kill-{Guid.NewGuid():N}");
        await using var stack = await ServiceStack.StartAsync("rel-reply", new ServiceStackOptions
        {
            Fetchers = 2,
            Appliers = 2,
            Environment = FaultSettings.With(new Dictionary<string, string>
            {
                ["Saga__StatTimeout"] = _stepDeadline.ToString(),
                ["Saga__FetchTimeout"] = _stepDeadline.ToString(),
                ["Saga__ApplyTimeout"] = _stepDeadline.ToString(),
                ["Saga__LabelTimeout"] = _stepDeadline.ToString(),
                ["Faults__KillAt"] = point,
                ["Faults__KillMarker"] = marker,
            }),
        });

        try
        {
            var image = new TestImageBuilder()
                .WithLayer(new Dictionary<string, string> { ["a/one.txt"] = $"{Guid.NewGuid()}\n" })
                .WithLayer(new Dictionary<string, string> { ["b/two.txt"] = $"{Guid.NewGuid()}\n" })
                .WithLayer(new Dictionary<string, string> { ["c/three.txt"] = $"{Guid.NewGuid()}\n" })
                .Build();
            var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-reply"), Snapshotter);
            var started = Stopwatch.StartNew();
            var outcome = await stack.UnpackAsync(request, TimeSpan.FromMinutes(2));
            var took = started.Elapsed;

            Assert.True(File.Exists(marker), $"no {service} reached the fault point {point}");
            Assert.Single(stack.Processes, p => p.HasExited);
            Assert.Single(stack.Processes, p => p.Name == service && p.HasExited);
            var completed = Assert.IsType<UnpackCompleted>(outcome);
            Assert.True(took < _stepDeadline, $"the unpack took {took}, not less than one step deadline ({_stepDeadline}): a reply was lost until its deadline");

            var history = await stack.HistoryAsync(request.UnpackId);
            Assert.Empty(history.OfType<StepRedriven>());

            // The other worker took the redelivered command and replied from what the killed one had written.
            var fromRedelivery = service == "Applier"
                ? history.OfType<LayerCommitted>().Where(c => c.Worker.Redelivered).Select(c => (c.LayerIndex, c.AlreadyPresent))
                : history.OfType<BlobFetchFinished>().Where(f => f.Worker.Redelivered).Select(f => (f.LayerIndex, f.AlreadyPresent));
            Assert.Contains(fromRedelivery, reply => reply.AlreadyPresent);
            Assert.Equal(image.Layers.Count, history.OfType<LayerCommitted>().Select(c => c.LayerIndex).Distinct().Count());
            Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());
            RootFs.AssertIdentical(await RootFs.CleanRunAsync(image, stack.Root), await stack.ExportAsync(Snapshotter, completed.TopChainId));
        }
        finally
        {
            File.Delete(marker);
        }
    }
}
