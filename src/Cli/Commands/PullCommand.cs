using System.CommandLine;
using Unpacker.Cli.Progress;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker pull &lt;ref&gt;</c>: unpacks an image from a registry and follows it through its Marten stream.</summary>
public static class PullCommand
{
    public static Command Create()
    {
        var reference = new Argument<string>("reference") { Description = "The image reference, e.g. 127.0.0.1:55000/library/alpine:3.20" };
        var platform = PlatformOption.Create();
        var launcher = new UnpackLauncher();
        var command = new Command("pull", "Unpack an image from a registry into a snapshotter and show its progress") { reference, platform };
        launcher.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var source = new ImageSource(ImageSourceKind.Registry, parse.GetValue(reference)) { Platform = parse.GetValue(platform) };
            return launcher.RunAsync(parse, source, "unpacker pull", cancellationToken);
        });
        return command;
    }
}

/// <summary>The <c>--platform os/arch[/variant]</c> option of <c>pull</c> and <c>import</c>, parsed (a bad value is a usage error).</summary>
internal static class PlatformOption
{
    public static Option<Platform?> Create() => new("--platform")
    {
        Description = "os/arch[/variant] to pick from an index (default: this machine's)",
        CustomParser = result =>
        {
            var text = result.Tokens.Single().Value;
            try
            {
                return Platform.Parse(text);
            }
            catch (FormatException exception)
            {
                result.AddError($"--platform: {exception.Message}");
                return null;
            }
        },
    };
}
