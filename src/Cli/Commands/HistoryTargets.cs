using Marten;
using Unpacker.Contracts.Oci;
using Unpacker.Saga.History.GetImageHistory;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Cli.Commands;

/// <summary>Turns what a user types after <c>history</c> (an unpack id, an image reference or a config digest) into unpack ids, oldest first.</summary>
internal static class HistoryTargets
{
    public static async Task<IReadOnlyList<Guid>> ResolveAsync(IQuerySession session, string target, CancellationToken cancellationToken)
    {
        if (Guid.TryParse(target, out var unpackId))
        {
            return await session.Events.FetchStreamStateAsync(unpackId, cancellationToken) is null ? [] : [unpackId];
        }

        // The per-image history is folded by the async daemon; the per-unpack summaries are written inline. Asking
        // both finds an unpack the daemon has not folded yet, and an image whose summaries were rebuilt away.
        List<ImageHistory> images;
        List<UnpackSummary> summaries;
        if (Digest.TryParse(target, out var config))
        {
            var id = config.ToString();
            images = [.. await session.Query<ImageHistory>().Where(h => h.Id == id).ToListAsync(cancellationToken)];
            summaries = [.. await session.Query<UnpackSummary>().Where(s => s.ConfigDigest == id).ToListAsync(cancellationToken)];
        }
        else
        {
            images = [.. await session.Query<ImageHistory>().Where(h => h.References.Contains(target)).ToListAsync(cancellationToken)];
            summaries = [.. await session.Query<UnpackSummary>().Where(s => s.Reference == target).ToListAsync(cancellationToken)];
        }

        var started = summaries.ToDictionary(s => s.Id, s => s.StartedAt);
        foreach (var unpack in images.SelectMany(h => h.Unpacks).Where(u => !started.ContainsKey(u.UnpackId)))
        {
            started[unpack.UnpackId] = unpack.ResolvedAt;
        }

        return [.. started.OrderBy(p => p.Value).Select(p => p.Key)];
    }
}
