using Unpacker.Contracts.Applying;

namespace Unpacker.Contracts.Fetching;

/// <summary>
/// A Fetcher took a <see cref="FetchBlob"/> off its queue and begins it: published at once, for every blob of the
/// request (a fetch group's too) with the attempt it carries. The saga counts the fetch's deadline from here, so time
/// spent queued behind the site's other fetches never fails an unpack; <see cref="Queued"/> says how long that was.
/// </summary>
public sealed record FetchBegan(Guid UnpackId, IReadOnlyList<LayerAttempt> Layers, TimeSpan Queued, WorkerStamp Worker);
