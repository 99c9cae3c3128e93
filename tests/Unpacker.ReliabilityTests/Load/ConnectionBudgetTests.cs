using Npgsql;
using Unpacker.Contracts.Unpacking;
using Unpacker.ReliabilityTests.Support;
using Unpacker.Saga.History;
using Unpacker.Storage.Content;
using Unpacker.Testing;
using Unpacker.Testing.Images;
using Xunit.Abstractions;

namespace Unpacker.ReliabilityTests.Load;

/// <summary>
/// No PostgreSQL connection is held across a download: writers of the content store serialize on leases in rows,
/// one short statement at a time, so a Fetcher downloading twenty blobs at once stays within a pool of eight.
/// </summary>
public sealed class ConnectionBudgetTests(ITestOutputHelper output)
{
    private const int Blobs = 20;
    private const int Budget = 8;

    [Fact]
    public async Task A_fetcher_downloading_twenty_blobs_at_once_stays_within_a_pool_of_eight_connections()
    {
        await using var stack = await ServiceStack.StartAsync("rel-budget", new ServiceStackOptions
        {
            Environment = FaultSettings.With(new Dictionary<string, string>
            {
                ["Postgres__MaxPoolSize"] = Budget.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Fetcher__MaxConcurrentDownloads"] = Blobs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Saga__MaxFetchesInFlight"] = Blobs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Saga__FetchAheadBytes"] = "0",
            }),
        });
        var fetcher = stack.Processes.Single(p => p.Name == "Fetcher").WorkerId!;

        // Twenty blobs of 1 MiB through a registry sending each at 256 KiB/s: every download lasts about four seconds.
        await using var proxy = new ThrottlingProxy(TestServers.RegistryHost, TestServers.RegistryPort, bytesPerSecond: 256 * 1024);
        var builder = new TestImageBuilder();
        for (var i = 0; i < Blobs; i++)
        {
            builder.WithLayer(TestLayer.Random(1024 * 1024, $"blob-{i}.bin"));
        }

        var request = ServiceStack.NewRequest(await FaultImages.PushAsync(builder.Build(), "rel-budget", proxy.Address), "native");
        using var sampling = new CancellationTokenSource();
        var samples = SampleAsync(stack, fetcher, sampling.Token);
        var outcome = await stack.UnpackAsync(request, TimeSpan.FromMinutes(3));
        await sampling.CancelAsync();
        var (connections, leases) = await samples;

        Assert.IsType<UnpackCompleted>(outcome);
        output.WriteLine($"the Fetcher held at most {connections} connections while up to {leases} blob leases were held at once");
        // A writer holding a connection for its download could not be one of more writers at once than the pool has.
        Assert.True(leases > Budget, $"at most {leases} blobs were being written at once, not more than the {Budget} connections of the pool");
        Assert.True(connections <= Budget, $"the Fetcher held {connections} connections, over its pool of {Budget}");
        var history = await stack.HistoryAsync(request.UnpackId);
        Assert.Empty(history.OfType<StepRedriven>());
        Assert.Equal(Blobs, history.OfType<BlobFetchFinished>().Count());
    }

    /// <summary>Every 50 ms until cancelled: the most connections the Fetcher held, and the most blob leases held at once.</summary>
    private static async Task<(long Connections, long Leases)> SampleAsync(ServiceStack stack, string fetcher, CancellationToken stop)
    {
        var (connections, leases) = (0L, 0L);
        await using var connection = new NpgsqlConnection(stack.Postgres.ConnectionString);
        await connection.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand(
            $"""
            select (select count(*) from pg_stat_activity where application_name = $1),
                   (select count(*) from {ContentLeaseTable.Name(stack.Store)} where name like 'blob://%' and expires_at > clock_timestamp())
            """,
            connection);
        command.Parameters.AddWithValue(fetcher);
        while (!stop.IsCancellationRequested)
        {
            await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                await reader.ReadAsync(CancellationToken.None);
                connections = Math.Max(connections, reader.GetInt64(0));
                leases = Math.Max(leases, reader.GetInt64(1));
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return (connections, leases);
    }
}
