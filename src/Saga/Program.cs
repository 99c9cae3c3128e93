using Unpacker.Hosting;
using Unpacker.Hosting.Messaging;
using Unpacker.Hosting.Persistence;

var service = UnpackerService.Create("saga", args);
service.Services.AddUnpackerMarten(service.Postgres);
service.Services.AddUnpackerMessaging(service.RabbitMq, service.Worker, bus => { });
await service.RunAsync();
