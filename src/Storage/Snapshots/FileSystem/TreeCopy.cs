using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Unpacker.Native;
using NativeFileSystem = Unpacker.Native.FileSystem;

namespace Unpacker.Storage.Snapshots.FileSystem;

/// <summary>
/// The native snapshotter's copy of a parent tree (containerd's <c>CopyDir</c>): every file type, owners, modes with
/// setuid/setgid/sticky, xattrs (failures to set one ignored, as containerd does), times, and hard-link groups kept
/// within the copy; names as bytes, so names that are not UTF-8 are copied exactly.
/// It is the slowest part of a native prepare (the whole parent, file by file), so it runs on several threads:
/// directories are shared out among workers as they are found and file contents are copied in the kernel
/// (copy_file_range). Hard-linked files are copied afterwards one group at a time, then every directory gets its
/// attributes, deepest first, so that nothing written later changes a directory's times.
/// </summary>
internal sealed class TreeCopy
{
    private readonly Stack<PendingDirectory> _pending = new();
    private readonly object _gate = new();
    private readonly ConcurrentBag<PendingDirectory> _directories = [];
    private readonly ConcurrentBag<Entry> _linked = [];
    private readonly CancellationToken _cancellationToken;
    private int _busy;
    private ExceptionDispatchInfo? _failure;

    private TreeCopy(CancellationToken cancellationToken) => _cancellationToken = cancellationToken;

    /// <summary>Copies what is inside <paramref name="source"/> into the empty directory <paramref name="destination"/>, then the root's own attributes.</summary>
    public static void Run(NativePath source, NativePath destination, in Libc.Statx rootStatus, int workers, CancellationToken cancellationToken)
    {
        var copy = new TreeCopy(cancellationToken);
        var root = new PendingDirectory(source, destination, rootStatus, 0);
        copy._pending.Push(root);
        copy.RunWorkers(Math.Max(1, workers));
        copy._failure?.Throw();

        foreach (var group in copy._linked.GroupBy(e => (e.Status.DevMajor, e.Status.DevMinor, e.Status.Inode)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var members = group.OrderBy(e => e.Destination.Bytes.ToArray(), ByteOrder.Instance).ToList();
            CopyEntry(members[0]);
            foreach (var member in members.Skip(1))
            {
                Check(NativeFileSystem.TryLink(members[0].Destination, member.Destination), "link", member.Destination);
            }
        }

        foreach (var directory in copy._directories.OrderByDescending(d => d.Depth))
        {
            SetAttributes(directory.Source, directory.Destination, directory.Status, fd: -1);
        }

        SetAttributes(source, destination, rootStatus, fd: -1);
    }

    private void RunWorkers(int workers)
    {
        var threads = Enumerable.Range(1, workers - 1).Select(_ => new Thread(Work) { IsBackground = true, Name = "tree-copy" }).ToList();
        threads.ForEach(t => t.Start());
        Work();
        threads.ForEach(t => t.Join());
    }

    private void Work()
    {
        while (TryTake(out var directory))
        {
            try
            {
                CopyChildren(directory);
            }
            catch (Exception exception)
            {
                lock (_gate)
                {
                    _failure ??= ExceptionDispatchInfo.Capture(exception);
                }
            }
            finally
            {
                lock (_gate)
                {
                    _busy--;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    // Waits while other workers may still find directories; false when the copy is over (or failed).
    private bool TryTake(out PendingDirectory directory)
    {
        lock (_gate)
        {
            while (_pending.Count == 0 && _busy > 0 && _failure is null)
            {
                Monitor.Wait(_gate);
            }

            if (_failure is not null || _pending.Count == 0)
            {
                directory = default;
                return false;
            }

            directory = _pending.Pop();
            _busy++;
            return true;
        }
    }

    private void CopyChildren(PendingDirectory directory)
    {
        foreach (var name in NativeFileSystem.ListDirectory(directory.Source))
        {
            _cancellationToken.ThrowIfCancellationRequested();
            var source = directory.Source.Append(name);
            Check(NativeFileSystem.TryLStat(source, out var status), "lstat", source);
            var entry = new Entry(source, directory.Destination.Append(name), status);
            if (NativeFileSystem.IsDirectory(status))
            {
                Check(NativeFileSystem.TryMkdir(entry.Destination, 0b111_000_000), "mkdir", entry.Destination);
                var child = new PendingDirectory(entry.Source, entry.Destination, status, directory.Depth + 1);
                _directories.Add(child);
                lock (_gate)
                {
                    _pending.Push(child);
                    Monitor.Pulse(_gate);
                }
            }
            else if (status.LinkCount > 1)
            {
                _linked.Add(entry);
            }
            else
            {
                CopyEntry(entry);
            }
        }
    }

    private static void CopyEntry(Entry entry) => EntryCopy.Copy(entry.Source, entry.Destination, entry.Status, keepXattr: null);

    private static void SetAttributes(NativePath source, NativePath destination, in Libc.Statx status, int fd) =>
        EntryCopy.SetAttributes(source, destination, status, fd, keepXattr: null);

    private static void Check(int errno, string operation, NativePath path) => EntryCopy.Check(errno, operation, path);

    private readonly record struct PendingDirectory(NativePath Source, NativePath Destination, Libc.Statx Status, int Depth);

    private readonly record struct Entry(NativePath Source, NativePath Destination, Libc.Statx Status);

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
