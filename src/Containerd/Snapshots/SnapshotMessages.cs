using Google.Protobuf.WellKnownTypes;
using Unpacker.Storage.Snapshots;
using Api = Unpacker.Containerd.Api;

namespace Unpacker.Containerd.Snapshots;

/// <summary>Our snapshot records as containerd's messages, and back.</summary>
internal static class SnapshotMessages
{
    public static Api.Snapshots.Info ToMessage(this SnapshotInfo info)
    {
        var message = new Api.Snapshots.Info
        {
            Name = info.Name,
            Parent = info.Parent ?? string.Empty,
            Kind = info.Kind switch
            {
                SnapshotKind.View => Api.Snapshots.Kind.View,
                SnapshotKind.Active => Api.Snapshots.Kind.Active,
                SnapshotKind.Committed => Api.Snapshots.Kind.Committed,
                _ => Api.Snapshots.Kind.Unknown,
            },
            CreatedAt = Timestamp.FromDateTimeOffset(info.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(info.UpdatedAt),
        };
        foreach (var (key, value) in info.Labels)
        {
            message.Labels[key] = value;
        }

        return message;
    }

    /// <summary>An update's info: only the name and labels matter, the rest is immutable and ignored.</summary>
    public static SnapshotInfo ToInfo(this Api.Snapshots.Info message) =>
        new(message.Name, SnapshotKind.Committed, null, new Dictionary<string, string>(message.Labels), DateTimeOffset.MinValue, DateTimeOffset.MinValue);

    public static IEnumerable<Api.Types.Mount> ToMessages(this IReadOnlyList<Mount> mounts) =>
        mounts.Select(m =>
        {
            var message = new Api.Types.Mount { Type = m.Type, Source = m.Source };
            message.Options.Add(m.Options);
            return message;
        });

    /// <summary>containerd sends an empty parent for none, and labels only when there are some.</summary>
    public static SnapshotOptions Options(IDictionary<string, string> labels) => new() { Labels = new Dictionary<string, string>(labels) };

    public static string? Parent(string parent) => parent.Length == 0 ? null : parent;
}
