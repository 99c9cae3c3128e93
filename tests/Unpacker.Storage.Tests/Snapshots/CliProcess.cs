using System.Diagnostics;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Snapshots;

/// <summary>The <c>unpacker</c> CLI run as a separate process: a second worker, possibly on another host.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _output;
    private readonly Task<string> _error;

    private CliProcess(Process process)
    {
        _process = process;
        _output = process.StandardOutput.ReadToEndAsync();
        _error = process.StandardError.ReadToEndAsync();
    }

    public int Id => _process.Id;

    public static CliProcess Start(SnapshotterTestContext context, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet", [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["UNPACKER_ROOT"] = context.Root;
        info.Environment["UNPACKER_NODE"] = SnapshotterTestContext.Node;
        info.Environment["UNPACKER_POSTGRES_SCHEMA"] = context.Postgres.Schema;
        return new CliProcess(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(SnapshotterTestContext context, params string[] arguments)
    {
        using var process = Start(context, arguments);
        return await process.WaitAsync();
    }

    public async Task<(int ExitCode, string Output, string Error)> WaitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await _process.WaitForExitAsync(timeout.Token);
        return (_process.ExitCode, await _output, await _error);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>kill -9: no finally blocks, no cleanup, the PostgreSQL connection just drops.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGSTOP: no progress until <see cref="Thaw"/>, so a test can look at what the process is doing.</summary>
    public void Freeze() => ProcessSignals.Stop(_process);

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => ProcessSignals.Send(_process, ProcessSignals.Sigcont);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
