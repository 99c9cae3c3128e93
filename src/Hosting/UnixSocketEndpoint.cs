using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Unpacker.Hosting;

/// <summary>A service that also answers on a unix socket (the Applier serving containerd), beside its health and metrics URLs.</summary>
public static class UnixSocketEndpoint
{
    /// <summary>
    /// Listens on <paramref name="socket"/> with <paramref name="protocols"/> as well as on the service's URLs. Kestrel
    /// ignores <c>urls</c> once any endpoint is declared in code, so those are declared again here, first (the started log
    /// names them first). A socket file nobody answers on is a leftover of a stopped process and is replaced.
    /// </summary>
    public static void ListenAlsoOnUnixSocket(this WebApplicationBuilder builder, string socket, HttpProtocols protocols)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(socket);
        var urls = (builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey) ?? "http://127.0.0.1:0")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var url in urls)
            {
                Listen(kestrel, BindingAddress.Parse(url));
            }

            ReplaceStaleSocket(socket);
            kestrel.ListenUnixSocket(socket, listen => listen.Protocols = protocols);
        });
    }

    private static void Listen(KestrelServerOptions kestrel, BindingAddress address)
    {
        if (address.Scheme != "http")
        {
            throw new InvalidOperationException($"{address}: only http URLs can be served beside a unix socket");
        }

        if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port);
        }
        else if (address.Host == "localhost")
        {
            kestrel.ListenLocalhost(address.Port);
        }
        else
        {
            kestrel.ListenAnyIP(address.Port);
        }
    }

    private static void ReplaceStaleSocket(string socket)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(socket))!);
        if (!File.Exists(socket))
        {
            return;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socket));
        }
        catch (SocketException)
        {
            File.Delete(socket);
            return;
        }

        throw new InvalidOperationException($"{socket} is already served by another process");
    }
}
