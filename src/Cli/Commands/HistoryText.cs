using System.Globalization;
using Unpacker.Saga.History;
using Unpacker.Saga.History.GetUnpackHistory;
using Unpacker.Saga.History.GetUnpackSummary;

namespace Unpacker.Cli.Commands;

/// <summary>The human-readable forms of <c>unpacker history</c>: a header per unpack, a line per event, a row per layer.</summary>
internal static class HistoryText
{
    public static void WriteHeader(TextWriter output, Guid unpackId, UnpackSummary? summary)
    {
        if (summary is null)
        {
            output.WriteLine($"unpack {unpackId}");
            return;
        }

        output.WriteLine($"unpack {unpackId}: {summary.Status}, {summary.Source} into {summary.Snapshotter}, requested by {summary.RequestedBy} at {summary.RequestedAt:yyyy-MM-dd HH:mm:ss} UTC");
        if (summary.ConfigDigest is not null)
        {
            output.WriteLine($"  image {summary.Reference}: config {summary.ConfigDigest}, {summary.Platform}, {summary.LayerCount} layers ({summary.CompressedSize:N0} bytes)");
        }

        output.WriteLine(
            $"  {summary.LayersApplied} applied, {summary.LayersSkipped} skipped, {summary.BytesFetched:N0} bytes fetched, {summary.BytesUncompressed:N0} bytes unpacked"
            + $", {summary.PrepareConflicts} prepare conflicts, {summary.Redrives} re-drives, {summary.StaleReplies} stale replies"
            + (summary.Elapsed is { } elapsed ? $", {Seconds(elapsed)}" : string.Empty));
        if (summary.TopChainId is not null)
        {
            output.WriteLine($"  top chain {summary.TopChainId}");
        }

        if (summary.FailureReason is not null)
        {
            output.WriteLine($"  failed at {summary.FailedStep}{(summary.FailedLayer is { } layer ? $" (layer {layer})" : string.Empty)}: {summary.FailureReason}");
        }

        if (summary.ReplayOf is { } original)
        {
            output.WriteLine($"  a replay of unpack {original}");
        }

        if (summary.ReplayedAs.Count > 0)
        {
            output.WriteLine($"  replayed as {string.Join(", ", summary.ReplayedAs)}");
        }
    }

    public static void WriteEvents(TextWriter output, IReadOnlyList<AuditEntry> entries)
    {
        output.WriteLine($"{"VER",4}  {"TIME (UTC)",-23}  {"+ELAPSED",9}  {"EVENT",-31}  {"LAYER",5}  {"ATT",3}  {"WORKER",-18}  {"HOST",-16}  {"DURATION",9}  WHAT / WHY");
        var start = entries.Count > 0 ? entries[0].Timestamp : default;
        foreach (var e in entries)
        {
            var what = e.Reason is null ? e.Details : $"{e.Details} — because {e.Reason}";
            output.WriteLine(
                $"{e.Version,4}  {e.Timestamp.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture),-23}  {Seconds(e.Timestamp - start),9}  {e.Event,-31}  "
                + $"{Dash(e.LayerIndex),5}  {Dash(e.Attempt),3}  {e.Worker ?? "-",-18}  {e.Host ?? "-",-16}  {(e.Duration is { } d ? Seconds(d) : "-"),9}  {what}");
        }
    }

    public static void WriteLayers(TextWriter output, UnpackSummary summary)
    {
        if (summary.Layers.Count == 0)
        {
            output.WriteLine("  no layers known yet (the image is not resolved)");
            return;
        }

        output.WriteLine($"{"LAYER",5}  {"STATE",-14}  {"CHAIN ID",-19}  {"FETCHED BY",-24}  {"FETCH",9}  {"APPLIED BY",-24}  {"APPLY",9}  {"BYTES",13}  WHY");
        foreach (var layer in summary.Layers)
        {
            output.WriteLine(
                $"{layer.Index,5}  {layer.State.Name(),-14}  {Short(layer.ChainId),-19}  {layer.FetchedBy ?? "-",-24}  {(layer.FetchDuration is { } f ? Seconds(f) : "-"),9}  "
                + $"{layer.AppliedBy ?? "-",-24}  {(layer.ApplyDuration is { } a ? Seconds(a) : "-"),9}  {layer.UncompressedSize,13:N0}  {layer.Why ?? string.Empty}");
        }
    }

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)}s";

    private static string Dash(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string Short(string digest) => digest.Length > 19 ? digest[..19] : digest;
}
