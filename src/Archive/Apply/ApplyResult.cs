using Unpacker.Contracts.Oci;

namespace Unpacker.Archive;

/// <summary>
/// What applying a layer produced: the diffID (sha256 of the whole uncompressed tar, padding included), its
/// size in bytes and the number of tar entries (metadata-only headers such as PAX and GNU long names excluded).
/// </summary>
public sealed record ApplyResult(Digest DiffId, long UncompressedSize, long EntryCount);
