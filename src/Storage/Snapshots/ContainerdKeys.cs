namespace Unpacker.Storage.Snapshots;

/// <summary>
/// The names containerd gives the snapshots it makes through a proxy snapshotter. Its metadata layer keeps the names
/// its clients use and passes the backend <c>&lt;namespace&gt;/&lt;sequence&gt;/&lt;key&gt;</c>, so on one node's
/// snapshotter a name of that shape is containerd's and any other is Unpacker's: each side lists, collects and removes
/// only its own, and containerd's garbage collection never sees (so never removes) a chain Unpacker committed.
/// </summary>
public static class ContainerdKeys
{
    /// <summary>True for a backend key containerd's metadata layer made: a namespace, a decimal sequence, then a key.</summary>
    public static bool IsContainerds(string key) => TrySplit(key, out _, out _);

    /// <summary>
    /// The name of the alias that answers a Prepare of the backend key <paramref name="backendKey"/> (the unpacker's
    /// <c>&lt;ns&gt;/&lt;n&gt;/extract-… &lt;chainID&gt;</c>) from the pre-warmed <paramref name="target"/>:
    /// <c>&lt;ns&gt;/&lt;n&gt;/&lt;target&gt;</c>, containerd's own shape, unique because its sequence is.
    /// </summary>
    public static string AliasName(string backendKey, string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        return TrySplit(backendKey, out var ns, out var sequence)
            ? $"{ns}/{sequence}/{target}"
            : throw new InvalidArgumentException($"snapshot key {backendKey} is not containerd's <namespace>/<sequence>/<key>: a pre-warmed layer is answered only to containerd's unpacker");
    }

    private static bool TrySplit(string key, out string ns, out string sequence)
    {
        ns = sequence = string.Empty;
        var first = key.IndexOf('/', StringComparison.Ordinal);
        if (first <= 0)
        {
            return false;
        }

        var second = key.IndexOf('/', first + 1);
        if (second <= first + 1 || second == key.Length - 1 || key.AsSpan(first + 1, second - first - 1).ContainsAnyExceptInRange('0', '9'))
        {
            return false;
        }

        ns = key[..first];
        sequence = key[(first + 1)..second];
        return true;
    }
}
