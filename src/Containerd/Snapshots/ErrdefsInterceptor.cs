using Grpc.Core;
using Grpc.Core.Interceptors;
using Unpacker.Storage;

namespace Unpacker.Containerd.Snapshots;

/// <summary>
/// Turns our storage error kinds into the gRPC status codes containerd's errdefs reads back (<c>errdefs.FromGRPC</c>),
/// so containerd's client branches on ErrNotFound, ErrAlreadyExists… exactly as with its own snapshotters. Anything
/// else stays an internal error, logged by ASP.NET Core's gRPC host.
/// </summary>
public sealed class ErrdefsInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (StorageException exception)
        {
            throw ToRpc(exception);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (StorageException exception)
        {
            throw ToRpc(exception);
        }
    }

    public static StatusCode StatusCodeOf(ErrorKind kind) =>
        kind switch
        {
            ErrorKind.NotFound => StatusCode.NotFound,
            ErrorKind.AlreadyExists => StatusCode.AlreadyExists,
            ErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
            ErrorKind.InvalidArgument => StatusCode.InvalidArgument,
            ErrorKind.Unavailable => StatusCode.Unavailable,
            _ => StatusCode.Unknown,
        };

    private static RpcException ToRpc(StorageException exception) => new(new Status(StatusCodeOf(exception.Kind), exception.Message, exception));
}
