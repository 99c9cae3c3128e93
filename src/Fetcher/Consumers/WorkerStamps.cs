using Unpacker.Contracts;
using Unpacker.Hosting.Diagnostics;

namespace Unpacker.Fetcher.Consumers;

internal static class WorkerStamps
{
    public static WorkerStamp ToStamp(this WorkerIdentity worker) => new(worker.Service, worker.WorkerId, worker.Host);
}
