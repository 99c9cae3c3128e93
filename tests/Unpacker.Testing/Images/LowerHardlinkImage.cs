using System.Text;

namespace Unpacker.Testing.Images;

/// <summary>
/// Three layers whose upper layers hard-link files of the layers below them, which containerd 1.6's overlayfs
/// snapshotter fails on and its native snapshotter unpacks. Layer 2 links: a plain file (owner, mode and xattrs of its
/// own, the link header's taking over), one name of a file with two names, then the other name (one copy for all
/// four), a file reached through a lower symlink (<c>lib → usr/lib</c>), a lower symlink itself, a file whose
/// directories the layer does not touch (copied-up parents keep their times), a file the layer replaces after linking
/// it, a link to one of its own such links, and a link it replaces afterwards. Layer 3 links again a file layer 2
/// copied up and whites out one name of the four. Every directory that gets new names is declared by the layer, so
/// directory times are archive times on both snapshotters and compare exactly.
/// </summary>
public static class LowerHardlinkImage
{
    /// <summary>security.capability as setcap writes it: a chown on the shared inode drops it on both snapshotters alike.</summary>
    private static readonly byte[] Capability = ParityImage.Capability;

    public static IReadOnlyList<byte[]> Tars { get; } = [Base(), Links(), Top()];

    public static TestImage Build() => new TestImageBuilder()
        .WithLayer(TestLayer.FromTar(Tars[0]))
        .WithLayer(TestLayer.FromTar(Tars[1]))
        .WithLayer(TestLayer.FromTar(Tars[2], gzip: false))
        .Build();

    /// <summary>Two layers, the second hard-linking <c>etc/absent</c>, which no layer holds.</summary>
    public static TestImage BuildWithMissingTarget() => new TestImageBuilder()
        .WithLayer(TestLayer.FromTar(Tars[0]))
        .WithLayer(TestLayer.FromTar(MissingTarget()))
        .Build();

    /// <summary>The second layer of <see cref="BuildWithMissingTarget"/>.</summary>
    public static byte[] MissingTarget() => new TarBuilder()
        .Add(Dir("etc", 1_650_000_000))
        .File("etc/present", "fine")
        .Add(Link("etc/absent", "etc/dangling", 0x1a4, 1_650_000_001))
        .ToArray();

    private static byte[] Base()
    {
        var t = new TarBuilder();
        long time = 1_600_000_000;
        t.Add(Dir("etc", time++));
        t.Add(new RawEntry { Name = B("etc/hostname"), Data = B("unpacker\n"), Mode = 0x1a0, Uid = 7, Gid = 8, ModifyTime = time++, Pax = [("SCHILY.xattr.user.note", B("lower"))] });
        t.Add(Dir("usr", time++));
        t.Add(Dir("usr/bin", time++));
        t.Add(new RawEntry { Name = B("usr/bin/tool"), Data = B("#!/bin/sh\necho tool\n"), Mode = 0x9ed, ModifyTime = time++ }); // 04755
        t.Add(Link("usr/bin/tool", "usr/bin/tool-link", 0x9ed, time++));
        t.Add(new RawEntry { Name = B("usr/bin/sh"), Type = (byte)'2', LinkName = B("tool"), Mode = 0x1ff, ModifyTime = time++ });
        t.Add(Dir("usr/lib", time++));
        t.Add(new RawEntry { Name = B("usr/lib/libc.so"), Data = B("libc"), Mode = 0x1ed, ModifyTime = time++, Pax = [("SCHILY.xattr.security.capability", Capability)] });
        t.Add(new RawEntry { Name = B("lib"), Type = (byte)'2', LinkName = B("usr/lib"), Mode = 0x1ff, ModifyTime = time++ });
        t.Add(Dir("opt", time++));
        t.Add(Dir("opt/app", time++, 0x1e8)); // 0750
        t.Add(Dir("opt/app/bin", time++));
        t.Add(new RawEntry { Name = B("opt/app/bin/run"), Data = B("run"), Mode = 0x1ed, Uid = 1000, Gid = 1000, ModifyTime = time++ });
        t.Add(Dir("var", time++));
        t.Add(new RawEntry { Name = B("var/data"), Data = B("old data"), ModifyTime = time++ });
        return t.ToArray();
    }

    private static byte[] Links()
    {
        var t = new TarBuilder();
        long time = 1_650_000_000;
        t.Add(Dir("etc", time++));
        t.Add(Link("etc/hostname", "etc/hostname-link", 0x1a4, time++)); // its owner (root) and mode take over the shared inode
        t.Add(Dir("usr", time++));
        t.Add(Dir("usr/bin", time++));
        t.Add(Link("usr/bin/tool-link", "usr/bin/tool-link2", 0x9ed, time++));
        t.Add(Link("usr/bin/tool", "usr/bin/tool-link3", 0x9ed, time++));
        t.Add(Link("lib/libc.so", "libc-link", 0x1ed, time++));
        t.Add(Link("usr/bin/sh", "sh-hard", 0x1ff, time++));
        t.Add(Link("opt/app/bin/run", "run-link", 0x1ed, time++) with { Uid = 1000, Gid = 1000 });
        t.Add(Dir("var", time++));
        t.Add(Link("var/data", "var/data-link", 0x1a4, time++));
        t.Add(new RawEntry { Name = B("var/data"), Data = B("new data"), ModifyTime = time++ });
        t.Add(Link("etc/hostname-link", "etc/chain", 0x1a4, time++));
        t.Add(Link("etc/hostname", "replaced", 0x1a4, time++));
        t.Add(new RawEntry { Name = B("replaced"), Data = B("not a link any more"), ModifyTime = time++ });
        return t.ToArray();
    }

    private static byte[] Top()
    {
        var t = new TarBuilder();
        long time = 1_700_000_000;
        t.Add(Dir("usr", time++));
        t.Add(Dir("usr/bin", time++));
        t.Add(new RawEntry { Name = B("usr/bin/.wh.tool"), ModifyTime = time++ });
        t.Add(Dir("etc", time++));
        t.Add(Link("etc/hostname", "etc/hostname-3", 0x1a4, time++));
        return t.ToArray();
    }

    private static RawEntry Dir(string name, long time, int mode = 0x1ed) => new() { Name = B(name), Type = (byte)'5', Mode = mode, ModifyTime = time };

    private static RawEntry Link(string target, string name, int mode, long time) =>
        new() { Name = B(name), Type = (byte)'1', LinkName = B(target), Mode = mode, ModifyTime = time };

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);
}
