using Marten;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// An event: containerd's unpacker asked <see cref="Node"/> to prepare the layer <see cref="ChainId"/> on
/// <see cref="Snapshotter"/>, and was answered from the tree Unpacker had committed there (an alias containerd keeps as
/// <see cref="Name"/>), so containerd skipped the layer: a pre-warm that paid off. Kept after containerd removes the
/// alias, for the audit of who used what Unpacker unpacked, and when.
/// </summary>
public sealed record PrewarmedPrepareAnswered(string Node, string Snapshotter, string ChainId, string Name, DateTimeOffset At);

/// <summary>Writes and reads <see cref="PrewarmedPrepareAnswered"/> events: one stream each, so answers never contend.</summary>
public static class PrewarmedPrepares
{
    public static async Task RecordAsync(IDocumentStore store, PrewarmedPrepareAnswered answered, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var session = store.LightweightSession();
        session.Events.StartStream(Guid.CreateVersion7(answered.At), answered);
        await session.SaveChangesAsync(cancellationToken);
    }

    /// <summary>The recorded answers, oldest first; those of <paramref name="node"/> only when it is given.</summary>
    public static async Task<IReadOnlyList<PrewarmedPrepareAnswered>> ListAsync(IQuerySession session, string? node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        IQueryable<PrewarmedPrepareAnswered> answers = session.Events.QueryRawEventDataOnly<PrewarmedPrepareAnswered>();
        if (node is not null)
        {
            answers = answers.Where(a => a.Node == node);
        }

        return await answers.OrderBy(a => a.At).ToListAsync(cancellationToken);
    }
}
