using Unpacker.Applier;
using Unpacker.Hosting;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Persistence;
using Unpacker.Hosting.Telemetry;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Metadata;

var service = UnpackerService.Create("applier", args);
var options = service.Builder.Configuration.Bind<ApplierOptions>(ApplierOptions.Section);
service.Services.AddUnpackerMarten(service.Postgres, ContentMetadata.Register, SnapshotMetadata.Register);
service.Services.AddApplier(service.Storage.Root, options);
foreach (var snapshotter in options.Snapshotters)
{
    service.Services.AddDiskUsage(new DiskUsageTarget(DiskUsageKind.Snapshots, new SnapshotLayout(service.Storage.Root, snapshotter).SnapshotsDirectory, snapshotter));
}

service.Services.AddUnpackerMessaging(service.RabbitMq, service.Worker, bus => bus.AddApplierConsumers(),
    (context, bus) => bus.ConfigureApplierEndpoints(context, options));
await service.RunAsync();
