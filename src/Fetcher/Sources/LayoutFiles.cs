namespace Unpacker.Fetcher.Sources;

/// <summary>Read access to the files of a local image (a directory or a tar), by their path inside it.</summary>
public interface ILayoutFiles
{
    /// <summary>Where the files are, for messages.</summary>
    string Location { get; }

    /// <summary>The file's length, or null when it is absent.</summary>
    long? Length(string path);

    /// <summary>Opens a file for reading; <see cref="FetchException"/> (not found) when absent.</summary>
    Stream Open(string path);
}

/// <summary>The files of a directory. Callers pass paths they built from digests or fixed names, never names read from the image.</summary>
public sealed class DirectoryFiles(string root) : ILayoutFiles
{
    public string Location => root;

    public long? Length(string path)
    {
        var info = new FileInfo(Resolve(path));
        return info.Exists ? info.Length : null;
    }

    public Stream Open(string path)
    {
        var full = Resolve(path);
        try
        {
            return new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw FetchException.NotFound($"{path} is missing from {root}");
        }
    }

    private string Resolve(string path)
    {
        var full = Path.GetFullPath(Path.Combine(root, path));
        var rootWithSeparator = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
        return full.StartsWith(rootWithSeparator, StringComparison.Ordinal)
            ? full
            : throw FetchException.InvalidContent($"path '{path}' leaves the image directory {root}");
    }
}
