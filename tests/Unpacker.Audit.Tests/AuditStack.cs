using Marten;
using Unpacker.Contracts.Unpacking;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Audit.Tests;

/// <summary>
/// One real stack (Fetcher, Applier and Saga processes on a schema, vhost and root of their own) shared by the audit
/// tests, with one three-layer image unpacked into <c>native</c> before any test runs.
/// </summary>
public sealed class AuditStack : IAsyncLifetime
{
    public const int LayerCount = 3;

    private ServiceStack? _stack;

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    public IReadOnlyDictionary<string, string> Environment => Stack.Environment;

    public IDocumentStore Store => Stack.Store;

    public TestImage Image { get; private set; } = null!;

    public string Reference { get; private set; } = string.Empty;

    public UnpackCompleted Unpacked { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _stack = await ServiceStack.StartAsync("audit");
        Image = new TestImageBuilder()
            .WithLayer(new Dictionary<string, string> { ["etc/motd"] = "welcome\n", ["usr/bin/tool"] = "#!/bin/sh\n" })
            .WithLayer(new Dictionary<string, string> { ["etc/.wh.motd"] = string.Empty, ["app/new.txt"] = "layer two\n" })
            .WithLayer(new Dictionary<string, string> { ["data/keep"] = "layer three\n" })
            .Build();
        var repository = TestRegistryPusher.UniqueRepository("audit");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(repository, "v1", Image);
        }

        Reference = $"{TestServers.Registry}/{repository}:v1";
        var outcome = await Stack.UnpackAsync(new ImageSource(ImageSourceKind.Registry, Reference), "native");
        Unpacked = outcome as UnpackCompleted ?? throw new InvalidOperationException($"the audit stack's unpack did not complete: {outcome}");
    }

    public async Task DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }

    public Task<UnpackerCli.Result> CliAsync(params string[] arguments) => UnpackerCli.RunAsync(Environment, arguments);
}

/// <summary>The audit tests share one stack and run one at a time (replay and rebuild change what the others read).</summary>
[CollectionDefinition(Name)]
public sealed class AuditCollection : ICollectionFixture<AuditStack>
{
    public const string Name = "audit stack";
}
