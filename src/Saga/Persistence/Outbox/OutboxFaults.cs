using Microsoft.Extensions.Logging;
using Unpacker.Hosting.Diagnostics;

namespace Unpacker.Saga.Persistence.Outbox;

/// <summary>
/// The fault points of <see cref="SagaOutboxOptions.KillAt"/>: a test sets one, and the first Saga process to reach it
/// (sending the named message type) takes the marker file and kills itself with SIGKILL, as a crash would.
/// </summary>
public sealed class OutboxFaults(SagaOutboxOptions outbox, ILogger<OutboxFaults> logger)
{
    public void At(OutboxFaultPoint point, IEnumerable<OutboxMessage> relaying)
    {
        if (outbox.KillAt != point || point == OutboxFaultPoint.None)
        {
            return;
        }

        if (outbox.KillWhenSending.Length > 0 && !relaying.Any(m => m.MessageType.EndsWith(":" + outbox.KillWhenSending, StringComparison.Ordinal)))
        {
            return;
        }

        CrashPoints.KillOnce(outbox.KillMarker, $"Saga:Outbox:KillAt={point}", logger);
    }
}
