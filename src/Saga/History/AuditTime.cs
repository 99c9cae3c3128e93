using JasperFx.Events;

namespace Unpacker.Saga.History;

/// <summary>Event times as the read models keep them.</summary>
public static class AuditTime
{
    /// <summary>
    /// The event's timestamp to the microsecond. An inline projection sees the clock's 100 ns ticks while PostgreSQL
    /// stores microseconds; truncating makes a rebuilt document equal the one written inline.
    /// </summary>
    public static DateTimeOffset At(this IEvent e) =>
        new(e.Timestamp.UtcTicks - (e.Timestamp.UtcTicks % TimeSpan.TicksPerMicrosecond), TimeSpan.Zero);
}
