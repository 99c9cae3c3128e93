namespace Unpacker.Fetcher.Configuration;

/// <summary>Every bound of the Fetcher, bound from the <c>Fetcher</c> configuration section (<c>Fetcher__Retry__MaxAttempts</c>, …).</summary>
public sealed class FetcherOptions
{
    public const string Section = "Fetcher";

    /// <summary>Blob downloads one worker runs at once; the fetch endpoint's prefetch is sized to it.</summary>
    public int MaxConcurrentDownloads { get; set; } = 4;

    /// <summary>Resolves one worker runs at once.</summary>
    public int MaxConcurrentResolves { get; set; } = 4;

    /// <summary>How often at most a download publishes its progress.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How often at most a fetch group reports the blobs it has fetched so far (always at once when the group's first
    /// unreported blob, the one the apply needs next, is among them and nothing was reported yet): one saga transaction
    /// per reply, so a few replies per group instead of one per blob.
    /// </summary>
    public TimeSpan GroupReplyInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>After a digest mismatch the ingest is discarded and the blob fetched again this many times before it is reported failed.</summary>
    public int DigestMismatchRefetches { get; set; } = 1;

    /// <summary>
    /// The address nodes read this Fetcher's blobs at (<c>http://host:port</c>); by default the first address its web
    /// server listens on. Set it (with <c>--urls</c>) where nodes reach the Fetcher by another name.
    /// </summary>
    public string? AdvertisedUrl { get; set; }

    /// <summary>How often this Fetcher tells the site it still serves its blobs.</summary>
    public TimeSpan ServerHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The most bytes per second one response of this Fetcher's blob server sends (0: no cap), ranged responses
    /// included: keeps a cache host from saturating its network (and starving its own registry downloads) when many
    /// nodes stream layers from it at once. Per response, so N nodes reading at once take up to N times this.
    /// </summary>
    public long ServeBytesPerSecond { get; set; }

    public RetryOptions Retry { get; set; } = new();

    public CircuitBreakerOptions CircuitBreaker { get; set; } = new();

    public TimeoutOptions Timeouts { get; set; } = new();

    public RegistryOptions Registries { get; set; } = new();

    public void Validate()
    {
        Require(MaxConcurrentDownloads >= 1, nameof(MaxConcurrentDownloads), "at least 1");
        Require(MaxConcurrentResolves >= 1, nameof(MaxConcurrentResolves), "at least 1");
        Require(GroupReplyInterval >= TimeSpan.Zero, nameof(GroupReplyInterval), "0 or more");
        Require(DigestMismatchRefetches >= 0, nameof(DigestMismatchRefetches), "0 or more");
        Require(ServeBytesPerSecond >= 0, nameof(ServeBytesPerSecond), "0 (no cap) or more");
        Require(Retry.MaxAttempts >= 0, "Retry:MaxAttempts", "0 or more");
        Require(Retry.BaseDelay > TimeSpan.Zero && Retry.MaxDelay >= Retry.BaseDelay, "Retry:BaseDelay", "positive and not above Retry:MaxDelay");
        Require(CircuitBreaker.FailureRatio is > 0 and <= 1, "CircuitBreaker:FailureRatio", "in (0, 1]");
        Require(CircuitBreaker.MinimumThroughput >= 2, "CircuitBreaker:MinimumThroughput", "at least 2");
        Require(CircuitBreaker.SamplingDuration >= TimeSpan.FromMilliseconds(500), "CircuitBreaker:SamplingDuration", "at least 500ms");
        Require(CircuitBreaker.BreakDuration >= TimeSpan.FromMilliseconds(500), "CircuitBreaker:BreakDuration", "at least 500ms");
        Require(Timeouts.Request > TimeSpan.Zero, "Timeouts:Request", "positive");
        Require(Timeouts.ReadIdle > TimeSpan.Zero, "Timeouts:ReadIdle", "positive");
        Require(Timeouts.ReplicaCheck > TimeSpan.Zero, "Timeouts:ReplicaCheck", "positive");
    }

    private static void Require(bool condition, string name, string rule)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"configuration {Section}:{name} must be {rule}");
        }
    }
}

/// <summary>Retries of one registry request or download: exponential backoff with jitter; <c>Retry-After</c> wins when a server sends it.</summary>
public sealed class RetryOptions
{
    /// <summary>Retries after the first attempt (so MaxAttempts + 1 tries in all).</summary>
    public int MaxAttempts { get; set; } = 5;

    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest <c>Retry-After</c> honoured; a server asking for more makes the fetch fail as unavailable (the saga retries later).</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>A breaker per registry host: when most recent calls failed, calls fail fast for a while.</summary>
public sealed class CircuitBreakerOptions
{
    public double FailureRatio { get; set; } = 0.8;

    public int MinimumThroughput { get; set; } = 20;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class TimeoutOptions
{
    /// <summary>Time for one request until its response headers arrive (manifests, tokens, blob starts).</summary>
    public TimeSpan Request { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A download that receives nothing for this long is treated as a dropped connection and resumed.</summary>
    public TimeSpan ReadIdle { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan Connect { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a content server listed for a doubted blob has to answer that it serves it (<see cref="Fetching.ReplicaUse.Check"/>);
    /// one that does not answer in time counts as not serving it.
    /// </summary>
    public TimeSpan ReplicaCheck { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>How registries are reached and authenticated.</summary>
public sealed class RegistryOptions
{
    /// <summary>Hosts (<c>host[:port]</c>) spoken to over plain HTTP; loopback hosts always are.</summary>
    public List<string> Insecure { get; set; } = [];

    /// <summary>Credentials per host (<c>Fetcher:Registries:Credentials:0:Host</c>, <c>…:Username</c>, <c>…:Password</c>); they win over the Docker config.</summary>
    public List<RegistryCredential> Credentials { get; set; } = [];

    /// <summary>A Docker <c>config.json</c> to read <c>auths</c> from; default <c>$DOCKER_CONFIG/config.json</c>, else <c>~/.docker/config.json</c>.</summary>
    public string? DockerConfigPath { get; set; }
}

/// <summary>A user name and password (or an identity token as the password). Never logged.</summary>
public sealed class RegistryCredential
{
    /// <summary><c>host[:port]</c> as written in image references (<c>docker.io</c> for Docker Hub).</summary>
    public string Host { get; set; } = string.Empty;

    public string Username { get; set; } = string.Empty;

    public string Password { get; set; } = string.Empty;

    public override string ToString() => $"{Username}@{Host}";
}
