using System.CommandLine;
using System.Formats.Tar;
using Unpacker.Cli.Progress;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker import &lt;path&gt;</c>: unpacks an image from an OCI layout directory, an oci-archive or a
/// docker-archive (<c>docker save</c>) tar. The Fetcher pool reads the path, so it must be visible to it.
/// </summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "An OCI layout directory, an oci-archive tar or a docker-archive tar; append :tag to pick an image by name" };
        var format = new Option<string?>("--format") { Description = "oci-layout, oci-archive or docker-archive (default: from the path's content)" };
        format.Validators.Add(result =>
        {
            // One line, where the built-in AcceptOnlyFromAmong lists the choices over several.
            if (result.GetValueOrDefault<string?>() is { } value && value is not ("oci-layout" or "oci-archive" or "docker-archive"))
            {
                result.AddError($"--format must be oci-layout, oci-archive or docker-archive, not '{value}'");
            }
        });
        var platform = PlatformOption.Create();
        var launcher = new UnpackLauncher();
        var command = new Command("import", "Unpack an image from an OCI layout, an oci-archive or a docker-archive and show its progress") { path, format, platform };
        launcher.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(() =>
        {
            var (file, tag) = SplitTag(parse.GetValue(path)!);
            var kind = parse.GetValue(format) is { } named ? KindOf(named) : Detect(file);
            var reference = tag is null ? file : $"{file}:{tag}";
            var source = new ImageSource(kind, reference) { Platform = parse.GetValue(platform) };
            return launcher.RunAsync(parse, source, "unpacker import", cancellationToken);
        }));
        return command;
    }

    /// <summary>Splits <c>path[:tag]</c> (the Fetcher's rule: the longest existing prefix is the path), made absolute for the Fetcher.</summary>
    private static (string Path, string? Tag) SplitTag(string argument)
    {
        if (File.Exists(argument) || Directory.Exists(argument))
        {
            return (Path.GetFullPath(argument), null);
        }

        var colon = argument.LastIndexOf(':');
        if (colon > 0 && (File.Exists(argument[..colon]) || Directory.Exists(argument[..colon])))
        {
            return (Path.GetFullPath(argument[..colon]), argument[(colon + 1)..] is { Length: > 0 } tag ? tag : null);
        }

        throw new UsageException($"'{argument}' is neither a directory nor a file; give an OCI layout directory or an image archive (path[:tag])");
    }

    private static ImageSourceKind KindOf(string format) => format switch
    {
        "oci-layout" => ImageSourceKind.OciLayout,
        "oci-archive" => ImageSourceKind.OciArchive,
        _ => ImageSourceKind.DockerArchive,
    };

    /// <summary>A directory is an OCI layout; a tar holding <c>oci-layout</c> is an oci-archive, one holding <c>manifest.json</c> a docker-archive.</summary>
    private static ImageSourceKind Detect(string path)
    {
        if (Directory.Exists(path))
        {
            return File.Exists(Path.Combine(path, "oci-layout"))
                ? ImageSourceKind.OciLayout
                : throw new UsageException($"{path} is a directory without an 'oci-layout' file, so not an OCI image layout");
        }

        var sawManifest = false;
        try
        {
            using var file = File.OpenRead(path);
            using var tar = new TarReader(file);
            while (tar.GetNextEntry() is { } entry)
            {
                var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                if (name == "oci-layout")
                {
                    return ImageSourceKind.OciArchive;
                }

                sawManifest |= name == "manifest.json";
            }
        }
        catch (InvalidDataException exception)
        {
            throw new UsageException($"{path} is not a tar archive ({exception.Message}); give an OCI layout directory, an oci-archive or a docker-archive");
        }

        return sawManifest
            ? ImageSourceKind.DockerArchive
            : throw new UsageException($"{path} has neither 'oci-layout' nor 'manifest.json', so it is neither an oci-archive nor a docker-archive; name it with --format");
    }
}
