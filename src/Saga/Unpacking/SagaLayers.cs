using MassTransit;
using Unpacker.Saga.History;

namespace Unpacker.Saga.Unpacking;

internal static class SagaLayers
{
    /// <summary>
    /// Stores the layer a start decision leaves (<see cref="LayerLifecycle.StartApply"/> and the like) and records its
    /// events; returns the layer as stored. Decisions with effects or a failure go through <see cref="UnpackActivities"/>.
    /// </summary>
    public static LayerProgress Decide(this BehaviorContext<UnpackState> context, LayerDecision decision)
    {
        if (decision.Effects.Count > 0 || decision.Failure is not null)
        {
            throw new InvalidOperationException($"a decision about layer {decision.Layer.Index} with effects or a failure must be carried out by the unpack's activities");
        }

        context.Saga.Layers[decision.Layer.Index] = decision.Layer;
        foreach (var @event in decision.Events)
        {
            context.Record(@event);
        }

        return decision.Layer;
    }
}
