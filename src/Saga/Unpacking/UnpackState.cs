using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Saga.Unpacking;

/// <summary>The saga document of one unpack (identity = <see cref="CorrelationId"/> = the unpack id).</summary>
public sealed class UnpackState : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }

    /// <summary>The state machine's state, one of <see cref="UnpackStates"/> (MassTransit stores the state's name).</summary>
    public string CurrentState { get; set; } = string.Empty;

    public ImageSource Source { get; set; } = new(ImageSourceKind.Registry, null);

    public string Snapshotter { get; set; } = string.Empty;

    /// <summary>The node whose snapshotter receives the image: its Appliers' queues get the work, its disk the snapshots.</summary>
    public string Node { get; set; } = string.Empty;

    public Dictionary<string, string> Labels { get; set; } = [];

    public Requester? RequestedBy { get; set; }

    public DateTimeOffset RequestedAt { get; set; }

    /// <summary>When the saga took the request (its own clock): <see cref="UnpackSagaOptions.UnpackTimeout"/> counts from here.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    public Step Resolve { get; set; } = new();

    public string? Reference { get; set; }

    public Descriptor? Config { get; set; }

    public Platform? Platform { get; set; }

    public List<LayerProgress> Layers { get; set; } = [];

    public Step ConfigLabel { get; set; } = new();

    /// <summary>The earliest moment a backoff or deadline is due; the watchdog wakes the saga then. Null when nothing waits.</summary>
    public DateTimeOffset? WakeAt { get; set; }

    public UnpackFailure? Failure { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>The W3C trace context of the unpack's <c>unpack</c> span, stamped on every message the saga sends.</summary>
    public string? TraceParent { get; set; }

    public Digest? TopChainId => Layers.Count == 0 ? null : Layers[^1].ChainId;

    /// <summary>The queue of the node's Applier pool for the unpack's snapshotter.</summary>
    public string ApplyQueue() => ApplyLayer.QueueName(Node, Snapshotter);

    /// <summary>The queue of the node's short snapshot operations (Stat, Commit) for the unpack's snapshotter.</summary>
    public string SnapshotQueue() => StatSnapshot.QueueName(Node, Snapshotter);
}

/// <summary>Why an unpack failed: what <see cref="UnpackFailed"/> reports (<see cref="Step"/> is an <see cref="UnpackStep"/>'s name).</summary>
public sealed record UnpackFailure(string Step, int? LayerIndex, FailureKind Kind, string Reason);

/// <summary>
/// The names of <see cref="UnpackStateMachine"/>'s states as stored in <see cref="UnpackState.CurrentState"/>, for
/// queries that run in PostgreSQL (GC roots, listings), where the machine's <c>State</c> objects cannot go.
/// </summary>
public static class UnpackStates
{
    public const string Resolving = nameof(UnpackStateMachine.Resolving);
    public const string Unpacking = nameof(UnpackStateMachine.Unpacking);
    public const string Completed = nameof(UnpackStateMachine.Completed);
    public const string Failed = nameof(UnpackStateMachine.Failed);
}
