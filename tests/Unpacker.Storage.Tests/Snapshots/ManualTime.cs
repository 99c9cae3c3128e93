namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>A clock the test moves by hand, so lease expiry needs no waiting.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
