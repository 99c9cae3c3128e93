namespace Unpacker.Storage.Snapshots.Metadata;

/// <summary>
/// The Appliers' inbox: an <c>ApplyLayer</c> message (by its message id) an Applier took. A second copy of the same
/// message that is not the broker's redelivery of the first (the saga's outbox relaying it again after a crash) is
/// dropped instead of extracting the layer a second time.
/// </summary>
public sealed class TakenApply
{
    /// <summary>The message id of the <c>ApplyLayer</c>.</summary>
    public Guid Id { get; set; }

    public Guid UnpackId { get; set; }

    public int LayerIndex { get; set; }

    public int Attempt { get; set; }

    /// <summary>The worker that took it.</summary>
    public string Worker { get; set; } = "";

    public DateTimeOffset TakenAt { get; set; }
}
