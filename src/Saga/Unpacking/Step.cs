namespace Unpacker.Saga.Unpacking;

/// <summary>
/// One outstanding request to a worker pool: its attempt (replies of other attempts are stale) and deadline.
/// Immutable: every transition returns the step as it is afterwards, so the lifecycle's decisions stay pure.
/// </summary>
public sealed record Step
{
    public StepStatus Status { get; init; }

    public int Attempt { get; init; }

    public int Redrives { get; init; }

    public DateTimeOffset? DueAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When a worker said it took the request off its queue and began it (only applies say so); null while it is queued.</summary>
    public DateTimeOffset? BegunAt { get; init; }

    /// <summary>A new attempt: replies carrying an older attempt are ignored from now on.</summary>
    public Step Begin(DateTimeOffset now, TimeSpan timeout) =>
        this with { Status = StepStatus.InFlight, Attempt = Attempt + 1, StartedAt = now, BegunAt = null, DueAt = now + timeout };

    /// <summary>A worker began the request: its deadline counts from now, whatever time it spent queued.</summary>
    public Step Began(DateTimeOffset now, TimeSpan timeout) => this with { BegunAt = now, DueAt = now + timeout };

    /// <summary>
    /// At its deadline the request is still queued behind other work, or its worker is alive and still at it: the
    /// deadline moves on, nothing else changes.
    /// </summary>
    public Step Extend(DateTimeOffset until) => this with { DueAt = until };

    public Step Wait(DateTimeOffset until) => this with { Status = StepStatus.Waiting, DueAt = until };

    public Step Finish() => this with { Status = StepStatus.Done, DueAt = null };

    /// <summary>An attempt that was done without a request of its own (a worker did it along with another).</summary>
    public Step DoneAlong(DateTimeOffset now) => this with { Attempt = Attempt + 1, StartedAt = now, Status = StepStatus.Done, DueAt = null };

    /// <summary>Takes back a request that will not be answered (a layer of an apply run that stopped before it).</summary>
    public Step Withdraw() => this with { Status = StepStatus.NotStarted, DueAt = null };

    public Step NotNeeded() => this with { Status = StepStatus.NotNeeded, DueAt = null };

    /// <summary>Counts a re-drive: the request is sent again because its reply never came.</summary>
    public Step Redriven() => this with { Redrives = Redrives + 1 };

    /// <summary>True when <paramref name="attempt"/> is the attempt the saga waits for: its reply is current.</summary>
    public bool Awaits(int attempt) => Status == StepStatus.InFlight && Attempt == attempt;

    /// <summary>In flight past its deadline: the reply never came.</summary>
    public bool IsOverdue(DateTimeOffset now) => Status == StepStatus.InFlight && DueAt <= now;

    /// <summary>Due at some time: a deadline or a backoff the watchdog must wake the saga for.</summary>
    public bool IsTimed => Status is StepStatus.InFlight or StepStatus.Waiting && DueAt is not null;
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
