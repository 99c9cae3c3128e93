using Unpacker.Testing;

namespace Unpacker.Cli.Tests;

/// <summary>
/// One stack (Fetcher, Applier, Saga as processes on a schema, vhost and root of their own) shared by a test class.
/// Progress is published every 20 ms instead of 500, so even small layers show their bytes moving.
/// </summary>
public sealed class CliStack : IAsyncLifetime
{
    private ServiceStack? _stack;

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    /// <summary>What the CLI process needs to talk to this stack.</summary>
    public IReadOnlyDictionary<string, string> Environment => Stack.Environment;

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync("cli", environment: new Dictionary<string, string>
        {
            ["Fetcher__ProgressInterval"] = "00:00:00.020",
            ["Applier__ProgressInterval"] = "00:00:00.020",
        });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }
}
