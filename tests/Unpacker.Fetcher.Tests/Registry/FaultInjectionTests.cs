using System.Net;
using Unpacker.Contracts;
using Unpacker.Fetcher.Fetching;
using Unpacker.Fetcher.Sources;
using Unpacker.Fetcher.Tests.Support;
using Unpacker.Testing;
using Unpacker.Testing.Images;

namespace Unpacker.Fetcher.Tests.Registry;

/// <summary>The registry behind a fault-injecting proxy: dropped connections, 5xx, 429, corrupt bytes, ignored ranges.</summary>
public sealed class FaultInjectionTests(FetcherFixture fixture) : IClassFixture<FetcherFixture>, IAsyncLifetime
{
    private const int LayerSize = 400_000;
    private FaultProxy _proxy = null!;
    private TestImage _image = null!;
    private string _repository = null!;

    private TestLayer Layer => _image.Layers[0];

    public async Task InitializeAsync()
    {
        _proxy = await FaultProxy.StartAsync(new Uri($"http://{TestServers.Registry}"));
        _image = new TestImageBuilder().WithLayer(TestLayer.Random(LayerSize)).Build();
        _repository = TestRegistryPusher.UniqueRepository("faults");
        using var pusher = TestRegistryPusher.ForTestRegistry();
        await pusher.PushAsync(_repository, "v1", _image);
    }

    public async Task DisposeAsync() => await _proxy.DisposeAsync();

    [Fact]
    public async Task A_connection_dropped_mid_blob_resumes_with_a_range_request_from_the_ingest_offset()
    {
        _proxy.Inject(new Fault.DropAfter(150_000));
        await using var stack = fixture.NewStack();

        var result = await FetchAsync(stack);

        var requests = _proxy.BlobRequests;
        Assert.Equal(2, requests.Count);
        Assert.Null(requests[0].Range);
        Assert.Matches(@"^bytes=\d+-$", requests[1].Range);
        var resumedAt = long.Parse(requests[1].Range!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(resumedAt, 1, 150_000);
        Assert.Equal(Layer.Descriptor.Size, result.BytesTransferred);
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
    }

    [Fact]
    public async Task An_ingest_left_by_an_earlier_attempt_is_resumed_from_its_offset()
    {
        await using var stack = fixture.NewStack();
        await WriteIngestAsync(stack, Layer.Blob.AsMemory(0, 123_456));

        var result = await FetchAsync(stack);

        var request = Assert.Single(_proxy.BlobRequests);
        Assert.Equal("bytes=123456-", request.Range);
        Assert.Equal(Layer.Descriptor.Size - 123_456, result.BytesTransferred);
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
    }

    [Fact]
    public async Task A_resumed_ingest_holding_wrong_bytes_is_discarded_and_the_blob_fetched_whole()
    {
        await using var stack = fixture.NewStack();
        await WriteIngestAsync(stack, new byte[50_000]);

        var result = await FetchAsync(stack);

        Assert.Equal(["bytes=50000-", null], _proxy.BlobRequests.Select(r => r.Range));
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
        Assert.Equal(Layer.Descriptor.Size - 50_000 + Layer.Descriptor.Size, result.BytesTransferred);
    }

    [Fact]
    public async Task A_server_that_ignores_range_makes_the_ingest_start_over_and_the_blob_still_commits()
    {
        _proxy.Inject(new Fault.DropAfter(100_000), new Fault.IgnoreRange());
        await using var stack = fixture.NewStack();

        var result = await FetchAsync(stack);

        var requests = _proxy.BlobRequests;
        Assert.Equal(2, requests.Count);
        Assert.IsType<Fault.IgnoreRange>(requests[1].Fault);
        Assert.True(result.BytesTransferred > Layer.Descriptor.Size, "the whole blob came again after the partial first answer");
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_until_the_blob_arrives()
    {
        _proxy.Inject(new Fault.Status(HttpStatusCode.InternalServerError), new Fault.Status(HttpStatusCode.BadGateway), new Fault.Status(HttpStatusCode.ServiceUnavailable));
        await using var stack = fixture.NewStack();

        await FetchAsync(stack);

        var requests = _proxy.BlobRequests;
        Assert.Equal(4, requests.Count);
        Assert.All(requests.Zip(requests.Skip(1)), pair => Assert.True(pair.Second.At > pair.First.At));
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
    }

    [Fact]
    public async Task Too_many_requests_waits_as_long_as_Retry_After_says()
    {
        _proxy.Inject(new Fault.Status(HttpStatusCode.TooManyRequests, RetryAfterSeconds: 2));
        await using var stack = fixture.NewStack();

        await FetchAsync(stack);

        var requests = _proxy.BlobRequests;
        Assert.Equal(2, requests.Count);

        // The configured backoff is 50 ms; only Retry-After explains a wait of about two seconds.
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromSeconds(1.9), $"waited only {requests[1].At - requests[0].At}");
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
    }

    [Fact]
    public async Task Server_errors_beyond_the_retry_bound_fail_as_unavailable_and_retryable()
    {
        _proxy.Inject(Enumerable.Range(0, 4).Select(_ => (Fault)new Fault.Status(HttpStatusCode.InternalServerError)).ToArray());
        await using var stack = fixture.NewStack(new Dictionary<string, string?> { ["Fetcher:Retry:MaxAttempts"] = "2" });

        var error = await Assert.ThrowsAsync<FetchException>(() => FetchAsync(stack));

        Assert.Equal(FailureKind.Unavailable, error.Kind);
        Assert.True(error.Retryable);
        Assert.Contains("500", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, _proxy.BlobRequests.Count);
        Assert.False(await stack.Fetcher.IsCommittedAsync(Layer.Descriptor, CancellationToken.None));
    }

    [Fact]
    public async Task Corrupt_bytes_are_discarded_and_the_blob_fetched_again_once()
    {
        _proxy.Inject(new Fault.Corrupt());
        await using var stack = fixture.NewStack();

        var result = await FetchAsync(stack);

        Assert.Equal(2, _proxy.BlobRequests.Count);
        Assert.All(_proxy.BlobRequests, r => Assert.Null(r.Range));
        Assert.False(result.AlreadyPresent);
        Assert.Equal(2 * Layer.Descriptor.Size, result.BytesTransferred);
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
    }

    [Fact]
    public async Task Corrupt_bytes_twice_fail_with_both_digests_and_leave_no_blob_or_ingest()
    {
        _proxy.Inject(new Fault.Corrupt(), new Fault.Corrupt());
        await using var stack = fixture.NewStack();

        var error = await Assert.ThrowsAsync<DigestMismatchException>(() => FetchAsync(stack));

        Assert.Equal(FailureKind.InvalidContent, error.Kind);
        Assert.False(error.Retryable);
        Assert.Equal(Layer.Descriptor.Digest, error.Expected);
        Assert.NotEqual(Layer.Descriptor.Digest, error.Actual);
        Assert.Contains(error.Expected.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains(error.Actual.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Equal(2, _proxy.BlobRequests.Count);
        Assert.False(await stack.Fetcher.IsCommittedAsync(Layer.Descriptor, CancellationToken.None));
        await foreach (var ingest in stack.Store.ListIngestsAsync(CancellationToken.None))
        {
            Assert.NotEqual(Layer.Descriptor.Digest, ingest.Expected);
        }
    }

    [Fact]
    public async Task A_registry_failing_again_and_again_opens_its_circuit_and_later_calls_fail_fast()
    {
        _proxy.Inject(Enumerable.Range(0, 10).Select(_ => (Fault)new Fault.Status(HttpStatusCode.InternalServerError)).ToArray());
        await using var stack = fixture.NewStack(new Dictionary<string, string?>
        {
            ["Fetcher:Retry:MaxAttempts"] = "0",
            ["Fetcher:CircuitBreaker:MinimumThroughput"] = "3",
            ["Fetcher:CircuitBreaker:FailureRatio"] = "0.5",
            ["Fetcher:CircuitBreaker:BreakDuration"] = "00:01:00",
        });

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<FetchException>(() => FetchAsync(stack));
        }

        var fastFailure = await Assert.ThrowsAnyAsync<Exception>(() => FetchAsync(stack));

        Assert.Equal(3, _proxy.BlobRequests.Count);
        var failure = FetchFailures.Classify(fastFailure, "fetching");
        Assert.Equal(FailureKind.Unavailable, failure.Kind);
        Assert.True(failure.Retryable);
    }

    [Fact]
    public async Task A_bearer_challenge_is_answered_with_a_token_for_the_repository_scope_which_is_then_reused()
    {
        _proxy.RequireBearerTokens(tokenSeconds: 300);
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(TestSources.RegistryAt(_proxy.Host, _repository, "v1"), CancellationToken.None);
        await FetchAsync(stack);

        Assert.Equal(_image.DiffIds, resolved.DiffIds);
        Assert.Equal([$"fault-proxy repository:{_repository}:pull"], _proxy.TokenRequests);
        Assert.Equal(1, stack.Authenticator.TokenRequests);
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
        Assert.All(_proxy.Requests.Skip(1), r => Assert.Equal("Bearer", r.AuthorizationScheme));
    }

    [Fact]
    public async Task A_token_service_gets_the_configured_credentials_of_the_registry_host()
    {
        _proxy.RequireBearerTokens(tokenSeconds: 300);
        await using var stack = fixture.NewStack(new Dictionary<string, string?>
        {
            ["Fetcher:Registries:Credentials:0:Host"] = _proxy.Host,
            ["Fetcher:Registries:Credentials:0:Username"] = "robot",
            ["Fetcher:Registries:Credentials:0:Password"] = "secret",
        });

        await stack.Resolver.ResolveAsync(TestSources.RegistryAt(_proxy.Host, _repository, "v1"), CancellationToken.None);

        Assert.Equal(["Basic"], _proxy.TokenAuthorizations);
    }

    [Fact]
    public async Task A_registry_refusing_HEAD_on_manifests_is_resolved_with_GET()
    {
        _proxy.InjectOnManifestHead(new Fault.Status(HttpStatusCode.MethodNotAllowed));
        await using var stack = fixture.NewStack();

        var resolved = await stack.Resolver.ResolveAsync(TestSources.RegistryAt(_proxy.Host, _repository, "v1"), CancellationToken.None);

        Assert.Equal(_image.Manifest.Digest, resolved.Manifest!.Digest);
        Assert.Equal(["HEAD", "GET"], _proxy.Requests.Where(r => r.Path.EndsWith("/manifests/v1", StringComparison.Ordinal)).Select(r => r.Method));
    }

    [Fact]
    public async Task Each_repository_gets_a_token_for_its_own_scope()
    {
        var other = TestRegistryPusher.UniqueRepository("faults-other");
        using (var pusher = TestRegistryPusher.ForTestRegistry())
        {
            await pusher.PushAsync(other, "v1", _image);
        }

        _proxy.RequireBearerTokens(tokenSeconds: 300);
        await using var stack = fixture.NewStack();

        await stack.Resolver.ResolveAsync(TestSources.RegistryAt(_proxy.Host, _repository, "v1"), CancellationToken.None);
        await stack.Resolver.ResolveAsync(TestSources.RegistryAt(_proxy.Host, other, "v1"), CancellationToken.None);

        Assert.Equal([$"fault-proxy repository:{_repository}:pull", $"fault-proxy repository:{other}:pull"], _proxy.TokenRequests);
    }

    [Fact]
    public async Task An_expired_bearer_token_is_replaced_by_a_new_one()
    {
        _proxy.RequireBearerTokens(tokenSeconds: 1);
        await using var stack = fixture.NewStack();

        await stack.Resolver.ResolveAsync(TestSources.RegistryAt(_proxy.Host, _repository, "v1"), CancellationToken.None);
        var tokensBefore = _proxy.TokenRequests.Count;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await FetchAsync(stack);

        // The proxy refuses expired tokens, so the blob arriving proves a new token was fetched for it.
        Assert.True(_proxy.TokenRequests.Count > tokensBefore, $"{_proxy.TokenRequests.Count} token requests, {tokensBefore} before the token expired");
        Assert.Equal(Layer.Blob, await stack.ReadBlobAsync(Layer.Descriptor.Digest));
    }

    private async Task WriteIngestAsync(FetcherStack stack, ReadOnlyMemory<byte> prefix)
    {
        await using var writer = await stack.Store.OpenWriterAsync(BlobFetcher.IngestReference(Layer.Descriptor.Digest), Layer.Descriptor, CancellationToken.None);
        await writer.WriteAsync(prefix, CancellationToken.None);
    }

    private async Task<BlobFetchResult> FetchAsync(FetcherStack stack)
    {
        var source = await stack.Sources.OpenAsync(TestSources.RegistryAt(_proxy.Host, _repository, "v1"), CancellationToken.None);
        return await stack.Fetcher.FetchAsync(source, Layer.Descriptor, progress: null, CancellationToken.None);
    }
}
