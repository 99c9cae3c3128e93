using Marten;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Unpacker.Contracts.Applying;
using Unpacker.Contracts.Fetching;
using Unpacker.Contracts.Unpacking;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Saga.Unpacking;
using Unpacker.Saga.Watchdog;
using Unpacker.Testing;

namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>
/// The unpack saga in MassTransit's test harness (in-memory transport) on the Marten saga repository against
/// the real PostgreSQL (a schema of its own), with fake workers and a hand-moved clock.
/// </summary>
public sealed class UnpackSagaHost : IAsyncDisposable
{
    private static readonly TimeSpan _patience = TimeSpan.FromSeconds(30);
    private readonly ServiceProvider _provider;
    private readonly PostgresOptions _postgres;

    private UnpackSagaHost(ServiceProvider provider, PostgresOptions postgres, DocumentStore store, UnpackSagaOptions options)
    {
        _provider = provider;
        _postgres = postgres;
        Store = store;
        Options = options;
    }

    public ITestHarness Harness => _provider.GetRequiredService<ITestHarness>();

    public DocumentStore Store { get; }

    public UnpackSagaOptions Options { get; }

    public ManualClock Clock { get; } = new();

    public WorkerScript Workers { get; } = new();

    public static readonly Requester Someone = new("alice", "laptop", "tests");

    public static async Task<UnpackSagaHost> StartAsync(Action<UnpackSagaOptions>? configure = null)
    {
        await TestServers.RequirePostgresAsync();
        var postgres = TestServers.PostgresWithSchema("saga_sm");
        var store = await UnpackerMarten.OpenMigratedStoreAsync(postgres, UnpackSagaRegistration.MartenContribution);
        // The fake images' layers are a few hundred bytes: by default they would always go in apply runs, so the rebase
        // tests run them as if large, and a test of the default sets it back.
        var options = new UnpackSagaOptions { ParallelExtractionMinLayerSize = 0 };
        configure?.Invoke(options);
        var services = new ServiceCollection();
        var host = (UnpackSagaHost?)null;
        services.AddLogging();
        services.AddSingleton<IDocumentStore>(store);
        services.AddSingleton<TimeProvider>(_ => host!.Clock);
        services.AddSingleton(_ => host!.Workers);
        services.AddUnpackSagaServices(options, watchdog: false);
        services.AddSingleton<UnpackWatchdog>();
        services.AddMassTransitTestHarness(bus =>
        {
            bus.AddUnpackSaga();
            bus.AddConsumer<OutcomeSubscriber>();
            bus.AddConsumer<FakeResolver>().Endpoint(e => e.Name = ResolveImage.QueueName);
            bus.AddConsumer<FakeFetcher>().Endpoint(e => e.Name = FetchBlob.QueueName);
            bus.AddConsumer<FakeLabeller>().Endpoint(e => e.Name = LabelContent.QueueName);
            bus.AddConsumer<FakeApplier>().Endpoint(e => e.Name = ApplyLayer.QueueName(FakeNode.Name, "native"));
            bus.AddConsumer<FakeOverlayApplier>().Endpoint(e => e.Name = ApplyLayer.QueueName(FakeNode.Name, "overlayfs"));
            bus.AddConsumer<FakeSnapshots>().Endpoint(e => e.Name = StatSnapshot.QueueName(FakeNode.Name, "native"));
            bus.AddConsumer<FakeOverlaySnapshots>().Endpoint(e => e.Name = StatSnapshot.QueueName(FakeNode.Name, "overlayfs"));
        });
        host = new UnpackSagaHost(services.BuildServiceProvider(), postgres, store, options);
        await host.Harness.Start();
        return host;
    }

    /// <summary>Requests the unpack (onto <paramref name="node"/>, or none named), the fake node heartbeating first.</summary>
    public async Task RequestAsync(Guid unpackId, TestImage image, string snapshotter = "native", string? node = null)
    {
        Workers.Images[unpackId] = image;

        // The saga refuses a node that is not alive by its clock, which the tests move by minutes.
        await FakeNode.HeartbeatAsync(Store, Clock);
        await Harness.Bus.Publish(new UnpackRequested(unpackId, new ImageSource(ImageSourceKind.Registry, image.Reference), snapshotter, null, Someone, Clock.GetUtcNow()) { Node = node });
    }

    /// <summary>
    /// Requests a one-layer unpack whose apply the fake Applier leaves in its queue (<see cref="FakeWorkers.Queued"/>:
    /// every apply, or those <paramref name="queued"/> picks), and waits until the saga sent it.
    /// </summary>
    public async Task<Guid> RequestQueuedApplyAsync(Func<ApplyLayer, bool>? queued = null)
    {
        Workers.Queued = queued ?? (_ => true);
        var id = Guid.NewGuid();
        await RequestAsync(id, TestImage.Create(layers: 1));
        await WaitForSagaAsync(id, s => s.Layers.Count == 1 && s.Layers[0].Snapshot == SnapshotPhase.Applying);
        return id;
    }

    /// <summary>Publishes as the message's own type, as a worker does.</summary>
    public Task PublishAsync(object message) => Harness.Bus.Publish(message, message.GetType());

    public async Task<UnpackState> SagaAsync(Guid unpackId)
    {
        await using var session = Store.QuerySession();
        return (await session.LoadAsync<UnpackState>(unpackId))!;
    }

    /// <summary>Polls the saga document until it satisfies <paramref name="condition"/>.</summary>
    public async Task<UnpackState> WaitForSagaAsync(Guid unpackId, Func<UnpackState, bool> condition)
    {
        var deadline = DateTime.UtcNow + _patience;
        while (true)
        {
            var saga = await SagaAsync(unpackId);
            if (saga is not null && condition(saga))
            {
                return saga;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"unpack {unpackId}: the saga did not reach the state waited for within {_patience}; it is {Describe(saga)}");
            }

            await Task.Delay(25);
        }
    }

    private static string Describe(UnpackState? saga) => saga is null
        ? "not stored"
        : $"{saga.CurrentState}, wake at {saga.WakeAt:O}, layers: " + string.Join("; ", saga.Layers.Select(l =>
            $"{l.Index} {l.Snapshot} snapshot {l.SnapshotStep.Status}#{l.SnapshotStep.Attempt} r{l.SnapshotStep.Redrives} begun {l.SnapshotStep.BegunAt:HH:mm:ss.fff} due {l.SnapshotStep.DueAt:HH:mm:ss.fff}, fetch {l.Fetch.Status}#{l.Fetch.Attempt}"));

    /// <summary>
    /// Polls for a matching published message, as a subscriber (<see cref="OutcomeSubscriber"/>) received it: the saga's
    /// outbox relays what it published to the message type's exchange, which the harness counts as sent, not published.
    /// The harness's own wait ends at bus inactivity, which a saga busy with PostgreSQL on a loaded machine can look like.
    /// </summary>
    public async Task<T> PublishedAsync<T>(Func<T, bool> match)
        where T : class
    {
        var deadline = DateTime.UtcNow + _patience;
        while (true)
        {
            var found = Harness.Consumed.Select<T>(x => match(x.Context.Message)).LastOrDefault();
            if (found is not null)
            {
                return found.Context.Message;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no {typeof(T).Name} was published within {_patience}");
            await Task.Delay(25);
        }
    }

    /// <summary>Waits until the bus consumed a matching message (the harness's own wait can end before a late delivery).</summary>
    public async Task ConsumedAsync<T>(Func<T, bool> match)
        where T : class
    {
        using var timeout = new CancellationTokenSource(_patience);
        while (!Harness.Consumed.Select<T>(x => match(x.Context.Message)).Any())
        {
            await Task.Delay(25, timeout.Token);
        }
    }

    public Task<UnpackCompleted> CompletedAsync(Guid unpackId) => PublishedAsync<UnpackCompleted>(x => x.UnpackId == unpackId);

    public Task<UnpackFailed> FailedAsync(Guid unpackId) => PublishedAsync<UnpackFailed>(x => x.UnpackId == unpackId);

    public async Task<IReadOnlyList<object>> HistoryAsync(Guid unpackId)
    {
        await using var session = Store.QuerySession();
        return [.. (await session.Events.FetchStreamAsync(unpackId)).Select(e => e.Data)];
    }

    /// <summary>Moves the clock and runs one watchdog pass, as the Saga service's background loop would.</summary>
    public Task<int> AdvanceAndWakeAsync(TimeSpan by)
    {
        Clock.Advance(by);
        return _provider.GetRequiredService<UnpackWatchdog>().WakeDueAsync(CancellationToken.None);
    }

    /// <summary>
    /// Moves the clock by <paramref name="by"/> and wakes the due saga, looking again (boundedly) while none is woken:
    /// the watchdog skips a saga whose row a message in progress holds locked (its <c>SKIP LOCKED</c> claim, as
    /// production's must), so a saga still busy with a reply would otherwise miss the one wake-up the test gives it.
    /// </summary>
    public async Task WakeDueSagaAsync(TimeSpan by)
    {
        Clock.Advance(by);
        var deadline = DateTime.UtcNow + _patience;
        while (await AdvanceAndWakeAsync(TimeSpan.Zero) == 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no saga was due, or none could be claimed, within {_patience} at {Clock.GetUtcNow():O}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>
    /// A deadline passes quietly: moves the clock by <paramref name="by"/>, lets the workers heartbeat as
    /// <paramref name="heartbeats"/> says, wakes the due saga and waits until it moved on the deadline of the step
    /// <paramref name="step"/> picks.
    /// </summary>
    public async Task PassDeadlineWaitingOnAsync(Guid unpackId, TimeSpan by, Func<Task> heartbeats, Func<UnpackState, Step> step)
    {
        Clock.Advance(by);
        await heartbeats();
        await WakeDueSagaAsync(TimeSpan.Zero);
        var now = Clock.GetUtcNow();
        await WaitForSagaAsync(unpackId, s => step(s).DueAt > now);
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
        Store.Dispose();
        await TestServers.DropSchemaAsync(_postgres);
    }
}
