using System.Collections.Concurrent;
using System.Diagnostics;
using Unpacker.Testing;

namespace Unpacker.Storage.Tests.Content;

/// <summary>The <c>unpacker</c> CLI as a separate process, with standard input as a pipe the test feeds.</summary>
internal sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _error = new();

    private CliProcess(Process process) => _process = process;

    public Stream Input => _process.StandardInput.BaseStream;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _output);

    public string Error => string.Join('\n', _error);

    public static CliProcess Start(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet", [RepositoryPaths.ProjectOutput("Cli", "unpacker.dll"), .. arguments])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) => Enqueue(cli._output, e.Data);
        process.ErrorDataReceived += (_, e) => Enqueue(cli._error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    public async Task WriteInputAsync(ReadOnlyMemory<byte> bytes, bool close)
    {
        await Input.WriteAsync(bytes);
        await Input.FlushAsync();
        if (close)
        {
            _process.StandardInput.Close();
        }
    }

    /// <summary>Writes everything and closes; false when the process stopped reading first (it needed no more input).</summary>
    public async Task<bool> FeedAllAsync(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            await WriteInputAsync(bytes, close: true);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancellation.Token);
        return _process.ExitCode;
    }

    /// <summary>kill -9: no chance to flush, close files or release locks.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static void Enqueue(ConcurrentQueue<string> lines, string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
        }
    }
}
