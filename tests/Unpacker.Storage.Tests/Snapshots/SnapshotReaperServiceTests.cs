using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>The reaper as a service hosts it: registered through DI, running on its own until stopped.</summary>
public sealed class SnapshotReaperServiceTests
{
    [Fact]
    public async Task A_hosted_reaper_removes_an_expired_lease_and_a_leftover_directory_on_its_own()
    {
        await using var context = await SnapshotterTestContext.CreateAsync();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IDocumentStore>(context.Store)
            .AddSnapshotters(context.Root, SnapshotterTestContext.Node)
            .AddSnapshotReaper(new SnapshotReaperOptions { Interval = TimeSpan.FromMilliseconds(100), OrphanGrace = TimeSpan.Zero });
        await using var provider = services.BuildServiceProvider();
        var overlay = provider.GetRequiredService<Snapshotters>().Get("overlayfs");
        await overlay.PrepareAsync("kept", null, null, CancellationToken.None);
        await overlay.PrepareAsync("expired", null, new SnapshotOptions { Lease = new SnapshotLease("gone", TimeSpan.FromMilliseconds(1)) }, CancellationToken.None);
        var leftover = Directory.CreateDirectory(overlay.Layout.Temporary("0123456789ab")).FullName;

        var reaper = provider.GetServices<IHostedService>().OfType<SnapshotReaperService>().Single();
        await reaper.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((Directory.Exists(leftover) || await ExistsAsync(overlay, "expired")) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await reaper.StopAsync(CancellationToken.None);

        Assert.False(Directory.Exists(leftover));
        Assert.False(await ExistsAsync(overlay, "expired"));
        Assert.True(await ExistsAsync(overlay, "kept"));
    }

    private static async Task<bool> ExistsAsync(ISnapshotter snapshotter, string key)
    {
        try
        {
            await snapshotter.StatAsync(key, CancellationToken.None);
            return true;
        }
        catch (NotFoundException)
        {
            return false;
        }
    }
}
