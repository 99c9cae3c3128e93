using System.Collections.Concurrent;
using Marten;
using MassTransit;
using Unpacker.Contracts.Oci;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Hosting.Telemetry;
using Unpacker.Saga;
using Unpacker.Saga.Persistence;
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

    private readonly IReadOnlyDictionary<string, string> _extraEnvironment;
    private int _started;

    /// <summary>True when the stack made its schema (and drops it on dispose); a caller's own schema is the caller's.</summary>
    private readonly bool _ownsSchema;

    private ServiceStack(PostgresOptions postgres, bool ownsSchema, IsolatedVirtualHost vhost, string root, DocumentStore store, IReadOnlyDictionary<string, string>? environment)
    {
        Postgres = postgres;
        _ownsSchema = ownsSchema;
        VirtualHost = vhost;
        Root = root;
        Store = store;
        _extraEnvironment = environment ?? new Dictionary<string, string>();
    }

    public PostgresOptions Postgres { get; }

    public IsolatedVirtualHost VirtualHost { get; }

    public string Root { get; }

    /// <summary>The node the stack's Appliers belong to (<c>UNPACKER_NODE</c> of the extra settings, else <see cref="DefaultNode"/>).</summary>
    public string Node => _extraEnvironment.GetValueOrDefault("UNPACKER_NODE") ?? DefaultNode;

    public const string DefaultNode = "test-node";

    public DocumentStore Store { get; }

    public IReadOnlyList<ServiceProcess> Processes => _processes;

    /// <summary>What every service process is started with: the stack's schema, vhost and root, plus the caller's extra settings.</summary>
    public IReadOnlyDictionary<string, string> Environment
    {
        get
        {
            var environment = new Dictionary<string, string>(_extraEnvironment);
            foreach (var (key, value) in VirtualHost.Environment)
            {
                environment[key] = value;
            }

            environment["UNPACKER_POSTGRES_SCHEMA"] = Postgres.Schema;
            environment["UNPACKER_ROOT"] = Root;
            environment["UNPACKER_NODE"] = Node;
            return environment;
        }
    }

    /// <param name="environment">Extra variables for every service process (e.g. <c>OTEL_*</c>, <c>Telemetry__*</c>).</param>
    public static Task<ServiceStack> StartAsync(string prefix, int fetchers = 1, int appliers = 1, int sagas = 1, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(prefix, new ServiceStackOptions { Fetchers = fetchers, Appliers = appliers, Sagas = sagas, Environment = environment });

    /// <summary>Starts a stack with extra settings for the services (e.g. short leases) or servers of the test's own.</summary>
    public static async Task<ServiceStack> StartAsync(string prefix, ServiceStackOptions options)
    {
        if (options.Postgres is null)
        {
            await TestServers.RequirePostgresAsync();
        }

        await TestServers.RequireRegistryAsync();
        var postgres = options.Postgres ?? TestServers.PostgresWithSchema(prefix.Replace('-', '_'));
        var vhost = options.VirtualHost ?? await TestServers.CreateVirtualHostAsync(prefix);
        var root = options.Root ?? Path.Combine("/var/tmp/unpacker-tests", $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);

        // The schema is migrated here, as `unpacker db migrate` would: the services only check it.
        var store = await UnpackerMarten.OpenMigratedStoreAsync(postgres, UnpackerSchema.Everything);
        var stack = new ServiceStack(postgres, ownsSchema: options.Postgres is null, vhost, root, store, options.Environment);
        try
        {
            await stack.StartBusAsync();
            var starts = Enumerable.Repeat("Fetcher", options.Fetchers).Concat(Enumerable.Repeat("Applier", options.Appliers)).Concat(Enumerable.Repeat("Saga", options.Sagas))
                .Select(stack.StartServiceAsync);
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
    /// Starts an Applier of <paramref name="node"/> with a storage root of its own; <paramref name="isolated"/> puts it in a
    /// mount namespace with a private tmpfs there, so no other process (nor the test) can see that node's disk.
    /// </summary>
    public async Task<ServiceProcess> StartNodeAsync(string node, bool isolated = true, IReadOnlyDictionary<string, string>? settings = null)
    {
        var root = NodeRoot(node);
        var environment = new Dictionary<string, string>(Environment)
        {
            ["UNPACKER_WORKER_ID"] = $"applier-{Interlocked.Increment(ref _started) - 1}-{node}",
            ["UNPACKER_NODE"] = node,
            ["UNPACKER_ROOT"] = root,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = await ServiceProcess.StartAsync("Applier", environment, privateRoot: isolated ? root : null);
        _processes.Add(process);
        return process;
    }

    /// <summary>Starts a Fetcher whose content store is on a disk of its own that nobody else sees (a site cache host).</summary>
    public async Task<ServiceProcess> StartIsolatedFetcherAsync()
    {
        var index = Interlocked.Increment(ref _started) - 1;
        var root = Path.Combine(Root, "fetchers", index.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = await ServiceProcess.StartAsync("Fetcher", new Dictionary<string, string>(Environment)
        {
            ["UNPACKER_WORKER_ID"] = $"fetcher-{index}",
            ["UNPACKER_ROOT"] = root,
        }, privateRoot: root);
        _processes.Add(process);
        return process;
    }

    /// <summary>The storage root of <paramref name="node"/>'s Appliers started by <see cref="StartNodeAsync"/>.</summary>
    public string NodeRoot(string node) => Path.Combine(Root, "nodes", node);

    /// <summary>
    /// Materializes a snapshot of <paramref name="node"/> into a fresh directory the test can read, running the CLI inside
    /// the mount namespace of that node's Applier <paramref name="applier"/> (the only place its disk is seen).
    /// </summary>
    public async Task<string> ExportOnNodeAsync(ServiceProcess applier, string node, string snapshotter, Digest chainId)
    {
        var target = Path.Combine(Root, "exports", $"{node}-{snapshotter}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await RunCliInNamespaceAsync(applier, NodeRoot(node), ["snapshots", "export", snapshotter, chainId.ToString(), target, "--node", node], $"export of {chainId} on node {node}");
        return target;
    }

    /// <summary>
    /// Commits <paramref name="bytes"/> (the blob <paramref name="blob"/>) into the content store of a Fetcher started by
    /// <see cref="StartIsolatedFetcherAsync"/>, as its operator would on that host: <c>unpacker content ingest</c> inside the
    /// Fetcher's mount namespace. The blob lands on that disk only, with that disk's replica recorded, so the Fetcher
    /// serves it at once; no other Fetcher has it unless it is put there too.
    /// </summary>
    public async Task IngestOnFetcherAsync(ServiceProcess fetcher, Descriptor blob, byte[] bytes)
    {
        var root = fetcher.PrivateRoot ?? throw new ArgumentException($"{fetcher.WorkerId} was not started with a disk of its own", nameof(fetcher));

        // Outside every private tmpfs: the Fetcher's namespace sees this directory as the test does.
        var input = Path.Combine(Root, "seeds", $"{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        await File.WriteAllBytesAsync(input, bytes);
        await RunCliInNamespaceAsync(fetcher, root,
            ["content", "ingest", $"seed-{blob.Digest.Encoded}", "--digest", blob.Digest.ToString(), "--size", blob.Size.ToString(System.Globalization.CultureInfo.InvariantCulture), "--media-type", blob.MediaType, "--input", input],
            $"ingest of {blob.Digest} on {fetcher.WorkerId}");
        File.Delete(input);
    }

    /// <summary>Starts one more process of a service (e.g. to replace one a test killed), with a worker id of its own.</summary>
    public async Task<ServiceProcess> StartAnotherAsync(string project)
    {
        var process = await StartServiceAsync(project);
        _processes.Add(process);
        return process;
    }

    /// <summary>Publishes an <see cref="UnpackRequested"/> and returns its <see cref="UnpackCompleted"/> or <see cref="UnpackFailed"/>.</summary>
    public Task<object> UnpackAsync(ImageSource source, string snapshotter, TimeSpan? timeout = null) =>
        UnpackAsync(NewRequest(source, snapshotter), timeout);

    /// <summary>
    /// Publishes a request the test made (so it knows the unpack id while the unpack runs) and returns how it ended,
    /// under the client's <c>unpack</c> span (the root of the unpack's trace when the test listens to Unpacker.Client).
    /// </summary>
    public async Task<object> UnpackAsync(UnpackRequested request, TimeSpan? timeout = null)
    {
        using var span = UnpackClientTracing.StartUnpack(request);
        _outcomes.GetOrAdd(request.UnpackId, _ => new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _bus!.PublishUnpackAsync(request, span, CancellationToken.None);
        var ended = await OutcomeAsync(request.UnpackId, timeout);
        UnpackClientTracing.Ended(span, ended);
        return ended;
    }

    /// <summary>The <see cref="UnpackCompleted"/> or <see cref="UnpackFailed"/> of an unpack published earlier.</summary>
    public async Task<object> OutcomeAsync(Guid unpackId, TimeSpan? timeout = null)
    {
        var outcome = _outcomes.GetOrAdd(unpackId, _ => new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            return await outcome.Task.WaitAsync(timeout ?? TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException)
        {
            var logs = string.Join('\n', _processes.SelectMany(p => p.Output.TakeLast(30).Select(line => $"{p.Name}: {line}")));
            throw new TimeoutException($"unpack {unpackId} did not end; last service output:\n{logs}");
        }
    }

    public static UnpackRequested NewRequest(ImageSource source, string snapshotter) =>
        new(NewId.NextGuid(), source, snapshotter, null, new Requester("test", System.Environment.MachineName, "integration-tests"), DateTimeOffset.UtcNow);

    public Task PublishAsync<T>(T message)
        where T : class => _bus!.Publish(message);

    /// <summary>Materializes a snapshot's root filesystem into a fresh directory and returns it.</summary>
    public async Task<string> ExportAsync(string snapshotter, Digest chainId)
    {
        var target = Path.Combine(Root, "exports", $"{snapshotter}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(target);
        await Snapshotters.Create(snapshotter, Root, Store, Node).ExportAsync(chainId.ToString(), target, CancellationToken.None);
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
        if (_ownsSchema)
        {
            await TestServers.DropSchemaAsync(Postgres);
        }

        await VirtualHost.DisposeAsync();
        if (Directory.Exists(Root))
        {
            // Byte-exact: test images hold names that are not UTF-8.
            Storage.Snapshots.FileSystem.FileTree.RemoveAll(Root);
        }
    }

    /// <summary>Runs the CLI in the mount namespace of <paramref name="process"/> (the only place its disk is seen) against the storage root <paramref name="root"/>.</summary>
    private async Task RunCliInNamespaceAsync(ServiceProcess process, string root, IReadOnlyList<string> arguments, string what)
    {
        var cli = RepositoryPaths.ProjectOutput("Cli", "unpacker.dll");
        var info = new System.Diagnostics.ProcessStartInfo("nsenter", [.. new[] { "--target", process.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--mount", "--", "dotnet", cli }, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in Environment)
        {
            info.Environment[key] = value;
        }

        info.Environment["UNPACKER_ROOT"] = root;
        using var cliProcess = System.Diagnostics.Process.Start(info)!;
        var output = cliProcess.StandardOutput.ReadToEndAsync();
        var error = cliProcess.StandardError.ReadToEndAsync();
        await cliProcess.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (cliProcess.ExitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed ({cliProcess.ExitCode}): {await output}{await error}");
        }
    }

    private Task<ServiceProcess> StartServiceAsync(string project) =>
        ServiceProcess.StartAsync(project, new Dictionary<string, string>(Environment)
        {
            ["UNPACKER_WORKER_ID"] = $"{project.ToLowerInvariant()}-{Interlocked.Increment(ref _started) - 1}",
        });

    private async Task<IReadOnlyList<string>> NamesAsync(string snapshotter, SnapshotKind kind)
    {
        var names = new List<string>();
        await foreach (var info in Snapshotters.Create(snapshotter, Root, Store, Node).WalkAsync([], CancellationToken.None))
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

/// <summary>How many processes of each service a <see cref="ServiceStack"/> starts, with what extra settings, against which servers.</summary>
public sealed class ServiceStackOptions
{
    public int Fetchers { get; init; } = 1;

    public int Appliers { get; init; } = 1;

    public int Sagas { get; init; } = 1;

    /// <summary>Extra environment for every service (e.g. <c>Applier__LeaseDuration</c>); the stack's own settings win.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>
    /// The Saga's setting that sends every image on a rebasing snapshotter (overlayfs) to parallel extraction, or every
    /// image to apply runs: test images are far smaller than the default size from which layers are extracted in parallel.
    /// </summary>
    public static KeyValuePair<string, string> ExtractInParallel(bool always) =>
        new("Saga__ParallelExtractionMinLayerSize", always ? "0" : long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>A PostgreSQL of the test's own (its port must then be in <see cref="Environment"/> too); the shared one when null.</summary>
    public PostgresOptions? Postgres { get; init; }

    /// <summary>A virtual host on a RabbitMQ of the test's own; a fresh one on the shared server when null. The stack deletes it.</summary>
    public IsolatedVirtualHost? VirtualHost { get; init; }

    /// <summary>A storage root of the test's choosing (e.g. inside a small tmpfs); a fresh directory when null. The stack deletes it.</summary>
    public string? Root { get; init; }
}
