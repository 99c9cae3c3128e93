using JasperFx.Events;
using Marten.Events.Aggregation;
using Unpacker.Saga.History.Folding;

namespace Unpacker.Saga.History.GetUnpackSummary;

/// <summary>
/// Builds <see cref="UnpackSummary"/> from an unpack's stream (inline: it commits with the events). The same fold
/// answers <c>unpacker history --at</c>, aggregated live up to a version or a time. Each event goes through
/// <see cref="UnpackFold"/>, the one fold the timeline and the history share.
/// </summary>
public sealed class UnpackSummaryProjection : SingleStreamProjection<UnpackSummary, Guid>
{
    public override UnpackSummary? Evolve(UnpackSummary? snapshot, Guid id, IEvent e) => UnpackFold.Evolve(snapshot, id, e);
}
