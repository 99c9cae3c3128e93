namespace Unpacker.Hosting.Diagnostics;

/// <summary>Who did a piece of work: recorded on every event a worker causes, for the audit trail.</summary>
public sealed record WorkerIdentity(string Service, string Host, string WorkerId, int ProcessId)
{
    /// <summary>The node the worker belongs to (an Applier), or null for workers of the whole site.</summary>
    public string? Node { get; init; }

    public static WorkerIdentity ForCurrentProcess(string service, string? configuredId = null)
    {
        var host = Environment.MachineName;
        var pid = Environment.ProcessId;
        return new WorkerIdentity(service, host, string.IsNullOrWhiteSpace(configuredId) ? $"{service}@{host}:{pid}" : configuredId, pid);
    }
}
