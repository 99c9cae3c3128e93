using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unpacker.Contracts.Oci;

/// <summary>An OCI content digest, <c>algorithm:encoded</c>, validated on construction.</summary>
[JsonConverter(typeof(DigestJsonConverter))]
public readonly record struct Digest
{
    public const string Sha256 = "sha256";
    public const string Sha512 = "sha512";

    private Digest(string algorithm, string encoded)
    {
        Algorithm = algorithm;
        Encoded = encoded;
    }

    public string Algorithm { get; }

    public string Encoded { get; }

    /// <summary>True for <c>default(Digest)</c>, which no parsed digest ever is.</summary>
    public bool IsEmpty => Algorithm is null;

    public static Digest Parse(string value) =>
        TryParse(value, out var digest, out var error)
            ? digest
            : throw new FormatException($"invalid digest '{value}': {error}");

    public static bool TryParse([NotNullWhen(true)] string? value, out Digest digest) =>
        TryParse(value, out digest, out _);

    public static bool TryParse([NotNullWhen(true)] string? value, out Digest digest, out string error)
    {
        digest = default;
        if (string.IsNullOrEmpty(value))
        {
            error = "empty";
            return false;
        }

        var colon = value.IndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            error = "expected algorithm:encoded";
            return false;
        }

        var algorithm = value[..colon];
        var encoded = value[(colon + 1)..];
        var expectedLength = algorithm switch
        {
            Sha256 => 64,
            Sha512 => 128,
            _ => 0,
        };
        if (expectedLength == 0)
        {
            error = $"unsupported algorithm '{algorithm}'";
            return false;
        }

        if (encoded.Length != expectedLength || !encoded.All(IsLowerHex))
        {
            error = $"{algorithm} needs {expectedLength} lowercase hex characters";
            return false;
        }

        digest = new Digest(algorithm, encoded);
        error = string.Empty;
        return true;
    }

    public static Digest FromSha256Hash(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException($"a sha256 hash has {SHA256.HashSizeInBytes} bytes, not {hash.Length}", nameof(hash));
        }

        return new Digest(Sha256, Convert.ToHexStringLower(hash));
    }

    public static Digest Compute(ReadOnlySpan<byte> data) => FromSha256Hash(SHA256.HashData(data));

    public override string ToString() => IsEmpty ? string.Empty : $"{Algorithm}:{Encoded}";

    private static bool IsLowerHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f');
}

/// <summary>Writes a digest as its string form so messages and documents stay readable.</summary>
public sealed class DigestJsonConverter : JsonConverter<Digest>
{
    public override Digest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (!Digest.TryParse(text, out var digest, out var error))
        {
            throw new JsonException($"invalid digest '{text}': {error}");
        }

        return digest;
    }

    public override void Write(Utf8JsonWriter writer, Digest value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
