using System.Text;

namespace Unpacker.Testing.Images;

/// <summary>
/// A three-layer image holding every kind of entry a layer can carry, to compare our apply with containerd's:
/// directories with setgid and sticky bits, setuid files, hardlink groups inside and across layers, symlinks
/// (relative, absolute, dangling, with a long target), char and block devices, fifos, non-UTF-8 names, a PAX
/// sparse file, binary xattrs (security.capability included), owners above 2^21, sub-second times, whiteouts
/// of files, directories and non-UTF-8 names, an opaque directory with entries before and after its marker,
/// and type changes (symlink → file, directory → symlink, symlink → directory).
/// Layers 1 and 2 are gzip, layer 3 uncompressed.
/// </summary>
public sealed class ParityImage
{
    private readonly Dictionary<string, long> _directoryTimes = [];
    private readonly bool _crossLayerHardlinks;

    private ParityImage(bool crossLayerHardlinks)
    {
        _crossLayerHardlinks = crossLayerHardlinks;
        Image = new TestImageBuilder()
            .WithLayer(TestLayer.FromTar(Base()))
            .WithLayer(TestLayer.FromTar(Changes()))
            .WithLayer(TestLayer.FromTar(Top(), gzip: false))
            .Build();
    }

    public TestImage Image { get; }

    /// <summary>
    /// For each directory an entry declares, the mtime (seconds) of the last layer that declares it, keyed by the
    /// path's bytes read as Latin-1 (so non-UTF-8 names have a key). A lower directory that no later layer touches
    /// must keep this time.
    /// </summary>
    public IReadOnlyDictionary<string, long> DirectoryTimes => _directoryTimes;

    /// <summary>
    /// The image; <paramref name="crossLayerHardlinks"/> false leaves out the two hardlinks to files of lower layers,
    /// which containerd 1.6's overlayfs snapshotter cannot unpack (it applies into the empty upper dir).
    /// </summary>
    public static ParityImage Create(bool crossLayerHardlinks = true) => new(crossLayerHardlinks);

    /// <summary>security.capability as setcap writes it (VFS_CAP_REVISION_2, effective; cap_setuid and cap_net_bind_service permitted): binary, with 0x80.</summary>
    public static readonly byte[] Capability = [0x01, 0, 0, 0x02, 0x80, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static readonly byte[] NonUtf8File = [.. "data/caf"u8, 0xe9];
    private static readonly byte[] NonUtf8Directory = [.. "data/"u8, 0xff, 0xfe];

    private byte[] Base()
    {
        var t = new TarBuilder();
        long time = 1_600_000_000;
        Dir(t, "etc", 0x1ed, time++);
        File(t, "etc/hostname", "parity\n", 0x1a4, time++);
        Add(t, new RawEntry { Name = B("etc/shadow"), Data = B("root:*:19000::::::\n"), Mode = 0x1a0, Gid = 42, ModifyTime = time++ });
        Add(t, new RawEntry { Name = B("etc/subsecond"), Data = B("times\n"), ModifyTime = time++, Pax = [("mtime", B("1600000123.456789012"))] });
        Dir(t, "usr", 0x1ed, time++);
        Dir(t, "usr/bin", 0x1ed, time++);
        Dir(t, "usr/lib", 0x1ed, time++);
        File(t, "usr/bin/tool", "#!/bin/sh\necho tool\n", 0x9ed, time++); // 04755: setuid
        Add(t, new RawEntry { Name = B("usr/bin/sgid"), Data = B("sgid"), Mode = 0x5ed, Gid = 50, ModifyTime = time++ }); // 02755
        Add(t, new RawEntry { Name = B("usr/bin/tool-link"), Type = (byte)'1', LinkName = B("usr/bin/tool"), Mode = 0x9ed, ModifyTime = time++ });
        File(t, "usr/bin/other", "other", 0x1ed, time++);
        Add(t, new RawEntry { Name = B("usr/bin/other-link"), Type = (byte)'1', LinkName = B("usr/bin/other"), Mode = 0x1c0, Uid = 5, ModifyTime = time++ }); // its own mode and owner
        Add(t, new RawEntry
        {
            Name = B("usr/bin/ping"),
            Data = B("ping"),
            Mode = 0x1ed,
            ModifyTime = time++,
            Pax = [("SCHILY.xattr.security.capability", Capability), ("SCHILY.xattr.user.comment", [0, 0xff, 0x80, 0x0a, 0x3d])],
        });
        Add(t, new RawEntry { Name = B("usr/bin/arping"), Data = B("arping"), Mode = 0x1e8, Gid = 50, ModifyTime = time++, Pax = [("SCHILY.xattr.security.capability", Capability)] });
        Add(t, new RawEntry { Name = B("usr/bin/sh"), Type = (byte)'2', LinkName = B("tool"), Mode = 0x1ff, ModifyTime = time++ });
        Add(t, new RawEntry { Name = B("etc/localtime"), Type = (byte)'2', LinkName = B("/usr/share/zoneinfo/UTC"), Mode = 0x1ff, ModifyTime = time++ });
        Add(t, new RawEntry { Name = B("lib"), Type = (byte)'2', LinkName = B("usr/lib"), Mode = 0x1ff, ModifyTime = time++ });
        Add(t, new RawEntry { Name = B("usr/lib/long-target"), Type = (byte)'2', LinkName = B("../" + new string('t', 140)), Mode = 0x1ff, ModifyTime = time++ });
        Dir(t, "tmp", 0x3ff, time++); // 01777: sticky
        Dir(t, "srv", 0x1ed, time++);
        Add(t, new RawEntry { Name = B("srv/shared"), Type = (byte)'5', Mode = 0x5fd, Uid = 1000, Gid = 1000, ModifyTime = time++ }); // 02775
        Dir(t, "dev", 0x1ed, time++);
        Add(t, new RawEntry { Name = B("dev/null"), Type = (byte)'3', Mode = 0x1b6, DeviceMajor = 1, DeviceMinor = 3, ModifyTime = time++ });
        Add(t, new RawEntry { Name = B("dev/loop0"), Type = (byte)'4', Mode = 0x1b0, Gid = 6, DeviceMajor = 7, DeviceMinor = 0, ModifyTime = time++ });
        Add(t, new RawEntry { Name = B("dev/initctl"), Type = (byte)'6', Mode = 0x180, ModifyTime = time++ });
        Dir(t, "data", 0x1ed, time++);
        Add(t, new RawEntry { Name = NonUtf8File, Data = B("latin-1 name"), ModifyTime = time++ });
        Dir(t, NonUtf8Directory, 0x1ed, time++);
        Add(t, new RawEntry { Name = [.. NonUtf8Directory, .. "/inside"u8], Data = B("x"), ModifyTime = time++ });
        Add(t, new RawEntry { Name = B("data/big-owner"), Data = B("ids above 2^21"), Uid = 3_000_000, Gid = 3_000_001, ModifyTime = time++ });
        t.Add(Sparse("data/sparse.img", time++));
        Add(t, new RawEntry { Name = B("data/" + new string('g', 120)), Data = B("GNU long name"), GnuLongNames = true, ModifyTime = time++ });
        Dir(t, "old", 0x1ed, time++);
        File(t, "old/a", "a", 0x1a4, time++);
        Dir(t, "old/sub", 0x1ed, time++);
        File(t, "old/sub/c", "c", 0x1a4, time++);
        Dir(t, "opaque", 0x1ed, time++);
        File(t, "opaque/x", "x", 0x1a4, time++);
        Dir(t, "opaque/d", 0x1ed, time++);
        File(t, "opaque/d/y", "y", 0x1a4, time++);
        File(t, "gone", "bye", 0x1a4, time++);
        Dir(t, "var", 0x1ed, time++);
        Dir(t, "var/lib", 0x1ed, time++);
        Add(t, new RawEntry { Name = B("var/lib/data"), Type = (byte)'5', Mode = 0x1e8, Uid = 1000, Gid = 1000, ModifyTime = time++ }); // 0750
        Add(t, new RawEntry { Name = B("var/lib/data/file"), Data = B("owned"), Mode = 0x180, Uid = 1000, Gid = 1000, ModifyTime = time++ });
        Dir(t, "empty", 0x1c0, time++);
        return t.ToArray();
    }

    private byte[] Changes()
    {
        var t = new TarBuilder();
        long time = 1_650_000_000;
        File(t, ".wh.gone", "", 0x1a4, time++);
        File(t, ".wh.old", "", 0x1a4, time++);
        File(t, "opaque/new", "written before the marker", 0x1a4, time++);
        File(t, "opaque/.wh..wh..opq", "", 0x1a4, time++);
        File(t, "opaque/newer", "written after the marker", 0x1a4, time++);
        if (_crossLayerHardlinks)
        {
            Add(t, new RawEntry { Name = B("etc/hostname-link"), Type = (byte)'1', LinkName = B("etc/hostname"), ModifyTime = time++ });
        }

        File(t, "usr/bin/sh", "#!/bin/tool\n", 0x1ed, time++); // was a symlink
        Add(t, new RawEntry { Name = B("srv/shared"), Type = (byte)'2', LinkName = B("/tmp"), Mode = 0x1ff, ModifyTime = time++ }); // was a directory
        Dir(t, "lib", 0x1ed, time++); // was a symlink
        Add(t, new RawEntry { Name = B("var/lib/data"), Type = (byte)'5', Mode = 0x1c0, Uid = 2000, Gid = 2001, ModifyTime = time++ }); // new owner and mode
        Add(t, new RawEntry
        {
            Name = B("usr/bin/ping"),
            Data = B("ping, patched"),
            Mode = 0x1ed,
            ModifyTime = time++,
            Pax = [("SCHILY.xattr.security.capability", Capability), ("SCHILY.xattr.user.comment", [0xc3, 0x28, 0x00, 0x01])],
        });
        Add(t, new RawEntry { Name = B("dev/zero"), Type = (byte)'3', Mode = 0x1b6, DeviceMajor = 1, DeviceMinor = 5, ModifyTime = time++ });
        Add(t, new RawEntry { Name = [.. "data/.wh."u8, .. NonUtf8File.AsSpan(5)], ModifyTime = time++ });
        return t.ToArray();
    }

    private byte[] Top()
    {
        var t = new TarBuilder();
        long time = 1_700_000_000;
        Dir(t, "etc", 0x1ed, time++);
        File(t, "etc/new", "top layer", 0x1a4, time++);
        if (_crossLayerHardlinks)
        {
            Add(t, new RawEntry { Name = B("usr/bin/tool-link2"), Type = (byte)'1', LinkName = B("usr/bin/tool-link"), Mode = 0x9ed, ModifyTime = time++ });
        }

        File(t, "opaque/.wh.newer", "", 0x1a4, time++);
        Add(t, new RawEntry { Name = B("tmp/pipe"), Type = (byte)'6', Mode = 0x1a4, ModifyTime = time++ });
        return t.ToArray();
    }

    private void Dir(TarBuilder tar, string name, int mode, long time) => Dir(tar, B(name), mode, time);

    private void Dir(TarBuilder tar, byte[] name, int mode, long time) =>
        Add(tar, new RawEntry { Name = name, Type = (byte)'5', Mode = mode, ModifyTime = time });

    private void Add(TarBuilder tar, RawEntry entry)
    {
        tar.Add(entry);
        if (entry.Type == (byte)'5')
        {
            _directoryTimes[Encoding.Latin1.GetString(entry.Name)] = entry.ModifyTime;
        }
    }

    private void File(TarBuilder tar, string name, string content, int mode, long time) =>
        Add(tar, new RawEntry { Name = B(name), Data = B(content), Mode = mode, ModifyTime = time });

    /// <summary>A PAX 1.0 sparse file (what <c>tar --sparse --format=posix</c> writes): 4 MiB with two data segments.</summary>
    private static RawEntry Sparse(string name, long time)
    {
        const long realSize = 4 << 20;
        (long Offset, byte[] Data)[] segments = [(0, Fill(4096, (byte)'A')), (2 << 20, Fill(8192, (byte)'B'))];
        var map = new StringBuilder().Append(segments.Length + 1).Append('\n');
        foreach (var (offset, data) in segments)
        {
            map.Append(offset).Append('\n').Append(data.Length).Append('\n');
        }

        map.Append(realSize).Append("\n0\n");
        var mapBlock = new byte[(map.Length + 511) / 512 * 512];
        Encoding.ASCII.GetBytes(map.ToString()).CopyTo(mapBlock, 0);
        var slash = name.LastIndexOf('/');
        return new RawEntry
        {
            Name = B($"{name[..slash]}/GNUSparseFile.0/{name[(slash + 1)..]}"),
            Data = [.. mapBlock, .. segments.SelectMany(s => s.Data)],
            ModifyTime = time,
            Pax =
            [
                ("GNU.sparse.major", B("1")),
                ("GNU.sparse.minor", B("0")),
                ("GNU.sparse.name", B(name)),
                ("GNU.sparse.realsize", B(realSize.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            ],
        };
    }

    private static byte[] Fill(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);
}
