using JasperFx.Events;
using Marten.Events.Projections;
using Unpacker.Contracts;

namespace Unpacker.Saga.History.GetImageHistory;

/// <summary>Folds the streams of every unpack of one image into its <see cref="ImageHistory"/> (async daemon; rebuildable).</summary>
public sealed partial class ImageHistoryProjection : MultiStreamProjection<ImageHistory, string>
{
    public ImageHistoryProjection()
    {
        Identity<ImageResolutionRecorded>(e => e.ConfigDigest.ToString());
        Identity<UnpackSucceeded>(e => e.ConfigDigest.ToString());
        Identities<UnpackFailureRecorded>(e => e.ConfigDigest is { } digest ? [digest.ToString()] : []);
    }

    public static void Apply(ImageHistory history, IEvent<ImageResolutionRecorded> resolved)
    {
        if (!history.References.Contains(resolved.Data.Reference))
        {
            history.References.Add(resolved.Data.Reference);
        }

        history.Unpacks.Add(new ImageUnpack { UnpackId = resolved.StreamId, Reference = resolved.Data.Reference, ResolvedAt = resolved.Timestamp });
    }

    public static void Apply(ImageHistory history, IEvent<UnpackSucceeded> succeeded)
    {
        if (history.Unpacks.Find(u => u.UnpackId == succeeded.StreamId) is { } unpack)
        {
            unpack.Status = "completed";
            unpack.Snapshotter = succeeded.Data.Snapshotter;
            unpack.TopChainId = succeeded.Data.TopChainId.ToString();
            unpack.LayersApplied = succeeded.Data.LayersApplied;
            unpack.LayersSkipped = succeeded.Data.LayersSkipped;
            unpack.EndedAt = succeeded.Timestamp;
        }
    }

    public static void Apply(ImageHistory history, IEvent<UnpackFailureRecorded> failed)
    {
        if (history.Unpacks.Find(u => u.UnpackId == failed.StreamId) is { } unpack)
        {
            unpack.Status = failed.Data.Kind == FailureKind.Cancelled ? "cancelled" : "failed";
            unpack.FailureReason = failed.Data.Reason;
            unpack.EndedAt = failed.Timestamp;
        }
    }
}
