namespace Unpacker.Saga.Tests.Unpacking;

/// <summary>A clock the test moves by hand, so backoffs and deadlines pass without waiting.</summary>
public sealed class ManualClock : TimeProvider
{
    private readonly Lock _gate = new();
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>How far each read moves the clock on, as if time passed while the saga worked (zero: it stands still).</summary>
    public TimeSpan PerRead { get; set; }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            var now = _now;
            _now += PerRead;
            return now;
        }
    }

    public void Advance(TimeSpan by)
    {
        lock (_gate)
        {
            _now += by;
        }
    }
}
