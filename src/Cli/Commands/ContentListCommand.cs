using System.CommandLine;
using System.Globalization;
using Unpacker.Storage.Content;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker content ls</c>: committed blobs, optionally filtered as containerd filters (<c>labels."k"==v</c>).</summary>
public static class ContentListCommand
{
    public static Command Create()
    {
        var filters = new Argument<string[]>("filters") { Description = "containerd filters, any of which may match: labels.\"key\"==value, labels.key, labels.key~=regex, digest==...", Arity = ArgumentArity.ZeroOrMore };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print digests only" };
        var command = new Command("ls", "List committed blobs") { filters, json, quiet };
        command.SetAction((parse, cancellationToken) => ContentCommandContext.RunAsync(async context =>
        {
            var infos = await context.Store.WalkAsync(parse.GetValue(filters) ?? [], cancellationToken).ToListAsync(cancellationToken);
            if (parse.GetValue(json))
            {
                ContentCommandContext.WriteJson(infos);
            }
            else if (parse.GetValue(quiet))
            {
                infos.ForEach(i => Console.WriteLine(i.Digest));
            }
            else
            {
                Console.WriteLine($"{"DIGEST",-71} {"SIZE",12} {"AGE",-8} LABELS");
                foreach (var info in infos)
                {
                    Console.WriteLine($"{info.Digest,-71} {info.Size,12} {Age(info.UpdatedAt),-8} {FormatLabels(info.Labels)}");
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    internal static string FormatLabels(IReadOnlyDictionary<string, string> labels) =>
        labels.Count == 0 ? "-" : string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    private static string Age(DateTimeOffset time)
    {
        var age = DateTimeOffset.UtcNow - time;
        return age.TotalMinutes < 1 ? $"{Math.Max(0, (int)age.TotalSeconds)}s"
            : age.TotalHours < 1 ? $"{(int)age.TotalMinutes}m"
            : age.TotalDays < 1 ? $"{(int)age.TotalHours}h"
            : string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalDays}d");
    }
}
