using System.Threading.Channels;
using Marten;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Cli.Progress;

/// <summary>Why a follow stopped before the unpack ended.</summary>
public enum FollowStop
{
    Ended,

    /// <summary>No event at all was recorded for the unpack in time: the Saga service did not take the request.</summary>
    NeverStarted,
    TimedOut,
}

/// <summary>
/// Follows one unpack to its end. Its Marten stream is the source of truth: the follower reads the events after the
/// last version it saw, a few times a second, and folds them into an <see cref="UnpackView"/>; byte samples from a
/// <see cref="ProgressFeed"/>, when there is one, wake it between polls to move the bars.
/// </summary>
public sealed class UnpackFollower(IDocumentStore store, UnpackView view, UnpackRenderer renderer, ChannelReader<object>? progress = null)
{
    private static readonly TimeSpan _pollInterval = TimeSpan.FromMilliseconds(250);
    private readonly Dictionary<(int Layer, bool Apply), object> _ahead = [];

    public UnpackView View => view;

    /// <summary>
    /// Reads until the unpack ends or <paramref name="timeout"/> passes; when nothing is recorded within
    /// <paramref name="startTimeout"/> it stops with <see cref="FollowStop.NeverStarted"/>.
    /// </summary>
    public async Task<FollowStop> FollowAsync(TimeSpan timeout, TimeSpan startTimeout, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        await using var session = store.QuerySession();
        while (true)
        {
            var events = await session.Events.FetchStreamAsync(view.UnpackId, fromVersion: view.Version + 1, token: cancellationToken);
            foreach (var recorded in events)
            {
                var changed = view.Apply(recorded);
                if (view.NeedsLayerDescriptors && await session.LoadAsync<UnpackState>(view.UnpackId, cancellationToken) is { } saga)
                {
                    view.Describe(saga.Layers);
                }

                renderer.Recorded(view, recorded, changed);
            }

            FoldAhead();

            renderer.Tick(view);
            if (view.HasEnded)
            {
                return FollowStop.Ended;
            }

            var now = DateTimeOffset.UtcNow;
            if (view.Version == 0 && now - started > startTimeout)
            {
                return FollowStop.NeverStarted;
            }

            if (now - started > timeout)
            {
                return FollowStop.TimedOut;
            }

            await WaitForProgressAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Sleeps until the next poll, folding in every byte sample that arrives meanwhile. A sample for a phase the
    /// stream has not shown yet (the poll is behind the worker) is kept and the stream read at once, so short phases
    /// still show their bytes.
    /// </summary>
    private async Task WaitForProgressAsync(CancellationToken cancellationToken)
    {
        if (progress is null)
        {
            await Task.Delay(_pollInterval, cancellationToken);
            return;
        }

        using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        poll.CancelAfter(_pollInterval);
        try
        {
            while (await progress.WaitToReadAsync(poll.Token))
            {
                while (progress.TryRead(out var message))
                {
                    if (ProgressFeed.IsEnd(message))
                    {
                        // The saga has ended the unpack: the stream has its last events now.
                        return;
                    }

                    if (!Fold(message))
                    {
                        _ahead[Key(message)] = message;
                    }
                }

                if (_ahead.Count > 0)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval is over: back to the stream.
        }
    }

    /// <summary>Folds the samples that arrived before the stream showed their phase; those still ahead are dropped (the next sample supersedes them).</summary>
    private void FoldAhead()
    {
        foreach (var message in _ahead.Values)
        {
            Fold(message);
        }

        _ahead.Clear();
    }

    private bool Fold(object message)
    {
        var layer = message switch
        {
            BlobFetchProgressed fetch => view.Apply(fetch, DateTimeOffset.UtcNow),
            LayerApplyProgressed apply => view.Apply(apply, DateTimeOffset.UtcNow),
            _ => null,
        };
        if (layer is not null)
        {
            renderer.Progressed(view, layer);
        }

        return layer is not null;
    }

    private static (int Layer, bool Apply) Key(object message) => message switch
    {
        BlobFetchProgressed fetch => (fetch.LayerIndex, false),
        LayerApplyProgressed apply => (apply.LayerIndex, true),
        _ => (-1, false),
    };
}
