using MassTransit;
using Unpacker.Contracts;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Saga.Unpacking;

/// <summary>The saga document of one unpack (identity = <see cref="CorrelationId"/> = the unpack id).</summary>
public sealed class UnpackState : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }

    public string CurrentState { get; set; } = string.Empty;

    public ImageSource Source { get; set; } = new(ImageSourceKind.Registry, null);

    public string Snapshotter { get; set; } = string.Empty;

    public Dictionary<string, string> Labels { get; set; } = [];

    public Requester? RequestedBy { get; set; }

    public DateTimeOffset RequestedAt { get; set; }

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
}

/// <summary>Why an unpack failed: what <see cref="UnpackFailed"/> reports.</summary>
public sealed record UnpackFailure(string Step, int? LayerIndex, FailureKind Kind, string Reason);

/// <summary>One outstanding request to a worker pool: its attempt (replies of other attempts are stale) and deadline.</summary>
public sealed class Step
{
    public StepStatus Status { get; set; }

    public int Attempt { get; set; }

    public int Redrives { get; set; }

    public DateTimeOffset? DueAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>Starts a new attempt: replies carrying an older attempt are ignored from now on.</summary>
    public int Begin(DateTimeOffset now, TimeSpan timeout)
    {
        Status = StepStatus.InFlight;
        Attempt++;
        StartedAt = now;
        DueAt = now + timeout;
        return Attempt;
    }

    public void Wait(DateTimeOffset until)
    {
        Status = StepStatus.Waiting;
        DueAt = until;
    }

    public void Finish()
    {
        Status = StepStatus.Done;
        DueAt = null;
    }

    /// <summary>An attempt that was done without a request of its own (a worker did it along with another); returns its number.</summary>
    public int DoneAlong(DateTimeOffset now)
    {
        Attempt++;
        StartedAt = now;
        Finish();
        return Attempt;
    }

    /// <summary>Takes back a request that will not be answered (a layer of an apply run that stopped before it).</summary>
    public void Withdraw()
    {
        Status = StepStatus.NotStarted;
        DueAt = null;
    }

    public void NotNeeded()
    {
        Status = StepStatus.NotNeeded;
        DueAt = null;
    }
}

public enum StepStatus
{
    NotStarted,
    InFlight,

    /// <summary>Parked until <see cref="Step.DueAt"/>: a backoff, or another unpack's extraction.</summary>
    Waiting,
    Done,
    NotNeeded,
}
