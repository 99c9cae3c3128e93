namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>The saga's outbox and inbox: how long the inbox remembers, and the fault points tests kill at.</summary>
public sealed class SagaOutboxOptions
{
    /// <summary>
    /// How long a consumed message's inbox entry is kept after its sends were relayed: a copy of the message arriving
    /// within it (a broker redelivery, a sender's retry) is recognized and not consumed twice.
    /// </summary>
    public TimeSpan InboxRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often the watchdog removes inbox entries older than <see cref="InboxRetention"/>.</summary>
    public TimeSpan InboxCleanupInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>For tests only: where the process kills itself (SIGKILL), at most once per <see cref="KillMarker"/>.</summary>
    public OutboxFaultPoint KillAt { get; set; } = OutboxFaultPoint.None;

    /// <summary>
    /// For tests only: kill only while relaying a message of this type (its short name, <c>ApplyLayer</c>); empty: any.
    /// </summary>
    public string KillWhenSending { get; set; } = "";

    /// <summary>
    /// For tests only: a file created at the kill, so that of all the Saga processes sharing it, one dies once and the
    /// others (and restarts) recover.
    /// </summary>
    public string KillMarker { get; set; } = "";
}

/// <summary>The points between the saga's commit and the relay's bookkeeping where a crash is the hardest case.</summary>
public enum OutboxFaultPoint
{
    None,

    /// <summary>The saga, its events and its sends committed; nothing relayed yet.</summary>
    AfterCommit,

    /// <summary>The first of several sends handed to the broker, the rest not.</summary>
    MidRelay,

    /// <summary>Every send handed to the broker and confirmed; the inbox not yet marked delivered.</summary>
    AfterSend,
}
