using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker content label &lt;digest&gt; key=value key=</c>: sets labels; an empty value removes one (as <c>ctr content label</c>).</summary>
public static class ContentLabelCommand
{
    public static Command Create()
    {
        var digest = new Argument<string>("digest") { Description = "The blob's digest" };
        var labels = new Argument<string[]>("labels") { Description = "key=value to set, key= to remove", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("label", "Set or remove labels of a blob") { digest, labels, json };
        command.SetAction((parse, cancellationToken) => ContentCommandContext.RunAsync(async context =>
        {
            var info = await context.Store.InfoAsync(ContentCommandContext.ParseDigest(parse.GetValue(digest)!), cancellationToken);
            var changes = new Dictionary<string, string>(StringComparer.Ordinal);
            var paths = new List<string>();
            foreach (var pair in parse.GetValue(labels) ?? [])
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    Console.Error.WriteLine($"unpacker: label '{pair}' is not key=value");
                    return ExitCodes.Usage;
                }

                var (key, value) = (pair[..equals], pair[(equals + 1)..]);
                if (value.Length > 0)
                {
                    changes[key] = value;
                }

                paths.Add($"labels.{key}");
            }

            var updated = await context.Store.UpdateAsync(info with { Labels = changes }, paths, cancellationToken);
            if (parse.GetValue(json))
            {
                ContentCommandContext.WriteJson(updated);
            }
            else
            {
                Console.WriteLine($"{updated.Digest} {ContentListCommand.FormatLabels(updated.Labels)}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
