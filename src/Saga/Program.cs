using Unpacker.Hosting;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga;
using Unpacker.Saga.Telemetry;

var service = UnpackerService.Create("saga", args);
service.Services.AddUnpackerMarten(service.Postgres, UnpackSagaRegistration.MartenContribution, UnpackMetrics.MartenContribution)
    .AddAsyncDaemon(JasperFx.Events.Daemon.DaemonMode.HotCold);
service.Services.AddUnpackSagaServices(service.Builder.Configuration.Bind<UnpackSagaOptions>(UnpackSagaOptions.Section));
service.Services.AddUnpackerMessaging(service.RabbitMq, service.Worker, bus => bus.AddUnpackSaga());
await service.RunAsync();
