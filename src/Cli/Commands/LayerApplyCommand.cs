using System.CommandLine;
using Microsoft.Extensions.Logging;
using Unpacker.Archive;
using Unpacker.Contracts.Oci;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker layer apply</c>: applies one layer blob to a directory and prints its diffID last.</summary>
public static class LayerApplyCommand
{
    public static Command Create()
    {
        var layerFile = new Argument<FileInfo>("layer-file") { Description = "The layer blob (gzip, zstd or plain tar)" };
        var targetDirectory = new Argument<DirectoryInfo>("target-dir") { Description = "The directory to apply it to (created if missing)" };
        var mediaType = new Option<string?>("--media-type")
        {
            Description = "The layer's media type; by default the OCI layer type matching the data's compression",
        };
        var mode = new Option<ApplyMode>("--mode")
        {
            Description = "merged: whiteouts delete (native snapshotter); overlay: whiteouts become overlayfs markers",
            DefaultValueFactory = _ => ApplyMode.Merged,
            CustomParser = result => result.Tokens.Single().Value switch
            {
                "merged" => ApplyMode.Merged,
                "overlay" => ApplyMode.OverlayDiff,
                var other => Fail(result, other),
            },
        };
        mode.AcceptOnlyFromAmong("merged", "overlay");
        var lower = new Option<string[]>("--lower")
        {
            Description = "Overlay mode: a lower (parent) directory, nearest first; repeat for more",
            AllowMultipleArgumentsPerToken = false,
        };

        var apply = new Command("apply", "Apply one layer to a directory as containerd does and print its diffID (sha256:…) as the last line")
        {
            layerFile, targetDirectory, mediaType, mode, lower,
        };
        apply.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetRequiredValue(layerFile), parse.GetRequiredValue(targetDirectory), parse.GetValue(mediaType),
            parse.GetValue(mode), parse.GetValue(lower) ?? [], cancellationToken));
        return new Command("layer", "Work with single layers") { apply };
    }

    private static ApplyMode Fail(System.CommandLine.Parsing.ArgumentResult result, string value)
    {
        result.AddError($"--mode must be merged or overlay, not '{value}'");
        return ApplyMode.Merged;
    }

    private static async Task<int> RunAsync(FileInfo layerFile, DirectoryInfo target, string? mediaType, ApplyMode mode,
        string[] lowers, CancellationToken cancellationToken)
    {
        if (!layerFile.Exists)
        {
            await Console.Error.WriteLineAsync($"unpacker: layer file '{layerFile.FullName}' does not exist");
            return ExitCodes.Failed;
        }

        if (mode == ApplyMode.Merged && lowers.Length > 0)
        {
            await Console.Error.WriteLineAsync("unpacker: --lower only applies to --mode overlay");
            return ExitCodes.Usage;
        }

        // Warnings go to stderr: stdout is for the result, whose last line scripts read as the diffID.
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddFilter(level => level >= LogLevel.Warning));
        await using var stream = new FileStream(layerFile.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16,
            FileOptions.SequentialScan);
        mediaType ??= await GuessMediaTypeAsync(stream, cancellationToken);
        target.Create();
        try
        {
            var result = await LayerApplier.ApplyAsync(stream, mediaType, target.FullName, new ApplyOptions
            {
                Mode = mode,
                LowerDirectories = lowers,
                Logger = loggerFactory.CreateLogger("unpacker.layer"),
            }, cancellationToken);
            Console.WriteLine($"size: {result.UncompressedSize} bytes, entries: {result.EntryCount}");
            Console.WriteLine(result.DiffId);
            return ExitCodes.Success;
        }
        catch (LayerApplyException e)
        {
            var dirty = e.TargetIsDirty ? $"; '{target.FullName}' is incomplete and should be removed" : string.Empty;
            await Console.Error.WriteLineAsync($"unpacker: {e.Message}{dirty}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>Without --media-type, the OCI type whose compression matches the data is assumed.</summary>
    private static async Task<string> GuessMediaTypeAsync(FileStream stream, CancellationToken cancellationToken)
    {
        var head = new byte[4];
        var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        stream.Position = 0;
        return Archive.Compression.LayerDecompression.Detect(head.AsSpan(0, read)) switch
        {
            MediaTypes.LayerCompression.Gzip => MediaTypes.OciLayerGzip,
            MediaTypes.LayerCompression.Zstd => MediaTypes.OciLayerZstd,
            _ => MediaTypes.OciLayer,
        };
    }
}
