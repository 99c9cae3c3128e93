using System.Security.Cryptography;
using System.Text;
using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>The content store's directories: <c>content/blobs/&lt;alg&gt;/&lt;hex&gt;</c> and <c>content/ingest/&lt;sha256(ref)&gt;</c>.</summary>
internal sealed class ContentLayout(string root)
{
    public string ContentRoot { get; } = Path.Combine(Path.GetFullPath(root), "content");

    public string BlobsRoot => Path.Combine(ContentRoot, "blobs");

    public string IngestRoot => Path.Combine(ContentRoot, "ingest");

    public string BlobDirectory(Digest digest) => Path.Combine(BlobsRoot, digest.Algorithm);

    // Digest.Parse accepts only lowercase hex of a known algorithm, so the path never leaves the blobs root.
    public string BlobPath(Digest digest) => Path.Combine(BlobDirectory(digest), digest.Encoded);

    /// <summary>A ref is free text from callers; hashing it gives a safe, fixed-length directory name.</summary>
    public string IngestDirectory(string reference) =>
        Path.Combine(IngestRoot, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(reference))));

    public static string IngestDataPath(string ingestDirectory) => Path.Combine(ingestDirectory, "data");

    public static string IngestStatusPath(string ingestDirectory) => Path.Combine(ingestDirectory, "status.json");
}
