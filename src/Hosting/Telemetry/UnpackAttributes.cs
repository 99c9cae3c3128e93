namespace Unpacker.Hosting.Telemetry;

/// <summary>The attribute (tag) names our spans and metrics share, in OpenTelemetry's dotted style.</summary>
public static class UnpackAttributes
{
    public const string UnpackId = "unpacker.unpack.id";
    public const string Image = "unpacker.image";
    public const string Snapshotter = "unpacker.snapshotter";
    public const string LayerIndex = "unpacker.layer.index";
    public const string Digest = "unpacker.layer.digest";
    public const string MediaType = "unpacker.layer.media_type";
    public const string Size = "unpacker.layer.size";
    public const string UncompressedSize = "unpacker.layer.uncompressed_size";
    public const string BytesTransferred = "unpacker.layer.bytes_transferred";
    public const string ChainId = "unpacker.layer.chain_id";
    public const string DiffId = "unpacker.layer.diff_id";
    public const string Key = "unpacker.snapshot.key";
    public const string Attempt = "unpacker.attempt";
    public const string Outcome = "unpacker.outcome";
    public const string FailureKind = "unpacker.failure.kind";
    public const string Step = "unpacker.step";
}

/// <summary>The values of <see cref="UnpackAttributes.Outcome"/>.</summary>
public static class Outcomes
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>Nothing to do: the blob or the chain ID was already there.</summary>
    public const string AlreadyPresent = "already_present";

    /// <summary>The work was done by this worker.</summary>
    public const string Done = "done";

    /// <summary>The prepare key was taken (containerd's AlreadyExists on Prepare); the saga retries.</summary>
    public const string Conflicted = "conflicted";

    /// <summary>An apply run stopped before the layer: its blob was not in the content store in time; a later run applies it.</summary>
    public const string Deferred = "deferred";
}
