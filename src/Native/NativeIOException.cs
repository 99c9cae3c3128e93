using System.Runtime.InteropServices;

namespace Unpacker.Native;

/// <summary>
/// A failed libc call: the operation, the path and the errno, so callers can branch on the errno. The errno is
/// also the HResult, which is where code that only knows <see cref="IOException"/> looks for ENOSPC.
/// </summary>
public sealed class NativeIOException(string operation, string path, int errno)
    : IOException($"{operation} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno)
{
    public string Operation { get; } = operation;

    public string PathName { get; } = path;

    public int Errno { get; } = errno;
}
