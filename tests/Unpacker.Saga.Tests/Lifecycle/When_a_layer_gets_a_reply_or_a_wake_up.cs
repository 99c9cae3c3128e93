using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;
using static Unpacker.Saga.Tests.Lifecycle.LayerLifecycleTable;

namespace Unpacker.Saga.Tests.Lifecycle;

public sealed class When_a_layer_gets_a_reply_or_a_wake_up
{
    private static readonly Type[] _none = [];

    /// <summary>(because, the layer, what happens, the context) → expected. One row per line of the lifecycle's table.</summary>
    public static TheoryData<string, LayerProgress, LayerInput, LayerContext, Expected> Rows => new()
    {
        // The chain ID, looked up.
        { "a committed chain ID is skipped", Layer(SnapshotPhase.Statting), Stat(committed: true), Context(), new(SnapshotPhase.Skipped, [typeof(SnapshotStatted), typeof(LayerSkipped)], []) },
        { "a missing chain ID waits for its blob and parent", Layer(SnapshotPhase.Statting), Stat(committed: false), Context(), new(SnapshotPhase.Missing, [typeof(SnapshotStatted)], []) },
        { "a stat after a conflict that finds nothing backs off", Layer(SnapshotPhase.Statting) with { PrepareConflicts = 1 }, Stat(committed: false), Context(), new(SnapshotPhase.BackingOff, [typeof(SnapshotStatted), typeof(PrepareRetryScheduled)], []) },
        { "a stat after the last allowed conflict that finds nothing fails the prepare", Layer(SnapshotPhase.Statting) with { PrepareConflicts = 3 }, Stat(committed: false), Context(), new(SnapshotPhase.Statting, [typeof(SnapshotStatted)], [], UnpackStep.Prepare) },
        { "a stat after a conflict that finds it committed skips it", Layer(SnapshotPhase.Statting) with { PrepareConflicts = 2 }, Stat(committed: true), Context(), new(SnapshotPhase.Skipped, [typeof(SnapshotStatted), typeof(LayerSkipped)], []) },
        { "a stat of an older attempt is stale", Layer(SnapshotPhase.Statting), Stat(committed: true, attempt: 1), Context(), new(SnapshotPhase.Statting, [typeof(StaleReplyIgnored)], []) },
        { "a current stat that finds the layer past statting changes nothing", Layer(SnapshotPhase.Applying), Stat(committed: true), Context(), new(SnapshotPhase.Applying, _none, []) },
        { "a stat after the unpack failed changes nothing", Layer(SnapshotPhase.Statting), Stat(committed: true), Context() with { UnpackFailed = true }, new(SnapshotPhase.Statting, _none, []) },

        // The blob.
        { "a Fetcher beginning the fetch is recorded", Layer(SnapshotPhase.Missing), FetchBegun(), Context(), new(SnapshotPhase.Missing, [typeof(BlobFetchBegan)], []) },
        { "a late fetch acknowledgement of an older attempt changes nothing and records nothing", Layer(SnapshotPhase.Missing), FetchBegun(attempt: 0), Context(), new(SnapshotPhase.Missing, _none, []) },
        { "a fetched blob is recorded whatever the snapshot does", Layer(SnapshotPhase.Committed), Fetched(), Context(), new(SnapshotPhase.Committed, [typeof(BlobFetchFinished)], []) },
        { "a fetched blob of another digest fails the fetch", Layer(SnapshotPhase.Missing), Fetched(Digest.Compute("other"u8)), Context(), new(SnapshotPhase.Missing, [typeof(BlobFetchFinished)], [], UnpackStep.Fetch) },
        { "a failed fetch fails the unpack", Layer(SnapshotPhase.Missing), FetchFailed(), Context(), new(SnapshotPhase.Missing, _none, [], UnpackStep.Fetch) },
        { "a fetched blob of an older attempt is stale", Layer(SnapshotPhase.Missing), Fetched(attempt: 0), Context(), new(SnapshotPhase.Missing, [typeof(StaleReplyIgnored)], []) },

        // The snapshot.
        { "an extraction waits for its parent's commit", Layer(SnapshotPhase.Applying), Extracted(), Context(canRebase: true), new(SnapshotPhase.Extracted, [typeof(LayerExtractedRecorded)], []) },
        { "a commit labelled by the Applier needs no label request", Layer(SnapshotPhase.Applying), Applied(labelled: true), Context(), new(SnapshotPhase.Committed, [typeof(LayerCommitted), typeof(ContentLabelRecorded)], ["ReleaseClaim", "ContinueRun"]) },
        { "a commit the Applier could not label asks the Fetcher pool", Layer(SnapshotPhase.Applying), Applied(labelled: false), Context(), new(SnapshotPhase.Committed, [typeof(LayerCommitted)], ["ReleaseClaim", "ContinueRun", "Send Label"]) },
        { "an ordered commit ends like an apply", Layer(SnapshotPhase.Committing), Applied(labelled: true), Context(canRebase: true), new(SnapshotPhase.Committed, [typeof(LayerCommitted), typeof(ContentLabelRecorded)], ["ReleaseClaim", "ContinueRun"]) },
        { "a commit of another chain fails the apply", Layer(SnapshotPhase.Applying), Applied(labelled: true, chainId: Digest.Compute("x"u8)), Context(), new(SnapshotPhase.Applying, _none, ["ReleaseClaim"], UnpackStep.Apply) },
        { "a commit reply while the layer is missing is stale", Layer(SnapshotPhase.Missing) with { SnapshotStep = new Step { Status = StepStatus.NotStarted, Attempt = 2 } }, Applied(labelled: true), Context(), new(SnapshotPhase.Missing, [typeof(StaleReplyIgnored)], []) },
        { "a failed apply stops its run, releases its claim and fails", Layer(SnapshotPhase.Applying), ApplyFailed(), Context(), new(SnapshotPhase.Applying, _none, ["StopRun", "ReleaseClaim"], UnpackStep.Apply) },
        { "a blob no content server could send stops the run and is fetched again", Layer(SnapshotPhase.Applying), BlobUnreachable(), Context(), new(SnapshotPhase.Missing, [typeof(BlobLostRecorded)], ["StopRun", "DoubtFetchedBlobs"]) },
        { "a blob lost again after the last allowed refetch fails the apply", Layer(SnapshotPhase.Applying) with { BlobRefetches = 2 }, BlobUnreachable(), Context(), new(SnapshotPhase.Applying, _none, ["StopRun", "ReleaseClaim"], UnpackStep.Apply) },
        { "a blob lost in a parallel extraction is fetched again too", Layer(SnapshotPhase.Applying), BlobUnreachable(), Context(canRebase: true), new(SnapshotPhase.Missing, [typeof(BlobLostRecorded)], ["StopRun", "DoubtFetchedBlobs"]) },
        { "a prepare conflict stops the run and looks the chain ID up", Layer(SnapshotPhase.Applying), Conflicted(), Context(), new(SnapshotPhase.Statting, [typeof(SnapshotPrepareConflictRecorded)], ["StopRun", "Send Stat"]) },
        { "an Applier beginning the apply is recorded", Layer(SnapshotPhase.Applying), Begun(), Context(), new(SnapshotPhase.Applying, [typeof(LayerApplyBegan)], []) },
        { "a late acknowledgement of an older attempt changes nothing and records nothing", Layer(SnapshotPhase.Applying), Begun(attempt: 1), Context(), new(SnapshotPhase.Applying, _none, []) },
        { "an acknowledgement after the layer committed changes nothing", Layer(SnapshotPhase.Committed) with { SnapshotStep = new Step { Status = StepStatus.Done, Attempt = 2 } }, Begun(), Context(), new(SnapshotPhase.Committed, _none, []) },
        { "a deferred layer waits for a later run", Layer(SnapshotPhase.Applying), Deferred(), Context(), new(SnapshotPhase.Missing, [typeof(LayerApplyWithdrawn)], ["StopRun"]) },
        { "a prepare conflict reported after the layer moved on changes nothing", Layer(SnapshotPhase.Extracted), Conflicted(), Context(canRebase: true), new(SnapshotPhase.Extracted, _none, []) },

        // The label.
        { "a label set by the Fetcher pool is recorded", Layer(SnapshotPhase.Committed), Labelled(), Context(), new(SnapshotPhase.Committed, [typeof(ContentLabelRecorded)], []) },
        { "a label that could not be set fails the unpack", Layer(SnapshotPhase.Committed), LabelFailed(), Context(), new(SnapshotPhase.Committed, _none, [], UnpackStep.Label) },

        // Crashes.
        { "a worker that crashed on the apply fails the unpack", Layer(SnapshotPhase.Applying), Crashed(UnpackStep.Apply), Context(), new(SnapshotPhase.Applying, _none, [], UnpackStep.Apply) },
        { "a crash of an older attempt is ignored without an event", Layer(SnapshotPhase.Applying), Crashed(UnpackStep.Apply, attempt: 1), Context(), new(SnapshotPhase.Applying, _none, []) },

        // Time.
        { "a layer waiting for another unpack looks again when woken", Layer(SnapshotPhase.WaitingForOwner) with { SnapshotStep = new Step { Status = StepStatus.Waiting, Attempt = 2, DueAt = Now.AddSeconds(5) } }, new LayerWoken(1), Context(), new(SnapshotPhase.Statting, _none, ["Send Stat"]) },
        { "a layer whose owner still holds the claim waits on, asking nobody", Layer(SnapshotPhase.WaitingForOwner) with { SnapshotStep = new Step { Status = StepStatus.Waiting, Attempt = 2, DueAt = Now } }, new LayerWoken(1) { AwaitedClaimHeldUntil = Now.AddMinutes(10) }, Context(), new(SnapshotPhase.WaitingForOwner, _none, []) },
        { "a backoff that is over makes the layer missing again", Layer(SnapshotPhase.BackingOff) with { SnapshotStep = new Step { Status = StepStatus.Waiting, Attempt = 2, DueAt = Now } }, new LayerWoken(1), Context(), new(SnapshotPhase.Missing, _none, []) },
        { "a backoff that is not over keeps waiting", Layer(SnapshotPhase.BackingOff) with { SnapshotStep = new Step { Status = StepStatus.Waiting, Attempt = 2, DueAt = Now.AddSeconds(1) } }, new LayerWoken(1), Context(), new(SnapshotPhase.BackingOff, _none, []) },
        { "an overdue stat is sent again", Overdue(SnapshotPhase.Statting), new LayerWoken(1), Context(), new(SnapshotPhase.Statting, [typeof(StepRedriven)], ["Send Stat"]) },
        { "an overdue head of an apply run is applied again", Overdue(SnapshotPhase.Applying), new LayerWoken(1), Context(), new(SnapshotPhase.Applying, [typeof(StepRedriven)], ["Reapply"]) },
        { "an overdue layer behind the head of its run goes with the head", Overdue(SnapshotPhase.Applying), new LayerWoken(1), Context(firstUnsettled: false), new(SnapshotPhase.Applying, _none, []) },
        { "an overdue parallel extraction is applied again on its own", Overdue(SnapshotPhase.Applying), new LayerWoken(1), Context(canRebase: true, firstUnsettled: false), new(SnapshotPhase.Applying, [typeof(StepRedriven)], ["Reapply"]) },
        { "an overdue apply no Applier began, the pool busy since it was sent, waits on quietly", Overdue(SnapshotPhase.Applying), new LayerWoken(1), WithPool(idleAt: Now.AddMinutes(-2)), new(SnapshotPhase.Applying, _none, []) },
        { "an overdue apply no Applier began, the pool never idle, waits on quietly", Overdue(SnapshotPhase.Applying), new LayerWoken(1), WithPool(idleAt: null), new(SnapshotPhase.Applying, _none, []) },
        { "an overdue apply no Applier began though the pool went idle after it was sent was lost, and is applied again", Overdue(SnapshotPhase.Applying), new LayerWoken(1), WithPool(idleAt: Now.AddSeconds(-10)), new(SnapshotPhase.Applying, [typeof(StepRedriven)], ["Reapply"]) },
        { "an overdue apply no Applier began with no Applier serving the queue is applied again, towards the bound", Overdue(SnapshotPhase.Applying), new LayerWoken(1), WithPool(idleAt: null, serving: false), new(SnapshotPhase.Applying, [typeof(StepRedriven)], ["Reapply"]) },
        { "an overdue apply an Applier began is applied again however busy the pool", Overdue(SnapshotPhase.Applying) with { SnapshotStep = Overdue(SnapshotPhase.Applying).SnapshotStep with { BegunAt = Now.AddSeconds(-50) } }, new LayerWoken(1), WithPool(idleAt: null), new(SnapshotPhase.Applying, [typeof(StepRedriven)], ["Reapply"]) },
        { "an overdue apply an Applier began that a live Applier still lists waits on quietly", Overdue(SnapshotPhase.Applying) with { SnapshotStep = Overdue(SnapshotPhase.Applying).SnapshotStep with { BegunAt = Now.AddSeconds(-50) } }, new LayerWoken(1), WithPool(idleAt: Now, at: new LayerAttempt(1, 2)), new(SnapshotPhase.Applying, _none, []) },
        { "an overdue apply of which a live Applier lists only an older attempt is applied again", Overdue(SnapshotPhase.Applying) with { SnapshotStep = Overdue(SnapshotPhase.Applying).SnapshotStep with { BegunAt = Now.AddSeconds(-50) } }, new LayerWoken(1), WithPool(idleAt: null, at: new LayerAttempt(1, 1)), new(SnapshotPhase.Applying, [typeof(StepRedriven)], ["Reapply"]) },
        { "an overdue apply re-driven to the bound fails", Overdue(SnapshotPhase.Applying, redrives: 2), new LayerWoken(1), Context(), new(SnapshotPhase.Applying, _none, [], UnpackStep.Apply) },
        { "an overdue ordered commit is sent again", Overdue(SnapshotPhase.Committing) with { Key = "extract-1" }, new LayerWoken(1), Context(canRebase: true), new(SnapshotPhase.Committing, [typeof(StepRedriven), typeof(LayerCommitStarted)], ["Send Commit"]) },
        { "an overdue fetch is sent again", Layer(SnapshotPhase.Missing) with { Fetch = Layer(SnapshotPhase.Missing).Fetch with { DueAt = Now } }, new LayerWoken(1), Context(), new(SnapshotPhase.Missing, [typeof(StepRedriven), typeof(BlobFetchStarted)], ["Send Fetch"]) },
        { "an overdue fetch no Fetcher began, the Fetchers busy since it was sent, waits on quietly", Layer(SnapshotPhase.Missing) with { Fetch = Layer(SnapshotPhase.Missing).Fetch with { DueAt = Now } }, new LayerWoken(1), WithFetchers(idleAt: Now.AddMinutes(-2)), new(SnapshotPhase.Missing, _none, []) },
        { "an overdue fetch no Fetcher began though the Fetchers went idle after it was sent was lost, and is sent again", Layer(SnapshotPhase.Missing) with { Fetch = Layer(SnapshotPhase.Missing).Fetch with { DueAt = Now } }, new LayerWoken(1), WithFetchers(idleAt: Now.AddSeconds(-10)), new(SnapshotPhase.Missing, [typeof(StepRedriven), typeof(BlobFetchStarted)], ["Send Fetch"]) },
        { "an overdue fetch a Fetcher began is sent again however busy the Fetchers", Layer(SnapshotPhase.Missing) with { Fetch = Layer(SnapshotPhase.Missing).Fetch with { DueAt = Now, BegunAt = Now.AddSeconds(-50) } }, new LayerWoken(1), WithFetchers(idleAt: null), new(SnapshotPhase.Missing, [typeof(StepRedriven), typeof(BlobFetchStarted)], ["Send Fetch"]) },
        { "an overdue fetch a Fetcher began that a live Fetcher still lists waits on quietly", Layer(SnapshotPhase.Missing) with { Fetch = Layer(SnapshotPhase.Missing).Fetch with { DueAt = Now, BegunAt = Now.AddSeconds(-50) } }, new LayerWoken(1), WithFetchers(idleAt: Now, at: new LayerAttempt(1, 1)), new(SnapshotPhase.Missing, _none, []) },
        { "an overdue label is sent again", Layer(SnapshotPhase.Committed) with { Label = Layer(SnapshotPhase.Committed).Label with { DueAt = Now } }, new LayerWoken(1), Context(), new(SnapshotPhase.Committed, [typeof(StepRedriven)], ["Send Label"]) },
        { "nothing is due, nothing happens", Layer(SnapshotPhase.Applying), new LayerWoken(1), Context(), new(SnapshotPhase.Applying, _none, []) },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Should_follow_its_row_of_the_table(string because, LayerProgress layer, LayerInput input, LayerContext context, Expected expected)
    {
        var decision = LayerLifecycle.Decide(layer, input, context);

        Assert.True(expected.Phase == decision.Layer.Snapshot, $"{because}: phase {decision.Layer.Snapshot}, expected {expected.Phase}");
        Assert.Equal(expected.Events, decision.Events.Select(e => e.GetType()));
        Assert.Equal(expected.Effects, decision.Effects.Select(Expected.Name));
        Assert.Equal(expected.Fails, decision.Failure?.Step);
    }

    [Fact]
    public void Should_begin_a_new_attempt_of_the_step_it_sends_again()
    {
        var decision = LayerLifecycle.Decide(Overdue(SnapshotPhase.Statting), new LayerWoken(1), Context());

        Assert.Equal((StepStatus.InFlight, 3, 1, Now + SagaOptions.StatTimeout), (decision.Layer.SnapshotStep.Status, decision.Layer.SnapshotStep.Attempt, decision.Layer.SnapshotStep.Redrives, decision.Layer.SnapshotStep.DueAt));
        var redriven = Assert.IsType<StepRedriven>(Assert.Single(decision.Events));
        Assert.Equal(("stat", 1, 3, 1), (redriven.Step, redriven.LayerIndex, redriven.Attempt, redriven.Redrives));
    }

    [Fact]
    public void Should_take_back_the_apply_and_the_fetch_of_a_lost_blob_so_the_next_fetch_is_a_new_attempt()
    {
        var decision = LayerLifecycle.Decide(Layer(SnapshotPhase.Applying) with { Fetch = new Step { Status = StepStatus.Done, Attempt = 1 } }, BlobUnreachable(), Context());

        Assert.Equal((StepStatus.NotStarted, 2), (decision.Layer.SnapshotStep.Status, decision.Layer.SnapshotStep.Attempt));
        Assert.Equal((StepStatus.NotStarted, 1), (decision.Layer.Fetch.Status, decision.Layer.Fetch.Attempt));
        Assert.Equal(1, decision.Layer.BlobRefetches);
        var lost = Assert.IsType<BlobLostRecorded>(Assert.Single(decision.Events));
        Assert.Equal((1, 2, Blob.Digest, 1, Worker), (lost.LayerIndex, lost.Attempt, lost.Digest, lost.Refetch, lost.Worker));
        Assert.Contains("no content server could send it", lost.Reason, StringComparison.Ordinal);
        Assert.Null(decision.Failure);
    }

    [Fact]
    public void Should_look_at_a_claim_still_held_again_after_the_recheck_interval_or_at_the_lease_end_if_sooner()
    {
        var waiting = Layer(SnapshotPhase.WaitingForOwner) with { SnapshotStep = new Step { Status = StepStatus.Waiting, Attempt = 2, DueAt = Now } };

        var longLease = LayerLifecycle.Decide(waiting, new LayerWoken(1) { AwaitedClaimHeldUntil = Now.AddHours(1) }, Context());
        var shortLease = LayerLifecycle.Decide(waiting, new LayerWoken(1) { AwaitedClaimHeldUntil = Now.AddSeconds(3) }, Context());

        Assert.Equal((StepStatus.Waiting, 2, Now + SagaOptions.ClaimRecheckInterval), (longLease.Layer.SnapshotStep.Status, longLease.Layer.SnapshotStep.Attempt, longLease.Layer.SnapshotStep.DueAt));
        Assert.Equal(Now.AddSeconds(3), shortLease.Layer.SnapshotStep.DueAt);
    }

    [Fact]
    public void Should_count_an_apply_deadline_from_when_an_Applier_began_it_one_timeout_per_layer_before_it_in_the_run()
    {
        var head = LayerLifecycle.Decide(Layer(SnapshotPhase.Applying), Begun(position: 0), Context());
        var third = LayerLifecycle.Decide(Layer(SnapshotPhase.Applying), Begun(position: 2), Context());

        Assert.Equal((Now, Now + SagaOptions.ApplyTimeout, 2), (head.Layer.SnapshotStep.BegunAt, head.Layer.SnapshotStep.DueAt, head.Layer.SnapshotStep.Attempt));
        Assert.Equal(Now + (3 * SagaOptions.ApplyTimeout), third.Layer.SnapshotStep.DueAt);
        var began = Assert.IsType<LayerApplyBegan>(Assert.Single(head.Events));
        Assert.Equal((1, 2, TimeSpan.FromMinutes(1), Worker), (began.LayerIndex, began.Attempt, began.Queued, began.Worker));
    }

    [Fact]
    public void Should_move_the_deadline_of_an_apply_still_queued_one_timeout_on_keeping_its_attempt()
    {
        var decision = LayerLifecycle.Decide(Overdue(SnapshotPhase.Applying), new LayerWoken(1), WithPool(idleAt: Now.AddMinutes(-2)));

        Assert.Equal((StepStatus.InFlight, 2, 0, Now + SagaOptions.ApplyTimeout, (DateTimeOffset?)null),
            (decision.Layer.SnapshotStep.Status, decision.Layer.SnapshotStep.Attempt, decision.Layer.SnapshotStep.Redrives, decision.Layer.SnapshotStep.DueAt, decision.Layer.SnapshotStep.BegunAt));
    }

    [Fact]
    public void Should_withdraw_a_layer_its_run_stopped_before_for_lasting_its_longest_saying_so()
    {
        var decision = LayerLifecycle.Decide(Layer(SnapshotPhase.Applying), Deferred(why: "the apply run had lasted 1200 s"), Context());

        Assert.Equal((SnapshotPhase.Missing, StepStatus.NotStarted), (decision.Layer.Snapshot, decision.Layer.SnapshotStep.Status));
        Assert.Equal("the apply run had lasted 1200 s", Assert.IsType<LayerApplyWithdrawn>(Assert.Single(decision.Events)).Why);
        Assert.Contains("having lasted as long as an apply run may", Assert.IsType<LayerEffect.StopRun>(Assert.Single(decision.Effects)).Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_record_the_label_along_with_a_commit_as_an_attempt_of_its_own()
    {
        var layer = Layer(SnapshotPhase.Applying) with { Label = new Step() };

        var decision = LayerLifecycle.Decide(layer, Applied(labelled: true), Context());

        Assert.Equal((StepStatus.Done, 1), (decision.Layer.Label.Status, decision.Layer.Label.Attempt));
        Assert.Equal((StepStatus.Done, (DateTimeOffset?)null), (decision.Layer.SnapshotStep.Status, decision.Layer.SnapshotStep.DueAt));
    }

    [Fact]
    public void Should_not_fetch_or_label_a_skipped_layer()
    {
        var decision = LayerLifecycle.Decide(Layer(SnapshotPhase.Statting), Stat(committed: true), Context());

        Assert.Equal((StepStatus.NotNeeded, StepStatus.NotNeeded), (decision.Layer.Fetch.Status, decision.Layer.Label.Status));
        Assert.Equal("chain ID already committed", Assert.IsType<LayerSkipped>(decision.Events[^1]).Why);
    }

    [Fact]
    public void Should_never_change_the_layer_it_was_given()
    {
        var layer = Layer(SnapshotPhase.Applying);
        var before = layer with { };

        LayerLifecycle.Decide(layer, Conflicted(), Context());

        Assert.Equal(before, layer);
    }

    /// <summary>A layer whose snapshot step's deadline is now, after <paramref name="redrives"/> re-drives.</summary>
    private static LayerProgress Overdue(SnapshotPhase phase, int redrives = 0) =>
        Layer(phase) with { SnapshotStep = Layer(phase).SnapshotStep with { DueAt = Now, Redrives = redrives } };
}
