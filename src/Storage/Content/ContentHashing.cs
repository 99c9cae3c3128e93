using System.Buffers;
using System.Security.Cryptography;
using Unpacker.Contracts.Oci;

namespace Unpacker.Storage.Content;

/// <summary>Incremental digests of the algorithms <see cref="Digest"/> accepts.</summary>
internal static class ContentHashing
{
    public static IncrementalHash Create(string algorithm) => algorithm switch
    {
        Digest.Sha256 => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        Digest.Sha512 => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
        _ => throw new InvalidArgumentException($"unsupported digest algorithm '{algorithm}'"),
    };

    public static Digest ToDigest(IncrementalHash hash, string algorithm) =>
        Digest.Parse($"{algorithm}:{Convert.ToHexStringLower(hash.GetCurrentHash())}");

    /// <summary>Feeds up to <paramref name="count"/> bytes of <paramref name="stream"/> from its position; returns how many it read.</summary>
    public static async Task<long> AppendAsync(IncrementalHash hash, Stream stream, long count, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long total = 0;
            while (total < count)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count - total)), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                hash.AppendData(buffer, 0, read);
                total += read;
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
