using System.Runtime.InteropServices;

namespace Unpacker.Archive.Native;

/// <summary>A failed libc call: the operation, the path and the errno, so callers can branch on the errno.</summary>
internal sealed class NativeIOException(string operation, string path, int errno)
    : IOException($"{operation} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public string Operation { get; } = operation;

    public string PathName { get; } = path;

    public int Errno { get; } = errno;
}
