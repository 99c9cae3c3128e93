using System.CommandLine;
using Unpacker.Cli.Progress;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Persistence;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker db migrate|check</c>: the one step that changes the PostgreSQL schema (every service's documents, event
/// tables and projections), and a check of it. Services and the other commands only check, and refuse a stale schema.
/// </summary>
public static class DbCommand
{
    public static Command Create() => new("db", "The PostgreSQL schema: migrate it to this version, or check it")
    {
        Migrate(),
        Check(),
    };

    private static Command Migrate()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var command = new Command("migrate", "Apply this version's schema (documents, event store, projections) under a lock; safe to run again and from several hosts") { json };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(() => MigrateAsync(parse.GetValue(json), cancellationToken)));
        return command;
    }

    private static Command Check()
    {
        var command = new Command("check", "Exit 0 when the schema holds everything this version needs, 1 (naming what is missing) when it must be migrated first");
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(() => CheckAsync(cancellationToken)));
        return command;
    }

    private static async Task<int> MigrateAsync(bool json, CancellationToken cancellationToken)
    {
        var postgres = CliSettings.Postgres;
        using var store = UnpackerMarten.NewClientStore(postgres, UnpackerSchema.Everything);
        var result = await SchemaMigration.MigrateAsync(store, postgres, cancellationToken);
        if (json)
        {
            JsonRenderer.Write(new { schema = result.Schema, objects = result.Objects, added = result.Added });
            return ExitCodes.Success;
        }

        Console.WriteLine(result.Added.Count == 0
            ? $"schema {result.Schema}: all {result.Objects} objects were already migrated"
            : $"schema {result.Schema}: migrated; {result.Added.Count} of {result.Objects} objects new or changed");
        foreach (var name in result.Added)
        {
            Console.WriteLine($"  {name}");
        }

        return ExitCodes.Success;
    }

    private static async Task<int> CheckAsync(CancellationToken cancellationToken)
    {
        var postgres = CliSettings.Postgres;
        using var store = UnpackerMarten.NewClientStore(postgres, UnpackerSchema.Everything);
        await SchemaMigration.RequireAsync(store, postgres, cancellationToken);
        Console.WriteLine($"schema {postgres.Schema}: migrated, all {SchemaMigration.Objects(store).Count} objects this version needs are in place");
        return ExitCodes.Success;
    }
}
