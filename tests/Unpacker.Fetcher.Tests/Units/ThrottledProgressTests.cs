using Unpacker.Fetcher.Fetching;

namespace Unpacker.Fetcher.Tests.Units;

public sealed class ThrottledProgressTests
{
    [Fact]
    public async Task Progress_is_passed_on_at_most_once_per_interval()
    {
        var time = new ManualTime();
        var published = new List<long>();
        var progress = new ThrottledProgress((received, _, _) => { published.Add(received); return Task.CompletedTask; }, TimeSpan.FromMilliseconds(500), time);

        for (var i = 1; i <= 100; i++)
        {
            await progress.ReportAsync(i * 1000, 100_000, CancellationToken.None);
            time.Advance(TimeSpan.FromMilliseconds(20));
        }

        // 100 reports over 2 s: the first, then one per 500 ms.
        Assert.Equal([1000, 26_000, 51_000, 76_000], published);
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
