using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Unpacker.Archive.IO;
using Unpacker.Contracts.Oci;
using Unpacker.Storage;
using Unpacker.Storage.Content;

namespace Unpacker.Applier.Diff;

/// <summary>
/// A layer blob read over HTTP from the site's content servers (the Fetchers), straight into the apply: bytes are
/// hashed as they pass, a dropped or stalled connection is resumed with a Range request at the byte it reached (from
/// the same server or another one that holds the blob), and <see cref="VerifyAsync"/> reads what the apply left and
/// checks size and digest before anything is committed. Read-only and forward-only.
/// The apply's decompressor reads synchronously, on a thread of its own: <see cref="Read(Span{byte})"/> reads the socket
/// synchronously too (a stall is cut by a timer that closes the body), never blocking on a continuation that needs a
/// pool thread — on a small node, the pool's threads are busy extracting other layers.
/// </summary>
public sealed partial class RemoteBlobStream : ForwardReadStream
{
    private readonly HttpClient _http;
    private readonly ContentReplicas _replicas;
    private readonly Descriptor _blob;
    private readonly RemoteBlobOptions _options;
    private readonly ILogger _logger;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<Uri> _sources;
    private readonly Timer _idle;
    private volatile bool _stalled;
    private HttpResponseMessage? _response;
    private Stream? _body;
    private Uri? _current;
    private int _reconnects;
    private long _position;

    private RemoteBlobStream(HttpClient http, ContentReplicas replicas, Descriptor blob, IReadOnlyList<Uri> sources, RemoteBlobOptions options, ILogger logger)
    {
        _idle = new Timer(static state => ((RemoteBlobStream)state!).CutStalledRead(), this, Timeout.Infinite, Timeout.Infinite);
        _http = http;
        _replicas = replicas;
        _blob = blob;
        _sources = [.. sources];
        _options = options;
        _logger = logger;
    }

    /// <summary>The server the bytes come from now.</summary>
    public Uri? Source => _current;

    /// <summary>How often the read was resumed after a dropped or stalled connection.</summary>
    public int Reconnects => _reconnects;

    public override long Length => _blob.Size;

    public override long Position => _position;

    /// <summary>Opens <paramref name="blob"/> from the first of <paramref name="sources"/> that answers.</summary>
    public static async Task<RemoteBlobStream> OpenAsync(
        HttpClient http, ContentReplicas replicas, Descriptor blob, IReadOnlyList<Uri> sources, RemoteBlobOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        if (blob.Digest.Algorithm != Digest.Sha256)
        {
            throw new InvalidArgumentException($"blob {blob.Digest}: only sha256 blobs are read from content servers");
        }

        var stream = new RemoteBlobStream(http, replicas, blob, sources, options, logger);
        try
        {
            await stream.ConnectAsync(cancellationToken);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_position == _blob.Size)
            {
                return 0;
            }

            var wanted = buffer[..(int)Math.Min(buffer.Length, _blob.Size - _position)];
            int read;
            try
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                idle.CancelAfter(_options.ReadIdle);
                read = await _body!.ReadAsync(wanted, idle.Token);
            }
            catch (Exception exception) when (IsDropped(exception, cancellationToken))
            {
                await ResumeAsync($"{exception.GetType().Name}: {exception.Message}", cancellationToken);
                continue;
            }

            if (read == 0)
            {
                // The server closed the body before the blob's end (it stopped, or the connection was cut).
                await ResumeAsync($"the body ended at byte {_position} of {_blob.Size}", cancellationToken);
                continue;
            }

            _hash.AppendData(wanted.Span[..read]);
            _position += read;
            return read;
        }
    }

    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            if (_position == _blob.Size)
            {
                return 0;
            }

            var wanted = buffer[..(int)Math.Min(buffer.Length, _blob.Size - _position)];
            int read;
            try
            {
                _stalled = false;
                _idle.Change(_options.ReadIdle, Timeout.InfiniteTimeSpan);
                read = _body!.Read(wanted);
            }
            catch (Exception exception) when (exception is IOException or HttpRequestException || (exception is ObjectDisposedException && _stalled))
            {
                Resume(_stalled ? $"nothing came for {_options.ReadIdle}" : $"{exception.GetType().Name}: {exception.Message}");
                continue;
            }
            finally
            {
                _idle.Change(Timeout.Infinite, Timeout.Infinite);
            }

            if (read == 0)
            {
                Resume($"the body ended at byte {_position} of {_blob.Size}");
                continue;
            }

            _hash.AppendData(wanted[..read]);
            _position += read;
            return read;
        }
    }

    /// <summary>
    /// Reads what the apply did not (a compressed stream's trailer), then checks the bytes against the blob's size and
    /// digest: a server that sent anything else fails the apply, naming the blob and the server, before any commit.
    /// </summary>
    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        await DrainAsync(cancellationToken);
        var actual = Digest.FromSha256Hash(_hash.GetHashAndReset());
        if (actual != _blob.Digest)
        {
            throw new BlobContentException(
                $"blob {_blob.Digest} read from {_current} has digest {actual}: the content server sent other bytes; nothing was committed");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _idle.Dispose();
            Close(_body, _response);
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private static bool IsDropped(Exception exception, CancellationToken cancellationToken) =>
        exception is IOException or HttpRequestException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static void Close(Stream? body, HttpResponseMessage? response)
    {
        body?.Dispose();
        response?.Dispose();
    }

    /// <summary>A synchronous read waited <see cref="RemoteBlobOptions.ReadIdle"/> for nothing: closing the body ends it.</summary>
    private void CutStalledRead()
    {
        _stalled = true;
        Volatile.Read(ref _body)?.Dispose();
    }

    /// <summary>
    /// <see cref="ResumeAsync"/> for the synchronous read: rare (a dropped connection), so it waits for the reconnect
    /// on the reading thread.
    /// </summary>
    private void Resume(string why) => ResumeAsync(why, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Connects again at the byte reached, to the same server or (it having gone) another one holding the blob.</summary>
    private async Task ResumeAsync(string why, CancellationToken cancellationToken)
    {
        if (++_reconnects > _options.MaxReconnects)
        {
            throw new BlobUnreachableException(
                $"blob {_blob.Digest}: the read from the content servers broke off {_reconnects - 1} times, last at byte {_position} of {_blob.Size} from {_current} ({why}); no server could finish it");
        }

        LogResuming(_blob.Digest.ToString(), _position, _current?.ToString(), why);
        Close(_body, _response);
        (_body, _response) = (null, null);
        await Task.Delay(_options.ReconnectPause * _reconnects, cancellationToken);

        // The servers may have changed: one stopped, another fetched the blob meanwhile.
        foreach (var fresh in await _replicas.SourcesAsync(_blob.Digest, exceptLocation: null, cancellationToken))
        {
            if (!_sources.Contains(fresh))
            {
                _sources.Add(fresh);
            }
        }

        await ConnectAsync(cancellationToken);
    }

    /// <summary>
    /// Tries each source in turn, asking for the bytes from <see cref="_position"/>: the first at the start, and after a
    /// broken read the one after the server that broke off (which comes last, in case it was only a passing hiccup).
    /// </summary>
    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var start = _current is null ? 0 : Math.Max(0, _sources.IndexOf(_current)) + 1;
        for (var i = 0; i < _sources.Count; i++)
        {
            var source = _sources[(start + i) % _sources.Count];
            using var request = new HttpRequestMessage(HttpMethod.Get, source);
            if (_position > 0)
            {
                request.Headers.Range = new RangeHeaderValue(_position, null);
            }

            HttpResponseMessage? response = null;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (Accepts(response))
                {
                    _body = await response.Content.ReadAsStreamAsync(cancellationToken);
                    (_response, _current) = (response, source);
                    return;
                }

                failures.Add($"{source}: HTTP {(int)response.StatusCode}");
            }
            catch (HttpRequestException exception)
            {
                failures.Add($"{source}: {exception.Message}");
            }

            response?.Dispose();
        }

        throw new BlobUnreachableException(
            $"blob {_blob.Digest}: no content server could send it from byte {_position} ({(failures.Count == 0 ? "none holds it" : string.Join("; ", failures))})");
    }

    /// <summary>The whole blob from byte 0, or exactly the range asked for.</summary>
    private bool Accepts(HttpResponseMessage response) =>
        _position == 0
            ? response.StatusCode == HttpStatusCode.OK
            : response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == _position;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resuming blob {Digest} at byte {Position} (was reading from {Source}): {Why}")]
    private partial void LogResuming(string digest, long position, string? source, string why);
}

/// <summary>
/// No content server could send the blob (none lists it, or every one listed refused or broke off): the Fetcher that held
/// it may have stopped. The saga fetches such a blob again (<c>Saga:MaxBlobRefetches</c>) instead of failing the unpack.
/// </summary>
public sealed class BlobUnreachableException(string message) : StorageException(ErrorKind.Unavailable, message);

/// <summary>The bytes a content server sent are not the blob asked for.</summary>
public sealed class BlobContentException(string message) : Exception(message);

/// <summary>How a node reads blobs from the site's content servers.</summary>
public sealed record RemoteBlobOptions
{
    /// <summary>A read that brings nothing for this long counts as a dropped connection.</summary>
    public TimeSpan ReadIdle { get; init; } = TimeSpan.FromSeconds(30);

    public int MaxReconnects { get; init; } = 5;

    /// <summary>The pause before the n-th reconnect is n times this.</summary>
    public TimeSpan ReconnectPause { get; init; } = TimeSpan.FromMilliseconds(200);
}
