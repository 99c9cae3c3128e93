using System.Net.Sockets;
using MassTransit;
using Npgsql;
using Unpacker.Hosting.Persistence;

namespace Unpacker.Cli.Progress;

/// <summary>Turns what commands cannot go on from into one line on stderr that says what to do, and an exit code.</summary>
public static class CliFailures
{
    public static async Task<int> RunAsync(Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (UsageException exception)
        {
            Console.Error.WriteLine($"unpacker: {exception.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception exception) when (exception is ServerUnreachableException or SchemaNotMigratedException or ErrorQueues.ErrorQueueException)
        {
            Console.Error.WriteLine($"unpacker: {exception.Message}");
            return ExitCodes.Failed;
        }
        catch (Exception exception) when (SchemaMigration.IsMissingObject(exception))
        {
            // A reader's store is not checked before its reads (CliSettings.OpenReader): the check runs now, to say
            // which objects a migration of this version would add; a schema it finds complete leaves the failure as it was.
            if (await StaleSchemaAsync() is not { } stale)
            {
                throw;
            }

            Console.Error.WriteLine($"unpacker: {stale.Message}");
            return ExitCodes.Failed;
        }
        catch (Exception exception) when (FindPostgresFailure(exception) is { } cause)
        {
            var postgres = CliSettings.Postgres;
            Console.Error.WriteLine(
                $"unpacker: cannot use PostgreSQL at {postgres.Host}:{postgres.Port} (database {postgres.Database}, schema {postgres.Schema}): {OneLine(cause.Message)}; start it with 'scripts/services.sh up' or point UNPACKER_POSTGRES_* at it");
            return ExitCodes.Failed;
        }
    }

    private static async Task<SchemaNotMigratedException?> StaleSchemaAsync()
    {
        try
        {
            using var checkedStore = await CliSettings.OpenStoreAsync();
            return null;
        }
        catch (SchemaNotMigratedException stale)
        {
            return stale;
        }
    }

    /// <summary>The message for a RabbitMQ that did not let this client connect or publish in time.</summary>
    public static ServerUnreachableException RabbitMqUnreachable(Exception? cause = null)
    {
        var rabbit = CliSettings.RabbitMq;
        var why = cause is null ? "no connection within the time allowed" : OneLine(cause.Message);
        return new ServerUnreachableException(
            $"cannot reach RabbitMQ at {rabbit.Host}:{rabbit.Port} (virtual host {rabbit.VirtualHost}, user {rabbit.Username}): {why}; start it with 'scripts/services.sh up' or point UNPACKER_RABBITMQ_* at it",
            cause);
    }

    /// <summary>True for the exceptions MassTransit throws when the broker refuses or never answers.</summary>
    public static bool IsBrokerFailure(Exception exception) =>
        exception is RabbitMqConnectionException or SocketException || exception.InnerException is { } inner && IsBrokerFailure(inner);

    private static Exception? FindPostgresFailure(Exception exception) =>
        exception switch
        {
            NpgsqlException or SocketException => exception,
            AggregateException aggregate => aggregate.InnerExceptions.Select(FindPostgresFailure).FirstOrDefault(e => e is not null),
            _ => exception.InnerException is { } inner ? FindPostgresFailure(inner) : null,
        };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim().TrimEnd('.');
}
