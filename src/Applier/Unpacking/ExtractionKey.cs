using System.Security.Cryptography;
using Unpacker.Contracts.Oci;

namespace Unpacker.Applier.Unpacking;

/// <summary>containerd's names and labels for a snapshot being extracted.</summary>
public static class ExtractionKey
{
    public const string SnapshotRefLabel = "containerd.io/snapshot.ref";

    /// <summary>On an active snapshot only: the unpack it is extracted for, so an aborted unpack's work can be found and removed.</summary>
    public const string UnpackIdLabel = "unpacker.io/unpack-id";
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

    /// <summary>The labels of the active snapshot while it is extracted: <see cref="Labels"/> plus the unpack it belongs to.</summary>
    public static IReadOnlyDictionary<string, string> ActiveLabels(Digest chainId, IReadOnlyDictionary<string, string>? requested, Guid unpackId) =>
        new Dictionary<string, string>(Labels(chainId, requested), StringComparer.Ordinal) { [UnpackIdLabel] = unpackId.ToString() };
}
