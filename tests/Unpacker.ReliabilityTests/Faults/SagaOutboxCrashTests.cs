using System.Diagnostics;
using System.Text.RegularExpressions;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.ReliabilityTests.Faults;

/// <summary>
/// kill -9 of a Saga process at each hard point of its outbox: after the commit and before any relay, in the middle of
/// a relay, and after the relay handed everything to the broker but before it marked so. The other Saga process takes
/// the redelivered message, finds it consumed in the inbox and relays what is stored: the unpack completes well within
/// a step deadline (no re-drive), every layer is extracted once (a relayed copy of an apply is dropped by the Applier's
/// inbox), and the history says what happened.
/// </summary>
public sealed partial class SagaOutboxCrashTests
{
    private const string Snapshotter = "native";

    // The shortest step deadline of the stack: a lost send would only be noticed there.
    private static readonly TimeSpan _stepDeadline = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("AfterCommit", "ApplyLayer")]
    [InlineData("MidRelay", "FetchBlob")]
    [InlineData("AfterSend", "ApplyLayer")]
    public async Task A_saga_process_killed_at_an_outbox_fault_point_loses_no_send_and_the_unpack_completes_within_a_step_deadline(string point, string sending)
    {
        var marker = Path.Combine(Path.GetTempPath(), $"outbox-kill-{Guid.NewGuid():N}");
        await using var stack = await ServiceStack.StartAsync("rel-outbox", new ServiceStackOptions
        {
            Sagas = 2,
            Appliers = 1,
            Environment = FaultSettings.With(new Dictionary<string, string>
            {
                ["Saga__StatTimeout"] = _stepDeadline.ToString(),
                ["Saga__ApplyTimeout"] = "00:00:45",
                ["Saga__Outbox__KillAt"] = point,
                ["Saga__Outbox__KillWhenSending"] = sending,
                ["Saga__Outbox__KillMarker"] = marker,
                ["Applier__ConcurrentApplies"] = "4",
                ["Saga__MaxLayersPerApply"] = "1",

                // Each blob its own FetchBlob, so that one consumption sends several (the mid-relay point needs two).
                ["Saga__FetchAheadBytes"] = "0",
            }),
        });

        try
        {
            var image = new TestImageBuilder()
                .WithLayer(new Dictionary<string, string> { ["a/one.txt"] = "one\n" })
                .WithLayer(new Dictionary<string, string> { ["b/two.txt"] = "two\n" })
                .WithLayer(new Dictionary<string, string> { ["c/three.txt"] = $"{Guid.NewGuid()}\n" })
                .Build();
            var request = ServiceStack.NewRequest(await FaultImages.PushAsync(image, "rel-outbox"), Snapshotter);
            var started = Stopwatch.StartNew();
            var outcome = await stack.UnpackAsync(request, TimeSpan.FromMinutes(2));
            var took = started.Elapsed;

            Assert.True(File.Exists(marker), $"no Saga process reached the fault point {point} while sending {sending}");
            Assert.Single(stack.Processes, p => p.Name == "Saga" && p.HasExited);
            var completed = Assert.IsType<UnpackCompleted>(outcome);
            Assert.True(took < _stepDeadline, $"the unpack took {took}, not less than one step deadline ({_stepDeadline}): a send was lost until its deadline");

            var history = await stack.HistoryAsync(request.UnpackId);
            Assert.Empty(history.OfType<StepRedriven>());
            var relayed = Assert.Single(history.OfType<SendsRelayedAfterRestart>());
            Assert.Contains(sending, relayed.Sent);
            Assert.Equal(image.Layers.Count, history.OfType<LayerCommitted>().Select(c => c.LayerIndex).Distinct().Count());

            // Every layer prepared (extracted) once, by the Applier's own account, whatever copies of an apply arrived.
            var prepared = stack.Processes.Where(p => p.Name == "Applier").SelectMany(p => p.Output)
                .Select(line => PreparedKey().Match(line)).Where(m => m.Success).Select(m => m.Groups["chain"].Value).ToList();
            Assert.Equal(image.Layers.Count, prepared.Count);
            Assert.Equal(prepared.Count, prepared.Distinct().Count());
            Assert.Empty(await stack.ChainIdsExtractedTwiceAsync());

            // Killed after the broker had the ApplyLayer: the relay sent it again under its id, and the Applier's inbox
            // dropped that copy; before any send there is no copy to drop.
            var copiesDropped = stack.Processes.Where(p => p.Name == "Applier").SelectMany(p => p.Output)
                .Count(line => line.Contains("a copy, dropped", StringComparison.Ordinal));
            Assert.Equal(point == "AfterSend" ? 1 : 0, copiesDropped);
            RootFs.AssertIdentical(await RootFs.CleanRunAsync(image, stack.Root), await stack.ExportAsync(Snapshotter, completed.TopChainId));
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [GeneratedRegex(@"Prepared extract-\S+ (?<chain>sha256:[0-9a-f]{64})")]
    private static partial Regex PreparedKey();
}
