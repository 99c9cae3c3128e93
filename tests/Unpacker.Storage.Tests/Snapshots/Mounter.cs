using System.Runtime.InteropServices;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>
/// Mounts what a snapshotter returns, as containerd's <c>mount.All</c> does (needs root). Overlay mounts go
/// through the new mount API with one <c>lowerdir+</c> per layer, so 128 layers fit (a lowerdir option string
/// would exceed the page-size limit of mount(2)).
/// </summary>
internal static partial class Mounter
{
    private const ulong MsRdonly = 1;
    private const ulong MsRemount = 32;
    private const ulong MsBind = 4096;
    private const ulong MsRec = 16384;
    private const int FsconfigSetFlag = 0;
    private const int FsconfigSetString = 1;
    private const int FsconfigCmdCreate = 6;
    private const int MoveMountFEmptyPath = 4;
    private const int AtFdCwd = -100;
    private const int MntDetach = 2;

    /// <summary>Mounts every mount on <paramref name="target"/>; dispose to unmount.</summary>
    public static IDisposable MountAll(IReadOnlyList<Mount> mounts, string target)
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("the snapshotter conformance suite mounts snapshots as containerd's does: run the tests as root");
        }

        foreach (var mount in mounts)
        {
            switch (mount.Type)
            {
                case "bind":
                    Check(MountCall(mount.Source, target, null, MsBind | MsRec, null), "bind mount", target);
                    if (mount.Options.Contains("ro"))
                    {
                        Check(MountCall(null, target, null, MsRemount | MsBind | MsRdonly, null), "read-only remount", target);
                    }

                    break;
                case "overlay":
                    MountOverlay(mount.Options, target);
                    break;
                default:
                    throw new NotSupportedException($"mount type {mount.Type}");
            }
        }

        return new Unmount(target);
    }

    private static void MountOverlay(IReadOnlyList<string> options, string target)
    {
        var fs = FsOpen("overlay", 0);
        Check(fs < 0 ? -1 : 0, "fsopen overlay", target);
        try
        {
            foreach (var option in options)
            {
                var equals = option.IndexOf('=', StringComparison.Ordinal);
                if (equals < 0)
                {
                    Check(FsConfig(fs, FsconfigSetFlag, option, null, 0), $"fsconfig {option}", target);
                }
                else if (option[..equals] == "lowerdir")
                {
                    foreach (var lower in option[(equals + 1)..].Split(':'))
                    {
                        Check(FsConfig(fs, FsconfigSetString, "lowerdir+", lower, 0), $"fsconfig lowerdir+ {lower}", target);
                    }
                }
                else
                {
                    Check(FsConfig(fs, FsconfigSetString, option[..equals], option[(equals + 1)..], 0), $"fsconfig {option}", target);
                }
            }

            Check(FsConfig(fs, FsconfigCmdCreate, null, null, 0), "fsconfig create", target);
            var mounted = FsMount(fs, 0, 0);
            Check(mounted < 0 ? -1 : 0, "fsmount", target);
            try
            {
                Check(MoveMount(mounted, "", AtFdCwd, target, MoveMountFEmptyPath), "move_mount", target);
            }
            finally
            {
                _ = Close(mounted);
            }
        }
        finally
        {
            _ = Close(fs);
        }
    }

    private static void Check(int result, string what, string target)
    {
        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{what} on {target}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    private sealed class Unmount(string target) : IDisposable
    {
        public void Dispose()
        {
            if (Umount2(target, 0) != 0)
            {
                Check(Umount2(target, MntDetach), "umount", target);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MountCall(string? source, string target, string? type, ulong flags, string? data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);

    [LibraryImport("libc", EntryPoint = "fsopen", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FsOpen(string type, uint flags);

    [LibraryImport("libc", EntryPoint = "fsconfig", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FsConfig(int fd, int command, string? key, string? value, int aux);

    [LibraryImport("libc", EntryPoint = "fsmount", SetLastError = true)]
    private static partial int FsMount(int fd, uint flags, uint attributes);

    [LibraryImport("libc", EntryPoint = "move_mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MoveMount(int fromFd, string fromPath, int toFd, string toPath, uint flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
