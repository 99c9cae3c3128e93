using Unpacker.Contracts.Unpacking;
using Unpacker.Observability.Tests.Otlp;
using Unpacker.Observability.Tests.Prometheus;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Observability.Tests;

/// <summary>
/// The three services as processes exporting OTLP to a receiver in this test, plus the client's spans in memory:
/// one stack shared by the tests of a class (each test tells its unpack apart by the unpack id and trace id).
/// </summary>
public class ObservedStack : IAsyncLifetime
{
    private ServiceStack? _stack;

    public OtlpReceiver Receiver { get; } = new();

    public ClientSpans Client { get; } = new();

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack has not started");

    public ServiceProcess Service(string name) => Stack.Processes.Single(p => p.Name == name);

    /// <summary>Settings a derived stack adds for its services (e.g. short saga timeouts).</summary>
    protected virtual IReadOnlyDictionary<string, string> ExtraEnvironment { get; } = new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        var environment = new Dictionary<string, string>(Receiver.ExporterEnvironment)
        {
            ["Telemetry__DiskUsageInterval"] = "00:00:01",
        };
        foreach (var (key, value) in ExtraEnvironment)
        {
            environment[key] = value;
        }

        _stack = await ServiceStack.StartAsync("obs", environment: environment);
    }

    public async Task DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        Client.Dispose();
        await Receiver.DisposeAsync();
        Http.Dispose();
    }

    /// <summary>Pushes <paramref name="image"/> to the test registry and unpacks it into <paramref name="snapshotter"/>.</summary>
    public async Task<object> UnpackAsync(string repositoryPrefix, TestImage image, string snapshotter = "native")
    {
        var repository = TestRegistryPusher.UniqueRepository(repositoryPrefix);
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", image);
        }

        return await Stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, $"{TestServers.Registry}/{repository}:v1"), snapshotter);
    }

    /// <summary>Scrapes <c>/metrics</c> of one service process (Fetcher, Applier, Saga).</summary>
    public Task<MetricsScrape> ScrapeAsync(string service) =>
        MetricsScrape.FetchAsync(Http, Service(service).BaseAddress ?? throw new InvalidOperationException($"{service} never logged where it listens"));

    /// <summary>The client's <c>unpack</c> span of an unpack: the root of its trace.</summary>
    public ReceivedSpan ClientRoot(Guid unpackId) =>
        Client.Spans.Single(s => s.Name == "unpack" && Equals(s["unpacker.unpack.id"], unpackId.ToString()));
}
