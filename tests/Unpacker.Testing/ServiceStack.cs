using System.Collections.Concurrent;
using Marten;
using MassTransit;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga;
using Unpacker.Storage.Content;
using Unpacker.Storage.Snapshots;
using Unpacker.Storage.Snapshots.Metadata;

namespace Unpacker.Testing;

/// <summary>
/// The three services as separate processes on a schema, a virtual host and a storage root of their own, plus a
/// client that publishes requests and hears how they ended.
/// </summary>
public sealed class ServiceStack : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<object>> _outcomes = new();
    private readonly List<ServiceProcess> _processes = [];
    private IBusControl? _bus;

    private ServiceStack(PostgresOptions postgres, IsolatedVirtualHost vhost, string root, DocumentStore store)
    {
        Postgres = postgres;
        VirtualHost = vhost;
        Root = root;
        Store = store;
    }

    public PostgresOptions Postgres { get; }

    public IsolatedVirtualHost VirtualHost { get; }

    public string Root { get; }

    public DocumentStore Store { get; }

    public IReadOnlyList<ServiceProcess> Processes => _processes;

    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>(VirtualHost.Environment)
    {
        ["UNPACKER_POSTGRES_SCHEMA"] = Postgres.Schema,
        ["UNPACKER_ROOT"] = Root,
    };

    /// <param name="environment">Extra variables for every service process (e.g. <c>OTEL_*</c>, <c>Telemetry__*</c>).</param>
    public static async Task<ServiceStack> StartAsync(string prefix, int fetchers = 1, int appliers = 1, int sagas = 1, IReadOnlyDictionary<string, string>? environment = null)
    {
        await TestServers.RequirePostgresAsync();
        await TestServers.RequireRegistryAsync();
        var postgres = TestServers.PostgresWithSchema(prefix.Replace('-', '_'));
        var vhost = await TestServers.CreateVirtualHostAsync(prefix);
        var root = Path.Combine("/var/tmp/unpacker-tests", $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);

        // The schema is applied once here, so the services starting side by side find it in place.
        var store = await UnpackerMarten.OpenStoreAsync(postgres, ContentMetadata.Register, SnapshotMetadata.Register, UnpackSagaRegistration.MartenContribution);
        var stack = new ServiceStack(postgres, vhost, root, store);
        try
        {
            await stack.StartBusAsync();
            var starts = Enumerable.Repeat("Fetcher", fetchers).Concat(Enumerable.Repeat("Applier", appliers)).Concat(Enumerable.Repeat("Saga", sagas))
                .Select((project, i) => ServiceProcess.StartAsync(project, new Dictionary<string, string>(stack.Environment.Concat(environment ?? new Dictionary<string, string>()))
                {
                    ["UNPACKER_WORKER_ID"] = $"{project.ToLowerInvariant()}-{i}",
                }));
            stack._processes.AddRange(await Task.WhenAll(starts));
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Publishes an <see cref="UnpackRequested"/> and returns its <see cref="UnpackCompleted"/> or <see cref="UnpackFailed"/>,
    /// under the client's <c>unpack</c> span (the root of the unpack's trace when the test listens to Unpacker.Client).
    /// </summary>
    public async Task<object> UnpackAsync(ImageSource source, string snapshotter, TimeSpan? timeout = null)
    {
        var unpackId = NewId.NextGuid();
        var outcome = _outcomes.GetOrAdd(unpackId, _ => new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously));
        var request = new UnpackRequested(unpackId, source, snapshotter, null, new Requester("test", System.Environment.MachineName, "integration-tests"), DateTimeOffset.UtcNow);
        using var span = UnpackClientTracing.StartUnpack(request);
        await _bus!.PublishUnpackAsync(request, span, CancellationToken.None);
        try
        {
            var ended = await outcome.Task.WaitAsync(timeout ?? TimeSpan.FromMinutes(2));
            UnpackClientTracing.Ended(span, ended);
            return ended;
        }
        catch (TimeoutException)
        {
            var logs = string.Join('\n', _processes.SelectMany(p => p.Output.TakeLast(30).Select(line => $"{p.Name}: {line}")));
            throw new TimeoutException($"unpack {unpackId} of {source} did not end; last service output:\n{logs}");
        }
    }

    public Task PublishAsync<T>(T message)
        where T : class => _bus!.Publish(message);

    /// <summary>Materializes a snapshot's root filesystem into a fresh directory and returns it.</summary>
    public async Task<string> ExportAsync(string snapshotter, Digest chainId)
    {
        var target = Path.Combine(Root, "exports", $"{snapshotter}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(target);
        await Snapshotters.Create(snapshotter, Root, Store).ExportAsync(chainId.ToString(), target, CancellationToken.None);
        return target;
    }

    public Task<IReadOnlyList<string>> CommittedAsync(string snapshotter) => NamesAsync(snapshotter, SnapshotKind.Committed);

    public Task<IReadOnlyList<string>> ActiveAsync(string snapshotter) => NamesAsync(snapshotter, SnapshotKind.Active);

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        if (_bus is not null)
        {
            await _bus.StopAsync();
        }

        Store.Dispose();
        await VirtualHost.DisposeAsync();
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private async Task<IReadOnlyList<string>> NamesAsync(string snapshotter, SnapshotKind kind)
    {
        var names = new List<string>();
        await foreach (var info in Snapshotters.Create(snapshotter, Root, Store).WalkAsync([], CancellationToken.None))
        {
            if (info.Kind == kind)
            {
                names.Add(info.Name);
            }
        }

        return names;
    }

    private async Task StartBusAsync()
    {
        var rabbit = VirtualHost.Options;
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(rabbit.Username);
                h.Password(rabbit.Password);
            });
            cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), e =>
            {
                e.Handler<UnpackCompleted>(context => Ended(context.Message.UnpackId, context.Message));
                e.Handler<UnpackFailed>(context => Ended(context.Message.UnpackId, context.Message));
            });
        });
        await _bus.StartAsync();
    }

    private Task Ended(Guid unpackId, object outcome)
    {
        _outcomes.GetOrAdd(unpackId, _ => new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(outcome);
        return Task.CompletedTask;
    }
}
