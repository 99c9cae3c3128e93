using System.CommandLine;
using System.Diagnostics;
using Marten;
using Unpacker.Saga.History.GetImageHistory;
using Unpacker.Saga.History.GetUnpackSummary;
using Unpacker.Saga.History.GetWorkerStatistics;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker projections rebuild</c>: every read model thrown away and folded again from the raw events, by Marten's projection daemon.</summary>
public static class ProjectionsCommand
{
    /// <summary>The read models, each with the projection that builds it.</summary>
    private static readonly (string Name, Type Projection, Func<IQuerySession, CancellationToken, Task<int>> Count)[] _readModels =
    [
        ("unpack summaries", typeof(UnpackSummaryProjection), (s, ct) => s.Query<UnpackSummary>().CountAsync(ct)),
        ("image histories", typeof(ImageHistoryProjection), (s, ct) => s.Query<ImageHistory>().CountAsync(ct)),
        ("worker statistics", typeof(WorkerStatisticsProjection), (s, ct) => s.Query<WorkerStatistics>().CountAsync(ct)),
    ];

    public static Command Create()
    {
        var timeout = new Option<int>("--shard-timeout") { Description = "Seconds one projection may take to rebuild", DefaultValueFactory = _ => 600 };
        var rebuild = new Command("rebuild", "Rebuild every read model (unpack summaries, image histories, worker statistics) from the raw events") { timeout };
        rebuild.SetAction((parse, cancellationToken) => RebuildAsync(TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken));
        return new Command("projections", "Manage the read models built from the unpack event streams") { rebuild };
    }

    private static async Task<int> RebuildAsync(TimeSpan shardTimeout, CancellationToken cancellationToken)
    {
        using var store = await CliSettings.OpenStoreAsync();
        using var daemon = await store.BuildProjectionDaemonAsync();
        foreach (var (name, projection, count) in _readModels)
        {
            var started = Stopwatch.GetTimestamp();
            await daemon.RebuildProjectionAsync(projection, shardTimeout, cancellationToken);
            await using var session = store.QuerySession();
            Console.WriteLine($"{name}: {await count(session, cancellationToken)} documents rebuilt in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.000}s");
        }

        return ExitCodes.Success;
    }
}
