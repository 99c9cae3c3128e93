using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Unpacker.Containerd.Snapshots;
using Unpacker.Hosting;
using Unpacker.Storage.Snapshots;

namespace Unpacker.Containerd;

/// <summary>Serves containerd's snapshots API for the node's <see cref="Snapshotters"/> on a unix socket (HTTP/2, as containerd's gRPC client speaks).</summary>
public static class ContainerdSnapshotsRegistration
{
    /// <summary>Listens on <see cref="ContainerdSnapshotsOptions.Socket"/>; <see cref="Snapshotters"/> must be registered.</summary>
    public static WebApplicationBuilder AddContainerdSnapshots(this WebApplicationBuilder builder, ContainerdSnapshotsOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        builder.ListenAlsoOnUnixSocket(options.Socket, HttpProtocols.Http2);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(provider =>
        {
            var snapshotters = provider.GetRequiredService<Snapshotters>();
            return new ProxySnapshotters(options.Snapshotters.Select(snapshotters.Get));
        });
        builder.Services.AddSingleton<LayerPrepares>();
        builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<ErrdefsInterceptor>());
        return builder;
    }

    public static WebApplication MapContainerdSnapshots(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<SnapshotsService>();
        return app;
    }
}
