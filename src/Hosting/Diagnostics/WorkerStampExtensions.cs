using Unpacker.Contracts;

namespace Unpacker.Hosting.Diagnostics;

public static class WorkerStampExtensions
{
    /// <summary>The stamp a worker puts on the results it reports.</summary>
    public static WorkerStamp Stamp(this WorkerIdentity worker) => new(worker.Service, worker.WorkerId, worker.Host);
}
