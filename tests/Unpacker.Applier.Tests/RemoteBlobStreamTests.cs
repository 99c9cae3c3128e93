using Microsoft.Extensions.Logging.Abstractions;
using Unpacker.Applier.Diff;
using Unpacker.Contracts.Oci;
using Unpacker.Hosting.Configuration;
using Unpacker.Hosting.Persistence;
using Unpacker.Storage;
using Unpacker.Storage.Content;
using Unpacker.Testing;

namespace Unpacker.Applier.Tests;

/// <summary>A node reading a layer blob from the site's content servers: resumed where a connection broke, verified at the end.</summary>
public sealed class RemoteBlobStreamTests : IAsyncLifetime
{
    private static readonly RemoteBlobOptions _fast = new() { ReconnectPause = TimeSpan.FromMilliseconds(10), MaxReconnects = 3 };
    private readonly byte[] _blob = new byte[3 * 1024 * 1024 + 17];
    private readonly HttpClient _http = new();
    private Marten.DocumentStore? _store;

    public RemoteBlobStreamTests() => Random.Shared.NextBytes(_blob);

    private Descriptor Descriptor => new(MediaTypes.OciLayer, Digest.Compute(_blob), _blob.Length);

    private readonly PostgresOptions _postgres = TestServers.PostgresWithSchema("remote_blob");

    public async Task InitializeAsync()
    {
        await TestServers.RequirePostgresAsync();
        _store = await UnpackerMarten.OpenMigratedStoreAsync(_postgres, ContentMetadata.Register);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _store?.Dispose();
        await TestServers.DropSchemaAsync(_postgres);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_blob_read_whole_from_one_server_is_the_blob_and_verifies(bool synchronously)
    {
        await using var server = BlobServer.Start(_blob);

        var read = await ReadAsync([server.BlobUri(Descriptor.Digest.Encoded)], synchronously);

        Assert.Equal(_blob, read.Bytes);
        Assert.Equal(0, read.Reconnects);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_server_that_dies_mid_blob_is_left_for_another_that_sends_the_rest_from_the_byte_reached(bool synchronously)
    {
        await using var dying = BlobServer.Start(_blob);
        await using var healthy = BlobServer.Start(_blob);
        dying.CutAfter = 1_000_000;

        var read = await ReadAsync([dying.BlobUri(Descriptor.Digest.Encoded), healthy.BlobUri(Descriptor.Digest.Encoded)], synchronously);

        Assert.Equal(_blob, read.Bytes);
        Assert.Equal(1, read.Reconnects);
        var resumedAt = Assert.Single(healthy.RangesAsked);
        Assert.InRange(resumedAt, 1, 1_000_000);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_server_that_goes_silent_mid_blob_is_cut_after_the_idle_time_and_another_sends_the_rest(bool synchronously)
    {
        await using var silent = BlobServer.Start(_blob);
        await using var healthy = BlobServer.Start(_blob);
        silent.StallAfter = 1_000_000;

        var read = await ReadAsync([silent.BlobUri(Descriptor.Digest.Encoded), healthy.BlobUri(Descriptor.Digest.Encoded)], synchronously,
            _fast with { ReadIdle = TimeSpan.FromMilliseconds(300) });

        Assert.Equal(_blob, read.Bytes);
        Assert.Equal(1, read.Reconnects);
        var resumedAt = Assert.Single(healthy.RangesAsked);
        Assert.InRange(resumedAt, 1, 1_000_000);
    }

    [Fact]
    public async Task Bytes_that_are_not_the_blob_fail_the_verification_naming_the_blob_and_the_server()
    {
        await using var lying = BlobServer.Start(_blob);
        var other = (byte[])_blob.Clone();
        other[^1] ^= 0xff;
        lying.Corrupt = other;

        var error = await Assert.ThrowsAsync<BlobContentException>(() => ReadAsync([lying.BlobUri(Descriptor.Digest.Encoded)]));

        Assert.Contains(Descriptor.Digest.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains(lying.Url, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blob_no_server_can_finish_fails_as_unavailable_naming_it_and_the_byte_reached()
    {
        await using var dying = BlobServer.Start(_blob);
        dying.CutAfter = 500_000;

        var error = await Assert.ThrowsAsync<BlobUnreachableException>(() => ReadAsync([dying.BlobUri(Descriptor.Digest.Encoded)]));

        Assert.Equal(ErrorKind.Unavailable, error.Kind);
        Assert.Contains($"blob {Descriptor.Digest}: the read from the content servers broke off 3 times, last at byte 500000 of {_blob.Length}", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Reads the blob as the apply's decompressor does (<paramref name="synchronously"/>, on a thread of its own) or with
    /// ReadAsync, then verifies it.
    /// </summary>
    private async Task<(byte[] Bytes, int Reconnects)> ReadAsync(IReadOnlyList<Uri> sources, bool synchronously = false, RemoteBlobOptions? options = null)
    {
        await using var stream = await RemoteBlobStream.OpenAsync(_http, new ContentReplicas(_store!), Descriptor, sources, options ?? _fast, NullLogger.Instance, CancellationToken.None);
        using var copy = new MemoryStream();
        var buffer = new byte[64 * 1024];
        if (synchronously)
        {
            await Task.Factory.StartNew(() =>
            {
                int n;
                while ((n = stream.Read(buffer.AsSpan())) > 0)
                {
                    copy.Write(buffer, 0, n);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).WaitAsync(TimeSpan.FromMinutes(1));
        }
        else
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                copy.Write(buffer, 0, read);
            }
        }

        await stream.VerifyAsync(CancellationToken.None);
        return (copy.ToArray(), stream.Reconnects);
    }
}
