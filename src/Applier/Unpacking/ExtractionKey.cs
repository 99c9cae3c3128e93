using System.Security.Cryptography;
using Unpacker.Contracts.Oci;

namespace Unpacker.Applier.Unpacking;

/// <summary>containerd's names and labels for a snapshot being extracted.</summary>
public static class ExtractionKey
{
    public const string SnapshotRefLabel = "containerd.io/snapshot.ref";
    private const string InheritedPrefix = "containerd.io/snapshot/";

    /// <summary><c>extract-&lt;unique&gt; &lt;chainID&gt;</c>, unique = nanoseconds and random bits, as containerd makes it.</summary>
    public static string New(Digest chainId)
    {
        var nanos = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        return $"extract-{nanos}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))} {chainId}";
    }

    /// <summary>The labels a prepared snapshot inherits: <c>containerd.io/snapshot/*</c> annotations, the snapshot ref, and the ref to the chain ID.</summary>
    public static IReadOnlyDictionary<string, string> Labels(Digest chainId, IReadOnlyDictionary<string, string>? requested)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in requested ?? new Dictionary<string, string>())
        {
            if (key.StartsWith(InheritedPrefix, StringComparison.Ordinal) || key == SnapshotRefLabel)
            {
                labels[key] = value;
            }
        }

        labels[SnapshotRefLabel] = chainId.ToString();
        return labels;
    }
}
