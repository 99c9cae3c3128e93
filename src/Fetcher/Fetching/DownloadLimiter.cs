using Unpacker.Fetcher.Configuration;

namespace Unpacker.Fetcher.Fetching;

/// <summary>The per-worker bound on downloads in flight (the seed's limiter), shared by resolves and blob fetches.</summary>
public sealed class DownloadLimiter(FetcherOptions options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.MaxConcurrentDownloads, options.MaxConcurrentDownloads);

    public int Available => _slots.CurrentCount;

    public async Task<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return new Slot(_slots);
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
