namespace Unpacker.Archive;

/// <summary>
/// A layer could not be applied. <see cref="EntryPath"/> and <see cref="Offset"/> name the culprit; the target
/// directory may hold part of the layer, so it must be removed, never committed (<see cref="TargetIsDirty"/>).
/// </summary>
public sealed class LayerApplyException : Exception
{
    public LayerApplyException(string message, string? entryPath, long offset, Exception? innerException = null)
        : base(Describe(message, entryPath, offset), innerException)
    {
        EntryPath = entryPath;
        Offset = offset;
    }

    /// <summary>The name of the tar entry being applied, as found in the archive; null before the first entry.</summary>
    public string? EntryPath { get; }

    /// <summary>Offset in the uncompressed tar stream of the entry's header (or where reading stopped).</summary>
    public long Offset { get; }

    /// <summary>
    /// Always true once applying has started: whatever was written stays written, so the caller removes the
    /// snapshot instead of committing it (containerd's rule after any apply failure).
    /// </summary>
    public bool TargetIsDirty { get; init; } = true;

    private static string Describe(string message, string? entryPath, long offset) =>
        entryPath is null ? $"{message} (at offset {offset})" : $"{message} (entry '{entryPath}' at offset {offset})";
}
