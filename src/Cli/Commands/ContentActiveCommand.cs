using System.CommandLine;

namespace Unpacker.Cli.Commands;

/// <summary><c>unpacker content active</c>: ingests in progress or left behind by a crash, with their offsets.</summary>
public static class ContentActiveCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("active", "List ingests in progress") { json };
        command.SetAction((parse, cancellationToken) => ContentCommandContext.RunAsync(async context =>
        {
            var ingests = await context.Store.ListIngestsAsync(cancellationToken).ToListAsync(cancellationToken);
            if (parse.GetValue(json))
            {
                ContentCommandContext.WriteJson(ingests);
                return ExitCodes.Success;
            }

            Console.WriteLine($"{"REF",-40} {"OFFSET",12} {"TOTAL",12} {"UPDATED",-25} EXPECTED");
            foreach (var ingest in ingests)
            {
                Console.WriteLine($"{ingest.Reference,-40} {ingest.Offset,12} {ingest.Total,12} {ingest.UpdatedAt,-25:O} {ingest.Expected}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
