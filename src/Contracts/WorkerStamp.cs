using System.Text.Json.Serialization;
namespace Unpacker.Contracts;

/// <summary>Which worker did a step: recorded on every result so the audit trail can say who and where.</summary>
public sealed record WorkerStamp(string Service, string WorkerId, string Host)
{
    /// <summary>
    /// True when the broker handed this worker a message another worker had taken and not acknowledged (that worker
    /// died or lost its connection mid-step): the history then shows the step was taken over, not just who finished it.
    /// </summary>
    public bool Redelivered { get; init; }

    /// <summary>The node the worker belongs to (an Applier's snapshots live there); null for workers of the site (Fetchers, the saga).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Node { get; init; }
}
