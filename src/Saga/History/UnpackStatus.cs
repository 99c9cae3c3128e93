namespace Unpacker.Saga.History;

/// <summary>Where an unpack stands as a whole, for a progress display.</summary>
public enum UnpackStatus
{
    /// <summary>Published; the saga has recorded nothing yet.</summary>
    Requested,
    Resolving,
    Unpacking,
    Completed,
    Failed,
    Cancelled,
}
