using Unpacker.Applier;
using Unpacker.Containerd;
using Unpacker.Hosting;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Persistence;
using Unpacker.Hosting.Telemetry;
using Unpacker.Storage.Content;
using Unpacker.Storage.Nodes;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Metadata;

var service = UnpackerService.Create("applier", args, onNode: true);
var node = service.Node.Validated();
var options = service.Builder.Configuration.Bind<ApplierOptions>(ApplierOptions.Section);
service.Services.AddUnpackerMarten(service.Postgres, ContentMetadata.Register, SnapshotMetadata.Register, NodeRegistry.Register);
service.Services.AddApplier(service.Storage.Root, node, options);
foreach (var snapshotter in options.Snapshotters)
{
    service.Services.AddDiskUsage(new DiskUsageTarget(DiskUsageKind.Snapshots, new SnapshotLayout(service.Storage.Root, snapshotter).SnapshotsDirectory, snapshotter));
}

service.Services.AddUnpackerMessaging(service.RabbitMq, service.Worker, bus => bus.AddApplierConsumers(),
    (context, bus) => bus.ConfigureApplierEndpoints(context, node, options));
var containerd = string.IsNullOrEmpty(options.ContainerdSocket)
    ? null
    : new ContainerdSnapshotsOptions { Socket = options.ContainerdSocket, Snapshotters = options.Snapshotters, OrphanGrace = options.OrphanGrace };
if (containerd is not null)
{
    service.Builder.AddContainerdSnapshots(containerd);
}

await service.RunAsync(app =>
{
    if (containerd is not null)
    {
        app.MapContainerdSnapshots();
    }
});
