using System.Text.Json;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary><c>unpacker snapshots ls|info|mounts|rm|export</c> as a user runs them, reading UNPACKER_* like the services.</summary>
public sealed class SnapshotsCliTests : SnapshotterTestBase
{
    [Fact]
    public async Task Every_snapshots_command_answers_in_json_and_errors_carry_their_kind()
    {
        var overlay = Context.Create("overlayfs");
        var lower = await overlay.PrepareAsync("lower-a", null, new SnapshotOptions { Labels = new Dictionary<string, string> { ["x"] = "1" } }, _none);
        await File.WriteAllTextAsync(Path.Combine(lower[0].Source, "hello"), "hi");
        await overlay.CommitAsync("lower", "lower-a", new SnapshotOptions { Labels = new Dictionary<string, string> { ["role"] = "base" } }, _none);
        await overlay.PrepareAsync("top", "lower", null, _none);

        var ls = await Json("ls", "overlayfs", "--filter", "kind==committed");
        var info = await Json("info", "overlayfs", "lower");
        var mounts = await Json("mounts", "overlayfs", "top");
        var target = Path.Combine(Context.Work, "exported");
        var export = await Json("export", "overlayfs", "top", target);
        var mountsOfCommitted = await CliProcess.RunAsync(Context, "snapshots", "mounts", "overlayfs", "lower", "--json");
        var removeParent = await CliProcess.RunAsync(Context, "snapshots", "rm", "overlayfs", "lower", "--json");
        var remove = await Json("rm", "overlayfs", "top", "lower");

        Assert.Equal(["lower"], ls.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(("committed", "base"), (info.GetProperty("kind").GetString(), info.GetProperty("labels").GetProperty("role").GetString()));
        Assert.True(info.GetProperty("usage").GetProperty("inodes").GetInt64() >= 2);
        Assert.Equal("overlay", mounts[0].GetProperty("type").GetString());
        Assert.Contains(mounts[0].GetProperty("options").EnumerateArray(), o => o.GetString()!.StartsWith("upperdir=", StringComparison.Ordinal));
        Assert.Equal(target, export.GetProperty("directory").GetString());
        Assert.Equal("hi", await File.ReadAllTextAsync(Path.Combine(target, "hello")));
        Assert.Equal((1, "FailedPrecondition"), (mountsOfCommitted.ExitCode, ErrorKind(mountsOfCommitted.Output)));
        Assert.Equal((1, "FailedPrecondition"), (removeParent.ExitCode, ErrorKind(removeParent.Output)));
        Assert.Equal(["top", "lower"], remove.GetProperty("removed").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(Directory.GetFileSystemEntries(overlay.Layout.SnapshotsDirectory));
    }

    [Fact]
    public async Task A_missing_snapshot_or_an_unknown_snapshotter_is_reported_by_kind_on_standard_error()
    {
        var missing = await CliProcess.RunAsync(Context, "snapshots", "info", "native", "nope");
        var unknown = await CliProcess.RunAsync(Context, "snapshots", "ls", "zfs");

        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("NotFound: snapshot nope does not exist in native", missing.Error, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("InvalidArgument: unknown snapshotter zfs", unknown.Error, StringComparison.Ordinal);
    }

    private async Task<JsonElement> Json(params string[] arguments)
    {
        var (exitCode, output, error) = await CliProcess.RunAsync(Context, ["snapshots", .. arguments, "--json"]);
        Assert.True(exitCode == 0, $"unpacker snapshots {string.Join(' ', arguments)} exited {exitCode}: {error}{output}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private static string? ErrorKind(string output) => JsonDocument.Parse(output).RootElement.GetProperty("error").GetProperty("kind").GetString();
}
