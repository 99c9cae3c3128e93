using Unpacker.Fetcher;
using Unpacker.Fetcher.Serving;
using Unpacker.Hosting;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Persistence;
using Unpacker.Hosting.Telemetry;
using Unpacker.Storage.Content;

var service = UnpackerService.Create("fetcher", args);
service.Services.AddUnpackerMarten(service.Postgres, ContentMetadata.Register);
service.Services.AddContentStore(new ContentStoreOptions { Root = service.Storage.Root });
service.Services.AddDiskUsage(new DiskUsageTarget(DiskUsageKind.Content, Path.Combine(service.Storage.Root, "content")));
var fetcher = service.Services.AddFetcher(service.Builder.Configuration);
service.Services.AddUnpackerMessaging(service.RabbitMq, service.Worker, bus => bus.AddFetcherConsumers(fetcher));
await service.RunAsync(app => app.MapBlobEndpoints());
