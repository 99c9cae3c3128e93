using System.Diagnostics;
using Microsoft.Extensions.Logging;

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

        if (outbox.KillMarker.Length == 0)
        {
            throw new InvalidOperationException("Saga:Outbox:KillAt needs Saga:Outbox:KillMarker, so that one process dies once");
        }

        try
        {
            using var marker = new FileStream(outbox.KillMarker, FileMode.CreateNew, FileAccess.Write);
        }
        catch (IOException) when (File.Exists(outbox.KillMarker))
        {
            return;
        }

        logger.LogCritical("Outbox fault point {Point} reached: killing this process (SIGKILL)", point);
        Process.GetCurrentProcess().Kill();

        // Kill signals the process; wait for it to take effect rather than carry on past the fault point.
        Thread.Sleep(Timeout.Infinite);
    }
}
