namespace Unpacker.ReliabilityTests.Support;

/// <summary>
/// Service settings that make a fault visible within a test's patience: leases of seconds (the reaper removes a
/// dead worker's snapshot soon after), a watchdog that looks every second, and step deadlines short enough
/// that a lost reply is re-driven within the trial. Production keeps its minutes.
/// </summary>
public static class FaultSettings
{
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(6);

    public static IReadOnlyDictionary<string, string> Environment { get; } = new Dictionary<string, string>
    {
        ["Applier__LeaseDuration"] = "00:00:06",
        ["Applier__ExtractedLeaseDuration"] = "00:00:30",
        ["Applier__ReaperInterval"] = "00:00:02",
        ["Applier__OrphanGrace"] = "00:00:20",
        ["Saga__WatchdogInterval"] = "00:00:01",
        ["Saga__ResolveTimeout"] = "00:00:30",
        ["Saga__StatTimeout"] = "00:00:20",
        ["Saga__FetchTimeout"] = "00:00:45",
        ["Saga__ApplyTimeout"] = "00:00:45",
        ["Saga__LabelTimeout"] = "00:00:20",
        ["Saga__ClaimRecheckInterval"] = "00:00:02",
        ["Saga__MaxRedrives"] = "5",
    };

    /// <summary><see cref="Environment"/> plus the caller's settings.</summary>
    public static IReadOnlyDictionary<string, string> With(IReadOnlyDictionary<string, string> more)
    {
        var environment = new Dictionary<string, string>(Environment);
        foreach (var (key, value) in more)
        {
            environment[key] = value;
        }

        return environment;
    }
}
