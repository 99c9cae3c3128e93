using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>Labelling a blob by digest alone, as containerd's labellers do (its Update reads only the digest and the labels).</summary>
public static class ContentStoreLabels
{
    /// <summary>
    /// Sets <paramref name="labels"/> on the blob, keeping its other labels. Labels are the site's: the blob may sit on
    /// another disk (a Fetcher's) and need not be read first; <see cref="NotFoundException"/> when no disk holds it.
    /// </summary>
    public static Task<ContentInfo> SetLabelsAsync(this IContentStore content, Digest digest, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken) =>
        content.UpdateAsync(
            new ContentInfo(digest, Size: 0, CreatedAt: default, UpdatedAt: default, labels),
            [.. labels.Keys.Select(key => $"labels.{key}")],
            cancellationToken);
}
