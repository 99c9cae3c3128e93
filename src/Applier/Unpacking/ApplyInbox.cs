using JasperFx;
using Marten;
using MassTransit;
using Unpacker.Contracts.Applying;
using Unpacker.Hosting.Diagnostics;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Applier.Unpacking;

/// <summary>
/// Recognizes a second copy of an <c>ApplyLayer</c>: the saga's outbox keeps a command's message id when it relays it
/// again after a crash, so the copy carries the id of a command an Applier already took (<see cref="TakenApply"/>).
/// The broker's own redelivery of a command whose Applier died is not a copy: it is the command, and is applied.
/// </summary>
public sealed class ApplyInbox(IDocumentStore store, WorkerIdentity worker, TimeProvider clock)
{
    /// <summary>How long a taken command is remembered.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(1);

    private long _takes;

    /// <summary>Records the command as taken; returns who took it first when this delivery is a copy, else null.</summary>
    public async Task<TakenApply?> TakeAsync(ConsumeContext<ApplyLayer> context)
    {
        if (context.MessageId is not { } id)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        await using var session = store.LightweightSession();
        session.Insert(new TakenApply
        {
            Id = id,
            UnpackId = context.Message.UnpackId,
            LayerIndex = context.Message.LayerIndex,
            Attempt = context.Message.Attempt,
            Worker = worker.WorkerId,
            TakenAt = now,
        });

        // Now and then, forget what is older than the retention, in the same transaction.
        if (Interlocked.Increment(ref _takes) % 256 == 1)
        {
            var before = now - Retention;
            session.DeleteWhere<TakenApply>(t => t.TakenAt < before);
        }

        try
        {
            await session.SaveChangesAsync(context.CancellationToken);
            return null;
        }
        catch (DocumentAlreadyExistsException)
        {
            await using var query = store.QuerySession();
            return await query.LoadAsync<TakenApply>(id, context.CancellationToken)
                ?? throw new InvalidOperationException($"ApplyLayer {id} was recorded as taken and is gone");
        }
    }
}
