using System.CommandLine;
using Unpacker.Cli.ErrorQueues;
using Unpacker.Cli.Progress;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker errors ls|show|redeliver|purge</c>: the messages MassTransit moved to <c>&lt;queue&gt;_error</c> after their
/// consumer faulted (and <c>_skipped</c> ones no consumer took) — list, read without taking, move back, or drop.
/// </summary>
public static class ErrorsCommand
{
    public static Command Create() => new("errors", "The error queues: messages whose consumer faulted after its retries")
    {
        List(),
        Show(),
        Redeliver(),
        Purge(),
    };

    private static Command List()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var command = new Command("ls", "Every error queue of the virtual host with the messages it holds (RabbitMQ's management API)") { json };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(async () =>
        {
            using var management = new RabbitMqManagement(CliSettings.RabbitMq);
            var queues = await ManagementAsync(() => management.ErrorQueuesAsync(cancellationToken));
            if (parse.GetValue(json))
            {
                JsonRenderer.Write(new { queues = queues.Select(q => new { queue = q.Queue.Name, messages = q.Messages, source = q.Queue.Source }) });
                return ExitCodes.Success;
            }

            Console.WriteLine($"{"QUEUE",-48} {"MESSAGES",8}  FROM");
            foreach (var queue in queues)
            {
                Console.WriteLine($"{queue.Queue.Name,-48} {queue.Messages,8}  {queue.Queue.Source}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Show()
    {
        var queue = QueueArgument();
        var limit = Limit("How many messages to read from the head of the queue", 20);
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var command = new Command("show", "Read the messages of an error queue (put back where they were): type, id, when and why it faulted") { queue, limit, json };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(async () =>
        {
            var name = ErrorQueueName.Of(parse.GetValue(queue)!);
            using var management = new RabbitMqManagement(CliSettings.RabbitMq);
            var messages = await ManagementAsync(() => management.PeekAsync(name, parse.GetValue(limit) ?? 20, cancellationToken));
            if (parse.GetValue(json))
            {
                JsonRenderer.Write(new { queue = name.Name, source = name.Source, messages });
                return ExitCodes.Success;
            }

            Console.WriteLine($"{name.Name}: {messages.Count} message(s) shown, from {name.Source}");
            foreach (var (message, index) in messages.Select((m, i) => (m, i + 1)))
            {
                Console.WriteLine($"#{index}  {message.MessageType ?? "(unknown type)"}  message {message.MessageId ?? "-"}  faulted {message.FaultedAt?.ToString("O") ?? "-"} on {message.Host ?? "-"}");
                Console.WriteLine($"    {message.ExceptionType ?? message.Reason ?? "-"}: {message.ExceptionMessage ?? "-"}");
                if (message.Message is { } body)
                {
                    Console.WriteLine($"    {body.GetRawText()}");
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Redeliver()
    {
        var queue = QueueArgument();
        var limit = Limit("Move at most this many (default: every message the queue holds when the command starts)", null);
        var command = new Command("redeliver", "Move messages of an error queue back to the queue they came from, each confirmed there before it leaves the error queue") { queue, limit };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(async () =>
        {
            var name = ErrorQueueName.Of(parse.GetValue(queue)!);
            var moved = await BrokerAsync(() => new ErrorQueueMover(CliSettings.RabbitMq).RedeliverAsync(name, parse.GetValue(limit), cancellationToken));
            Console.WriteLine($"{moved} message(s) moved from {name.Name} to {name.Source}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Purge()
    {
        var queue = QueueArgument();
        var command = new Command("purge", "Drop every message of an error queue") { queue };
        command.SetAction((parse, cancellationToken) => CliFailures.RunAsync(async () =>
        {
            var name = ErrorQueueName.Of(parse.GetValue(queue)!);
            var purged = await BrokerAsync(() => new ErrorQueueMover(CliSettings.RabbitMq).PurgeAsync(name, cancellationToken));
            Console.WriteLine($"{purged} message(s) purged from {name.Name}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Argument<string> QueueArgument() =>
        new("queue") { Description = "The error queue (fetch-blob_error), or the queue whose error queue is meant (fetch-blob)" };

    private static Option<int?> Limit(string description, int? byDefault)
    {
        var limit = new Option<int?>("--limit", "-n") { Description = description, DefaultValueFactory = _ => byDefault };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is <= 0)
            {
                result.AddError("--limit must be a positive number");
            }
        });
        return limit;
    }

    private static async Task<T> ManagementAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException exception)
        {
            var rabbit = CliSettings.RabbitMq;
            throw new ServerUnreachableException(
                $"cannot use RabbitMQ's management API at http://{rabbit.Host}:{rabbit.ManagementPort}/ (virtual host {rabbit.VirtualHost}, user {rabbit.Username}): {exception.Message}; enable the rabbitmq_management plugin or point UNPACKER_RABBITMQ_MANAGEMENT_PORT at it",
                exception);
        }
    }

    private static async Task<T> BrokerAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception exception) when (exception is RabbitMQ.Client.Exceptions.BrokerUnreachableException || CliFailures.IsBrokerFailure(exception))
        {
            throw CliFailures.RabbitMqUnreachable(exception);
        }
    }
}
