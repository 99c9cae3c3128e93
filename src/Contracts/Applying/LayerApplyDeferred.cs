using Unpacker.Contracts.Oci;

namespace Unpacker.Contracts.Applying;

/// <summary>
/// An apply run reached a layer whose blob (<see cref="ApplyLayer.BlobInFlight"/>) was still not in the content store
/// after the Applier waited <see cref="Waited"/>: the run stops before it, nothing was prepared for it. The saga sends
/// the layer again, in a new run, once its fetch is recorded.
/// </summary>
public sealed record LayerApplyDeferred(
    Guid UnpackId,
    int LayerIndex,
    int Attempt,
    string Snapshotter,
    Digest ChainId,
    Digest Blob,
    TimeSpan Waited,
    WorkerStamp Worker)
{
    /// <summary>
    /// Why the run stopped there when its blob was not the reason: the run had lasted the Applier's
    /// <c>MaxRunDuration</c>, which keeps its delivery within RabbitMQ's <c>consumer_timeout</c> (<see cref="Waited"/> is zero).
    /// </summary>
    public string? Why { get; init; }
}
