using System.Net.Sockets;

namespace Unpacker.Testing;

/// <summary>An HTTP handler whose every connection is a unix socket: gRPC (h2c) to containerd, or to an Applier serving its API.</summary>
public static class UnixSocket
{
    public static SocketsHttpHandler Handler(string path) => new()
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var connection = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await connection.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                return new NetworkStream(connection, ownsSocket: true);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        },
    };
}
