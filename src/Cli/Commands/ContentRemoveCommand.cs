using System.CommandLine;
using Unpacker.Storage;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker content rm &lt;digest&gt;...</c>: removes blobs and their metadata; carries on past missing ones.</summary>
public static class ContentRemoveCommand
{
    public static Command Create()
    {
        var digests = new Argument<string[]>("digests") { Description = "Digests of the blobs to remove", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("rm", "Remove blobs (metadata and file)") { digests, json };
        command.SetAction((parse, cancellationToken) => ContentCommandContext.RunAsync(async context =>
        {
            var removed = new List<string>();
            var failed = new Dictionary<string, string>();
            foreach (var text in parse.GetValue(digests) ?? [])
            {
                try
                {
                    await context.Store.DeleteAsync(ContentCommandContext.ParseDigest(text), cancellationToken);
                    removed.Add(text);
                }
                catch (StorageException exception) when (exception.Kind is ErrorKind.NotFound or ErrorKind.InvalidArgument)
                {
                    failed[text] = exception.Message;
                }
            }

            if (parse.GetValue(json))
            {
                ContentCommandContext.WriteJson(new { removed, failed });
            }
            else
            {
                removed.ForEach(Console.WriteLine);
                foreach (var message in failed.Values)
                {
                    Console.Error.WriteLine($"unpacker: {message}");
                }
            }

            return failed.Count == 0 ? ExitCodes.Success : ExitCodes.Failed;
        }));
        return command;
    }
}
