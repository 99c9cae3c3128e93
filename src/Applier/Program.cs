using Unpacker.Applier;
using Unpacker.Hosting;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Persistence;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots.Metadata;

var service = UnpackerService.Create("applier", args);
var options = service.Builder.Configuration.Bind<ApplierOptions>(ApplierOptions.Section);
service.Services.AddUnpackerMarten(service.Postgres, ContentMetadata.Register, SnapshotMetadata.Register);
service.Services.AddApplier(service.Storage.Root, options);
service.Services.AddUnpackerMessaging(service.RabbitMq, service.Worker, bus => bus.AddApplierConsumers(),
    (context, bus) => bus.ConfigureApplierEndpoints(context, options));
await service.RunAsync();
