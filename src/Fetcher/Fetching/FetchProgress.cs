namespace Unpacker.Fetcher.Fetching;

/// <summary>Receives the bytes of a blob received so far.</summary>
public interface IFetchProgress
{
    ValueTask ReportAsync(long received, long total, CancellationToken cancellationToken);
}

/// <summary>Passes progress on at most once per interval (and never the same count twice), so progress bars cost little traffic.</summary>
public sealed class ThrottledProgress(Func<long, long, CancellationToken, Task> publish, TimeSpan interval, TimeProvider time) : IFetchProgress
{
    private long _lastAt = long.MinValue;
    private long _lastReceived = -1;

    public async ValueTask ReportAsync(long received, long total, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (received == _lastReceived || (_lastAt != long.MinValue && time.GetElapsedTime(_lastAt, now) < interval))
        {
            return;
        }

        _lastAt = now;
        _lastReceived = received;
        await publish(received, total, cancellationToken);
    }
}
