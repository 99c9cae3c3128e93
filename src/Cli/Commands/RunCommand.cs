using System.CommandLine;
using Unpacker.Applier;
using Unpacker.Fetcher;
using Unpacker.Fetcher.Serving;
using Unpacker.Hosting;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga;
using Unpacker.Saga.Persistence;

namespace Unpacker.Cli.Commands;

/// <summary>
/// <c>unpacker run</c>: the Fetcher, Applier and Saga hosted together in this one process, against the same real
/// PostgreSQL and RabbitMQ, for a single machine. Separate processes compete with it for the same queues.
/// </summary>
public static class RunCommand
{
    public static Command Create()
    {
        var command = new Command("run", "Host the Fetcher, Applier and Saga in this process until interrupted (one-process local mode)");
        command.SetAction((parse, _) => RunAsync(parse.UnmatchedTokens.ToArray()));
        command.TreatUnmatchedTokensAsErrors = false;
        return command;
    }

    private static async Task<int> RunAsync(string[] args)
    {
        var service = UnpackerService.Create("local", args, onNode: true);
        var node = service.Node.Validated();
        var configuration = service.Builder.Configuration;
        var applier = configuration.Bind<ApplierOptions>(ApplierOptions.Section);
        service.Services.AddUnpackerMarten(service.Postgres, UnpackerSchema.Everything);
        var fetcher = service.Services.AddFetcher(configuration);
        service.Services.AddApplier(service.Storage.Root, node, applier);
        service.Services.AddUnpackSagaServices(configuration.Bind<UnpackSagaOptions>(UnpackSagaOptions.Section));
        service.Services.AddUnpackerMessaging(
            service.RabbitMq,
            service.Worker,
            bus =>
            {
                bus.AddFetcherConsumers(fetcher);
                bus.AddApplierConsumers();
                bus.AddUnpackSaga();
            },
            (context, bus) => bus.ConfigureApplierEndpoints(context, node, applier));
        await service.RunAsync(app => app.MapBlobEndpoints());
        return ExitCodes.Success;
    }
}
