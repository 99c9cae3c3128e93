namespace Unpacker.Storage.Snapshots.Metadata;

/// <summary>
/// What a key or name may be. Keys are names in the metadata, never paths (a snapshot's directory is named by its
/// storage id), so containerd's <c>&lt;namespace&gt;/&lt;n&gt;/&lt;key&gt;</c> and any other bytes are fine; only an empty key and a
/// NUL, which PostgreSQL's text cannot hold, are refused as containerd's InvalidArgument.
/// </summary>
internal static class SnapshotKeys
{
    public static void Validate(string? key, string what)
    {
        if (string.IsNullOrEmpty(key) || key.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidArgumentException($"a snapshot {what} must be non-empty and without NUL characters");
        }
    }
}
