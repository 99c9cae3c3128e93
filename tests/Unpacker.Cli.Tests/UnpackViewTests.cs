using JasperFx.Events;
using Unpacker.Cli.Progress;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Saga.History;

namespace Unpacker.Cli.Tests;

/// <summary>How the progress display folds an unpack's recorded events and the workers' byte samples.</summary>
public sealed class UnpackViewTests
{
    private static readonly Guid _unpackId = Guid.NewGuid();
    private static readonly WorkerStamp _worker = new("fetcher", "fetcher-0", "host");
    private static readonly Digest _blob = Digest.Compute("layer"u8.ToArray());
    private static readonly Digest _chain = Digest.Compute("chain"u8.ToArray());
    private static readonly DateTimeOffset _start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Fetch_bytes_count_only_while_the_layer_fetches_in_the_same_attempt()
    {
        var view = Fetching(attempt: 2);

        Assert.Null(view.Apply(new BlobFetchProgressed(_unpackId, 0, 1, _blob, 500, 1000, _worker), _start));
        Assert.Null(view.Apply(new BlobFetchProgressed(Guid.NewGuid(), 0, 2, _blob, 500, 1000, _worker), _start));
        Assert.Null(view.Apply(new LayerApplyProgressed(_unpackId, 0, 2, _chain, 500, 1000, _worker), _start));
        Assert.Equal(0, view.Layers[0].Bytes);

        view.Apply(new BlobFetchProgressed(_unpackId, 0, 2, _blob, 100, 1000, _worker), _start);
        var layer = view.Apply(new BlobFetchProgressed(_unpackId, 0, 2, _blob, 600, 1000, _worker), _start.AddSeconds(1));

        Assert.NotNull(layer);
        Assert.Equal(600, layer.Bytes);
        Assert.Equal(500, layer.Rate);
        Assert.Equal(0.3, view.Fraction, 3);
    }

    [Fact]
    public void A_failure_of_a_layer_marks_that_layer_and_a_cancel_marks_it_cancelled()
    {
        var failed = Fetching(attempt: 1);
        failed.Apply(Recorded(5, new UnpackFailureRecorded("fetch", 0, FailureKind.NotFound, "blob gone", _worker, null)));

        var cancelled = Fetching(attempt: 1);
        cancelled.Apply(Recorded(5, new UnpackFailureRecorded("fetch", 0, FailureKind.Cancelled, "by test", null, null)));

        Assert.Equal((UnpackStatus.Failed, LayerState.Failed), (failed.Status, failed.Layers[0].State));
        Assert.Equal((UnpackStatus.Cancelled, LayerState.Cancelled), (cancelled.Status, cancelled.Layers[0].State));
        Assert.Equal(ExitCodes.Failed, UnpackOutcome.ExitCode(cancelled));
        Assert.Equal(5, cancelled.Version);
    }

    [Fact]
    public void A_committed_layer_is_whole_and_success_gives_exit_code_0()
    {
        var view = Fetching(attempt: 1);
        view.Apply(Recorded(5, new BlobFetchFinished(0, 1, _blob, false, 1000, TimeSpan.FromSeconds(2), _worker)));
        view.Apply(Recorded(6, new LayerApplyStarted(0, 1, _chain, null, "apply-native")));
        view.Apply(new LayerApplyProgressed(_unpackId, 0, 1, _chain, 250, 1000, _worker), _start);
        Assert.Equal(0.5 + (0.25 / 2), view.Fraction, 3);

        view.Apply(Recorded(7, new LayerCommitted(0, 1, _chain, _blob, false, "extract-1", 4000, 3, TimeSpan.FromSeconds(1), _worker)));
        view.Apply(Recorded(8, new UnpackSucceeded(_blob, _chain, "native", 1, 0, TimeSpan.FromSeconds(4))));

        Assert.Equal(LayerState.Committed, view.Layers[0].State);
        Assert.Equal(1, view.Fraction);
        Assert.Equal(ExitCodes.Success, UnpackOutcome.ExitCode(view));
        Assert.StartsWith("1 layers: 1 committed, 0 skipped, 0 failed, 0 unfinished", LayerLine.Tally(view), StringComparison.Ordinal);
    }

    [Fact]
    public void An_apply_sent_while_the_blob_is_fetched_shows_once_the_fetch_is_recorded_and_fetch_bytes_keep_counting_until_then()
    {
        var view = Fetching(attempt: 1);

        Assert.Null(view.Apply(Recorded(4, new LayerApplyStarted(0, 2, _chain, null, "apply-native") { BlobInFlight = true })));
        Assert.Equal(LayerState.Fetching, view.Layers[0].State);
        Assert.Equal(400, view.Apply(new BlobFetchProgressed(_unpackId, 0, 1, _blob, 400, 1000, _worker), _start)?.Bytes);

        var applying = view.Apply(Recorded(5, new BlobFetchFinished(0, 1, _blob, false, 1000, TimeSpan.FromSeconds(2), _worker)));

        Assert.NotNull(applying);
        Assert.Equal((LayerState.Applying, 2, 0L), (applying.State, applying.Attempt, applying.Bytes));
        Assert.StartsWith("fetched by fetcher-0", applying.Note, StringComparison.Ordinal);
        Assert.Equal(300, view.Apply(new LayerApplyProgressed(_unpackId, 0, 2, _chain, 300, 1000, _worker), _start)?.Bytes);
    }

    private static UnpackView Fetching(int attempt)
    {
        var view = new UnpackView(_unpackId);
        view.Apply(Recorded(1, new UnpackStarted(_unpackId, "Registry r", "native", new Requester("u", "h", "test"), _start, null)));
        view.Apply(Recorded(2, new ChainComputed([_chain], _chain)));
        view.Apply(Recorded(3, new BlobFetchStarted(0, attempt, _blob, 1000)));
        return view;
    }

    private static IEvent Recorded<T>(long version, T data)
        where T : notnull => new Event<T>(data) { Version = version, Timestamp = _start.AddSeconds(version) };
}
