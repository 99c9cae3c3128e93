using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker content</c>: the content store's blobs, their labels and ingests in progress.</summary>
public static class ContentCommand
{
    public static Command Create() =>
        new("content", "Manage the content store (blobs by digest, their labels, ingests)")
        {
            ContentListCommand.Create(),
            ContentInfoCommand.Create(),
            ContentRemoveCommand.Create(),
            ContentLabelCommand.Create(),
            ContentIngestCommand.Create(),
            ContentActiveCommand.Create(),
        };
}
