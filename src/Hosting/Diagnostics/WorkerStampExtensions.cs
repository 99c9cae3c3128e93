using MassTransit;
using Unpacker.Contracts;

namespace Unpacker.Hosting.Diagnostics;

public static class WorkerStampExtensions
{
    /// <summary>The stamp a worker puts on the results it reports.</summary>
    public static WorkerStamp Stamp(this WorkerIdentity worker) => new(worker.Service, worker.WorkerId, worker.Host) { Node = worker.Node };

    /// <summary>The stamp for the results of the message in <paramref name="context"/>, saying whether the broker redelivered it.</summary>
    public static WorkerStamp Stamp(this WorkerIdentity worker, ConsumeContext context) =>
        worker.Stamp() with { Redelivered = context.ReceiveContext.Redelivered };
}
