namespace Unpacker.Saga.History;

/// <summary>The Marten event headers the unpack streams carry besides correlation and causation ids.</summary>
public static class AuditHeaders
{
    /// <summary>The worker id of the saga process that recorded the event.</summary>
    public const string RecordedBy = "recorded-by";

    /// <summary>The host of the saga process that recorded the event.</summary>
    public const string RecordedOn = "recorded-on";
}
