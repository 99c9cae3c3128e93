using System.Text;

namespace Unpacker.Native;

/// <summary>
/// An absolute file system path as raw bytes, stored NUL-terminated so it can be handed to libc as is.
/// Names from an archive are bytes, not text: keeping them as bytes is what makes non-UTF-8 names exact.
/// </summary>
public readonly struct NativePath : IEquatable<NativePath>
{
    private readonly byte[] _terminated;

    private NativePath(byte[] terminated) => _terminated = terminated;

    /// <summary>The path without its terminating NUL.</summary>
    public ReadOnlySpan<byte> Bytes => _terminated.AsSpan(0, _terminated.Length - 1);

    /// <summary>The path with its terminating NUL, to pin for a libc call.</summary>
    public byte[] Terminated => _terminated;

    public int Length => _terminated.Length - 1;

    public static NativePath FromString(string path) => FromBytes(Encoding.UTF8.GetBytes(path));

    public static NativePath FromBytes(ReadOnlySpan<byte> path)
    {
        var terminated = new byte[path.Length + 1];
        path.CopyTo(terminated);
        return new NativePath(terminated);
    }

    /// <summary>This path with one more component (a name without slashes) appended.</summary>
    public NativePath Append(ReadOnlySpan<byte> component)
    {
        var length = Length;
        var needsSlash = length == 0 || _terminated[length - 1] != (byte)'/';
        var result = new byte[length + (needsSlash ? 1 : 0) + component.Length + 1];
        Bytes.CopyTo(result);
        if (needsSlash)
        {
            result[length] = (byte)'/';
        }

        component.CopyTo(result.AsSpan(length + (needsSlash ? 1 : 0)));
        return new NativePath(result);
    }

    /// <summary>This path with a relative path (components separated by single slashes) appended.</summary>
    public NativePath AppendRelative(ReadOnlySpan<byte> relative) => relative.IsEmpty ? this : Append(relative);

    /// <summary>The path relative to <paramref name="root"/>, empty when equal; the caller guarantees it is below root.</summary>
    public ReadOnlySpan<byte> RelativeTo(NativePath root) =>
        Length == root.Length ? [] : Bytes[(root.Bytes.EndsWith("/"u8) ? root.Length : root.Length + 1)..];

    public bool Equals(NativePath other) => Bytes.SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is NativePath other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Bytes);
        return hash.ToHashCode();
    }

    /// <summary>For messages: invalid UTF-8 shows as escaped bytes so the culprit stays identifiable.</summary>
    public override string ToString() => Display(Bytes);

    public static string Display(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return Encoding.UTF8.GetString(bytes);
        }

        var builder = new StringBuilder(bytes.Length + 16);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and < 0x7f)
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append($"\\x{b:x2}");
            }
        }

        return builder.ToString();
    }

    public static bool operator ==(NativePath left, NativePath right) => left.Equals(right);

    public static bool operator !=(NativePath left, NativePath right) => !left.Equals(right);
}
