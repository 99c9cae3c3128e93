using System.Text;

namespace Unpacker.Contracts.Oci;

/// <summary>Chain IDs name the root filesystem after applying layers 0..i (OCI image spec, config.md).</summary>
public static class ChainId
{
    /// <summary><c>chain[0] = diffID[0]</c>; <c>chain[i] = sha256("chain[i-1] diffID[i]")</c>.</summary>
    public static IReadOnlyList<Digest> Compute(IReadOnlyList<Digest> diffIds)
    {
        ArgumentNullException.ThrowIfNull(diffIds);
        var chain = new Digest[diffIds.Count];
        for (var i = 0; i < diffIds.Count; i++)
        {
            chain[i] = i == 0 ? diffIds[0] : Next(chain[i - 1], diffIds[i]);
        }

        return chain;
    }

    public static Digest Next(Digest parent, Digest diffId) =>
        Digest.Compute(Encoding.ASCII.GetBytes($"{parent} {diffId}"));
}
