using Marten;
using Unpacker.Saga.Unpacking;

namespace Unpacker.Cli.Progress;

/// <summary>Finds a recorded unpack by id for <c>status</c>, <c>wait</c> and <c>cancel</c>, and folds its stream so far.</summary>
public static class UnpackLookup
{
    /// <summary>
    /// The unpack's view from its whole stream. An id with no stream is a usage error, after <paramref name="grace"/>:
    /// a request published a moment ago (<c>pull --detach</c>) may not be recorded yet.
    /// </summary>
    public static async Task<UnpackView> LoadAsync(IDocumentStore store, Guid unpackId, TimeSpan grace, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + grace;
        await using var session = store.QuerySession();
        while (true)
        {
            var events = await session.Events.FetchStreamAsync(unpackId, token: cancellationToken);
            if (events.Count > 0)
            {
                var view = new UnpackView(unpackId);
                foreach (var recorded in events)
                {
                    view.Apply(recorded);
                }

                if (view.NeedsLayerDescriptors && await session.LoadAsync<UnpackState>(unpackId, cancellationToken) is { } saga)
                {
                    view.Describe(saga.Layers);
                }

                return view;
            }

            if (DateTimeOffset.UtcNow >= deadline)
            {
                var postgres = CliSettings.Postgres;
                throw new UsageException(
                    $"no unpack {unpackId} is recorded in {postgres.Host}:{postgres.Port}/{postgres.Database} (schema {postgres.Schema}); 'unpacker ls' lists recent unpacks");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }
}
