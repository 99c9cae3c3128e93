using System.Text.Json;
using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>
/// The small JSON file beside an ingest's data: which ref it is, what blob it must become, and when it was
/// started and last touched. The data file's length is the offset, so a crash never leaves the two out of step.
/// </summary>
internal sealed record IngestStatusFile(string Reference, Descriptor Expected, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt)
{
    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static async Task<IngestStatusFile?> ReadAsync(string ingestDirectory, CancellationToken cancellationToken)
    {
        var path = ContentLayout.IngestStatusPath(ingestDirectory);
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, FileOptions.Asynchronous);
            return await JsonSerializer.DeserializeAsync<IngestStatusFile>(stream, _json, cancellationToken);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            // Missing or unreadable: a crash while the ingest was being created; the caller starts it afresh.
            return null;
        }
    }

    /// <summary>Written to a temporary file and renamed, so readers see the old or the new status, never half of one.</summary>
    public async Task WriteAsync(string ingestDirectory, CancellationToken cancellationToken)
    {
        var path = ContentLayout.IngestStatusPath(ingestDirectory);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
        {
            await JsonSerializer.SerializeAsync(stream, this, _json, cancellationToken);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
