namespace Unpacker.Saga.Watchdog;

/// <summary>
/// Wakes an unpack saga: its backoff or a deadline is due (sent by the watchdog), or an extraction it waited
/// for was released (sent by the owning unpack). The saga re-examines its steps; waking too often is harmless.
/// </summary>
public sealed record WakeUnpack(Guid UnpackId, string Reason);
