using System.Formats.Tar;
using Unpacker.Archive.Tests.Support;
using static Unpacker.Archive.Tests.Support.FileChecks;

namespace Unpacker.Archive.Tests;

/// <summary>Header encodings our reader must get byte-exact where System.Formats.Tar cannot.</summary>
public sealed class TarFormatTests : IDisposable
{
    private readonly TestRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_non_utf8_name_and_link_target_are_written_byte_for_byte()
    {
        byte[] name = [.. "caf"u8, 0xe9, 0xff, .. ".txt"u8];
        byte[] target = [.. "../t"u8, 0x80, 0xfe];
        await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry { Name = name, Data = "latin1"u8.ToArray() })
            .Add(new RawEntry { Name = [.. "link"u8, 0xa0], Type = (byte)'2', LinkName = target })
            .ToArray());
        var manifest = TestRoot.Manifest(_root.Target);
        Assert.Contains(manifest, line => line.Contains($"\"path\": \"{Convert.ToHexStringLower(name)}\""));
        Assert.Contains(manifest, line => line.Contains($"\"target\": \"{Convert.ToHexStringLower(target)}\""));
    }

    [Fact]
    public async Task A_pax_path_with_non_utf8_bytes_overrides_the_header_name()
    {
        byte[] name = [.. "dir/pax-"u8, 0xc3, 0x28];
        await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry { Name = "placeholder"u8.ToArray(), Data = "p"u8.ToArray(), Pax = [("path", name), ("hdrcharset", "BINARY"u8.ToArray())] })
            .ToArray());
        Assert.Contains(TestRoot.Manifest(_root.Target), line => line.Contains($"\"path\": \"{Convert.ToHexStringLower(name)}\""));
    }

    [Fact]
    public async Task Schily_and_libarchive_xattrs_keep_binary_values()
    {
        byte[] capability = [1, 0, 0, 2, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] binary = [0, 0xff, 0x80, 0x0a, 0x3d];
        await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry
            {
                Name = "caps"u8.ToArray(),
                Pax = [("SCHILY.xattr.security.capability", capability), ("LIBARCHIVE.xattr.user.b%69n", TarBuilder.Bytes(Convert.ToBase64String(binary)))],
            })
            .ToArray());
        Assert.Equal(capability, Xattr(_root.In("caps"), "security.capability"));
        Assert.Equal(binary, Xattr(_root.In("caps"), "user.bin"));
    }

    [Fact]
    public async Task Trusted_xattrs_from_a_layer_are_refused()
    {
        await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry { Name = TarBuilder.Bytes("d"), Type = (byte)'5', Mode = 0x1ed, Pax = [("SCHILY.xattr.trusted.overlay.opaque", "y"u8.ToArray())] })
            .ToArray());
        Assert.Null(Xattr(_root.In("d"), "trusted.overlay.opaque"));
    }

    [Fact]
    public async Task Ids_above_2_pow_21_in_base_256_fields_are_applied()
    {
        await _root.ApplyAsync(new TarBuilder().Add(new RawEntry { Name = "big"u8.ToArray(), Uid = 3_000_000_000, Gid = 2_097_152 }).ToArray());
        var status = LStat(_root.In("big"));
        Assert.Equal((3_000_000_000u, 2_097_152u), (status.Uid, status.Gid));
    }

    [Fact]
    public async Task Ustar_prefix_and_gnu_long_names_rebuild_the_full_path()
    {
        var deep = string.Join('/', Enumerable.Range(0, 12).Select(i => $"level{i:00}")) + "/file-with-a-long-name";
        var longer = string.Join('/', Enumerable.Range(0, 30).Select(i => $"component{i:00}")) + "/leaf";
        await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry { Name = TarBuilder.Bytes(deep), Data = "prefix"u8.ToArray(), UstarPrefix = true })
            .Add(new RawEntry { Name = TarBuilder.Bytes(longer), Data = "gnu"u8.ToArray(), GnuLongNames = true })
            .Add(new RawEntry { Name = TarBuilder.Bytes(longer + "-link"), Type = (byte)'2', LinkName = TarBuilder.Bytes(deep + "/" + longer), GnuLongNames = true })
            .ToArray());
        Assert.Equal("prefix", File.ReadAllText(_root.In(deep)));
        Assert.Equal("gnu", File.ReadAllText(_root.In(longer)));
        Assert.Equal(deep + "/" + longer, new FileInfo(_root.In(longer + "-link")).LinkTarget);
    }

    [Fact]
    public async Task A_pax_global_header_is_read_and_ignored_as_containerd_does()
    {
        var global = TarBuilder.PaxRecord("path", "global-name"u8.ToArray()).Concat(TarBuilder.PaxRecord("comment", "x"u8.ToArray())).ToArray();
        var result = await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry { Name = "pax_global_header"u8.ToArray(), Type = (byte)'g', Data = global })
            .File("real", "content")
            .ToArray());
        Assert.Equal("content", File.ReadAllText(_root.In("real")));
        Assert.False(Exists(_root.In("global-name")));
        Assert.False(Exists(_root.In("pax_global_header")));
        Assert.Equal(1, result.EntryCount);
    }

    [Fact]
    public async Task Pax_times_with_nanoseconds_are_kept_and_times_before_the_epoch_become_the_epoch()
    {
        await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry { Name = "precise"u8.ToArray(), Pax = [("mtime", "1700000000.123456789"u8.ToArray())] })
            .Add(new RawEntry { Name = "ancient"u8.ToArray(), Pax = [("mtime", "-86400.5"u8.ToArray())] })
            .ToArray());
        var precise = LStat(_root.In("precise")).ModifyTime;
        Assert.Equal((1700000000L, 123456789u), (precise.Seconds, precise.Nanoseconds));
        var ancient = LStat(_root.In("ancient")).ModifyTime;
        Assert.Equal((0L, 0u), (ancient.Seconds, ancient.Nanoseconds));
    }

    [Fact]
    public async Task Directory_times_are_restored_after_the_last_entry_and_symlink_times_are_set_without_following()
    {
        await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry { Name = "d"u8.ToArray(), Type = (byte)'5', Mode = 0x1ed, ModifyTime = 1_000_000_000 })
            .Add(new RawEntry { Name = "target"u8.ToArray(), ModifyTime = 1_100_000_000 })
            .Add(new RawEntry { Name = "d/link"u8.ToArray(), Type = (byte)'2', LinkName = "../target"u8.ToArray(), ModifyTime = 1_200_000_000 })
            .Add(new RawEntry { Name = "d/late"u8.ToArray(), ModifyTime = 1_300_000_000 })
            .ToArray());
        Assert.Equal(1_000_000_000L, LStat(_root.In("d")).ModifyTime.Seconds);
        Assert.Equal(1_200_000_000L, LStat(_root.In("d/link")).ModifyTime.Seconds);
        Assert.Equal(1_100_000_000L, LStat(_root.In("target")).ModifyTime.Seconds);
    }

    [Fact]
    public async Task Setuid_setgid_and_sticky_bits_are_kept_without_a_umask()
    {
        await _root.ApplyAsync(new TarBuilder().File("suid", "x", 0xded).File("sgid", "x", 0x5ff).Dir("tmp", 0x3ff)
            .Add(new RawEntry { Name = "owned-suid"u8.ToArray(), Mode = 0x9ed, Uid = 1000, Gid = 1000 }).ToArray());
        Assert.Equal(0xdedu, Mode(_root.In("suid")));
        Assert.Equal(0x5ffu, Mode(_root.In("sgid")));
        Assert.Equal(0x3ffu, Mode(_root.In("tmp")));
        Assert.Equal(0x9edu, Mode(_root.In("owned-suid")));
    }

    [Fact]
    public async Task Device_nodes_and_fifos_are_created_with_their_numbers()
    {
        await _root.ApplyAsync(new TarBuilder()
            .Add(new RawEntry { Name = "dev/null"u8.ToArray(), Type = (byte)'3', DeviceMajor = 1, DeviceMinor = 3, Mode = 0x1b6 })
            .Add(new RawEntry { Name = "dev/big"u8.ToArray(), Type = (byte)'4', DeviceMajor = 4095, DeviceMinor = 1_048_575, Mode = 0x1b0 })
            .Add(new RawEntry { Name = "dev/fifo"u8.ToArray(), Type = (byte)'6', Mode = 0x180 })
            .ToArray());
        var nul = LStat(_root.In("dev/null"));
        Assert.Equal((Native.Libc.S_IFCHR, 1u, 3u, 0x1b6u), (nul.Mode & Native.Libc.S_IFMT, nul.RdevMajor, nul.RdevMinor, nul.Mode & 0xfffu));
        var big = LStat(_root.In("dev/big"));
        Assert.Equal((Native.Libc.S_IFBLK, 4095u, 1_048_575u), (big.Mode & Native.Libc.S_IFMT, big.RdevMajor, big.RdevMinor));
        Assert.Equal(Native.Libc.S_IFIFO, FileType(_root.In("dev/fifo")));
    }

    [Fact]
    public async Task Entries_written_by_dotnet_TarWriter_in_every_format_apply()
    {
        foreach (var format in new[] { TarEntryFormat.Pax, TarEntryFormat.Gnu, TarEntryFormat.Ustar, TarEntryFormat.V7 })
        {
            var output = new MemoryStream();
            await using (var writer = new TarWriter(output, format, leaveOpen: true))
            {
                var type = format == TarEntryFormat.V7 ? TarEntryType.V7RegularFile : TarEntryType.RegularFile;
                var entry = format switch
                {
                    TarEntryFormat.Pax => (TarEntry)new PaxTarEntry(type, $"{format}/file"),
                    TarEntryFormat.Gnu => new GnuTarEntry(type, $"{format}/file"),
                    TarEntryFormat.Ustar => new UstarTarEntry(type, $"{format}/file"),
                    _ => new V7TarEntry(type, $"{format}/file"),
                };
                entry.DataStream = new MemoryStream(TarBuilder.Bytes($"written as {format}"));
                entry.Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                await writer.WriteEntryAsync(entry);
            }

            await _root.ApplyAsync(output.ToArray());
            Assert.Equal($"written as {format}", File.ReadAllText(_root.In($"{format}/file")));
            Assert.Equal(0x180u, Mode(_root.In($"{format}/file")));
        }
    }
}
