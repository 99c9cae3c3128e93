using System.Runtime.InteropServices;

namespace Unpacker.Native;

// Directories read and removed by name bytes.
public static unsafe partial class FileSystem
{
    /// <summary>The names in a directory (without . and ..), as bytes.</summary>
    public static List<byte[]> ListDirectory(NativePath path)
    {
        var names = new List<byte[]>();
        fixed (byte* p = path.Terminated)
        {
            var dir = Libc.OpenDir(p);
            if (dir == 0)
            {
                throw Error("opendir", path, LastErrno);
            }

            try
            {
                while (true)
                {
                    var entry = Libc.ReadDir(dir);
                    if (entry == null)
                    {
                        break;
                    }

                    var name = new ReadOnlySpan<byte>(entry + Libc.DirentNameOffset, 256);
                    name = name[..name.IndexOf((byte)0)];
                    if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                    {
                        continue;
                    }

                    names.Add(name.ToArray());
                }
            }
            finally
            {
                Libc.CloseDir(dir);
            }
        }

        return names;
    }

    /// <summary>Removes a path and everything below it without following symlinks; absent is fine (os.RemoveAll).</summary>
    public static void RemoveAll(NativePath path)
    {
        var errno = TryLStat(path, out var status);
        if (errno is Libc.ENOENT or Libc.ENOTDIR)
        {
            return;
        }

        if (errno != 0)
        {
            throw Error("lstat", path, errno);
        }

        fixed (byte* p = path.Terminated)
        {
            if (!IsDirectory(status))
            {
                if (Libc.Unlink(p) != 0 && LastErrno != Libc.ENOENT)
                {
                    throw Error("unlink", path, LastErrno);
                }

                return;
            }

            List<byte[]> names;
            try
            {
                names = ListDirectory(path);
            }
            catch (NativeIOException gone) when (gone.Errno == Libc.ENOENT)
            {
                // Removed by another remover between our look and our listing: the goal is reached.
                return;
            }

            foreach (var name in names)
            {
                RemoveAll(path.Append(name));
            }

            if (Libc.Rmdir(p) != 0 && LastErrno != Libc.ENOENT)
            {
                throw Error("rmdir", path, LastErrno);
            }
        }
    }
}
