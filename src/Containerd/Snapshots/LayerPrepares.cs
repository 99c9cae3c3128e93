using System.Diagnostics.Metrics;
using Marten;
using Microsoft.Extensions.Logging;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Containerd.Snapshots;

/// <summary>
/// What became of each Prepare containerd's unpacker sent for a layer (one carrying <c>containerd.io/snapshot.ref</c>):
/// answered from a layer Unpacker pre-warmed on this node (containerd skips it) or prepared for containerd to
/// extract. Counted for Prometheus and logged, so an operator sees whether a pre-warm paid off on the node; a
/// pre-warmed answer is also recorded in PostgreSQL (<see cref="PrewarmedPrepareAnswered"/>, kept after containerd
/// removes the alias, which meanwhile is a row of the node's metadata labelled <see cref="PrewarmedLabel"/>).
/// </summary>
public sealed partial class LayerPrepares(IDocumentStore store, TimeProvider time, ILogger<LayerPrepares> logger)
{
    public const string MeterName = "Unpacker.Containerd";

    /// <summary>containerd's label naming the committed chain ID a Prepare of its unpacker wants (a remote snapshot's target).</summary>
    public const string SnapshotRefLabel = "containerd.io/snapshot.ref";

    /// <summary>On an alias: the name of Unpacker's committed snapshot whose tree it shares; containerd copies it into its own labels.</summary>
    public const string PrewarmedLabel = "unpacker.io/prewarmed-from";

    public const string AnswerPrewarmed = "prewarmed";
    public const string AnswerExtract = "extract";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Prepares = Meter.CreateCounter<long>("unpacker.containerd.layer.prepares", "{prepare}",
        "Layer prepares from containerd's unpacker, by snapshotter and answer: prewarmed (skipped; an alias of a layer Unpacker committed) or extract (containerd applies the layer)");

    /// <summary>Records the answer (before containerd hears it: an answer that cannot be recorded is not given), counts and logs it.</summary>
    public async Task PrewarmedAsync(string node, string snapshotter, string target, string alias, CancellationToken cancellationToken)
    {
        await PrewarmedPrepares.RecordAsync(store, new PrewarmedPrepareAnswered(node, snapshotter, target, alias, time.GetUtcNow()), cancellationToken);
        Count(snapshotter, AnswerPrewarmed);
        LogPrewarmed(snapshotter, target, alias);
    }

    public void Extract(string snapshotter, string target, string key)
    {
        Count(snapshotter, AnswerExtract);
        LogExtract(snapshotter, target, key);
    }

    private static void Count(string snapshotter, string answer) =>
        Prepares.Add(1, new KeyValuePair<string, object?>("snapshotter", snapshotter), new KeyValuePair<string, object?>("answer", answer));

    [LoggerMessage(Level = LogLevel.Information, Message = "containerd prepare on {Snapshotter} for {Target}: pre-warmed, answered AlreadyExists as {Alias}")]
    private partial void LogPrewarmed(string snapshotter, string target, string alias);

    [LoggerMessage(Level = LogLevel.Information, Message = "containerd prepare on {Snapshotter} for {Target}: not pre-warmed on this node, prepared {Key} for containerd to extract")]
    private partial void LogExtract(string snapshotter, string target, string key);
}
