using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker content info &lt;digest&gt;</c>.</summary>
public static class ContentInfoCommand
{
    public static Command Create()
    {
        var digest = new Argument<string>("digest") { Description = "The blob's digest (sha256:...)" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("info", "Show a blob's size, times and labels") { digest, json };
        command.SetAction((parse, cancellationToken) => ContentCommandContext.RunAsync(async context =>
        {
            var info = await context.Store.InfoAsync(ContentCommandContext.ParseDigest(parse.GetValue(digest)!), cancellationToken);
            if (parse.GetValue(json))
            {
                ContentCommandContext.WriteJson(info);
                return ExitCodes.Success;
            }

            Console.WriteLine($"digest:  {info.Digest}");
            Console.WriteLine($"size:    {info.Size}");
            Console.WriteLine($"created: {info.CreatedAt:O}");
            Console.WriteLine($"updated: {info.UpdatedAt:O}");
            Console.WriteLine("labels:");
            foreach (var (key, value) in info.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"  {key}={value}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
