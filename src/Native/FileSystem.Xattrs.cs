using System.Runtime.InteropServices;

namespace Unpacker.Native;

// Extended attributes: set, list and read, byte-exact names and values.
public static unsafe partial class FileSystem
{
    /// <summary>lsetxattr (or fsetxattr when fd ≥ 0); returns the errno so unsupported attributes can be skipped.</summary>
    public static int TrySetXattr(NativePath path, int fd, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Span<byte> terminatedName = stackalloc byte[name.Length + 1];
        name.CopyTo(terminatedName);
        terminatedName[^1] = 0;
        fixed (byte* p = path.Terminated)
        fixed (byte* n = terminatedName)
        fixed (byte* v = value)
        {
            var rc = fd >= 0
                ? Libc.FSetXattr(fd, n, v, (nuint)value.Length, 0)
                : Libc.LSetXattr(p, n, v, (nuint)value.Length, 0);
            return rc == 0 ? 0 : LastErrno;
        }
    }

    /// <summary>The extended attributes of a path (not followed), name and value as bytes.</summary>
    public static List<(byte[] Name, byte[] Value)> ListXattrs(NativePath path)
    {
        var result = new List<(byte[], byte[])>();
        foreach (var name in ListXattrNames(path))
        {
            var errno = TryGetXattr(path, name, out var value);
            result.Add(errno == 0 ? (name, value) : throw Error("lgetxattr", path, errno));
        }

        return result;
    }

    /// <summary>The extended attribute names of a path (not followed); empty where the filesystem has none.</summary>
    public static List<byte[]> ListXattrNames(NativePath path)
    {
        fixed (byte* p = path.Terminated)
        {
            while (true)
            {
                var size = Libc.LListXattr(p, null, 0);
                if (size < 0)
                {
                    var errno = LastErrno;
                    return errno == Libc.EOPNOTSUPP ? [] : throw Error("llistxattr", path, errno);
                }

                var names = new byte[size];
                fixed (byte* n = names)
                {
                    size = size == 0 ? 0 : Libc.LListXattr(p, n, (nuint)names.Length);
                }

                if (size < 0)
                {
                    var errno = LastErrno;
                    if (errno == Libc.ERANGE)
                    {
                        continue; // the list grew between the two calls
                    }

                    throw Error("llistxattr", path, errno);
                }

                var result = new List<byte[]>();
                foreach (var name in names.AsSpan(0, (int)size).Split((byte)0))
                {
                    if (!names.AsSpan(name).IsEmpty)
                    {
                        result.Add(names[name]);
                    }
                }

                return result;
            }
        }
    }

    /// <summary>lgetxattr of one attribute; returns the errno (0 on success) so ENODATA can be an answer.</summary>
    public static int TryGetXattr(NativePath path, ReadOnlySpan<byte> name, out byte[] value)
    {
        Span<byte> terminatedName = stackalloc byte[name.Length + 1];
        name.CopyTo(terminatedName);
        terminatedName[^1] = 0;
        fixed (byte* p = path.Terminated)
        fixed (byte* n = terminatedName)
        {
            while (true)
            {
                var size = Libc.LGetXattr(p, n, null, 0);
                if (size < 0)
                {
                    var errno = LastErrno;
                    value = [];
                    return errno;
                }

                var buffer = new byte[size];
                fixed (byte* v = buffer)
                {
                    size = size == 0 ? 0 : Libc.LGetXattr(p, n, v, (nuint)buffer.Length);
                }

                if (size >= 0)
                {
                    value = buffer[..(int)size];
                    return 0;
                }

                var readErrno = LastErrno;
                if (readErrno != Libc.ERANGE)
                {
                    value = [];
                    return readErrno;
                }

                // The value grew between the two calls: ask for its size again.
            }
        }
    }
}
