using MassTransit;
using Unpacker.Saga.History;
using Unpacker.Saga.Unpacking;
using Unpacker.Saga.Watchdog;

namespace Unpacker.Saga.Claims;

/// <summary>
/// Takes and releases extraction claims in the saga's own session, so a claim changes in the same transaction
/// as the saga that holds it; two sagas claiming at once conflict, and the retried one sees the winner's claim.
/// </summary>
internal sealed class ExtractionClaims(UnpackSagaOptions options)
{
    /// <summary>Takes the claim on the layer's chain ID for this unpack, unless another unpack holds it (then it says whose, until when).</summary>
    public async Task<ClaimResult> ClaimAsync(BehaviorContext<UnpackState> context, LayerProgress layer, DateTimeOffset now)
    {
        var claim = await context.Session().LoadAsync<ExtractionClaim>(ExtractionClaim.KeyOf(context.Saga.Node, context.Saga.Snapshotter, layer.ChainId), context.CancellationToken);
        return Claim(context, layer, claim, now);
    }

    /// <summary>
    /// Claims <paramref name="layers"/> in order, their claims read in one query, up to the first that another unpack
    /// holds; returns one result per layer tried (the last one is another's when not all were claimed).
    /// </summary>
    public async Task<IReadOnlyList<ClaimResult>> ClaimInOrderAsync(BehaviorContext<UnpackState> context, IReadOnlyList<LayerProgress> layers, DateTimeOffset now)
    {
        var saga = context.Saga;
        var ids = layers.Select(l => ExtractionClaim.KeyOf(saga.Node, saga.Snapshotter, l.ChainId)).ToList();
        var claims = (await context.Session().LoadManyAsync<ExtractionClaim>(context.CancellationToken, ids)).ToDictionary(c => c.Id);
        var results = new List<ClaimResult>();
        for (var i = 0; i < layers.Count; i++)
        {
            var result = Claim(context, layers[i], claims.GetValueOrDefault(ids[i]), now);
            results.Add(result);
            if (!result.IsOurs)
            {
                break;
            }
        }

        return results;
    }

    private ClaimResult Claim(BehaviorContext<UnpackState> context, LayerProgress layer, ExtractionClaim? claim, DateTimeOffset now)
    {
        var saga = context.Saga;
        var session = context.Session();
        var id = ExtractionClaim.KeyOf(saga.Node, saga.Snapshotter, layer.ChainId);
        var lease = LeaseFrom(now);
        if (claim is null)
        {
            session.Insert(new ExtractionClaim { Id = id, Owner = saga.CorrelationId, LeaseUntil = lease });
            return new ClaimResult(saga.CorrelationId, lease, IsOurs: true);
        }

        if (claim.Owner == saga.CorrelationId || claim.LeaseUntil <= now)
        {
            claim.Owner = saga.CorrelationId;
            claim.LeaseUntil = lease;
            claim.Waiters.Remove(saga.CorrelationId);
            session.Update(claim);
            return new ClaimResult(saga.CorrelationId, lease, IsOurs: true);
        }

        if (!claim.Waiters.Contains(saga.CorrelationId))
        {
            claim.Waiters.Add(saga.CorrelationId);
            session.Update(claim);
        }

        return new ClaimResult(claim.Owner, claim.LeaseUntil, IsOurs: false);
    }

    /// <summary>
    /// Extends this unpack's claim on a layer whose turn in an apply run has just come (claims are taken for the whole
    /// run when it is sent, so a long run would otherwise outlive its later layers' leases). A claim another unpack
    /// took over meanwhile stays theirs: both extractions commit the same chain ID, and the second commit finds it done.
    /// </summary>
    public async Task RenewAsync(BehaviorContext<UnpackState> context, LayerProgress layer, DateTimeOffset now)
    {
        var saga = context.Saga;
        var session = context.Session();
        var claim = await session.LoadAsync<ExtractionClaim>(ExtractionClaim.KeyOf(saga.Node, saga.Snapshotter, layer.ChainId), context.CancellationToken);
        if (claim is null || claim.Owner != saga.CorrelationId)
        {
            return;
        }

        claim.LeaseUntil = LeaseFrom(now);
        session.Update(claim);
    }

    /// <summary>
    /// The lease end of the claim <paramref name="layer"/> waits on while the unpack it waits for still holds it; null
    /// once that unpack released it, its lease ran out, or another took it over (then the waiter must look again).
    /// </summary>
    public async Task<DateTimeOffset?> HeldByAwaitedOwnerAsync(BehaviorContext<UnpackState> context, LayerProgress layer, DateTimeOffset now)
    {
        var saga = context.Saga;
        var claim = await context.Session().LoadAsync<ExtractionClaim>(ExtractionClaim.KeyOf(saga.Node, saga.Snapshotter, layer.ChainId), context.CancellationToken);
        return claim is not null && claim.Owner == layer.WaitingFor && claim.LeaseUntil > now ? claim.LeaseUntil : null;
    }

    /// <summary>How long a claim holds: an apply's timeout and a stat's, so the owner's re-drive comes before another unpack may take over.</summary>
    private DateTimeOffset LeaseFrom(DateTimeOffset now) => now + options.ApplyTimeout + options.StatTimeout;

    /// <summary>Drops this unpack's claim on the layer (if it holds it) and wakes the unpacks that waited for it.</summary>
    public async Task ReleaseAsync(BehaviorContext<UnpackState> context, LayerProgress layer)
    {
        var saga = context.Saga;
        var session = context.Session();
        var claim = await session.LoadAsync<ExtractionClaim>(ExtractionClaim.KeyOf(saga.Node, saga.Snapshotter, layer.ChainId), context.CancellationToken);
        if (claim is null || claim.Owner != saga.CorrelationId)
        {
            return;
        }

        // Version-checked like every claim write: a waiter that registered meanwhile makes us retry and wake it too.
        session.Update(claim);
        session.Delete(claim);
        foreach (var waiter in claim.Waiters)
        {
            // The waiter belongs to another unpack's trace: its handling starts a trace of its own, linked to ours.
            await context.Publish(
                new WakeUnpack(waiter, $"extraction of {layer.ChainId} released by unpack {saga.CorrelationId}"),
                publish => publish.Headers.Set(MassTransit.Logging.DiagnosticHeaders.ActivityPropagation, "Link"));
        }
    }
}

/// <summary>Who holds the extraction claim after an attempt to take it, and until when; <see cref="IsOurs"/> when this unpack does.</summary>
internal sealed record ClaimResult(Guid Owner, DateTimeOffset LeaseUntil, bool IsOurs);
