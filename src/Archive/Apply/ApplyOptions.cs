using Microsoft.Extensions.Logging;

namespace Unpacker.Archive;

/// <summary>How a layer is applied.</summary>
public sealed record ApplyOptions
{
    public ApplyMode Mode { get; init; } = ApplyMode.Merged;

    /// <summary>
    /// Overlay diff mode only: the parent snapshots' directories, nearest first. Parents created implicitly
    /// copy their attributes from the first lower dir holding them, and a hardlink to a file only a lower
    /// layer has copies that file up first (what the kernel's overlay would do).
    /// </summary>
    public IReadOnlyList<string> LowerDirectories { get; init; } = [];

    /// <summary>Warnings (device nodes not permitted, unsupported xattrs) go here; null logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
