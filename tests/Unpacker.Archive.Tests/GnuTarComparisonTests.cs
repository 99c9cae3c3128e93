using Unpacker.Archive.Tests.Support;
using Unpacker.Contracts.Oci;

namespace Unpacker.Archive.Tests;

/// <summary>Real archives made by GNU tar and python's tarfile, applied by us and extracted by GNU tar: the trees must match.</summary>
public sealed class GnuTarComparisonTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    /// <summary>A tree with every entry type, special mode bits, big ids, binary xattrs and a non-UTF-8 name.</summary>
    private string MakeSourceTree()
    {
        var source = _root.Dir("source");
        const string script = """
            import os, sys
            s = sys.argv[1].encode()
            j = lambda *p: os.path.join(s, *p)
            os.makedirs(j(b"dir/sub"), exist_ok=True)
            os.makedirs(j(b"private"), exist_ok=True); os.chmod(j(b"private"), 0o700)
            os.makedirs(j(b"sticky"), exist_ok=True); os.chmod(j(b"sticky"), 0o1777)
            open(j(b"dir/file"), "wb").write(b"hello\n")
            open(j(b"empty"), "wb").close()
            open(j(b"setuid"), "wb").write(b"#!/bin/sh\n"); os.chmod(j(b"setuid"), 0o4755)
            open(j(b"setgid"), "wb").write(b"x"); os.chmod(j(b"setgid"), 0o2711)
            for name, mode in [(b"world-writable", 0o666), (b"everyone", 0o777), (b"read-only", 0o444), (b"no-access", 0o000)]:
                open(j(name), "wb").write(name); os.chmod(j(name), mode)
            open(j(b"big"), "wb").write(os.urandom(3 * 1024 * 1024 + 17))
            open(j(b"caf\xe9-latin1"), "wb").write(b"not utf-8 name")
            os.symlink(b"/etc/passwd", j(b"abs-link"))
            os.symlink(b"dir/file", j(b"rel-link"))
            os.symlink(b"nowhere/at/all", j(b"dangling"))
            os.link(j(b"dir/file"), j(b"dir/sub/hardlink"))
            os.mkfifo(j(b"fifo"))
            os.mknod(j(b"null"), 0o666 | 0o020000, os.makedev(1, 3))
            os.mknod(j(b"loop"), 0o660 | 0o060000, os.makedev(7, 200))
            long = j(b"d" * 60, b"e" * 60, b"f" * 70)
            os.makedirs(os.path.dirname(long)); open(long, "wb").write(b"long name")
            open(j(b"owned"), "wb").write(b"ids"); os.chown(j(b"owned"), 3000000, 4000000)
            open(j(b"caps"), "wb").write(b"cap")
            os.setxattr(j(b"caps"), "security.capability", bytes([1, 0, 0, 2, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
            os.setxattr(j(b"caps"), "user.comment", b"\x00\xff\x80binary")
            for p in [b"dir/file", b"empty", b"dir", b"owned"]:
                os.utime(j(p), ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789), follow_symlinks=False)
            """;
        var scriptFile = Path.Combine(_root.Path, "make_tree.py");
        File.WriteAllText(scriptFile, script);
        TestRoot.Run("python3", _root.Path, scriptFile, source);
        return source;
    }

    private async Task AssertSameAsGnuTarAsync(string archive, string mediaType)
    {
        var expected = _root.Dir("gnu-tar-extract");
        TestRoot.Run("tar", _root.Path, "--xattrs", "--xattrs-include=*", "--same-owner", "--numeric-owner", "-p", "-xf", archive, "-C", expected);
        var blob = await File.ReadAllBytesAsync(archive);
        await _root.ApplyAsync(blob, mediaType);
        TreeAssert.Equal(TestRoot.Manifest(expected, withTimes: true), TestRoot.Manifest(_root.Target, withTimes: true));
    }

    [Theory]
    [InlineData("posix", "-cf", MediaTypes.OciLayer)]
    [InlineData("posix", "-czf", MediaTypes.OciLayerGzip)]
    [InlineData("gnu", "-czf", MediaTypes.DockerLayerGzip)]
    [InlineData("posix", "--zstd -cf", MediaTypes.OciLayerZstd)]
    public async Task A_gnu_tar_archive_of_every_entry_type_applies_as_gnu_tar_extracts_it(string format, string create, string mediaType)
    {
        var source = MakeSourceTree();
        var archive = Path.Combine(_root.Path, "layer");
        TestRoot.Run("tar", source, [$"--format={format}", "--xattrs", "--xattrs-include=*", "--numeric-owner", .. create.Split(' '), archive, "."]);
        await AssertSameAsGnuTarAsync(archive, mediaType);
        Assert.Equal(0x9edu, FileChecks.Mode(_root.In("setuid")));
        Assert.Equal(0x5c9u, FileChecks.Mode(_root.In("setgid")));
        Assert.Equal(0x3ffu, FileChecks.Mode(_root.In("sticky")));

        // Modes the process's umask would take bits from, and modes with no write bit, all kept exactly.
        Assert.Equal((0x1b6u, 0x1ffu, 0x124u, 0u), (FileChecks.Mode(_root.In("world-writable")), FileChecks.Mode(_root.In("everyone")), FileChecks.Mode(_root.In("read-only")), FileChecks.Mode(_root.In("no-access"))));
        var owned = FileChecks.LStat(_root.In("owned"));
        Assert.Equal((3000000u, 4000000u), (owned.Uid, owned.Gid));
    }

    [Fact]
    public async Task A_pax_archive_keeps_binary_xattr_values_byte_for_byte()
    {
        var source = MakeSourceTree();
        var archive = Path.Combine(_root.Path, "layer.tar");
        TestRoot.Run("tar", source, "--format=posix", "--xattrs", "--xattrs-include=*", "-cf", archive, ".");
        await _root.ApplyAsync(await File.ReadAllBytesAsync(archive), MediaTypes.OciLayer);
        Assert.Equal(new byte[] { 1, 0, 0, 2, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, FileChecks.Xattr(_root.In("caps"), "security.capability"));
        Assert.Equal(new byte[] { 0, 0xff, 0x80, (byte)'b', (byte)'i', (byte)'n', (byte)'a', (byte)'r', (byte)'y' }, FileChecks.Xattr(_root.In("caps"), "user.comment"));
    }

    [Theory]
    [InlineData("pax")]
    [InlineData("gnu")]
    [InlineData("ustar")]
    public async Task A_python_tarfile_archive_applies_as_gnu_tar_extracts_it(string format)
    {
        var source = _root.Dir("py-source");
        var archive = Path.Combine(_root.Path, $"{format}.tar");
        var script = $$"""
            import io, os, sys, tarfile
            fmt = {"pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT, "ustar": tarfile.USTAR_FORMAT}["{{format}}"]
            big = fmt != tarfile.USTAR_FORMAT
            with tarfile.open(sys.argv[1], "w", format=fmt, encoding="utf-8", errors="surrogateescape") as t:
                def add(name, kind=tarfile.REGTYPE, data=b"", **kw):
                    i = tarfile.TarInfo(name); i.type = kind; i.size = len(data); i.mtime = 1_650_000_000
                    for k, v in kw.items(): setattr(i, k, v)
                    t.addfile(i, io.BytesIO(data) if data else None)
                add("top", tarfile.DIRTYPE, mode=0o755)
                add("top/file", data=b"content", mode=0o4755)
                add("top/" + "n" * 90, tarfile.DIRTYPE, mode=0o755)
                add("top/" + "n" * 90 + "/" + "m" * 80, data=b"long", mode=0o644)
                add("top/link", tarfile.SYMTYPE, linkname="file")
                add("top/hard", tarfile.LNKTYPE, linkname="top/file", mode=0o4755)  # as tar writers repeat it: GNU tar ignores a link's mode, containerd applies it
                add("top/fifo", tarfile.FIFOTYPE, mode=0o600)
                add("top/tty", tarfile.CHRTYPE, devmajor=5, devminor=0, mode=0o620)
                if big:
                    add("top/bigids", data=b"ids", uid=5_000_000, gid=6_000_000)
                    add("top/caf\udce9", data=b"latin1 name")
            """;
        var scriptFile = Path.Combine(_root.Path, "make_tar.py");
        await File.WriteAllTextAsync(scriptFile, script);
        TestRoot.Run("python3", source, scriptFile, archive);
        await AssertSameAsGnuTarAsync(archive, MediaTypes.OciLayer);
    }

    [Theory]
    [InlineData("gnu", null)]
    [InlineData("posix", "0.0")]
    [InlineData("posix", "0.1")]
    [InlineData("posix", "1.0")]
    public async Task A_sparse_file_is_expanded_to_its_real_size_and_content(string format, string? sparseVersion)
    {
        var source = _root.Dir("sparse-source");
        var file = Path.Combine(source, "sparse.img");
        TestRoot.Run("python3", source, "-c", """
            import sys
            with open(sys.argv[1], "wb") as f:
                f.truncate(64 * 1024 * 1024)
                for offset in (0, 5_000_000, 33_554_432, 64 * 1024 * 1024 - 3):
                    f.seek(offset); f.write(b"data@%d" % offset if offset < 60_000_000 else b"end")
            """, file);
        File.WriteAllText(Path.Combine(source, "plain"), "after the sparse file");
        var archive = Path.Combine(_root.Path, "sparse.tar");
        string[] version = sparseVersion is null ? [] : [$"--sparse-version={sparseVersion}"];
        TestRoot.Run("tar", source, [$"--format={format}", "-S", .. version, "-cf", archive, "sparse.img", "plain"]);
        Assert.True(new FileInfo(archive).Length < 1024 * 1024, "GNU tar stored the file as sparse");

        await AssertSameAsGnuTarAsync(archive, MediaTypes.OciLayer);
        Assert.Equal(64L * 1024 * 1024, new FileInfo(_root.In("sparse.img")).Length);
        Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(_root.In("sparse.img")));
        Assert.Equal("after the sparse file", File.ReadAllText(_root.In("plain")));
    }
}
