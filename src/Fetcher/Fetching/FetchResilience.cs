using System.Net.Sockets;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Retry;
using Polly.Timeout;
using Unpacker.Contracts;
using Unpacker.Fetcher.Configuration;

namespace Unpacker.Fetcher.Fetching;

/// <summary>
/// Polly pipelines of the Fetcher. Per registry host: retries with exponential backoff and jitter on connection
/// errors, timeouts, 5xx and 429 (a <c>Retry-After</c> wins over the backoff), around a circuit breaker of that host.
/// Plus the timeout of a single request.
/// </summary>
public sealed class FetchResilience
{
    private readonly FetcherOptions _options;
    private readonly TimeProvider _time;
    private readonly ResiliencePipelineRegistry<string> _registry = new();

    public FetchResilience(FetcherOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        Request = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddTimeout(options.Timeouts.Request)
            .Build();
    }

    /// <summary>Bounds the time until a request's response headers arrive.</summary>
    public ResiliencePipeline Request { get; }

    /// <summary>The pipeline of one registry host, created on first use and shared by every fetch to that host.</summary>
    public ResiliencePipeline ForHost(string host) =>
        _registry.GetOrAddPipeline("host:" + host, builder =>
        {
            builder.TimeProvider = _time;
            Build(builder, _options);
        });

    /// <summary>True for failures worth another attempt: dropped or refused connections, timeouts, 5xx, 429.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        FetchException fetch => fetch.Kind == FailureKind.Unavailable,
        HttpRequestException => true,
        TimeoutRejectedException => true,
        SocketException => true,
        _ => false,
    };

    private static void Build(ResiliencePipelineBuilder builder, FetcherOptions options)
    {
        var retry = options.Retry;
        builder
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(retry.MaxAttempts, 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retry.BaseDelay,
                MaxDelay = retry.MaxDelay,

                // A server asking for a longer wait than we accept fails now; the saga may come back later.
                ShouldHandle = args => ValueTask.FromResult(
                    retry.MaxAttempts > 0
                    && args.Outcome.Exception is { } e
                    && IsTransient(e)
                    && !(e is FetchException { RetryAfter: { } after } && after > retry.MaxRetryAfter)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    args.Outcome.Exception is FetchException { RetryAfter: { } after } ? after : null),
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.CircuitBreaker.FailureRatio,
                MinimumThroughput = options.CircuitBreaker.MinimumThroughput,
                SamplingDuration = options.CircuitBreaker.SamplingDuration,
                BreakDuration = options.CircuitBreaker.BreakDuration,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e)),
            });
    }
}
