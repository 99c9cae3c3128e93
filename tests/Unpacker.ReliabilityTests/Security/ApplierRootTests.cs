using Unpacker.Testing;

namespace Unpacker.ReliabilityTests.Security;

/// <summary>The Applier writes snapshots beneath its storage root: a root that is the whole filesystem is refused at start.</summary>
public sealed class ApplierRootTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/tmp/..")]
    public async Task The_applier_refuses_to_start_with_the_filesystem_root_as_its_storage_root(string root)
    {
        var environment = new Dictionary<string, string>
        {
            ["UNPACKER_ROOT"] = root,
            ["UNPACKER_WORKER_ID"] = "applier-root-test",
        };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceProcess.StartAsync("Applier", environment));

        Assert.Contains("exited with", error.Message, StringComparison.Ordinal);
        Assert.Contains("the storage root must not be '/'", error.Message, StringComparison.Ordinal);
    }
}
