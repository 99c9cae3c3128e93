using Microsoft.Extensions.Configuration;
using Unpacker.Hosting.Configuration;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Saga.Tests.Options;

/// <summary>What the saga knows of each snapshotter comes from its descriptor, and configuration can still add or override one.</summary>
public sealed class UnpackSagaOptionsTests
{
    [Fact]
    public void The_default_snapshotters_are_every_known_descriptor_with_its_rebase()
    {
        var options = new UnpackSagaOptions();

        Assert.Equal(
            SnapshotterDescriptors.All.Select(d => (d.Name, d.CanRebase)),
            options.Snapshotters.Select(s => (s.Key, s.Value.CanRebase)));
        Assert.True(options.Snapshotters["overlayfs"].CanRebase);
        Assert.False(options.Snapshotters["native"].CanRebase);
    }

    [Fact]
    public void A_configured_snapshotter_overrides_a_known_ones_rebase_or_adds_a_new_one_beside_the_descriptors()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Saga:Snapshotters:native:CanRebase"] = "true",
                ["Saga:Snapshotters:ghost:CanRebase"] = "false",
            })
            .Build();

        var options = configuration.Bind<UnpackSagaOptions>(UnpackSagaOptions.Section);

        Assert.Equal(["ghost", "native", "overlayfs"], options.Snapshotters.Keys.Order(StringComparer.Ordinal));
        Assert.True(options.Snapshotters["native"].CanRebase);
        Assert.True(options.Snapshotters["overlayfs"].CanRebase);
        Assert.False(options.Snapshotters["ghost"].CanRebase);
        Assert.Equal(["linux"], options.Snapshotters["ghost"].OperatingSystems);
    }
}
