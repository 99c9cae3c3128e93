using System.CommandLine;
using Unpacker.Contracts.Oci;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker content ingest &lt;ref&gt; --digest D --size N [--input file]</c>: writes a blob from a file or stdin
/// through a resumable ingest; a ref left behind by an interrupted run resumes where it stopped.
/// </summary>
public static class ContentIngestCommand
{
    public static Command Create()
    {
        var reference = new Argument<string>("ref") { Description = "The ingest's name; the same ref resumes an interrupted ingest" };
        var digest = new Option<string>("--digest") { Description = "The expected digest", Required = true };
        var size = new Option<long>("--size") { Description = "The expected size in bytes", Required = true };
        var mediaType = new Option<string>("--media-type") { Description = "The blob's media type", DefaultValueFactory = _ => "application/octet-stream" };
        var labels = new Option<string[]>("--label") { Description = "key=value labels set at commit", AllowMultipleArgumentsPerToken = false };
        var input = new Option<FileInfo?>("--input", "-i") { Description = "Read from this file instead of standard input" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("ingest", "Write a blob into the content store, verifying size and digest") { reference, digest, size, mediaType, labels, input, json };
        command.SetAction((parse, cancellationToken) => ContentCommandContext.RunAsync(async context =>
        {
            var expected = new Descriptor(parse.GetValue(mediaType)!, ContentCommandContext.ParseDigest(parse.GetValue(digest)!), parse.GetValue(size));
            var commitLabels = ParseLabels(parse.GetValue(labels) ?? []);
            await using var source = parse.GetValue(input) is { } file ? file.OpenRead() : Console.OpenStandardInput();
            ContentInfo info;
            try
            {
                info = await IngestAsync(context.Store, parse.GetValue(reference)!, expected, source, commitLabels, cancellationToken);
            }
            catch (AlreadyExistsException)
            {
                info = await context.Store.InfoAsync(expected.Digest, cancellationToken);
                Console.Error.WriteLine($"{expected.Digest} already exists");
            }

            if (parse.GetValue(json))
            {
                ContentCommandContext.WriteJson(info);
            }
            else
            {
                Console.WriteLine($"{info.Digest} {info.Size}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static async Task<ContentInfo> IngestAsync(ContentStore store, string reference, Descriptor expected, Stream source, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        await using var writer = await store.OpenWriterAsync(reference, expected, cancellationToken);
        if (writer.Offset > 0)
        {
            Console.Error.WriteLine($"resuming {reference} at offset {writer.Offset}");
            await SkipAsync(source, writer.Offset, cancellationToken);
        }

        var buffer = new byte[1 << 16];
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        if (writer.Offset < expected.Size)
        {
            // A short input is an interrupted transfer, not a wrong blob: keep what arrived for the next run.
            throw new FailedPreconditionException($"ingest {reference}: the input ended at {writer.Offset} of {expected.Size} bytes; the ingest is kept, run again to resume");
        }

        return await writer.CommitAsync(labels, cancellationToken);
    }

    /// <summary>Moves past what the ingest already holds: a seek on a file, reading and dropping on a pipe.</summary>
    private static async Task SkipAsync(Stream source, long count, CancellationToken cancellationToken)
    {
        if (source.CanSeek)
        {
            source.Seek(count, SeekOrigin.Begin);
            return;
        }

        var buffer = new byte[1 << 16];
        while (count > 0)
        {
            var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken);
            if (read == 0)
            {
                throw new InvalidArgumentException($"the input ended before the ingest's offset {count} bytes from it");
            }

            count -= read;
        }
    }

    private static Dictionary<string, string> ParseLabels(IEnumerable<string> pairs) =>
        pairs.Select(pair => pair.Split('=', 2)).ToDictionary(
            parts => parts[0],
            parts => parts.Length == 2 ? parts[1] : throw new InvalidArgumentException($"label '{parts[0]}' is not key=value"),
            StringComparer.Ordinal);
}
