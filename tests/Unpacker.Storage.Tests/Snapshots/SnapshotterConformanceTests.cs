using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.FileSystem;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>
/// containerd's snapshotter test suite (core/snapshots/testsuite), ported: every scenario runs against each
/// snapshotter on real PostgreSQL, changes are made through real mounts of what the snapshotter returns, and
/// each snapshot is checked both through a mounted view and through <see cref="ISnapshotter.ExportAsync"/>.
/// </summary>
public abstract class SnapshotterConformanceTests : SnapshotterTestBase
{
    private SnapshotterBase? _snapshotter;

    protected abstract string SnapshotterName { get; }

    protected SnapshotterBase Snapshotter => _snapshotter ?? throw new InvalidOperationException("not initialized");

    /// <summary>containerd's <c>opt</c>: every snapshot carries a gc.root label.</summary>
    protected static SnapshotOptions Opt { get; } = new() { Labels = new Dictionary<string, string> { ["containerd.io/gc.root"] = DateTimeOffset.UtcNow.ToString("O") } };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _snapshotter = Context.Create(SnapshotterName);
    }

    [Fact]
    public async Task Basic_prepare_commit_view_and_remove_follow_the_chain()
    {
        var initial = Fs.Apply(
            Fs.CreateFile("/foo", "foo\n", 0b111_111_111),
            Fs.CreateDir("/a", 0b111_101_101),
            Fs.CreateDir("/a/b", 0b111_101_101),
            Fs.CreateDir("/a/b/c", 0b111_101_101));
        var diff = Fs.Apply(
            Fs.CreateFile("/bar", "bar\n", 0b111_111_111),
            Fs.CreateFile("/foo", "bar\n", 0b111_111_111),
            Fs.RemoveAll("/a/b"));

        var mounts = await Snapshotter.PrepareAsync("preparing", null, Opt, _none);
        Assert.NotEmpty(mounts);
        ApplyThroughMounts(mounts, initial);
        await Snapshotter.CommitAsync("committed", "preparing", Opt, _none);

        var committed = await Snapshotter.StatAsync("committed", _none);
        Assert.Null(committed.Parent);
        Assert.Equal(SnapshotKind.Committed, committed.Kind);
        await Assert.ThrowsAsync<NotFoundException>(() => Snapshotter.StatAsync("preparing", _none));

        mounts = await Snapshotter.PrepareAsync("nextlayer", "committed", Opt, _none);
        var flat = Context.NewDirectory("flat");
        initial(flat);
        using (Mount(mounts, out var next))
        {
            DirectoryAssert.Equal(flat, next);
            diff(next);
        }

        var nextInfo = await Snapshotter.StatAsync("nextlayer", _none);
        Assert.Equal("committed", nextInfo.Parent);
        Assert.Equal(SnapshotKind.Active, nextInfo.Kind);
        await Snapshotter.CommitAsync("committed-next", "nextlayer", Opt, _none);
        var committedNext = await Snapshotter.StatAsync("committed-next", _none);
        Assert.Equal("committed", committedNext.Parent);
        Assert.Equal(SnapshotKind.Committed, committedNext.Kind);
        await Assert.ThrowsAsync<NotFoundException>(() => Snapshotter.StatAsync("nextlayer", _none));

        var walked = await WalkAsync();
        AssertSameInfo(committed, walked.Single(i => i.Name == "committed"));
        AssertSameInfo(committedNext, walked.Single(i => i.Name == "committed-next"));

        diff(flat);
        await CheckSnapshotAsync("committed-next", flat);

        var hasChildren = await Assert.ThrowsAsync<FailedPreconditionException>(() => Snapshotter.RemoveAsync("committed", _none));
        Assert.Contains("remove", hasChildren.Message, StringComparison.Ordinal);
        await Snapshotter.RemoveAsync("committed-next", _none);
        await Snapshotter.RemoveAsync("committed", _none);
        Assert.Empty(await WalkAsync());
        Assert.Empty(FileTreeNames(Snapshotter.Layout.SnapshotsDirectory));
    }

    [Fact]
    public async Task Stat_of_an_active_snapshot_says_active_without_parent()
    {
        var mounts = await Snapshotter.PrepareAsync("preparing", null, Opt, _none);
        ApplyThroughMounts(mounts, Fs.CreateFile("/foo", "foo\n", 0b111_111_111));

        var info = await Snapshotter.StatAsync("preparing", _none);

        Assert.Equal("preparing", info.Name);
        Assert.Equal(SnapshotKind.Active, info.Kind);
        Assert.Null(info.Parent);
    }

    [Fact]
    public async Task Stat_of_a_committed_snapshot_says_committed_without_parent()
    {
        var mounts = await Snapshotter.PrepareAsync("preparing", null, Opt, _none);
        ApplyThroughMounts(mounts, Fs.CreateFile("/foo", "foo\n", 0b111_111_111));
        await Snapshotter.CommitAsync("committed", "preparing", Opt, _none);

        var info = await Snapshotter.StatAsync("committed", _none);

        Assert.Equal("committed", info.Name);
        Assert.Equal(SnapshotKind.Committed, info.Kind);
        Assert.Null(info.Parent);
    }

    [Fact]
    public async Task Stat_of_many_keys_at_once_gives_the_kind_of_each_that_exists_and_leaves_out_the_rest()
    {
        await Snapshotter.PrepareAsync("preparing", null, Opt, _none);
        await Snapshotter.CommitAsync("committed", "preparing", Opt, _none);
        await Snapshotter.PrepareAsync("active", "committed", Opt, _none);
        await Snapshotter.ViewAsync("view", "committed", Opt, _none);

        var kinds = await Snapshotter.StatManyAsync(["committed", "active", "view", "missing", "committed"], _none);

        Assert.Equal(
            new Dictionary<string, SnapshotKind> { ["committed"] = SnapshotKind.Committed, ["active"] = SnapshotKind.Active, ["view"] = SnapshotKind.View },
            kinds);
        Assert.Empty(await Snapshotter.StatManyAsync([], _none));
    }

    [Fact]
    public async Task A_grandparent_is_reached_through_the_parent()
    {
        ApplyThroughMounts(await Snapshotter.PrepareAsync("preparing", null, Opt, _none), Fs.CreateFile("/foo", "foo\n", 0b111_111_111));
        await Snapshotter.CommitAsync("snapA", "preparing", Opt, _none);
        ApplyThroughMounts(await Snapshotter.PrepareAsync("next", "snapA", Opt, _none), Fs.CreateFile("/foo", "foo bar\n", 0b111_111_111));
        await Snapshotter.CommitAsync("snapB", "next", Opt, _none);

        var a = await Snapshotter.StatAsync("snapA", _none);
        var b = await Snapshotter.StatAsync("snapB", _none);
        var parentOfB = await Snapshotter.StatAsync(b.Parent!, _none);

        Assert.Null(a.Parent);
        Assert.Equal("snapA", b.Parent);
        Assert.Null(parentOfB.Parent);
    }

    [Fact]
    public async Task Prepare_or_view_of_a_key_in_use_fails_with_already_exists()
    {
        await Snapshotter.PrepareAsync("preparing", null, Opt, _none);
        await Snapshotter.CommitAsync("snapA", "preparing", Opt, _none);

        await Snapshotter.PrepareAsync("newlayer", "snapA", Opt, _none);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Snapshotter.ViewAsync("newlayer", "snapA", Opt, _none));

        await Snapshotter.PrepareAsync("prepLayer", "snapA", Opt, _none);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Snapshotter.PrepareAsync("prepLayer", "snapA", Opt, _none));

        await Snapshotter.ViewAsync("viewLayer", "snapA", Opt, _none);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Snapshotter.ViewAsync("viewLayer", "snapA", Opt, _none));

        await Assert.ThrowsAsync<AlreadyExistsException>(() => Snapshotter.PrepareAsync("snapA", null, Opt, _none));
        Assert.Equal(4, FileTreeNames(Snapshotter.Layout.SnapshotsDirectory).Count);
    }

    [Fact]
    public async Task Update_changes_labels_by_field_path_and_keeps_everything_else()
    {
        var before = DateTimeOffset.UtcNow;
        await CreateBaseSnapshotsAsync();
        var after = DateTimeOffset.UtcNow;
        (string Name, SnapshotKind Kind, string? Parent)[] cases =
        [
            ("c1", SnapshotKind.Committed, null), ("c2", SnapshotKind.Committed, "c1"), ("a1", SnapshotKind.Active, "c2"),
            ("a2", SnapshotKind.Active, null), ("v1", SnapshotKind.View, "c2"), ("v2", SnapshotKind.View, null),
        ];
        foreach (var (name, kind, parent) in cases)
        {
            var info = await Snapshotter.StatAsync(name, _none);
            Assert.InRange(info.CreatedAt, before, after);
            Assert.Equal(info.CreatedAt, info.UpdatedAt);
            Assert.Equal((name, kind, parent), (info.Name, info.Kind, info.Parent));

            var rootTime = DateTimeOffset.UtcNow.ToString("O");
            var expected = new Dictionary<string, string> { ["l1"] = "v1", ["l2"] = "v2", ["l3"] = "v3", ["containerd.io/gc.root"] = rootTime };
            var u1 = DateTimeOffset.UtcNow;
            var updated = await Snapshotter.UpdateAsync(info with { Parent = "doesnotexist", Labels = expected }, [], _none);
            var u2 = DateTimeOffset.UtcNow;
            Assert.Equal(info.CreatedAt, updated.CreatedAt);
            Assert.InRange(updated.UpdatedAt, u1, u2);
            Assert.Equal((name, kind, parent), (updated.Name, updated.Kind, updated.Parent));
            Assert.Equal(expected, updated.Labels);

            updated = await Snapshotter.UpdateAsync(
                updated with { Labels = new Dictionary<string, string> { ["l1"] = "updated", ["l4"] = "v4" } }, ["labels.l1", "labels.l2"], _none);
            Assert.Equal(new Dictionary<string, string> { ["l1"] = "updated", ["l3"] = "v3", ["containerd.io/gc.root"] = rootTime }, updated.Labels);

            var replaced = new Dictionary<string, string> { ["l4"] = "v4", ["containerd.io/gc.root"] = rootTime };
            updated = await Snapshotter.UpdateAsync(updated with { Labels = replaced }, ["labels"], _none);
            Assert.Equal(replaced, updated.Labels);

            await Assert.ThrowsAsync<InvalidArgumentException>(() => Snapshotter.UpdateAsync(updated with { Parent = "doesnotexist" }, ["parent"], _none));
            Assert.Equal(replaced, (await Snapshotter.StatAsync(name, _none)).Labels);
        }
    }

    [Fact]
    public async Task Remove_frees_a_key_for_reuse_and_a_name_for_a_new_commit()
    {
        await Snapshotter.PrepareAsync("committed-a", null, Opt, _none);
        await Snapshotter.CommitAsync("committed-1", "committed-a", Opt, _none);
        await Snapshotter.PrepareAsync("reuse-1", "committed-1", Opt, _none);
        await Snapshotter.RemoveAsync("reuse-1", _none);
        await Snapshotter.ViewAsync("reuse-1", "committed-1", Opt, _none);
        await Snapshotter.RemoveAsync("reuse-1", _none);
        await Snapshotter.PrepareAsync("reuse-1", null, Opt, _none);
        await Snapshotter.RemoveAsync("committed-1", _none);
        await Snapshotter.CommitAsync("committed-1", "reuse-1", Opt, _none);

        Assert.Equal(SnapshotKind.Committed, (await Snapshotter.StatAsync("committed-1", _none)).Kind);
        Assert.Single(FileTreeNames(Snapshotter.Layout.SnapshotsDirectory));
    }

    [Fact]
    public async Task Walk_filters_by_name_parent_kind_and_labels()
    {
        var walk = new SnapshotOptions { Labels = new Dictionary<string, string> { ["containerd.io/gc.root"] = "check-walk" } };
        SnapshotOptions WithL(string value) => new() { Labels = new Dictionary<string, string> { ["l"] = value, ["containerd.io/gc.root"] = "check-walk" } };
        await Snapshotter.PrepareAsync("a-np", null, walk, _none);
        await Snapshotter.PrepareAsync("p-tmp", null, walk, _none);
        await Snapshotter.CommitAsync("p", "p-tmp", walk, _none);
        await Snapshotter.PrepareAsync("a", "p", walk, _none);
        await Snapshotter.ViewAsync("v", "p", walk, _none);
        await Snapshotter.PrepareAsync("p-wl-tmp", null, walk, _none);
        await Snapshotter.CommitAsync("p-wl", "p-wl-tmp", WithL("1"), _none);
        await Snapshotter.PrepareAsync("a-wl", "p-wl", WithL("2"), _none);
        await Snapshotter.ViewAsync("v-wl", "p-wl", WithL("3"), _none);
        await Snapshotter.PrepareAsync("a-np-wl", null, WithL("2"), _none);

        (string[] Matches, string[] Filters)[] cases =
        [
            (["a-np", "p", "a", "v", "p-wl", "a-wl", "v-wl", "a-np-wl"], ["labels.\"containerd.io/gc.root\"==check-walk"]),
            (["a-np", "a", "a-wl", "a-np-wl"], ["kind==active,labels.\"containerd.io/gc.root\"==check-walk"]),
            (["v", "v-wl"], ["kind==view,labels.\"containerd.io/gc.root\"==check-walk"]),
            (["p", "p-wl"], ["kind==committed,labels.\"containerd.io/gc.root\"==check-walk"]),
            (["p", "a-np-wl"], ["name==p", "name==a-np-wl"]),
            (["a-wl"], ["name==a-wl,labels.l"]),
            (["a", "v"], ["parent==p"]),
            (["a", "v", "a-wl", "v-wl"], ["parent!=\"\",labels.\"containerd.io/gc.root\"==check-walk"]),
            (["a-np", "p", "p-wl", "a-np-wl"], ["parent==\"\",labels.\"containerd.io/gc.root\"==check-walk"]),
            (["p-wl", "a-wl", "v-wl", "a-np-wl"], ["labels.l"]),
            (["a-wl", "a-np-wl"], ["labels.l==2"]),
            (["a-np", "a-np-wl"], ["name~=^a-np"]),
        ];
        foreach (var (matches, filters) in cases)
        {
            var actual = await WalkAsync(filters);
            Assert.Equal(matches.Order(StringComparer.Ordinal), actual.Select(i => i.Name).Order(StringComparer.Ordinal));
        }

        await Assert.ThrowsAsync<InvalidArgumentException>(async () => await WalkAsync(["kind=>active"]));
    }

    [Fact]
    public async Task Stat_during_walk_sees_the_same_info()
    {
        await Snapshotter.PrepareAsync("c1-a", null, Opt, _none);
        await Snapshotter.CommitAsync("c1", "c1-a", Opt, _none);
        await Snapshotter.PrepareAsync("c2-a", "c1", Opt, _none);
        await Snapshotter.CommitAsync("c2", "c2-a", Opt, _none);
        await Snapshotter.PrepareAsync("a1", "c2", Opt, _none);
        await Snapshotter.ViewAsync("v1", "c2", Opt, _none);

        var seen = 0;
        await foreach (var info in Snapshotter.WalkAsync([], _none))
        {
            AssertSameInfo(info, await Snapshotter.StatAsync(info.Name, _none));
            seen++;
        }

        Assert.Equal(4, seen);
    }

    [Fact]
    public async Task A_file_updated_in_an_upper_layer_shows_the_new_content_and_mode()
    {
        var l1 = Fs.Apply(
            Fs.CreateDir("/etc", 0b111_000_000),
            Fs.CreateFile("/etc/hosts", "mydomain 10.0.0.1", 0b110_100_100),
            Fs.CreateFile("/etc/profile", "PATH=/usr/bin", 0b110_100_100));
        var l2 = Fs.Apply(
            Fs.CreateFile("/etc/hosts", "mydomain 10.0.0.2", 0b110_100_100),
            Fs.CreateFile("/etc/profile", "PATH=/usr/bin", 0b110_110_110),
            Fs.CreateDir("/root", 0b111_000_000),
            Fs.CreateFile("/root/.bashrc", "PATH=/usr/sbin:/usr/bin", 0b110_100_100));

        // containerd repeats across a second boundary: a change within one second must not be missed.
        await CheckSnapshotsAsync(l1, l2);
        await Task.Delay(TimeSpan.FromMilliseconds(1000 - DateTime.UtcNow.Millisecond));
        await CheckSnapshotsAsync(l1, l2);
    }

    [Fact]
    public async Task A_directory_removed_and_recreated_hides_the_lower_contents()
    {
        await CheckSnapshotsAsync(
            Fs.Apply(Fs.CreateDir("/lib", 0b111_000_000), Fs.CreateFile("/lib/hidden", "", 0b110_100_100)),
            Fs.Apply(Fs.RemoveAll("/lib"), Fs.CreateDir("/lib", 0b111_000_000), Fs.CreateFile("/lib/not-hidden", "", 0b110_100_100)),
            Fs.Apply(Fs.CreateFile("/lib/newfile", "", 0b110_100_100)));
    }

    [Fact]
    public async Task Chown_in_an_upper_layer_changes_the_owner_of_lower_entries()
    {
        await CheckSnapshotsAsync(
            Fs.Apply(
                Fs.CreateDir("/opt", 0b111_000_000),
                Fs.CreateDir("/opt/a", 0b111_000_000),
                Fs.CreateDir("/opt/a/b", 0b111_000_000),
                Fs.CreateFile("/opt/a/b/file.txt", "hello", 0b110_100_100)),
            Fs.Apply(
                Fs.Chown("/opt", 1, 1),
                Fs.Chown("/opt/a", 1, 1),
                Fs.Chown("/opt/a/b", 1, 1),
                Fs.Chown("/opt/a/b/file.txt", 1, 1)));
    }

    [Fact]
    public async Task Directory_owners_survive_commit_removal_and_recreation()
    {
        await CheckSnapshotsAsync(
            Fs.Apply(
                Fs.CreateDir("/dir1", 0b111_000_000),
                Fs.CreateDir("/dir2", 0b111_000_000),
                Fs.CreateDir("/dir3", 0b111_000_000),
                Fs.CreateDir("/dir4", 0b111_000_000),
                Fs.CreateFile("/dir4/f1", "...", 0b110_100_100),
                Fs.CreateDir("/dir5", 0b111_000_000),
                Fs.CreateFile("/dir5/f1", "...", 0b110_100_100),
                Fs.Chown("/dir1", 1, 1),
                Fs.Chown("/dir2", 1, 1),
                Fs.Chown("/dir3", 1, 1),
                Fs.Chown("/dir5", 1, 1),
                Fs.Chown("/dir5/f1", 1, 1)),
            Fs.Apply(Fs.Chown("/dir2", 0, 0), Fs.RemoveAll("/dir3"), Fs.Chown("/dir4", 1, 1), Fs.Chown("/dir4/f1", 1, 1)),
            Fs.Apply(
                Fs.CreateDir("/dir3", 0b111_000_000),
                Fs.Chown("/dir3", 1, 1),
                Fs.RemoveAll("/dir5"),
                Fs.CreateDir("/dir5", 0b111_000_000),
                Fs.Chown("/dir5", 1, 1)));
    }

    [Fact]
    public async Task An_intermediate_snapshot_cannot_be_removed_while_it_has_children()
    {
        await Snapshotter.PrepareAsync("base", null, Opt, _none);
        await Snapshotter.CommitAsync("committed-base", "base", Opt, _none);
        await Snapshotter.PrepareAsync("intermediate", "committed-base", Opt, _none);
        await Snapshotter.CommitAsync("committed-inter", "intermediate", Opt, _none);
        await Snapshotter.PrepareAsync("toplayer", "committed-inter", Opt, _none);

        await Assert.ThrowsAsync<FailedPreconditionException>(() => Snapshotter.RemoveAsync("committed-inter", _none));
        Assert.Equal(SnapshotKind.Committed, (await Snapshotter.StatAsync("committed-inter", _none)).Kind);

        await Snapshotter.RemoveAsync("toplayer", _none);
        await Snapshotter.RemoveAsync("committed-inter", _none);
        await Snapshotter.RemoveAsync("committed-base", _none);
        Assert.Empty(FileTreeNames(Snapshotter.Layout.SnapshotsDirectory));
    }

    [Fact]
    public async Task Files_deleted_in_a_child_stay_deleted_in_its_children()
    {
        await CheckSnapshotsAsync(
            Fs.Apply(Fs.CreateFile("/foo", "foo\n", 0b111_111_111), Fs.CreateFile("/foobar", "foobar\n", 0b111_111_111)),
            Fs.Apply(Fs.RemoveAll("/foobar")),
            Fs.Apply());
    }

    [Fact]
    public async Task Files_moved_and_linked_from_a_lower_layer_appear_only_at_their_new_place()
    {
        await CheckSnapshotsAsync(
            Fs.Apply(
                Fs.CreateDir("/dir1", 0b111_000_000),
                Fs.CreateFile("/dir1/f1", "Hello", 0b110_100_100),
                Fs.CreateDir("dir2", 0b111_000_000),
                Fs.CreateFile("dir2/f2", "...", 0b110_100_100)),
            Fs.Apply(
                Fs.CreateDir("/dir3", 0b111_000_000),
                Fs.CreateFile("/dir3/f1", "Hello", 0b110_100_100),
                Fs.RemoveAll("/dir1"),
                Fs.Link("dir2/f2", "dir3/f2"),
                Fs.RemoveAll("dir2/f2")));
    }

    [Fact]
    public async Task A_view_is_mounted_read_only()
    {
        await Snapshotter.PrepareAsync("preparing", null, Opt, _none);
        await Snapshotter.CommitAsync("committed", "preparing", Opt, _none);
        var mounts = await Snapshotter.ViewAsync("view", "committed", Opt, _none);

        using (Mount(mounts, out var target))
        {
            var write = Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(target, "testfile"), "testcontent"));
            Assert.Contains("Read-only", write.Message, StringComparison.OrdinalIgnoreCase);
        }

        await Snapshotter.RemoveAsync("view", _none);
        await Snapshotter.RemoveAsync("committed", _none);
    }

    [Fact]
    public async Task The_root_of_a_new_snapshot_has_mode_0755()
    {
        var mounts = await Snapshotter.PrepareAsync("preparing", null, Opt, _none);

        using (Mount(mounts, out var target))
        {
            Assert.Equal(0b111_101_101u, Posix.Lstat(target).Permissions);
        }
    }

    [Fact]
    public async Task Renamed_files_replace_and_move_lower_entries()
    {
        var changes = new List<FsChange>();
        if (RenamesDirectoriesFromLowerLayers)
        {
            changes.Add(Fs.Rename("/dir1", "/dir2"));
        }

        changes.Add(Fs.CreateFile("/somefiles/f1-overwrite", "new content 1", 0b110_100_100));
        changes.Add(Fs.Rename("/somefiles/f1-overwrite", "/somefiles/f1"));
        changes.Add(Fs.Rename("/somefiles/f2", "/somefiles/f3"));

        await CheckSnapshotsAsync(
            Fs.Apply(
                Fs.CreateDir("/dir1", 0b111_000_000),
                Fs.CreateDir("/somefiles", 0b111_000_000),
                Fs.CreateFile("/somefiles/f1", "was here first!", 0b110_100_100),
                Fs.CreateFile("/somefiles/f2", "nothing interesting", 0b110_100_100)),
            Fs.Apply([.. changes]));
    }

    [Fact]
    public async Task A_chain_of_128_layers_mounts_and_exports_like_a_flat_directory()
    {
        var layers = new List<FsChange>
        {
            Fs.Apply(
                Fs.CreateFile("/bottom", "way at the bottom\n", 0b111_111_111),
                Fs.CreateFile("/overwriteme", "FIRST!\n", 0b111_111_111),
                Fs.CreateDir("/addhere", 0b111_101_101),
                Fs.CreateDir("/onlyme", 0b111_101_101),
                Fs.CreateFile("/onlyme/bottom", "bye!\n", 0b111_111_111)),
        };
        for (var i = 1; i <= 127; i++)
        {
            layers.Add(Fs.Apply(
                Fs.CreateFile("/overwriteme", $"{i} WAS HERE!\n", 0b111_111_111),
                Fs.CreateFile($"/addhere/file-{i}", "same\n", 0b111_101_101),
                Fs.RemoveAll("/onlyme"),
                Fs.CreateDir("/onlyme", 0b111_101_101),
                Fs.CreateFile($"/onlyme/file-{i}", "only me!\n", 0b111_111_111)));
        }

        var flat = Context.NewDirectory("flat");
        string? parent = null;
        for (var i = 0; i < layers.Count; i++)
        {
            var mounts = await Snapshotter.PrepareAsync($"prepare-layer-{i}", parent, Opt, _none);
            using (Mount(mounts, out var preparing))
            {
                DirectoryAssert.Equal(flat, preparing);
                layers[i](flat);
                layers[i](preparing);
                DirectoryAssert.Equal(flat, preparing);
            }

            parent = $"committed-{i}";
            await Snapshotter.CommitAsync(parent, $"prepare-layer-{i}", Opt, _none);
        }

        await CheckSnapshotAsync(parent!, flat);
    }

    [Fact]
    public async Task Error_kinds_follow_containerds_table()
    {
        await Snapshotter.PrepareAsync("base-a", null, Opt, _none);
        await Snapshotter.CommitAsync("base", "base-a", Opt, _none);
        await Snapshotter.PrepareAsync("active", "base", Opt, _none);
        await Snapshotter.ViewAsync("view", "base", Opt, _none);
        await Snapshotter.PrepareAsync("other", null, Opt, _none);

        await Assert.ThrowsAsync<NotFoundException>(() => Snapshotter.PrepareAsync("x", "missing", Opt, _none));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Snapshotter.PrepareAsync("x", "active", Opt, _none));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Snapshotter.ViewAsync("x", "view", Opt, _none));
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Snapshotter.CommitAsync("base", "other", Opt, _none));
        await Assert.ThrowsAsync<NotFoundException>(() => Snapshotter.CommitAsync("new", "missing", Opt, _none));
        await Assert.ThrowsAsync<FailedPreconditionException>(() => Snapshotter.CommitAsync("new", "view", Opt, _none));
        await Assert.ThrowsAsync<FailedPreconditionException>(() => Snapshotter.CommitAsync("new", "base", Opt, _none));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Snapshotter.CommitAsync("new", "active", Opt with { Parent = "other-parent" }, _none));
        await Assert.ThrowsAsync<NotFoundException>(() => Snapshotter.RemoveAsync("missing", _none));
        await Assert.ThrowsAsync<FailedPreconditionException>(() => Snapshotter.RemoveAsync("base", _none));
        await Assert.ThrowsAsync<FailedPreconditionException>(() => Snapshotter.MountsAsync("base", _none));
        await Assert.ThrowsAsync<NotFoundException>(() => Snapshotter.StatAsync("missing", _none));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Snapshotter.PrepareAsync("x", null, new SnapshotOptions { Labels = new Dictionary<string, string> { ["big"] = new string('x', 5000) } }, _none));

        // Nothing failed half-way: the four snapshots and their directories are all that exist.
        Assert.Equal(["active", "base", "other", "view"], (await WalkAsync()).Select(i => i.Name).Order(StringComparer.Ordinal));
        Assert.Equal(4, FileTreeNames(Snapshotter.Layout.SnapshotsDirectory).Count);
    }

    [Fact]
    public async Task Containerds_namespaced_keys_name_snapshots_and_never_become_paths()
    {
        // containerd's metadata layer passes "<namespace>/<n>/<key>"; a key that looks like a path must stay a name.
        const string escaping = "parity/7/../../../etc/extract-1";
        const string name = "parity/8/sha256:0123456789abcdef";
        var mounts = await Snapshotter.PrepareAsync(escaping, null, Opt, _none);
        await Snapshotter.CommitAsync(name, escaping, Opt, _none);
        await Snapshotter.ViewAsync("parity/9/view", name, Opt, _none);

        Assert.Equal(SnapshotKind.Committed, (await Snapshotter.StatAsync(name, _none)).Kind);
        Assert.StartsWith(Snapshotter.Layout.SnapshotsDirectory + "/", mounts[0].Source, StringComparison.Ordinal);
        Assert.DoesNotContain("..", mounts[0].Source, StringComparison.Ordinal);
        Assert.Equal(2, FileTreeNames(Snapshotter.Layout.SnapshotsDirectory).Count);
        Assert.Equal(["parity/8/sha256:0123456789abcdef", "parity/9/view"], (await WalkAsync()).Select(i => i.Name).Order(StringComparer.Ordinal));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Snapshotter.PrepareAsync(string.Empty, null, Opt, _none));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Snapshotter.PrepareAsync("parity/1/nul\0", null, Opt, _none));
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Snapshotter.CommitAsync(string.Empty, "parity/9/view", Opt, _none));
    }

    [Fact]
    public async Task Commit_replaces_the_labels_of_the_active_snapshot()
    {
        await Snapshotter.PrepareAsync("a", null, new SnapshotOptions { Labels = new Dictionary<string, string> { ["prepared"] = "yes" } }, _none);

        await Snapshotter.CommitAsync("c", "a", new SnapshotOptions { Labels = new Dictionary<string, string> { ["committed"] = "yes" } }, _none);

        Assert.Equal(new Dictionary<string, string> { ["committed"] = "yes" }, (await Snapshotter.StatAsync("c", _none)).Labels);
    }

    [Fact]
    public async Task Mounts_of_an_active_snapshot_stay_the_same_until_commit()
    {
        var prepared = await Snapshotter.PrepareAsync("a", null, Opt, _none);

        var again = await Snapshotter.MountsAsync("a", _none);

        Assert.Equal(prepared.Select(Describe), again.Select(Describe));
    }

    [Fact]
    public async Task Usage_counts_the_bytes_and_inodes_a_snapshot_adds()
    {
        var mounts = await Snapshotter.PrepareAsync("a", null, Opt, _none);
        var empty = await Snapshotter.UsageAsync("a", _none);
        ApplyThroughMounts(mounts, Fs.Apply(Fs.CreateFile("/big", new string('x', 64 * 1024), 0b110_100_100), Fs.Link("/big", "/big-link")));

        var used = await Snapshotter.UsageAsync("a", _none);

        Assert.Equal(empty.Inodes + 1, used.Inodes);
        Assert.InRange(used.Size - empty.Size, 64 * 1024, 80 * 1024);
    }

    [Fact]
    public async Task An_expired_lease_is_reaped_and_a_renewed_one_is_kept()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var snapshotter = Context.Create(SnapshotterName, time);
        await snapshotter.PrepareAsync("dead-worker", null, Opt with { Lease = new SnapshotLease("worker-1", TimeSpan.FromMinutes(1)) }, _none);
        await snapshotter.PrepareAsync("live-worker", null, Opt with { Lease = new SnapshotLease("worker-2", TimeSpan.FromMinutes(1)) }, _none);
        await snapshotter.PrepareAsync("no-lease", null, Opt, _none);
        await snapshotter.PrepareAsync("c-a", null, Opt, _none);
        await snapshotter.CommitAsync("committed", "c-a", Opt, _none);

        time.Advance(TimeSpan.FromSeconds(50));
        var renewed = await snapshotter.RenewLeaseAsync("live-worker", new SnapshotLease("worker-2", TimeSpan.FromMinutes(1)), _none);
        await Assert.ThrowsAsync<FailedPreconditionException>(() => snapshotter.RenewLeaseAsync("live-worker", new SnapshotLease("worker-3", TimeSpan.FromMinutes(1)), _none));
        await Assert.ThrowsAsync<FailedPreconditionException>(() => snapshotter.RenewLeaseAsync("committed", new SnapshotLease("worker-2", TimeSpan.FromMinutes(1)), _none));
        time.Advance(TimeSpan.FromSeconds(20));
        var report = await snapshotter.ReapAsync(time.GetUtcNow(), TimeSpan.FromMinutes(10), _none);

        Assert.Equal(new SnapshotLeaseInfo("worker-2", time.GetUtcNow() + TimeSpan.FromSeconds(40)), renewed.Lease);
        Assert.Equal(["dead-worker"], report.RemovedSnapshots);
        var reaped = Assert.Single(report.Reaped);
        Assert.Equal("worker-1", reaped.LeaseOwner);
        Assert.Equal(Opt.Labels!["containerd.io/gc.root"], reaped.Labels["containerd.io/gc.root"]);
        Assert.Empty(report.RemovedDirectories);
        Assert.Equal(["committed", "live-worker", "no-lease"], (await WalkAsync()).Select(i => i.Name).Order(StringComparer.Ordinal));
        Assert.Equal(3, FileTreeNames(snapshotter.Layout.SnapshotsDirectory).Count);
    }

    [Fact]
    public async Task Directories_without_metadata_are_reaped_once_older_than_the_grace()
    {
        await Snapshotter.PrepareAsync("kept", null, Opt, _none);
        var leftovers = new[] { "new-0123456789ab", "rm-0123456789ab", "ba9876543210" };
        foreach (var name in leftovers)
        {
            Directory.CreateDirectory(Path.Combine(Snapshotter.Layout.SnapshotsDirectory, name, "fs", "deep"));
        }

        var young = await Snapshotter.ReapAsync(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10), _none);
        var old = await Snapshotter.ReapAsync(DateTimeOffset.UtcNow.AddMinutes(11), TimeSpan.FromMinutes(10), _none);

        Assert.Empty(young.RemovedDirectories);
        Assert.Equal(leftovers.Order(StringComparer.Ordinal), old.RemovedDirectories.Order(StringComparer.Ordinal));
        Assert.Equal([(await Snapshotter.StatAsync("kept", _none)).Id!], FileTreeNames(Snapshotter.Layout.SnapshotsDirectory));
    }

    /// <summary>overlayfs cannot rename a lower directory without redirect_dir (containerd skips that step for it).</summary>
    protected virtual bool RenamesDirectoriesFromLowerLayers => true;

    protected static IDisposable Mount(IReadOnlyList<Mount> mounts, out string target)
    {
        target = Directory.CreateTempSubdirectory("unpacker-mount-").FullName;
        var path = target;
        var mounted = Mounter.MountAll(mounts, target);
        return new Cleanup(() =>
        {
            mounted.Dispose();
            Directory.Delete(path);
        });
    }

    private protected static void ApplyThroughMounts(IReadOnlyList<Mount> mounts, FsChange change)
    {
        using (Mount(mounts, out var target))
        {
            change(target);
        }
    }

    /// <summary>containerd's checkSnapshots: builds a chain from the changes, checking each snapshot against a flat directory.</summary>
    private protected async Task CheckSnapshotsAsync(params FsChange[] changes)
    {
        var flat = Context.NewDirectory("flat");
        string? parent = null;
        foreach (var change in changes)
        {
            var name = $"layer-{Guid.NewGuid():N}";
            ApplyThroughMounts(await Snapshotter.PrepareAsync($"{name}-prepare", parent, Opt, _none), change);
            await Snapshotter.CommitAsync(name, $"{name}-prepare", Opt, _none);
            change(flat);
            await CheckSnapshotAsync(name, flat);
            parent = name;
        }
    }

    /// <summary>containerd's checkSnapshot through a mounted view, plus the same check through export.</summary>
    protected async Task CheckSnapshotAsync(string name, string flat)
    {
        var view = $"{name}-view";
        using (Mount(await Snapshotter.ViewAsync(view, name, Opt, _none), out var mounted))
        {
            DirectoryAssert.Equal(flat, mounted);
        }

        await Snapshotter.RemoveAsync(view, _none);
        var exported = Context.NewDirectory("export");
        await Snapshotter.ExportAsync(name, exported, _none);
        DirectoryAssert.Equal(flat, exported);
    }

    protected async Task<List<SnapshotInfo>> WalkAsync(params string[] filters)
    {
        var infos = new List<SnapshotInfo>();
        await foreach (var info in Snapshotter.WalkAsync(filters, _none))
        {
            infos.Add(info);
        }

        return infos;
    }

    protected static List<string> FileTreeNames(string directory) => FileTree.Names(directory).ToList();

    private async Task CreateBaseSnapshotsAsync()
    {
        await Snapshotter.PrepareAsync("c1-a", null, Opt, _none);
        await Snapshotter.CommitAsync("c1", "c1-a", Opt, _none);
        await Snapshotter.PrepareAsync("c2-a", "c1", Opt, _none);
        await Snapshotter.CommitAsync("c2", "c2-a", Opt, _none);
        await Snapshotter.PrepareAsync("a1", "c2", Opt, _none);
        await Snapshotter.PrepareAsync("a2", null, Opt, _none);
        await Snapshotter.ViewAsync("v1", "c2", Opt, _none);
        await Snapshotter.ViewAsync("v2", null, Opt, _none);
    }

    private static void AssertSameInfo(SnapshotInfo expected, SnapshotInfo actual)
    {
        Assert.Equal((expected.Name, expected.Kind, expected.Parent, expected.CreatedAt, expected.UpdatedAt), (actual.Name, actual.Kind, actual.Parent, actual.CreatedAt, actual.UpdatedAt));
        Assert.Equal(expected.Labels, actual.Labels);
    }

    private static string Describe(Mount mount) => $"{mount.Type} {mount.Source} {string.Join(',', mount.Options)}";

    private sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}

/// <summary>The conformance suite against <c>native</c>.</summary>
public sealed class NativeSnapshotterConformanceTests : SnapshotterConformanceTests
{
    protected override string SnapshotterName => "native";
}

/// <summary>The conformance suite against <c>overlayfs</c>.</summary>
public sealed class OverlaySnapshotterConformanceTests : SnapshotterConformanceTests
{
    protected override string SnapshotterName => "overlayfs";

    protected override bool RenamesDirectoriesFromLowerLayers => false;
}
