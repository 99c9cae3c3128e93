using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Unpacker.Contracts.Oci;
using Unpacker.Fetcher.Configuration;
using Unpacker.Fetcher.Serving;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Fetcher.Tests.Serving;

/// <summary>
/// The blob server's bandwidth cap (<see cref="FetcherOptions.ServeBytesPerSecond"/>) is a correct pace, not a broken
/// response: whole and ranged responses carry exactly the bytes asked for with the right headers, and the time the cap
/// makes a response wait is what its bytes take at that rate. The clock is the test's own (it moves only when the
/// server waits), so nothing here depends on how fast the machine is.
/// </summary>
public sealed class BlobServingCapTests
{
    private const long Cap = 512 * 1024;
    private static readonly byte[] _blob = System.Security.Cryptography.RandomNumberGenerator.GetBytes(300_000);
    private static readonly Digest _digest = Digest.Compute(_blob);

    public static TheoryData<string?, int, int> Requests => new()
    {
        // Range header, first byte, bytes expected.
        { null, 0, _blob.Length },
        { "bytes=0-", 0, _blob.Length },
        { "bytes=123457-", 123_457, _blob.Length - 123_457 },
        { "bytes=1000-99999", 1000, 99_000 },
        { $"bytes={_blob.Length - 1}-", _blob.Length - 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task A_capped_response_holds_exactly_the_bytes_asked_for_and_waits_as_long_as_they_take_at_the_cap(string? range, int from, int count)
    {
        var clock = new WaitingClock();
        await using var server = await StartAsync(Cap, clock);
        using var response = await server.GetAsync(range);

        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(range is null ? HttpStatusCode.OK : HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(count, response.Content.Headers.ContentLength);
        Assert.True(_blob.AsSpan(from, count).SequenceEqual(body), $"the response to {range ?? "a whole GET"} is not bytes {from}.. of the blob");
        if (range is not null)
        {
            Assert.Equal((from, from + count - 1, _blob.Length), (response.Content.Headers.ContentRange!.From, response.Content.Headers.ContentRange.To, response.Content.Headers.ContentRange.Length));
        }

        // The first step (a twentieth of a second's worth) goes at once; the server then waits for every byte sent
        // before the next step, so it has waited for all the bytes but at most the last step.
        var step = Cap / 20;
        var bytesWaitedFor = clock.Waited.TotalSeconds * Cap;
        Assert.InRange(bytesWaitedFor, Math.Max(0, count - step) - 1, count + 1);
    }

    [Fact]
    public async Task Without_a_cap_a_response_never_waits()
    {
        var clock = new WaitingClock();
        await using var server = await StartAsync(0, clock);
        using var whole = await server.GetAsync(null);
        using var ranged = await server.GetAsync("bytes=5000-");

        Assert.Equal(_blob, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal(_blob[5000..], await ranged.Content.ReadAsByteArrayAsync());
        Assert.Equal(TimeSpan.Zero, clock.Waited);
    }

    [Fact]
    public void A_negative_cap_is_refused_at_start()
    {
        var exception = Assert.Throws<InvalidOperationException>(() => new FetcherOptions { ServeBytesPerSecond = -1 }.Validate());
        Assert.Contains("ServeBytesPerSecond", exception.Message, StringComparison.Ordinal);
    }

    private static async Task<Server> StartAsync(long cap, TimeProvider clock)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IContentStore>(new OneBlobStore());
        builder.Services.AddSingleton(new FetcherOptions { ServeBytesPerSecond = cap });
        builder.Services.AddSingleton(clock);
        var app = builder.Build();
        app.MapBlobEndpoints();
        await app.StartAsync();
        return new Server(app);
    }

    private sealed class Server(WebApplication app) : IAsyncDisposable
    {
        private readonly HttpClient _http = new();

        public async Task<HttpResponseMessage> GetAsync(string? range)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, ContentReplicas.BlobUri(app.Urls.First(), _digest));
            if (range is not null)
            {
                request.Headers.Range = RangeHeaderValue.Parse(range);
            }

            return await _http.SendAsync(request);
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>A clock that stands still until someone waits on it, then moves by the wait at once: it adds up how long the server waited.</summary>
    private sealed class WaitingClock : TimeProvider
    {
        private long _ticks = TimeSpan.TicksPerDay;
        private long _waited;

        public TimeSpan Waited => TimeSpan.FromTicks(Interlocked.Read(ref _waited));

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Add(ref _ticks, dueTime.Ticks);
            Interlocked.Add(ref _waited, dueTime.Ticks);

            // Fired from elsewhere, after the caller holds its timer, as a real timer would be.
            ThreadPool.QueueUserWorkItem(_ => callback(state));
            return new FiredTimer();
        }

        private sealed class FiredTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => false;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>A content store holding one committed blob; this test reads nothing else of it.</summary>
    private sealed class OneBlobStore : IContentStore
    {
        public Task<ContentInfo> InfoAsync(Digest digest, CancellationToken cancellationToken) =>
            digest == _digest
                ? Task.FromResult(new ContentInfo(digest, _blob.Length, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, new Dictionary<string, string>()))
                : throw new NotFoundException($"content {digest}: not found");

        public async Task<Stream> OpenReadAsync(Digest digest, CancellationToken cancellationToken)
        {
            await InfoAsync(digest, cancellationToken);
            return new MemoryStream(_blob, writable: false);
        }

        public Task<ContentInfo> UpdateAsync(ContentInfo info, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IAsyncEnumerable<ContentInfo> WalkAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task DeleteAsync(Digest digest, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IContentWriter> OpenWriterAsync(string reference, Descriptor expected, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IAsyncEnumerable<IngestStatus> ListIngestsAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task AbortAsync(string reference, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
